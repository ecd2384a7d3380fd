/*
 * local_steps.c — local.mode steps: S = local.steps minibatch SGD steps,
 * reshuffling whenever the rows run out; the update is x0 - w.
 */
#include "local.h"

static double run(fs_local_job *job) {
  size_t n = job->n, B = (size_t)job->cfg->local_batch;
  double loss_sum = 0.0;
  size_t seen = 0, pos = n;
  for (int64_t s = 0; s < job->cfg->local_steps; s++) {
    size_t b = B < n ? B : n;
    if (pos + b > n) {
      fs_rng_shuffle_u32(job->shuffle, job->perm, n);
      pos = 0;
    }
    loss_sum += fs_local__step(job, job->perm + pos, b, 0.0f) * (double)b;
    seen += b;
    pos += b;
  }
  for (size_t j = 0; j < job->dim; j++)
    job->grad[j] = job->x0[j] - job->w[j];
  return seen ? loss_sum / (double)seen : 0.0;
}

static uint64_t samples(const fs_config *cfg, size_t rows) {
  (void)rows;
  return (uint64_t)cfg->local_steps * (uint64_t)cfg->local_batch;
}

const fs_local_method fs_local_steps = {
    .base = {.name = "steps", .help = "S minibatch SGD steps (local.steps)"},
    .run = run,
    .samples = samples,
};
