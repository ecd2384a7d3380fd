/*
 * local_scaffold.c — local.mode scaffold: the client side of SCAFFOLD
 * (Karimireddy et al., ICML 2020), option II (docs/local-methods.md,
 * "SCAFFOLD"). With the server's c and the client's own c_i, E epochs of
 * minibatch steps y <- y - lr (grad F_i(y; batch) - c_i + c); then, with K
 * the steps taken and u = x0 - y (fedsim's update), c_i+ = c_i - c +
 * u / (K lr). The job's grad (2d floats) gets u and delta c_i = c_i+ - c_i;
 * c_i becomes c_i+. The row is paired with server.strategy scaffold
 * (server/scaffold.c), which sends (x, c) and folds (u, delta c_i).
 */
#include "local.h"

#include <string.h>

void fs_scaffold_correct(float *g, const float *c, const float *ci, size_t d) {
  for (size_t j = 0; j < d; j++)
    g[j] += c[j] - ci[j];
}

void fs_scaffold_finish(float *ci, float *dc, const float *u, const float *c,
                        double k_lr, size_t d) {
  for (size_t j = 0; j < d; j++) {
    double cp = (double)ci[j] - (double)c[j] + (double)u[j] / k_lr;
    dc[j] = (float)(cp - (double)ci[j]);
    ci[j] = (float)cp;
  }
}

void fs_scaffold_server(float *c, const double *dc_sum, size_t d) {
  for (size_t j = 0; j < d; j++)
    c[j] = (float)((double)c[j] + dc_sum[j]);
}

static double run(fs_local_job *job) {
  size_t n = job->n, B = (size_t)job->cfg->local_batch, d = job->dim;
  size_t in = job->in_dim;
  float lr = (float)job->cfg->local_lr;
  double loss_sum = 0.0;
  size_t seen = 0, steps = 0;
  for (int64_t e = 0; e < job->cfg->local_epochs; e++) {
    fs_rng_shuffle_u32(job->shuffle, job->perm, n);
    for (size_t from = 0; from < n; from += B) {
      size_t b = n - from < B ? n - from : B;
      for (size_t i = 0; i < b; i++) {
        uint32_t r = job->perm[from + i];
        memcpy(job->bx + i * in, job->X + (size_t)r * in, in * sizeof(float));
        job->by[i] = job->Y[r];
      }
      double loss = fs_model_loss_grad(job->model, job->w, job->bx, job->by, b,
                                       job->grad);
      fs_scaffold_correct(job->grad, job->c, job->ci, d);
      fs_local_apply(job->w, job->grad, job->x0, lr, 0.0f, d);
      loss_sum += loss * (double)b;
      seen += b;
      steps++;
    }
  }
  for (size_t j = 0; j < d; j++)
    job->grad[j] = job->x0[j] - job->w[j];
  if (steps > 0)
    fs_scaffold_finish(job->ci, job->grad + d, job->grad, job->c,
                       (double)steps * (double)lr, d);
  else
    memset(job->grad + d, 0, d * sizeof(float));
  return seen ? loss_sum / (double)seen : 0.0;
}

static fs_status check(const fs_config *cfg, fs_err *err) {
  if (cfg->strategy != FS_CFG_STRATEGY_SCAFFOLD)
    return fs_err_set(err, FS_ECONFIG,
                      "local.mode scaffold needs server.strategy scaffold "
                      "(the server sends c and folds the clients' delta c_i)");
  return FS_OK;
}

const fs_local_method fs_local_scaffold = {
    .base = {.name = "scaffold",
             .help = "SCAFFOLD (option II): E epochs of SGD corrected by "
                     "c - c_i (with server.strategy scaffold)",
             .check = check},
    .run = run,
    .samples = fs_local__epoch_samples,
    .control = 1,
};
