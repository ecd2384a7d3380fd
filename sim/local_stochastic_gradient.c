/*
 * local_stochastic_gradient.c — local.mode stochastic_gradient: one
 * gradient on local.batch_size rows drawn without replacement (EF21-SGD,
 * docs/ef21.md).
 */
#include "local.h"

#include <string.h>

static double run(fs_local_job *job) {
  size_t n = job->n, B = (size_t)job->cfg->local_batch;
  size_t b = B < n ? B : n;
  uint32_t *perm = job->perm;
  for (size_t i = 0; i < b; i++) { /* a partial Fisher-Yates shuffle */
    size_t j = i + (size_t)fs_rng_below(job->shuffle, n - i);
    uint32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  size_t in = job->in_dim;
  for (size_t i = 0; i < b; i++) {
    memcpy(job->bx + i * in, job->X + (size_t)perm[i] * in, in * sizeof(float));
    job->by[i] = job->Y[perm[i]];
  }
  return fs_model_loss_grad(job->model, job->w, job->bx, job->by, b, job->grad);
}

static uint64_t samples(const fs_config *cfg, size_t rows) {
  return rows < (size_t)cfg->local_batch ? rows : (uint64_t)cfg->local_batch;
}

const fs_local_method fs_local_stochastic_gradient = {
    .base = {.name = "stochastic_gradient",
             .help = "one minibatch gradient (EF21-SGD)"},
    .run = run,
    .samples = samples,
};
