/*
 * setup.h — turning a configuration into the things every rank needs: the
 * training and test sets, the partition of the training rows over clients,
 * the model's shape and the system profiles. Every rank computes the same
 * result from the same configuration, so nothing of it crosses the wire.
 */
#ifndef FS_SETUP_H
#define FS_SETUP_H

#include "config.h"
#include "data.h"
#include "model.h"
#include "partition.h"
#include "profile.h"
#include "smooth.h"

typedef struct {
  fs_dataset train, test;
  fs_partition part;
  fs_model_spec mspec;
  fs_profiles *profiles;
  int has_smooth;       /* smooth is filled (logreg with ef21w or theory) */
  fs_smoothness smooth; /* L, L_QM, L_AM and every client's L_i */
  char data_desc[320];  /* "fashion-mnist (/usr/share/...)" */
} fs_world;

/* Load the data, split the training rows and fill the model spec. On error
 * nothing is left allocated. */
fs_status fs_world_build(const fs_config *cfg, fs_world *w, fs_err *err);
void fs_world_free(fs_world *w);

#endif
