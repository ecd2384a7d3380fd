/*
 * scaffold.c — the scaffold row of the strategy table: SCAFFOLD
 * (Karimireddy et al., ICML 2020), option II, in synchronous rounds
 * (docs/local-methods.md, "SCAFFOLD"). The server keeps x and its control
 * variate c (d floats, 0 at the start); the clients run local.mode scaffold
 * (sim/local_scaffold.c), which keeps c_i on the client's worker.
 *
 * The rounds are fedavg.c's (fs_srv_sync_loop) with two hooks (srv.h):
 * the TRAIN body is one dense vector of 2d floats, (x, c); an UPDATE is a
 * dense vector of 2d floats, (u_i, delta c_i) with u_i = x - y_i, so
 * SCAFFOLD's doubled traffic is in bits_up and bits_down. Folding gives
 * acc = sum_{i in S} p_i (u_i, delta c_i); fedavg.c steps the model,
 * x <- x - lr acc[0..d) / sum_S p_i (= x + server.lr mean_S delta y_i),
 * and the hook then sets c <- c + acc[d..2d), which with p_i = 1/N
 * (server.weighting uniform) is the paper's c + (1/N) sum_S delta c_i.
 * What the pair does not support is refused by `check`.
 */
#include "local.h"
#include "srv.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

extern const fs_local_method fs_local_scaffold;

typedef struct {
  float *xc;     /* x and c, 2d floats: the downlink */
  uint8_t *body; /* its encoding */
} scaffold_state;

static const uint8_t *down(void *ctx, fs_srv *s, size_t *len) {
  scaffold_state *st = ctx;
  memcpy(st->xc, s->x, s->dim * sizeof(float));
  fs_dense_encode(st->xc, 2 * s->dim, st->body);
  *len = fs_dense_size(2 * s->dim);
  return st->body;
}

static void after_step(void *ctx, fs_srv *s) {
  scaffold_state *st = ctx;
  fs_scaffold_server(st->xc + s->dim, s->acc + s->dim, s->dim);
}

static fs_status loop(fs_srv_run *c, fs_err *err) {
  fs_srv *s = c->s;
  size_t d = s->dim;
  scaffold_state st = {calloc(2 * d, sizeof(float)),
                       malloc(fs_dense_size(2 * d))};
  double *acc = realloc(s->acc, 2 * d * sizeof(double));
  if (acc != NULL)
    s->acc = acc;
  fs_status rs;
  if (st.xc == NULL || st.body == NULL || acc == NULL) {
    rs = fs_err_set(err, FS_ENOMEM, "server: out of memory");
  } else {
    fs_sync_hooks h = {
        .ctx = &st, .up_dim = 2 * d, .down = down, .after_step = after_step};
    s->sync = &h;
    rs = fs_srv_sync_loop(c, err);
    s->sync = NULL;
  }
  free(st.xc);
  free(st.body);
  return rs;
}

static fs_status refuse(fs_err *err, const char *what) {
  return fs_err_set(err, FS_ECONFIG,
                    "server.strategy scaffold: does not support %s", what);
}

static fs_status check(const fs_config *cfg, fs_err *err) {
  if (fs_local_at((size_t)cfg->local_mode) != &fs_local_scaffold)
    return fs_err_set(err, FS_ECONFIG,
                      "server.strategy scaffold needs local.mode scaffold "
                      "(the clients' corrected steps and their c_i)");
  if (cfg->comp_up != FS_CFG_COMP_IDENTITY)
    return refuse(err, "compress.up other than identity");
  if (cfg->comp_down != FS_CFG_COMP_IDENTITY)
    return refuse(err, "compress.down other than identity");
  if (cfg->ef_method != FS_CFG_EF_NONE)
    return refuse(err, "error feedback (ef.method)");
  if (cfg->dp_clip != FS_CFG_CLIP_NONE || cfg->dp_noise != FS_CFG_NOISE_NONE)
    return refuse(err, "differential privacy (dp.clip, dp.noise)");
  if (cfg->sa_mode != FS_CFG_SA_NONE)
    return refuse(err, "secure aggregation (secure.aggregation)");
  if (cfg->aggregator != FS_CFG_AGG_FEDAVG)
    return refuse(err, "robust aggregators (server.aggregator)");
  if (cfg->client_momentum > 0)
    return refuse(err, "local momentum (clients.momentum)");
  if (cfg->fault_fraction > 0)
    return refuse(err, "simulated faulty clients (faults.fraction)");
  return fs_strategy__not_sync(cfg, err); /* Poisson sampling */
}

const fs_strategy fs_strategy_scaffold = {
    .base = {.name = "scaffold",
             .help = "synchronous rounds of SCAFFOLD, option II (with "
                     "local.mode scaffold)",
             .check = check},
    .loop = loop,
};
