/*
 * strategy.c — the strategy table: strategies.def expanded into the list
 * of rows, which the strategies' files define (strategy.h).
 */
#include "strategy.h"

#include <string.h>

#define FS_STRATEGY(n) extern const fs_strategy fs_strategy_##n;
#include "strategies.def"
#undef FS_STRATEGY

static const fs_strategy *const rows[] = {
#define FS_STRATEGY(n) &fs_strategy_##n,
#include "strategies.def"
#undef FS_STRATEGY
};

const fs_strategy *fs_strategy_find(const char *name) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (!strcmp(rows[i]->name, name))
      return rows[i];
  return NULL;
}

const fs_strategy *fs_strategy_at(size_t i) {
  return i < sizeof rows / sizeof rows[0] ? rows[i] : NULL;
}
