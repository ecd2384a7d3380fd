/*
 * optim.h — the table of server optimisers (server.optimizer): FedOpt's
 * x <- x - lr * step(u), with u the aggregated update (Reddi et al. 2021;
 * docs/user-guide.md). One row per optimiser with its step function; the
 * configured name is looked up once when the server starts, and the row's
 * pointer kept. Adding an optimiser: a step function and one row of
 * rows[] in optim.c (each is a few lines; docs/architecture.md).
 */
#ifndef FS_OPTIM_H
#define FS_OPTIM_H

#include "config.h"
#include "fs_choice.h"

#include <stddef.h>
#include <stdint.h>

/* Flags of a row. */
enum {
  FS_OPTIM_MOMENTS = 1u << 0 /* keeps the moments m and v (d each) */
};

struct fs_optim;

/* An optimiser's state: its row, and m, v (d doubles each with
 * FS_OPTIM_MOMENTS, else 1), t the steps taken. Saved in checkpoints. */
typedef struct {
  const struct fs_optim *row;
  double *m, *v;
  uint64_t t;
} fs_optim_state;

typedef struct fs_optim {
  fs_choice base; /* name (server.optimizer), help, rules */
  /* x <- x - lr * step(u), for d coordinates; hyperparameters from cfg. */
  void (*step)(fs_optim_state *o, const fs_config *cfg, float *x,
               const double *u, double lr, size_t d);
  unsigned flags; /* FS_OPTIM_* */
} fs_optim;

/* Row i of the table (cfg->server_optimizer), or NULL past its end. */
const fs_optim *fs_optim_at(size_t i);
/* The table for the configuration (server.optimizer; app/tables.c). */
fs_choice_set fs_optim_choices(void);

/* One step of o's optimiser: x <- x - lr * step(u). */
void fs_optim_step(fs_optim_state *o, const fs_config *cfg, float *x,
                   const double *u, double lr, size_t d);

#endif
