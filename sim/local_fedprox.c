/*
 * local_fedprox.c — local.mode fedprox: FedProx (Li et al., MLSys 2020),
 * E epochs of minibatch SGD on the client's loss plus the proximal term
 * (mu/2)||w - x0||^2, mu = local.prox_mu: each step is
 * w <- w - lr (grad F_i(w; batch) + mu (w - x0)), the authors' form
 * (docs/local-methods.md). mu = 0 is exactly local.mode epochs.
 */
#include "local.h"

static double run(fs_local_job *job) {
  return fs_local__epochs(job, (float)job->cfg->local_prox_mu);
}

const fs_local_method fs_local_fedprox = {
    .base = {.name = "fedprox",
             .help = "FedProx: E epochs of SGD on F_i(w) + (mu/2)||w - x0||^2 "
                     "(local.prox_mu)"},
    .run = run,
    .samples = fs_local__epoch_samples,
};
