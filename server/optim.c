/*
 * optim.c — the server optimisers (optim.h): SGD, heavy-ball momentum
 * m = beta m + u, and Adam with bias-corrected moving averages of u and
 * u^2 (FedOpt, Reddi et al. 2021; docs/user-guide.md). server.momentum is
 * beta (Adam's beta1), server.beta2 and server.eps Adam's others.
 */
#include "optim.h"

#include "ef.h"

#include <math.h>
#include <string.h>

static void sgd_step(fs_optim_state *o, const fs_config *cfg, float *x,
                     const double *u, double lr, size_t d) {
  (void)o;
  (void)cfg;
  for (size_t j = 0; j < d; j++)
    x[j] = (float)((double)x[j] - lr * u[j]);
}

static void momentum_step(fs_optim_state *o, const fs_config *cfg, float *x,
                          const double *u, double lr, size_t d) {
  for (size_t j = 0; j < d; j++) {
    o->m[j] = cfg->server_momentum * o->m[j] + u[j];
    x[j] = (float)((double)x[j] - lr * o->m[j]);
  }
}

static void adam_step(fs_optim_state *o, const fs_config *cfg, float *x,
                      const double *u, double lr, size_t d) {
  double b1 = cfg->server_momentum, b2 = cfg->server_beta2;
  o->t++;
  double c1 = 1.0 - pow(b1, (double)o->t);
  double c2 = 1.0 - pow(b2, (double)o->t);
  for (size_t j = 0; j < d; j++) {
    o->m[j] = b1 * o->m[j] + (1.0 - b1) * u[j];
    o->v[j] = b2 * o->v[j] + (1.0 - b2) * u[j] * u[j];
    double step = (o->m[j] / c1) / (sqrt(o->v[j] / c2) + cfg->server_eps);
    x[j] = (float)((double)x[j] - lr * step);
  }
}

/* momentum and adam: the EF21 family's step is plain SGD (docs/ef21.md). */
static fs_status not_ef21(const fs_config *cfg, fs_err *err) {
  if (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_21)
    return fs_err_set(err, FS_ECONFIG,
                      "server.optimizer: %s with ef.method %s: EF21 steps "
                      "with plain SGD",
                      FS_CFG_NAME(cfg, server_optimizer),
                      FS_CFG_NAME(cfg, ef_method));
  return FS_OK;
}

static const fs_optim rows[] = {
    {{"sgd", "x <- x - lr u", NULL}, sgd_step, 0},
    {{"momentum", "heavy ball: m = beta m + u, x <- x - lr m", not_ef21},
     momentum_step,
     FS_OPTIM_MOMENTS},
    {{"adam", "Adam on u (beta1 = server.momentum, server.beta2, server.eps)",
      not_ef21},
     adam_step,
     FS_OPTIM_MOMENTS},
};

const fs_optim *fs_optim_at(size_t i) {
  return i < sizeof rows / sizeof rows[0] ? &rows[i] : NULL;
}

fs_choice_set fs_optim_choices(void) { return FS_CHOICE_SET(rows); }

void fs_optim_step(fs_optim_state *o, const fs_config *cfg, float *x,
                   const double *u, double lr, size_t d) {
  o->row->step(o, cfg, x, u, lr, d);
}
