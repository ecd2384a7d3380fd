/*
 * local_full_gradient.c — local.mode full_gradient: one gradient of the
 * client's whole loss at the received model, sent as the update (the EF21
 * family's local work, docs/ef21.md).
 */
#include "local.h"

static double run(fs_local_job *job) {
  return fs_model_loss_grad(job->model, job->w, job->X, job->Y, job->n,
                            job->grad);
}

static uint64_t samples(const fs_config *cfg, size_t rows) {
  (void)cfg;
  return rows;
}

const fs_local_method fs_local_full_gradient = {
    .base = {.name = "full_gradient",
             .help = "one gradient of the client's whole loss"},
    .run = run,
    .samples = samples,
};
