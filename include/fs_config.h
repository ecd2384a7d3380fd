/*
 * fs_config.h — the run configuration as a value: every option of the
 * option table in sim/config.c (which reads it from YAML and the command
 * line, checks it and prints it), already typed. Each choice is an enum,
 * parsed once when the configuration is read; no code compares a
 * configuration string (docs/architecture.md, "Configuration").
 *
 * A plain struct of layer 1, so that every layer can read the values it is
 * given; only sim/config.c writes it.
 */
#ifndef FS_CONFIG_VALUE_H
#define FS_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* The choices, each in the order of its names in sim/config.c. */
/* run.progress: auto|on|off */
typedef enum {
  FS_CFG_PROGRESS_AUTO = 0,
  FS_CFG_PROGRESS_ON,
  FS_CFG_PROGRESS_OFF
} fs_cfg_progress;

/* run.clock: virtual|wall */
typedef enum { FS_CFG_CLOCK_VIRTUAL = 0, FS_CFG_CLOCK_WALL } fs_cfg_clock;

/* data.source: synthetic|fashion-mnist|libsvm|idx */
typedef enum {
  FS_CFG_DATA_SYNTHETIC = 0,
  FS_CFG_DATA_FASHION_MNIST,
  FS_CFG_DATA_LIBSVM,
  FS_CFG_DATA_IDX
} fs_cfg_data;

/* partition.method: auto|iid|dirichlet|shards|contiguous|natural */
typedef enum {
  FS_CFG_PART_AUTO = 0,
  FS_CFG_PART_IID,
  FS_CFG_PART_DIRICHLET,
  FS_CFG_PART_SHARDS,
  FS_CFG_PART_CONTIGUOUS,
  FS_CFG_PART_NATURAL
} fs_cfg_part;

/* clients.sampling: fixed|poisson */
typedef enum {
  FS_CFG_SAMPLING_FIXED = 0,
  FS_CFG_SAMPLING_POISSON
} fs_cfg_sampling;

/* local.mode: epochs|steps|full_gradient|stochastic_gradient */
typedef enum {
  FS_CFG_LOCAL_EPOCHS = 0,
  FS_CFG_LOCAL_STEPS,
  FS_CFG_LOCAL_FULL_GRADIENT,
  FS_CFG_LOCAL_STOCHASTIC_GRADIENT
} fs_cfg_local;

/* server.strategy: fedavg|async|fedbuff|fedfix|gc|scaffold */
typedef enum {
  FS_CFG_STRATEGY_FEDAVG = 0,
  FS_CFG_STRATEGY_ASYNC,
  FS_CFG_STRATEGY_FEDBUFF,
  FS_CFG_STRATEGY_FEDFIX,
  FS_CFG_STRATEGY_GC,
  FS_CFG_STRATEGY_SCAFFOLD
} fs_cfg_strategy;

/* server.async_weights: fraboni|plain */
typedef enum { FS_CFG_AW_FRABONI = 0, FS_CFG_AW_PLAIN } fs_cfg_async_weights;

/* server.optimizer: sgd|momentum|adam */
typedef enum {
  FS_CFG_OPT_SGD = 0,
  FS_CFG_OPT_MOMENTUM,
  FS_CFG_OPT_ADAM
} fs_cfg_optimizer;

/* server.weighting: samples|uniform */
typedef enum {
  FS_CFG_WEIGHTING_SAMPLES = 0,
  FS_CFG_WEIGHTING_UNIFORM
} fs_cfg_weighting;

/* server.aggregator: fedavg|mean|median|trimmed_mean|krum|multikrum|nna|monna
 */
typedef enum {
  FS_CFG_AGG_FEDAVG = 0,
  FS_CFG_AGG_MEAN,
  FS_CFG_AGG_MEDIAN,
  FS_CFG_AGG_TRIMMED_MEAN,
  FS_CFG_AGG_KRUM,
  FS_CFG_AGG_MULTIKRUM,
  FS_CFG_AGG_NNA,
  FS_CFG_AGG_MONNA
} fs_cfg_aggregator;

/* server.nna_pivot: previous|model|own */
typedef enum {
  FS_CFG_PIVOT_PREVIOUS = 0,
  FS_CFG_PIVOT_MODEL,
  FS_CFG_PIVOT_OWN
} fs_cfg_nna_pivot;

/* model.type: logreg|softmax|mlp */
typedef enum {
  FS_CFG_MODEL_LOGREG = 0,
  FS_CFG_MODEL_SOFTMAX,
  FS_CFG_MODEL_MLP
} fs_cfg_model;

/* system.dist: constant|uniform|lognormal|exponential|fp */
typedef enum {
  FS_CFG_DIST_CONSTANT = 0,
  FS_CFG_DIST_UNIFORM,
  FS_CFG_DIST_LOGNORMAL,
  FS_CFG_DIST_EXPONENTIAL,
  FS_CFG_DIST_FP
} fs_cfg_dist;

