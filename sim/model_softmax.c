/*
 * model_softmax.c — multinomial (softmax) regression: one dense layer of
 * one output per class under the softmax cross-entropy, zero initial
 * weights (docs/architecture.md, "Adding a model").
 */
#include "model_type.h"

static fs_status softmax_spec(const fs_config *cfg, size_t in_dim,
                              size_t classes, fs_model_spec *out, fs_err *err) {
  (void)in_dim;
  (void)err;
  fs_model_add_dense(out, classes, cfg->model_bias, FS_ACT_NONE, FS_INIT_ZERO);
  out->loss = FS_LOSS_SOFTMAX_CE;
  return FS_OK;
}

const fs_model_type fs_model_type_softmax = {
    .base = {.name = "softmax", .help = "multinomial (softmax) regression"},
    .spec = softmax_spec,
};
