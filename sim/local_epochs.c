/*
 * local_epochs.c — local.mode epochs: E = local.epochs passes of shuffled
 * minibatch SGD (FedAvg's local work); the update is x0 - w.
 */
#include "local.h"

static double run(fs_local_job *job) { return fs_local__epochs(job, 0.0f); }

const fs_local_method fs_local_epochs = {
    .base = {.name = "epochs",
             .help = "E epochs of minibatch SGD (local.epochs)"},
    .run = run,
    .samples = fs_local__epoch_samples,
};
