/*
 * async.c — the async row of the strategy table: asynchronous FedAvg, one
 * aggregation per update as it completes on the virtual clock
 * (docs/async.md). With server.async_weights = fraboni an update of client
 * i weighs tau_i p_i sum_j 1 / tau_j (Fraboni et al.; tau: nominal job
 * durations), else 1. The engine is async_engine.c.
 */
#include "srv.h"

static double async_weight(const fs_strategy_wargs *w) {
  return w->fraboni ? w->inv_tau * w->tau * w->pi : 1.0;
}

const fs_strategy fs_strategy_async = {
    .base = {.name = "async",
             .check = fs_strategy__not_sync,
             .help =
                 "asynchronous FedAvg: aggregate each update as it completes"},
    .loop = fs_srv_async_loop,
    .flags = FS_STRATEGY_ASYNC,
    .sched = FS_STRAT_ASYNC,
    .weight = async_weight,
};
