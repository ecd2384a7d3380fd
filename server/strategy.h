/*
 * strategy.h — the table of server strategies (server.strategy): one row
 * per strategy, each defined in its own file and listed once in
 * strategies.def. The configured name is looked up once, when the role
 * starts (fs_strategy_find); from then on the code reads the row's fields,
 * never the name. docs/architecture.md shows how to add a row.
 */
#ifndef FS_STRATEGY_H
#define FS_STRATEGY_H

#include "async_sched.h"
#include "config.h"
#include "fs_choice.h"
#include "fs_status.h"

#include <stdint.h>

struct fs_srv_run;
struct fs_server_args;

/* Flags of a row. */
enum {
  /* Clients train on the model they were given while the server moves on:
   * per-client state, the asynchronous engine (docs/async.md), the
   * wall-clock loop with run.clock = wall. */
  FS_STRATEGY_ASYNC = 1u << 0
};

/* What an asynchronous row's weight function sees for one update. */
typedef struct {
  const fs_config *cfg;
  int fraboni;    /* server.async_weights = fraboni */
  double pi;      /* the client's fixed weight p_i */
  double tau;     /* its nominal job duration (ticks) */
  double inv_tau; /* sum_j 1 / tau_j */
  int64_t delta;  /* FedFix's period (ticks) */
  uint32_t stale; /* the update's staleness */
} fs_strategy_wargs;

typedef struct fs_strategy {
  /* name (server.strategy), help, and the strategy's cross-option rules
   * (fs_config_validate calls them; NULL: none) */
  fs_choice base;
  /* The training loop on the shared server state (server/srv.h); or NULL
   * when `role` runs the whole role itself. */
  fs_status (*loop)(struct fs_srv_run *c, fs_err *err);
  /* The whole server role with its own state (gc), or NULL. */
  fs_status (*role)(const struct fs_server_args *a, fs_err *err);
  unsigned flags; /* FS_STRATEGY_* */
  /* Asynchronous rows: the scheduler's kind (async_sched.h) and the
   * weight of one update in an aggregation. */
  fs_strat sched;
  double (*weight)(const fs_strategy_wargs *w);
} fs_strategy;

/* The rules of a strategy without FedAvg's synchronous rounds (the
 * asynchronous ones, gc): no EF21 family, no Poisson sampling. A row's
 * check calls it first. */
fs_status fs_strategy__not_sync(const fs_config *cfg, fs_err *err);

/* Row i of the table (cfg->strategy), or NULL past its end. */
const fs_strategy *fs_strategy_at(size_t i);
/* The table for the configuration (server.strategy; app/tables.c). */
fs_choice_set fs_strategy_choices(void);

#endif
