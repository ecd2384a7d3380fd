/*
 * optim.h — the table of server optimisers (server.optimizer): FedOpt's
 * x <- x - lr * step(u), with u the aggregated update (Reddi et al. 2021;
 * docs/user-guide.md). One row per optimiser with its step function; the
 * configured name is looked up once when the server starts, and the row's
 * pointer kept. Adding an optimiser: a step function and one row of
 * rows[] in optim.c.
 */
#ifndef FS_OPTIM_H
#define FS_OPTIM_H

#include "config.h"

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
  const char *name; /* server.optimizer */
  const char *help;
  /* x <- x - lr * step(u), for d coordinates; hyperparameters from cfg. */
  void (*step)(fs_optim_state *o, const fs_config *cfg, float *x,
               const double *u, double lr, size_t d);
  unsigned flags; /* FS_OPTIM_* */
} fs_optim;

/* The row named name, or NULL. */
const fs_optim *fs_optim_find(const char *name);

/* One step of o's optimiser: x <- x - lr * step(u). */
void fs_optim_step(fs_optim_state *o, const fs_config *cfg, float *x,
                   const double *u, double lr, size_t d);

#endif
