/*
 * local.c — the local-method table (sim/local_methods.def expanded) and
 * what its rows share: one minibatch SGD step, with FedProx's proximal term
 * when mu > 0, and the loop of E shuffled epochs (docs/user-guide.md,
 * "Local work").
 */
#include "local.h"

#include <string.h>

#define FS_LOCAL(n) extern const fs_local_method fs_local_##n;
#include "local_methods.def"
#undef FS_LOCAL

static const fs_local_method *const rows[] = {
#define FS_LOCAL(n) &fs_local_##n,
#include "local_methods.def"
#undef FS_LOCAL
};

const fs_local_method *fs_local_at(size_t i) {
  return i < sizeof rows / sizeof rows[0] ? rows[i] : NULL;
}

fs_choice_set fs_local_choices(void) { return FS_CHOICE_PTRS(rows); }

double fs_local__step(fs_local_job *job, const uint32_t *idx, size_t b,
                      float mu) {
  size_t in = job->in_dim;
  for (size_t i = 0; i < b; i++) {
    memcpy(job->bx + i * in, job->X + (size_t)idx[i] * in, in * sizeof(float));
    job->by[i] = job->Y[idx[i]];
  }
  double loss =
      fs_model_loss_grad(job->model, job->w, job->bx, job->by, b, job->grad);
  fs_local_apply(job->w, job->grad, job->x0, (float)job->cfg->local_lr, mu,
                 job->dim);
  return loss;
}

void fs_local_apply(float *w, const float *g, const float *x0, float lr,
                    float mu, size_t d) {
  if (mu == 0.0f) {
    for (size_t j = 0; j < d; j++)
      w[j] -= lr * g[j];
  } else {
    for (size_t j = 0; j < d; j++)
      w[j] -= lr * (g[j] + mu * (w[j] - x0[j]));
  }
}

double fs_local__epochs(fs_local_job *job, float mu) {
  size_t n = job->n, B = (size_t)job->cfg->local_batch;
  double loss_sum = 0.0;
  size_t seen = 0;
  for (int64_t e = 0; e < job->cfg->local_epochs; e++) {
    fs_rng_shuffle_u32(job->shuffle, job->perm, n);
    for (size_t from = 0; from < n; from += B) {
      size_t b = n - from < B ? n - from : B;
      loss_sum += fs_local__step(job, job->perm + from, b, mu) * (double)b;
      seen += b;
    }
  }
  for (size_t j = 0; j < job->dim; j++)
    job->grad[j] = job->x0[j] - job->w[j];
  return seen ? loss_sum / (double)seen : 0.0;
}

uint64_t fs_local__epoch_samples(const fs_config *cfg, size_t rows) {
  return (uint64_t)cfg->local_epochs * rows;
}
