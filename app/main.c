/*
 * main.c — the driver: read the configuration, start MPI, build the data
 * every rank needs, and start the role of this rank (rank 0: server; others:
 * client workers; a single process plays both). Nothing else.
 */
#include "accountant.h"
#include "app.h"
#include "client.h"
#include "config.h"
#include "fs_build.h"
#include "metrics.h"
#include "server.h"
#include "server_ckpt.h"
#include "setup.h"
#include "transport.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Choose runs/<UTC date-time>-<name>[-k] if no folder was given. */
static fs_status pick_run_dir(const fs_config *cfg, char *out, size_t len,
                              fs_err *err) {
  if (cfg->out_dir[0] != '\0') {
    snprintf(out, len, "%s", cfg->out_dir);
  } else {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    struct stat sb;
    for (int k = 1; k < 1000; k++) {
      if (k == 1)
        snprintf(out, len, "runs/%s-%s", stamp, cfg->name);
      else
        snprintf(out, len, "runs/%s-%s-%d", stamp, cfg->name, k);
      if (stat(out, &sb) != 0)
        break;
    }
  }
  return fs_mkdir_p(out, err);
}

static cJSON *build_info(void) {
  cJSON *b = cJSON_CreateObject();
  char mpi[256];
  fs_transport_mpi_version(mpi, sizeof mpi);
  cJSON_AddStringToObject(b, "version", FS_VERSION);
  cJSON_AddStringToObject(b, "git", FS_GIT_REV);
  cJSON_AddStringToObject(b, "compiler", FS_CC);
  cJSON_AddStringToObject(b, "mpi", mpi);
  cJSON_AddStringToObject(b, "blas", openblas_get_config());
  cJSON_AddStringToObject(b, "libsodium", sodium_version_string());
  return b;
}

/* The subcommands: a table, looked up by the first argument. */
typedef struct {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} subcommand;

static int privacy_cmd(int argc, char **argv) {
  return fs_app_privacy(argc + 1, argv - 1); /* app/privacy.c */
}
static const subcommand subcommands[] = {{"privacy", privacy_cmd},
                                         {"stragglers", fs_app_stragglers},
                                         {"compat", fs_app_compat}};

/* Read, resume and check the configuration; *rc is set when the process
 * should exit at once (help, version). */
static fs_status read_config(fs_config *cfg, int argc, char **argv, int *rc,
                             fs_err *err) {
  fs_cli_action action;
  fs_status st = fs_config_from_args(cfg, argc, argv, &action, err);
  if (action == FS_CLI_HELP) {
    fs_config_print_help(stdout);
    *rc = 0;
    return FS_OK;
  }
  if (action == FS_CLI_VERSION) {
    printf("fedsim %s (git %s, %s)\n", FS_VERSION, FS_GIT_REV, FS_CC);
    *rc = 0;
    return FS_OK;
  }
  if (st == FS_OK && cfg->resume[0] != '\0')
    st = fs_ckpt_resume_config(cfg, err);
  if (st == FS_OK)
    st = fs_config_validate(cfg, err);
  return st;
}

/* Fresh session keys for every resume (docs/reliability.md): a key epoch
 * drawn by the server, never 0 (a fresh run's), sent to all. */
static void seal_epoch(fs_config *cfg, fs_transport *t, int rank) {
  fs_err terr = {0};
  while (rank == 0 && cfg->seal_epoch == 0)
    randombytes_buf(&cfg->seal_epoch, sizeof cfg->seal_epoch);
  if (fs_transport_bcast_u64(t, &cfg->seal_epoch, &terr) != FS_OK) {
    fprintf(stderr, "fedsim: rank %d: %s\n", rank, terr.msg);
    fs_transport_abort(t, 1);
  }
}

/* Refuse a run that cannot fit in memory before it starts. */
static fs_status memory_check(const fs_config *cfg, const fs_world *world,
                              fs_transport *t, fs_err *err) {
  fs_model *m0 = NULL;
  fs_status st = fs_model_new(&world->mspec, 1, &m0, err);
  if (st == FS_OK) {
    double data = 4.0 * (double)(world->train.n * (world->train.dim + 1) +
                                 world->test.n * (world->test.dim + 1));
    const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int local = ls != NULL ? atoi(ls) : 1;
    st = fs_ckpt_memory_check(cfg, fs_model_dim(m0), data, fs_transport_size(t),
                              local, NULL, NULL, err);
  }
  fs_model_free(m0);
  return st;
}

/* dp.target_epsilon: every rank computes the same z (the workers need it for
 * local noise). */