/* faults.kind: none|sign_flip|scale|noise|label_flip|nan|inf */
typedef enum {
  FS_CFG_FAULT_NONE = 0,
  FS_CFG_FAULT_SIGN_FLIP,
  FS_CFG_FAULT_SCALE,
  FS_CFG_FAULT_NOISE,
  FS_CFG_FAULT_LABEL_FLIP,
  FS_CFG_FAULT_NAN,
  FS_CFG_FAULT_INF
} fs_cfg_fault;

/* compress.up, compress.down: identity|topk|randk|qsgd|sign|natural|block8 */
typedef enum {
  FS_CFG_COMP_IDENTITY = 0,
  FS_CFG_COMP_TOPK,
  FS_CFG_COMP_RANDK,
  FS_CFG_COMP_QSGD,
  FS_CFG_COMP_SIGN,
  FS_CFG_COMP_NATURAL,
  FS_CFG_COMP_BLOCK8
} fs_cfg_comp;

/* ef.method: none|ef14|ef21|ef21w */
typedef enum {
  FS_CFG_EF_NONE = 0,
  FS_CFG_EF_EF14,
  FS_CFG_EF_EF21,
  FS_CFG_EF_EF21W
} fs_cfg_ef;

/* ef.stepsize: fixed|theory */
typedef enum {
  FS_CFG_STEPSIZE_FIXED = 0,
  FS_CFG_STEPSIZE_THEORY
} fs_cfg_stepsize;

/* ef.l_tilde: qm|am */
typedef enum { FS_CFG_LT_QM = 0, FS_CFG_LT_AM } fs_cfg_l_tilde;

/* dp.clip: none|flat|per_layer|dice */
typedef enum {
  FS_CFG_CLIP_NONE = 0,
  FS_CFG_CLIP_FLAT,
  FS_CFG_CLIP_PER_LAYER,
  FS_CFG_CLIP_DICE
} fs_cfg_clip;

/* dp.noise: none|central|local */
typedef enum {
  FS_CFG_NOISE_NONE = 0,
  FS_CFG_NOISE_CENTRAL,
  FS_CFG_NOISE_LOCAL
} fs_cfg_noise;

/* dp.conversion: classic|improved */
typedef enum {
  FS_CFG_CONV_CLASSIC = 0,
  FS_CFG_CONV_IMPROVED
} fs_cfg_conversion;

/* eval.objective: pooled|clients */
typedef enum { FS_CFG_OBJ_POOLED = 0, FS_CFG_OBJ_CLIENTS } fs_cfg_objective;

/* eval.grad_norm: auto|on|off */
typedef enum {
  FS_CFG_GN_AUTO = 0,
  FS_CFG_GN_ON,
  FS_CFG_GN_OFF
} fs_cfg_grad_norm;

/* gc.scheme: none|ignore|fr|cr|sr-sgc|m-sgc */
typedef enum {
  FS_CFG_GC_NONE = 0,
  FS_CFG_GC_IGNORE,
  FS_CFG_GC_FR,
  FS_CFG_GC_CR,
  FS_CFG_GC_SR_SGC,
  FS_CFG_GC_M_SGC
} fs_cfg_gc_scheme;

/* gc.code: fr|cr */
typedef enum { FS_CFG_GCODE_FR = 0, FS_CFG_GCODE_CR } fs_cfg_gc_code;

/* gc.straggler: none|iid|bursty|exp|pareto|lognormal|trace */
typedef enum {
  FS_CFG_STRAG_NONE = 0,
  FS_CFG_STRAG_IID,
  FS_CFG_STRAG_BURSTY,
  FS_CFG_STRAG_EXP,
  FS_CFG_STRAG_PARETO,
  FS_CFG_STRAG_LOGNORMAL,
  FS_CFG_STRAG_TRACE
} fs_cfg_straggler;

/* secure.aggregation: none|secagg */
typedef enum { FS_CFG_SA_NONE = 0, FS_CFG_SA_SECAGG } fs_cfg_secagg;

#define FS_CFG_STR 256
#define FS_CFG_MAX_HIDDEN 8

#define FS_CFG_MAX_LIST 16

typedef struct {
  size_t n;
  double v[FS_CFG_MAX_LIST];
} fs_cfg_flist;

