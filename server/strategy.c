/*
 * strategy.c — the strategy table: strategies.def expanded into the list
 * of rows, which the strategies' files define (strategy.h).
 */
#include "strategy.h"

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