static fs_status calibrate_dp(const fs_config *cfg, fs_world *world,
                              fs_err *err) {
  if (!(cfg->dp_target_eps > 0 && cfg->dp_noise != FS_CFG_NOISE_NONE))
    return FS_OK;
  fs_dp_conversion conv = cfg->dp_conversion == FS_CFG_CONV_CLASSIC
                              ? FS_DP_CLASSIC
                              : FS_DP_IMPROVED;
  return fs_dp_calibrate((double)cfg->per_round / (double)cfg->clients,
                         (double)cfg->rounds, cfg->dp_delta, cfg->dp_target_eps,
                         conv, &world->dp_z, err);
}

/* Rank 0: the server (with the worker pumped in-process when there is one
 * rank). Returns the exit status. */
static int run_server(fs_config *cfg, fs_world *world, fs_transport *t,
                      fs_worker *worker) {
  fs_err err = {0};
  char run_dir[512];
  fs_status st = pick_run_dir(cfg, run_dir, sizeof run_dir, &err);
  if (st != FS_OK) {
    fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    fs_transport_abort(t, 1);
  }
  if (worker != NULL)
    fs_transport_set_pump(t, fs_worker_pump, worker);
  fs_ckpt_set_resume_hint(run_dir);
  printf("fedsim %s: %s, %lld clients (%lld per round), model %s, %d "
         "rank%s, run folder %s\n",
         FS_VERSION, world->data_desc, (long long)cfg->clients,
         (long long)cfg->per_round, FS_CFG_NAME(cfg, model_kind),
         fs_transport_size(t), fs_transport_size(t) > 1 ? "s" : "", run_dir);
  fflush(stdout);
  fs_server_args a = {.cfg = cfg,
                      .world = world,
                      .t = t,
                      .run_dir = run_dir,
                      .build_info = build_info()};
  st = fs_server_run(&a, &err);
  if (st != FS_OK) {
    fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    return 1;
  }
  return fs_ckpt_interrupted ? 3 : 0; /* 3: interrupted at a boundary */
}

/* Build the world every rank needs and run this rank's role. */
static int run_roles(fs_config *cfg, fs_transport *t, int rank) {
  fs_err err = {0};
  fs_world world;
  fs_status st = fs_world_build(cfg, &world, &err);
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    return 1;
  }
  st = memory_check(cfg, &world, t, &err);
  if (st != FS_OK) {
    fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
    fs_world_free(&world);
    if (fs_transport_size(t) > 1)
      fs_transport_abort(t, 2);
    return 2;
  }
  st = calibrate_dp(cfg, &world, &err);
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: dp.target_epsilon: %s\n", fs_err_msg(&err, st));
    fs_world_free(&world);
    return 2;
  }
  int rc = 0;
  fs_worker *worker = NULL;
  if (rank != 0 || fs_transport_is_local(t)) {
    st = fs_worker_new(cfg, &world, t, &worker, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
      fs_transport_abort(t, 1);
    }
  }
  if (rank == 0) {
    rc = run_server(cfg, &world, t, worker);
  } else {
    st = fs_worker_run(worker, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
      fs_transport_abort(t, 1);
    }
  }
  fs_worker_free(worker);
  fs_world_free(&world);
  return rc;
}

int main(int argc, char **argv) {
  fs_app_register_tables();
  for (size_t i = 0; argc > 1 && i < sizeof subcommands / sizeof *subcommands;
       i++)
    if (!strcmp(argv[1], subcommands[i].name)) {
      if (sodium_init() < 0)
        return 1;
      return subcommands[i].run(argc - 1, argv + 1);
    }
  fs_config cfg;
  fs_err err = {0};
  int rc = -1;
  fs_status st = read_config(&cfg, argc, argv, &rc, &err);
  if (rc >= 0)
    return rc;

  openblas_set_num_threads(1);
  if (sodium_init() < 0) {
    fprintf(stderr, "fedsim: libsodium failed to start\n");
    return 1;
  }
  fs_transport *t = NULL;
  fs_err terr = {0};
  if (fs_transport_init(&argc, &argv, &t, &terr) != FS_OK) {
    fprintf(stderr, "fedsim: %s\n", terr.msg);
    return 1;
  }
  int rank = fs_transport_rank(t);
  /* The server stops at the next boundary and checkpoints; where
   * checkpoints do not cover the configuration, a signal ends the run at
   * once as usual. */
  if (st != FS_OK || fs_config_ckpt_unsupported(&cfg) == NULL)
    fs_ckpt_install_signals();
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    fs_transport_finalize(t);
    return 2;
  }
  if (cfg.secure_seal && cfg.resume[0] != '\0')
    seal_epoch(&cfg, t, rank);
  rc = run_roles(&cfg, t, rank);
  fs_transport_finalize(t);
  return rc;
}
