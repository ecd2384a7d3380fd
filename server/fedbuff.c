/*
 * fedbuff.c — the fedbuff row of the strategy table: FedBuff (Nguyen et
 * al. 2022), aggregate once server.buffer updates have completed on the
 * virtual clock (docs/async.md). An update of staleness s weighs
 * (1 + s)^-server.staleness_exponent, times 1 / server.buffer with
 * server.async_weights = fraboni. The engine is async_engine.c.
 */
#include "srv.h"

#include <math.h>

static double fedbuff_weight(const fs_strategy_wargs *w) {
  double d = w->fraboni ? 1.0 / (double)w->cfg->buffer : 1.0;
  return d * pow(1.0 + w->stale, -w->cfg->staleness_exponent);
}

/* FedBuff's rules: those of every asynchronous strategy, and a buffer
 * that the clients can fill. */
static fs_status check(const fs_config *cfg, fs_err *err) {
  fs_status st = fs_strategy__not_sync(cfg, err);
  if (st == FS_OK && cfg->buffer > cfg->clients)
    st = fs_err_set(err, FS_ECONFIG,
                    "server.buffer: %lld is more than clients.num (%lld)",
                    (long long)cfg->buffer, (long long)cfg->clients);
  return st;
}

const fs_strategy fs_strategy_fedbuff = {
    .base = {.name = "fedbuff",
             .help = "FedBuff: aggregate every server.buffer completed updates",
             .check = check},
    .loop = fs_srv_async_loop,
    .flags = FS_STRATEGY_ASYNC,
    .sched = FS_STRAT_FEDBUFF,
    .weight = fedbuff_weight,
};
