/*
 * model_mlp.c — the multilayer perceptron: dense layers of the widths of
 * model.hidden, each followed by ReLU, then a dense layer of one output per
 * class under the softmax cross-entropy; Glorot initial weights, zero
 * biases (docs/architecture.md, "Adding a model").
 */
#include "model_type.h"

static fs_status mlp_spec(const fs_config *cfg, size_t in_dim, size_t classes,
                          fs_model_spec *out, fs_err *err) {
  (void)in_dim;
  if (cfg->n_hidden == 0 || cfg->n_hidden > FS_MODEL_MAX_HIDDEN)
    return fs_err_set(err, FS_ECONFIG,
                      "model: mlp needs 1..%d hidden layers (got %zu)",
                      FS_MODEL_MAX_HIDDEN, cfg->n_hidden);
  for (size_t i = 0; i < cfg->n_hidden; i++) {
    if (cfg->hidden[i] <= 0)
      return fs_err_set(err, FS_ECONFIG,
                        "model: mlp hidden layer %zu has zero width", i);
    fs_model_add_dense(out, (size_t)cfg->hidden[i], cfg->model_bias,
                       FS_ACT_RELU, FS_INIT_GLOROT);
  }
  fs_model_add_dense(out, classes, cfg->model_bias, FS_ACT_NONE,
                     FS_INIT_GLOROT);
  out->loss = FS_LOSS_SOFTMAX_CE;
  return FS_OK;
}

const fs_model_type fs_model_type_mlp = {
    .base = {.name = "mlp",
             .help = "dense layers of model.hidden widths with ReLU, then "
                     "softmax"},
    .spec = mlp_spec,
};
