/*
 * strategy.c — the strategy table: strategies.def expanded into the list
 * of rows, which the strategies' files define (strategy.h).
 */
#include "strategy.h"

#include "ef.h"

#define FS_STRATEGY(n) extern const fs_strategy fs_strategy_##n;
#include "strategies.def"
#undef FS_STRATEGY

static const fs_strategy *const rows[] = {
#define FS_STRATEGY(n) &fs_strategy_##n,
#include "strategies.def"
#undef FS_STRATEGY
};

fs_choice_set fs_strategy_choices(void) { return FS_CHOICE_PTRS(rows); }

const fs_strategy *fs_strategy_at(size_t i) {
  return i < sizeof rows / sizeof rows[0] ? rows[i] : NULL;
}

fs_status fs_strategy__not_sync(const fs_config *cfg, fs_err *err) {
  if (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_21)
    return fs_err_set(err, FS_ECONFIG,
                      "server.strategy: %s with ef.method %s: the EF21 "
                      "family runs with synchronous rounds (fedavg)",
                      FS_CFG_NAME(cfg, strategy), FS_CFG_NAME(cfg, ef_method));
  if (cfg->sampling == FS_CFG_SAMPLING_POISSON)
    return fs_err_set(err, FS_ECONFIG,
                      "clients.sampling: poisson sampling is for synchronous "
                      "rounds (server.strategy fedavg)");
  return FS_OK;
}
