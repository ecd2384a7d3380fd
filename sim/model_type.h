/*
 * model_type.h — the model table (model.type): one row per model, each in
 * its own file sim/model_<name>.c, listed in sim/model_types.def
 * (docs/architecture.md, "Adding a model").
 *
 * A row turns the configuration and the data's shape (features, classes)
 * into a model spec, the layer list of model.h that the engine runs; its
 * fs_choice head holds the name, the help line and the rules it sets on
 * the rest of the configuration (fs_config_validate calls them). The
 * configuration keeps the row's index (cfg->model_kind, whose FS_CFG_MODEL_*
 * values are the table's order).
 */
#ifndef FS_MODEL_TYPE_H
#define FS_MODEL_TYPE_H

#include "fs_choice.h"
#include "fs_config.h"
#include "model.h"

typedef struct fs_model_type {
  fs_choice base; /* name (model.type <name>), help, configuration check */
  /* Fill out's layers and loss for data of in_dim features and `classes`
   * classes (out arrives zeroed but for in_dim, classes and the
   * regularisers). FS_ECONFIG with a message when the data or the options
   * do not fit the model. */
  fs_status (*spec)(const fs_config *cfg, size_t in_dim, size_t classes,
                    fs_model_spec *out, fs_err *err);
} fs_model_type;

/* The rows: fs_model_type_logreg, fs_model_type_softmax, ... */
#define FS_MODEL_TYPE(name) extern const fs_model_type fs_model_type_##name;
#include "model_types.def"
#undef FS_MODEL_TYPE

/* The rows in table order: fs_model_type_at(i) for i <
 * fs_model_type_count(), NULL beyond; by name (NULL if none). */
size_t fs_model_type_count(void);
const fs_model_type *fs_model_type_at(size_t i);
const fs_model_type *fs_model_type_find(const char *name);
/* The table for the configuration (model.type, app/tables.c). */
fs_choice_set fs_model_type_choices(void);

/* The model spec of the configuration's model.type for data of in_dim
 * features and `classes` classes: the row's layers, with model.l2 and
 * model.nonconvex_lambda. FS_ECONFIG with a message (an index beyond the
 * table: "model: unknown kind"). fs_model_new checks the shapes. */
fs_status fs_model_spec_from_config(const fs_config *cfg, size_t in_dim,
                                    size_t classes, fs_model_spec *out,
                                    fs_err *err);

#endif
