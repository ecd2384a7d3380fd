/*
 * model_type.c — the model table built from model_types.def (one file per
 * row, sim/model_<name>.c), lookup by index and name, and the one entry the
 * world build calls: the configuration's row turned into a model spec
 * (docs/architecture.md, "Adding a model").
 */
#include "model_type.h"

#include <string.h>

static const fs_model_type *const table[] = {
#define FS_MODEL_TYPE(name) &fs_model_type_##name,
#include "model_types.def"
#undef FS_MODEL_TYPE
};
#define N_ROWS (sizeof table / sizeof table[0])

/* The configuration keeps the row index in an FS_CFG_MODEL_* value. */
_Static_assert(N_ROWS == (size_t)FS_CFG_MODEL_MLP + 1,
               "model_types.def and fs_cfg_model differ");

size_t fs_model_type_count(void) { return N_ROWS; }

const fs_model_type *fs_model_type_at(size_t i) {
  return i < N_ROWS ? table[i] : NULL;
}

const fs_model_type *fs_model_type_find(const char *name) {
  for (size_t i = 0; name != NULL && i < N_ROWS; i++)
    if (strcmp(name, table[i]->base.name) == 0)
      return table[i];
  return NULL;
}

fs_choice_set fs_model_type_choices(void) { return FS_CHOICE_PTRS(table); }

fs_status fs_model_spec_from_config(const fs_config *cfg, size_t in_dim,
                                    size_t classes, fs_model_spec *out,
                                    fs_err *err) {
  memset(out, 0, sizeof *out);
  const fs_model_type *row = fs_model_type_at((size_t)cfg->model_kind);
  if (row == NULL)
    return fs_err_set(err, FS_ECONFIG, "model: unknown kind %d",
                      (int)cfg->model_kind);
  out->in_dim = in_dim;
  out->classes = classes;
  out->l2 = cfg->model_l2;
  out->nonconvex_lambda = cfg->model_nonconvex;
  return row->spec(cfg, in_dim, classes, out, err);
}
