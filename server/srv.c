/*
 * srv.c — small services on the server's shared state (srv.h) that every
 * strategy's loop uses: the pool of decoded payloads, the clients' fixed
 * aggregation weights, the virtual clock's integer ticks with each job's
 * duration, and the seed-drawn dropouts and availability of clients
 * (docs/async.md, docs/user-guide.md).
 */
#include "srv.h"
#include "ef.h"

#include "fs_rng.h"
#include "profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fs_srv_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

fs_payload *fs_srv_pool_get(fs_srv *s) {
  if (s->npool > 0)
    return s->pool[--s->npool];
  return calloc(1, sizeof(fs_payload));
}

void fs_srv_pool_put(fs_srv *s, fs_payload *p) { s->pool[s->npool++] = p; }

double fs_srv_client_weight(const fs_srv *s, uint32_t c, uint32_t n_rows) {
  if (fs_ef_method_at((size_t)s->cfg->ef_method)->flags & FS_EF_WEIGHTED)
    return s->w->smooth.Li[c] / (s->w->smooth.L_am * (double)s->N);
  if (s->cfg->server_weighting == FS_CFG_WEIGHTING_UNIFORM)
    return 1.0 / (double)s->N;
  return (double)n_rows / (double)s->w->train.n;
}

/* The virtual clock counts integer ticks: 1 ns, or in Fraboni et al.'s F-P
 * scenario 1/(100(N-1)) s, in which every job duration is a whole number of
 * ticks, the F-P job time fs_fp_ticks (sim/setup.h, one definition for
 * the server and the workers). */
static int is_fp(const fs_srv *s) { return s->cfg->sys_dist == FS_CFG_DIST_FP; }
double fs_srv_tick_s(const fs_srv *s) {
  return is_fp(s) ? 1.0 / (double)fs_fp_unit(s->cfg) : 1e-9;
}

/* Ticks of client c's job: its profile's downlink, compute and uplink
 * (up_bits < 0: a lower bound without the uplink), or its fixed F-P time. */
int64_t fs_srv_job_ticks(const fs_srv *s, uint32_t c, uint64_t down_bits,
                         int64_t up_bits) {
  if (is_fp(s))
    return fs_fp_ticks(s->cfg, c);
  size_t rows = s->w->part.offset[c + 1] - s->w->part.offset[c];
  fs_profile pr = fs_profiles_get(s->w->profiles, c);
  double sec =
      fs_job_seconds(&pr, down_bits, fs_local_work_samples(s->cfg, rows),
                     up_bits < 0 ? 0 : (uint64_t)up_bits);
  if (up_bits < 0)
    sec -= 1e-9; /* stay a lower bound whatever the rounding */
  int64_t t = (int64_t)(sec / fs_srv_tick_s(s));
  return t > 0 ? t : 0;
}

/* Does client c drop out of its job number j? (stream (seed, FAULT, c, j)) */
int fs_srv_drops_out(const fs_srv *s, uint32_t c, uint64_t j) {
  if (s->cfg->sys_dropout <= 0.0)
    return 0;
  fs_rng r;
  fs_rng_init(&r, s->cfg->seed, FS_RNG_FAULT, c, j);
  return fs_rng_uniform(&r) < s->cfg->sys_dropout;
}

/* Availability: client c is offline during [kP + phi_c, kP + phi_c + fP),
 * phi_c uniform in [0, P) from the stream (seed, FAULT, c, 2^40). Returns
 * the first tick >= t at which c is online. */
int64_t fs_srv_online_from(const fs_srv *s, uint32_t c, int64_t t) {
  double f = s->cfg->sys_offline_fraction;
  if (f <= 0.0)
    return t;
  double P = s->cfg->sys_offline_period / fs_srv_tick_s(s); /* ticks */
  fs_rng r;
  fs_rng_init(&r, s->cfg->seed, FS_RNG_FAULT, c, 1ull << 40);
  double phi = fs_rng_uniform(&r) * P;
  double x = fmod((double)t - phi, P);
  if (x < 0)
    x += P;
  if (x >= f * P)
    return t; /* online */
  return t + (int64_t)ceil(f * P - x);
}

uint64_t fs_srv_robust_skipped(const fs_srv *s) {
  if (s->p2p != NULL)
    return fs_p2p_skipped(s->p2p);
  return s->rob != NULL ? fs_robust_round_skipped(s->rob) : 0;
}

fs_status fs_srv_send_model(fs_srv *s, uint32_t c, uint64_t v, size_t body_len,
                            fs_err *err) {
  fs_frame_header h = {.type = FS_MSG_TRAIN,
                       .encoding = FS_PL_DENSE,
                       .round = (uint32_t)(v + 1),
                       .client = c,
                       .model_version = (uint32_t)v,
                       .body_len = (uint32_t)body_len};
  uint8_t hb[FS_FRAME_HEADER_BYTES];
  fs_frame_header_encode(&h, hb);
  fs_iov iov[2] = {{hb, sizeof hb}, {s->body, body_len}};
  fs_status st =
      fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,
                     fs_transport_worker_of(s->t, c), iov, 2, 1, err);
  return st;
}
