/*
 * setup.h — turning a configuration into the things every rank needs: the
 * training and test sets, the partition of the training rows over clients,
 * the model's shape and the system profiles. Every rank computes the same
 * result from the same configuration, so nothing of it crosses the wire.
 */
#ifndef FS_SETUP_H
#define FS_SETUP_H

#include "compress.h"
#include "config.h"
#include "data.h"
#include "model.h"
#include "partition.h"
#include "profile.h"
#include "smooth.h"

typedef struct {
  fs_dataset train, test;
  fs_partition part;
  fs_model_spec mspec;
  fs_profiles *profiles;
  int has_smooth;       /* smooth is filled (logreg with ef21w or theory) */
  fs_smoothness smooth; /* L, L_QM, L_AM and every client's L_i */
  double dp_z;          /* the DP noise multiplier in force (calibrated to
                           dp.target_epsilon when that is set) */
  char data_desc[320];  /* "fashion-mnist (/usr/share/...)" */
} fs_world;

/* Load the data, split the training rows and fill the model spec. On error
 * nothing is left allocated. */
fs_status fs_world_build(const fs_config *cfg, fs_world *w, fs_err *err);
void fs_world_free(fs_world *w);

/* The uplink (downlink = 0) or downlink (1) compressor of the configuration,
 * checked against the model's dim. */
fs_status fs_comp_spec_from_config(const fs_config *cfg, int downlink,
                                   size_t dim, fs_comp_spec *spec, fs_err *err);

/* Fraboni et al.'s F-P scenario (system.dist fp): time runs in ticks of
 * 1/fs_fp_unit seconds, fs_fp_unit = 100 (N - 1), and client c's job lasts
 * exactly fs_fp_ticks = fs_fp_unit - round(c system.fp) ticks (docs/async.md).
 * The one definition for the server's clock and the workers' seconds. */
int64_t fs_fp_unit(const fs_config *cfg);
int64_t fs_fp_ticks(const fs_config *cfg, uint32_t c);

/* Simulated seconds of one job of client c: its profile's downlink, compute
 * of `samples` samples and uplink, or its fixed time in the fp scenario
 * (1 - c P/(100(N-1))). */
double fs_job_sim_seconds(const fs_config *cfg, const fs_world *w, uint32_t c,
                          uint64_t down_bits, uint64_t samples,
                          uint64_t up_bits);

/* The server's step: server.lr, or with ef.stepsize = theory, ef.factor
 * times the EF21 step size from L and L_QM (or L_AM for ef.l_tilde = am and
 * for ef21w) for TopK with alpha = k/d. Server and workers (EF21-BC) call
 * this to get the same number. */
fs_status fs_server_step_size(const fs_config *cfg, const fs_world *w,
                              size_t dim, double *lr, fs_err *err);

/* The bound B of one client's DP message: dp.clip_norm for flat and
 * per-layer clipping, C1 + C2 = clip_norm (1 + dice_ratio) for DiceSGD (the
 * client-level sensitivity; docs/privacy.md says why). Clients clip to it and
 * the server scales its noise by it. */
double fs_dp_message_bound(const fs_config *cfg);

/* Samples one job of client c touches (for the virtual clock): the
 * local.mode row's count (sim/local.h): E*n_c, S*batch, n_c for a full
 * gradient... */
uint64_t fs_local_work_samples(const fs_config *cfg, size_t rows);

#endif
