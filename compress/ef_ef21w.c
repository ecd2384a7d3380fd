/*
 * ef_ef21w.c — ef.method ef21w, weighted EF21 (EF21-W, "Error Feedback
 * Reloaded"): EF21 on the target grad_i / (n w_i), w_i = L_i / sum_j L_j,
 * which the client scales before the message (FS_EF_WEIGHTED); the step
 * size uses the arithmetic mean of the L_i (docs/ef21.md). It needs the
 * L_i, which fedsim computes for logreg only.
 */
#include "ef.h"

static fs_status ef21w_check(const fs_config *cfg, fs_err *err) {
  if (cfg->model_kind != FS_CFG_MODEL_LOGREG)
    return fs_err_set(err, FS_ECONFIG,
                      "ef.method: ef21w needs the L_i of logreg clients "
                      "(model.type logreg)");
  return FS_OK;
}

const fs_ef_method fs_ef_method_ef21w = {
    .base = {.name = "ef21w",
             .help = "weighted EF21 (EF21-W): targets scaled by 1/(n w_i), "
                     "w_i = L_i / sum L_j (logreg)",
             .check = ef21w_check},
    .flags = FS_EF_MEMORY | FS_EF_21 | FS_EF_WEIGHTED,
    .message = fs_ef21_message,
};
