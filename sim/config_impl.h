/*
 * config_impl.h — what the files of the configuration module share (not
 * part of its interface, config.h): the option table's row type, the table
 * itself and the look-ups on it. The module is split by concern: the
 * option table (config_options.c), YAML reading (config_yaml.c), the
 * cross-option checks (config_check.c), and setting, reading, the command
 * line, --help and the JSON echo (config.c); see docs/architecture.md.
 */
#ifndef FS_CONFIG_IMPL_H
#define FS_CONFIG_IMPL_H

#include "config.h"
#include "fs_choice.h"

#include <stddef.h>

typedef enum {
  FS_CONFIG__T_INT,
  FS_CONFIG__T_UINT,
  FS_CONFIG__T_FLOAT,
  FS_CONFIG__T_STR,
  FS_CONFIG__T_BOOL,
  FS_CONFIG__T_CHOICE,
  FS_CONFIG__T_TABLE, /* a row of an extension point's table (fs_choice.h),
              registered by the driver with fs_config_use_table */
  FS_CONFIG__T_LIST,
  FS_CONFIG__T_FLIST
} fs_config__opt_type;

typedef struct {
  const char *key;
  fs_config__opt_type type;
  size_t offset;
  const char *def;
  double min, max;          /* numbers: inclusive limits */
  const char *const *names; /* FS_CONFIG__T_CHOICE: the names, NULL-terminated,
                              in the order of the field's enum (fs_config.h) */
  const char *help;
} fs_config__opt;

/* The option table, one row per option (config_options.c). */
extern const fs_config__opt fs_config__options[];
extern const size_t fs_config__n_options;

/* The row of `key`, or NULL. */
const fs_config__opt *fs_config__find_opt(const char *key);

/* The table of a FS_CONFIG__T_TABLE option; aborts if none is registered
 * (a programmer mistake: the driver registers every one). */
const fs_choice_set *fs_config__table_of(const char *key);

/* A choice option's names, whether its own or its table's: the index of v
 * (-1 if none), the name of the value at base ("?" if out of range), and
 * "a|b|c" into buf. */
int fs_config__opt_index(const fs_config__opt *o, const char *v);
const char *fs_config__opt_name(const fs_config__opt *o, const char *base);
const char *fs_config__opt_list(const fs_config__opt *o, char *buf, size_t len);

#endif
