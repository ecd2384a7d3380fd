/*
 * fedfix.c — the fedfix row of the strategy table: FedFix (Fraboni et al.
 * 2023), aggregate every server.fedfix_delta seconds of virtual time the
 * updates completed by then (docs/async.md). With server.async_weights =
 * fraboni an update of client i weighs ceil(tau_i / delta) p_i (tau_i its
 * nominal job duration), else 1. The engine is async_engine.c.
 */
#include "srv.h"

#include <math.h>

static double fedfix_weight(const fs_strategy_wargs *w) {
  return w->fraboni ? ceil(w->tau / (double)w->delta) * w->pi : 1.0;
}

const fs_strategy fs_strategy_fedfix = {
    .base = {.name = "fedfix",
             .help = "FedFix: aggregate every server.fedfix_delta seconds",
             .check = fs_strategy__not_sync},
    .loop = fs_srv_async_loop,
    .flags = FS_STRATEGY_ASYNC,
    .sched = FS_STRAT_FEDFIX,
    .weight = fedfix_weight,
};