typedef struct fs_config {
  /* run */
  uint64_t seed;
  int64_t rounds;
  char name[FS_CFG_STR];
  char out_dir[FS_CFG_STR];
  fs_cfg_progress progress; /* auto | on | off */
  fs_cfg_clock clock;       /* virtual */
  int save_model;
  int64_t checkpoint_every; /* aggregations between checkpoints; 0: none */
  int64_t checkpoint_keep;  /* complete checkpoints kept; 0: all */
  char resume[FS_CFG_STR];  /* run or checkpoint folder to continue */
  double memory_limit;      /* bytes per rank; 0: what the machine has */
  /* data */
  fs_cfg_data data_source; /* synthetic | fashion-mnist | libsvm | idx */
  char data_path[FS_CFG_STR];
  char data_test_path[FS_CFG_STR];
  char data_labels_path[FS_CFG_STR];
  char data_test_labels_path[FS_CFG_STR];
  char data_dir[FS_CFG_STR];
  double data_test_fraction;
  double synth_alpha, synth_beta;
  int64_t synth_dim, synth_classes, synth_groups, synth_samples;
  /* partition */
  fs_cfg_part part_method;
  double part_alpha;
  int64_t part_shards;
  /* clients */
  int64_t clients;
  int64_t per_round;
  /* local training */
  fs_cfg_local local_mode; /* epochs | steps | full_gradient */
  int64_t local_epochs, local_steps, local_batch;
  double local_lr;
  double local_prox_mu; /* local.mode fedprox: mu */
  /* server */
  fs_cfg_optimizer server_optimizer; /* sgd */
  double server_lr;
  fs_cfg_weighting server_weighting;  /* samples | uniform */
  fs_cfg_strategy strategy;           /* fedavg | async | fedbuff | fedfix */
  int64_t buffer;                     /* FedBuff K */
  double fedfix_delta;                /* FedFix period, virtual seconds */
  double staleness_exponent;          /* FedBuff (1 + tau)^-p */
  int64_t max_staleness;              /* -1: none */
  fs_cfg_async_weights async_weights; /* fraboni | plain */
  double server_momentum, server_beta2, server_eps;
  double time_budget; /* virtual seconds; 0: none */

  /* robust aggregation (server/robust.h) */
  fs_cfg_aggregator aggregator; /* fedavg | a rule of server/robust.h */
  int64_t robust_f;             /* robust rules: faulty updates per round */
  int64_t multikrum_m;          /* multikrum: updates averaged; 0: k - f */
  fs_cfg_nna_pivot nna_pivot;   /* previous | model */
  double client_momentum;       /* local Polyak momentum beta; 0: off */
  /* simulated faulty clients */
  double fault_fraction;
  fs_cfg_fault fault_kind; /* none | sign_flip | scale | noise | ... */
  double fault_scale;
  double fault_noise_std;

  /* model */
  fs_cfg_model model_kind;
  int64_t hidden[FS_CFG_MAX_HIDDEN];
  size_t n_hidden;
  int model_bias;
  double model_l2;
  double model_nonconvex;
  /* system heterogeneity (virtual clock) */
  fs_cfg_dist sys_dist; /* constant | uniform | lognormal */
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
  fs_cfg_comp comp_up;
  int64_t comp_up_k;
  double comp_up_ratio;
  int64_t comp_levels;
  int64_t comp_block;
  fs_cfg_comp comp_down; /* EF21-BC downlink compressor */
  int64_t comp_down_k;
  double comp_down_ratio;
  fs_cfg_ef ef_method;         /* none | ef14 | ef21 | ef21w */
  fs_cfg_stepsize ef_stepsize; /* fixed | theory */
  double ef_factor;
  fs_cfg_l_tilde ef_l_tilde; /* qm | am */
  /* differential privacy */
  fs_cfg_clip dp_clip;   /* none | flat | per_layer | dice */
  double dp_clip_norm;   /* S (C1 for dice) */
  double dp_dice_ratio;  /* C2 = r * C1 */
  fs_cfg_noise dp_noise; /* none | central | local */
  double dp_z;           /* noise multiplier */
  double dp_target_eps;  /* > 0: calibrate dp_z before the run */
  double dp_delta;
  fs_cfg_conversion dp_conversion; /* classic | improved */
  int secure_seal;                 /* seal every frame (sealer.h) */
  double secure_tamper_rate;       /* test hook: uplink frames altered */
  uint64_t seal_epoch;      /* not an option: the key epoch, 0 for a fresh run,
                               random on each resume (docs/reliability.md) */
  fs_cfg_sampling sampling; /* fixed | poisson */
  /* evaluation */
  int64_t eval_every;
  fs_cfg_objective eval_objective; /* pooled | clients */
  fs_cfg_flist eval_targets;       /* test-accuracy targets */
  fs_cfg_flist eval_grad_targets;  /* ||grad f||^2 thresholds */
  fs_cfg_grad_norm eval_grad_norm; /* auto | on | off */
  int64_t eval_grad_norm_max_dim;
  /* gradient coding against stragglers (server.strategy = gc) */
  fs_cfg_gc_scheme gc_scheme; /* none | ignore | fr | cr | sr-sgc | m-sgc */
  int64_t gc_s, gc_B, gc_W, gc_lambda;
  fs_cfg_gc_code gc_code;        /* fr | cr: code of SR-SGC / M-SGC parts */
  fs_cfg_straggler gc_straggler; /* straggler model (sim/straggler.h) */
  double gc_p, gc_slowdown, gc_param;
  int64_t gc_strag_B, gc_strag_W, gc_strag_lambda; /* 0: as gc.B, W, lambda */
  char gc_trace[FS_CFG_STR];
  int64_t gc_models; /* models trained concurrently, job t -> t mod K */
  /* secure aggregation (docs/secure-aggregation.md) */
  fs_cfg_secagg sa_mode; /* none | secagg */
  double sa_clip;        /* c: each coordinate clipped to [-c, c] */
  int64_t sa_bits;       /* quantisation bits */
  int64_t sa_degree;     /* neighbours per client (0: automatic) */
  double sa_dropout;     /* share of clients that drop after masking */
} fs_config;

#endif
