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

#define FS_CFG_STR 256
#define FS_CFG_MAX_HIDDEN 8

#define FS_CFG_MAX_LIST 16

typedef struct {
  size_t n;
  double v[FS_CFG_MAX_LIST];
} fs_cfg_flist;

typedef struct {
  /* run */
  uint64_t seed;
  int64_t rounds;
  char name[FS_CFG_STR];
  char out_dir[FS_CFG_STR];
  char progress[FS_CFG_STR]; /* auto | on | off */
  char clock[FS_CFG_STR];    /* virtual */
  int save_model;
  int64_t checkpoint_every; /* aggregations between checkpoints; 0: none */
  int64_t checkpoint_keep;  /* complete checkpoints kept; 0: all */
  char resume[FS_CFG_STR];  /* run or checkpoint folder to continue */
  double memory_limit;      /* bytes per rank; 0: what the machine has */
  /* data */
  char data_source[FS_CFG_STR]; /* synthetic | fashion-mnist | libsvm | idx */
  char data_path[FS_CFG_STR];
  char data_test_path[FS_CFG_STR];
  char data_labels_path[FS_CFG_STR];
  char data_test_labels_path[FS_CFG_STR];
  char data_dir[FS_CFG_STR];
  double data_test_fraction;
  double synth_alpha, synth_beta;
  int64_t synth_dim, synth_classes, synth_groups, synth_samples;
  /* partition */
  char part_method[FS_CFG_STR];
  double part_alpha;
  int64_t part_shards;
  /* clients */
  int64_t clients;
  int64_t per_round;
  /* local training */
  char local_mode[FS_CFG_STR]; /* epochs | steps | full_gradient */
  int64_t local_epochs, local_steps, local_batch;
  double local_lr;
  /* server */
  char server_optimizer[FS_CFG_STR]; /* sgd */
  double server_lr;
  char server_weighting[FS_CFG_STR]; /* samples | uniform */
  char strategy[FS_CFG_STR];         /* fedavg | async | fedbuff | fedfix */
  int64_t buffer;                    /* FedBuff K */
  double fedfix_delta;               /* FedFix period, virtual seconds */
  double staleness_exponent;         /* FedBuff (1 + tau)^-p */
  int64_t max_staleness;             /* -1: none */
  char async_weights[FS_CFG_STR];    /* fraboni | plain */
  double server_momentum, server_beta2, server_eps;
  double time_budget; /* virtual seconds; 0: none */

  /* robust aggregation (server/robust.h) */
  char aggregator[FS_CFG_STR]; /* fedavg | a rule of server/robust.h */
  int64_t robust_f;            /* robust rules: faulty updates per round */
  int64_t multikrum_m;         /* multikrum: updates averaged; 0: k - f */
  char nna_pivot[FS_CFG_STR];  /* previous | model */
  double client_momentum;      /* local Polyak momentum beta; 0: off */
  /* simulated faulty clients */
  double fault_fraction;
  char fault_kind[FS_CFG_STR]; /* none | sign_flip | scale | noise | ... */
  double fault_scale;
  double fault_noise_std;

  /* model */
  char model_kind[FS_CFG_STR];
  int64_t hidden[FS_CFG_MAX_HIDDEN];
  size_t n_hidden;
  int model_bias;
  double model_l2;
  double model_nonconvex;
  /* system heterogeneity (virtual clock) */
  char sys_dist[FS_CFG_STR]; /* constant | uniform | lognormal */
  double sys_spread;
  double sys_fp;          /* F-P scenario: P */
  double sys_sleep_scale; /* workers sleep this many real s per simulated s */
  double sys_dropout;     /* probability a client drops out of a job */
  double sys_offline_fraction; /* share of each period a client is offline */
  double sys_offline_period;   /* seconds */
  double sys_speed;            /* samples per second */
  double sys_bw_up;            /* bits per second */
  double sys_bw_down;          /* bits per second */
  double sys_latency;          /* seconds, one way */
  char sys_trace[FS_CFG_STR];
  /* compression and error feedback */
  char comp_up[FS_CFG_STR];
  int64_t comp_up_k;
  double comp_up_ratio;
  int64_t comp_levels;
  int64_t comp_block;
  char comp_down[FS_CFG_STR]; /* EF21-BC downlink compressor */
  int64_t comp_down_k;
  double comp_down_ratio;
  char ef_method[FS_CFG_STR];   /* none | ef14 | ef21 | ef21w */
  char ef_stepsize[FS_CFG_STR]; /* fixed | theory */
  double ef_factor;
  char ef_l_tilde[FS_CFG_STR]; /* qm | am */
  /* differential privacy */
  char dp_clip[FS_CFG_STR];  /* none | flat | per_layer | dice */
  double dp_clip_norm;       /* S (C1 for dice) */
  double dp_dice_ratio;      /* C2 = r * C1 */
  char dp_noise[FS_CFG_STR]; /* none | central | local */
  double dp_z;               /* noise multiplier */
  double dp_target_eps;      /* > 0: calibrate dp_z before the run */
  double dp_delta;
  char dp_conversion[FS_CFG_STR]; /* classic | improved */
  int secure_seal;                /* seal every frame (sealer.h) */
  double secure_tamper_rate;      /* test hook: uplink frames altered */
  uint64_t seal_epoch;       /* not an option: the key epoch, 0 for a fresh run,
                                random on each resume (docs/reliability.md) */
  char sampling[FS_CFG_STR]; /* fixed | poisson */
  /* evaluation */
  int64_t eval_every;
  char eval_objective[FS_CFG_STR]; /* pooled | clients */
  fs_cfg_flist eval_targets;       /* test-accuracy targets */
  fs_cfg_flist eval_grad_targets;  /* ||grad f||^2 thresholds */
  char eval_grad_norm[FS_CFG_STR]; /* auto | on | off */
  int64_t eval_grad_norm_max_dim;
  /* gradient coding against stragglers (server.strategy = gc) */
  char gc_scheme[FS_CFG_STR]; /* none | ignore | fr | cr | sr-sgc | m-sgc */
  int64_t gc_s, gc_B, gc_W, gc_lambda;
  char gc_code[FS_CFG_STR];      /* fr | cr: code of SR-SGC / M-SGC parts */
  char gc_straggler[FS_CFG_STR]; /* straggler model (sim/straggler.h) */
  double gc_p, gc_slowdown, gc_param;
  int64_t gc_strag_B, gc_strag_W, gc_strag_lambda; /* 0: as gc.B, W, lambda */
  char gc_trace[FS_CFG_STR];
  int64_t gc_models; /* models trained concurrently, job t -> t mod K */
  /* secure aggregation (docs/secure-aggregation.md) */
  char sa_mode[FS_CFG_STR]; /* none | secagg */
  double sa_clip;           /* c: each coordinate clipped to [-c, c] */
  int64_t sa_bits;          /* quantisation bits */
  int64_t sa_degree;        /* neighbours per client (0: automatic) */
  double sa_dropout;        /* share of clients that drop after masking */
} fs_config;

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

/* Write a value of the config as text ("section.key"); FS_EINVAL if unknown. */
fs_status fs_config_get(const fs_config *cfg, const char *key, char *buf,
                        size_t len);

#endif
