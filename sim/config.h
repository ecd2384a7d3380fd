/*
 * config.h — the run configuration: one table of options, read from a
 * sectioned YAML file (libyaml) and/or the command line, checked, printed by
 * --help and echoed into summary.json.
 *
 * Precedence: built-in defaults < --config FILE < command line. Unknown keys,
 * wrong types and out-of-range values are FS_ECONFIG errors whose message
 * names the key (and the file and line for YAML).
 */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#include "fs_choice.h"
#include "fs_config.h"

/* Fill cfg with the built-in defaults. */
void fs_config_defaults(fs_config *cfg);

/* Apply one "section.key" = value (text). */
fs_status fs_config_set(fs_config *cfg, const char *key, const char *value,
                        fs_err *err);

/* Read a YAML file of sections (mappings of keys; a nested mapping adds a
 * level to the key; a sequence of scalars becomes a list value). */
fs_status fs_config_load_yaml(fs_config *cfg, const char *path, fs_err *err);

/* Cross-option checks (per_round <= clients, ...). */
fs_status fs_config_validate(const fs_config *cfg, fs_err *err);

/* Why checkpoints (run.checkpoint_every, run.resume, a stop on SIGINT or
 * SIGTERM) do not cover this configuration yet, or NULL if they do: state
 * that no checkpoint saves (docs/reliability.md lists it). */
const char *fs_config_ckpt_unsupported(const fs_config *cfg);

/* What the command line asked for besides options. */
typedef enum { FS_CLI_RUN = 0, FS_CLI_HELP, FS_CLI_VERSION } fs_cli_action;

/* Parse argv: --config FILE (read first, whatever its position), --set
 * KEY=VALUE, --KEY VALUE, --KEY=VALUE, the short forms listed by --help,
 * --help/-h and --version. Starts from the defaults. */
fs_status fs_config_from_args(fs_config *cfg, int argc, char **argv,
                              fs_cli_action *action, fs_err *err);

/* Print the option table (sections, keys, types, defaults, help). */
void fs_config_print_help(void *file /* FILE * */);

/* The resolved configuration as a JSON object of sections (a cJSON *; the
 * caller owns it). */
void *fs_config_to_json(const fs_config *cfg);

/* The name of a choice's value, for messages and outputs: FS_CFG_NAME(cfg,
 * strategy) is "fedavg" when cfg->strategy is FS_CFG_STRATEGY_FEDAVG. A
 * static string; aborts if the field is no choice (a programmer mistake). */
const char *fs_config_choice_at(const fs_config *cfg, size_t offset);
#define FS_CFG_NAME(cfg, field)                                                \
  fs_config_choice_at((cfg), offsetof(fs_config, field))

/* Register the table of a T_TABLE option (its key: "local.mode"). The
 * driver registers every table before it makes a configuration
 * (app/tables.c: fs_app_register_tables); parsing, --help and the JSON echo
 * read the names from it, and fs_config_validate calls the chosen row's
 * check. Registering a key again replaces its table. */
void fs_config_use_table(const char *key, fs_choice_set set);

/* The chosen row of a T_TABLE option (its fs_choice head; the owner casts it
 * to its row type). */
const fs_choice *fs_config_row(const fs_config *cfg, const char *key);

/* The choice options and their values, for tools that walk them (`fedsim
 * compat`): the value_i-th name of the opt_i-th choice option (its key into
 * *key), NULL past the last value; *key is NULL past the last option. */
const char *fs_config_choice(size_t opt_i, size_t value_i, const char **key);

/* Write a value of the config as text ("section.key"); FS_EINVAL if unknown. */
fs_status fs_config_get(const fs_config *cfg, const char *key, char *buf,
                        size_t len);

#endif
