/*
 * local.h — the table of local methods (local.mode): what a sampled client
 * does with the model it receives, from its rows, before it sends an
 * update (docs/user-guide.md, "Local work"). One row per method, each in
 * its own file, listed once in sim/local_methods.def; the configuration
 * holds the row's index (cfg->local_mode), the worker runs row->run, and
 * the virtual clock reads row->samples. Here in sim/ because both roles
 * read it: the client runs the work, the server prices the job.
 */
#ifndef FS_LOCAL_H
#define FS_LOCAL_H

#include "fs_choice.h"
#include "fs_config.h"
#include "fs_rng.h"
#include "model.h"

#include <stddef.h>
#include <stdint.h>

/* One client's job, as the worker hands it to a row. */
typedef struct {
  const fs_config *cfg;
  fs_model *model;
  size_t dim, in_dim;
  const float *X;   /* the client's n rows, in_dim floats each */
  const int32_t *Y; /* their labels */
  size_t n;         /* > 0 */
  const float *x0;  /* the model received */
  float *w;         /* in: a copy of x0; out: the client's model */
  float *grad;      /* out: the update x0 - w, or the gradient sent */
  float *bx;        /* scratch: local.batch_size rows */
  int32_t *by;      /* scratch: their labels */
  uint32_t *perm;   /* scratch: n indices, 0..n-1 on entry */
  fs_rng *shuffle;  /* the client's stream (seed, FS_RNG_SHUFFLE, c, round) */
  /* Rows with control variates (row->control; SCAFFOLD): the server's c as
   * received, the client's c_i (d floats, kept across rounds); grad is then
   * 2d floats wide, the update and the change of c_i. NULL otherwise. */
  const float *c;
  float *ci;
} fs_local_job;

typedef struct fs_local_method {
  fs_choice base; /* name (local.mode), help, cross-option rules */
  /* The work: leaves the update in job->grad; returns the mean training
   * loss of the minibatches it used (0 for none). */
  double (*run)(fs_local_job *job);
  /* Rows a job touches, for the virtual clock (docs/user-guide.md). */
  uint64_t (*samples)(const fs_config *cfg, size_t rows);
  /* 1: the row keeps control variates (SCAFFOLD, docs/local-methods.md):
   * the model frame carries (x, c), the update (x0 - w, delta c_i), 2d
   * floats each, and the worker keeps c_i per client. */
  int control;
} fs_local_method;

/* Row i (cfg->local_mode), or NULL past the end. */
const fs_local_method *fs_local_at(size_t i);
/* The table for the configuration (local.mode; app/tables.c). */
fs_choice_set fs_local_choices(void);

/* One local step: w <- w - lr (g + mu (w - x0)) over d floats; mu = 0 is
 * plain SGD, w <- w - lr g (docs/local-methods.md). */
void fs_local_apply(float *w, const float *g, const float *x0, float lr,
                    float mu, size_t d);

/* Shared by the rows (sim/local.c). */
/* One SGD step on rows idx[0..b): the minibatch gradient into job->grad,
 * then w -= lr * (grad + mu (w - x0)) (mu = 0: plain SGD, in float as
 * always). Returns the minibatch's mean loss. */
double fs_local__step(fs_local_job *job, const uint32_t *idx, size_t b,
                      float mu);
/* E = local.epochs epochs of shuffled minibatch steps (fs_local__step with
 * mu), then grad = x0 - w. */
double fs_local__epochs(fs_local_job *job, float mu);
/* E * rows: the samples of local.epochs epochs. */
uint64_t fs_local__epoch_samples(const fs_config *cfg, size_t rows);

/* SCAFFOLD, option II (sim/local_scaffold.c, docs/local-methods.md). */
/* The corrected gradient of one local step: g <- g - ci + c. */
void fs_scaffold_correct(float *g, const float *c, const float *ci, size_t d);
/* After K steps of lr: with u = x0 - w, ci+ = ci - c + u / (K lr); dc gets
 * ci+ - ci and ci becomes ci+. */
void fs_scaffold_finish(float *ci, float *dc, const float *u, const float *c,
                        double k_lr, size_t d);
/* The server's control variate: c <- c + sum_{i in S} p_i dc_i, the sum as
 * folded (p_i = 1/N with server.weighting uniform). */
void fs_scaffold_server(float *c, const double *dc_sum, size_t d);

#endif
