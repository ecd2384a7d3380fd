/*
 * model_logreg.c — binary logistic regression: one dense layer of one
 * output (the logit, with its bias if model.bias) under the logistic loss,
 * zero initial weights; with model.nonconvex_lambda it is the EF21
 * experiments' objective (docs/architecture.md, "Adding a model").
 */
#include "model_type.h"

/* Synthetic data must be made with two classes. */
static fs_status logreg_check(const fs_config *cfg, fs_err *err) {
  if (cfg->data_source == FS_CFG_DATA_SYNTHETIC && cfg->synth_classes != 2)
    return fs_err_set(err, FS_ECONFIG,
                      "model.type: logreg is binary but "
                      "data.synthetic.classes is %lld",
                      (long long)cfg->synth_classes);
  return FS_OK;
}

static fs_status logreg_spec(const fs_config *cfg, size_t in_dim,
                             size_t classes, fs_model_spec *out, fs_err *err) {
  (void)in_dim;
  if (classes != 2)
    return fs_err_set(err, FS_ECONFIG,
                      "model.type: logreg is binary, the data has %zu classes",
                      classes);
  fs_model_add_dense(out, 1, cfg->model_bias, FS_ACT_NONE, FS_INIT_ZERO);
  out->loss = FS_LOSS_LOGISTIC;
  return FS_OK;
}

const fs_model_type fs_model_type_logreg = {
    .base = {.name = "logreg",
             .help = "binary logistic regression (labels 0/1)",
             .check = logreg_check},
    .spec = logreg_spec,
};
