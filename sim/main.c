/*
 * main.c — the driver: read the configuration, start MPI, build the data
 * every rank needs, and start the role of this rank (rank 0: server; others:
 * client workers; a single process plays both). Nothing else.
 */
#include "accountant.h"
#include "client.h"
#include "config.h"
#include "fs_build.h"
#include "gc_sim.h"
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

/* `fedsim privacy ...`: epsilon for (q, sigma, steps, delta) without a run,
 * or the sigma that meets a target epsilon. */
static int privacy_cmd(int argc, char **argv) {
  double q = -1, sigma = -1, steps = -1, delta = 1e-5, target = 0;
  const char *conv_s = "improved";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "fedsim privacy: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    char *end = NULL;
    double d = strtod(v, &end);
    int num = end != v && *end == '\0';
    if (!strcmp(a, "--conversion"))
      conv_s = v;
    else if (!num) {
      fprintf(stderr, "fedsim privacy: %s: '%s' is not a number\n", a, v);
      return 2;
    } else if (!strcmp(a, "--q"))
      q = d;
    else if (!strcmp(a, "--sigma") || !strcmp(a, "--z"))
      sigma = d;
    else if (!strcmp(a, "--steps"))
      steps = d;
    else if (!strcmp(a, "--delta"))
      delta = d;
    else if (!strcmp(a, "--target-epsilon"))
      target = d;
    else {
      fprintf(stderr, "fedsim privacy: unknown option '%s'\n", a);
      return 2;
    }
  }
  fs_dp_conversion conv;
  if (fs_dp_conversion_parse(conv_s, &conv) != FS_OK) {
    fprintf(stderr,
            "fedsim privacy: --conversion: '%s' is not classic or "
            "improved\n",
            conv_s);
    return 2;
  }
  if (q < 0 || steps < 0 || (sigma < 0 && target <= 0)) {
    fprintf(stderr, "usage: fedsim privacy --q Q --steps T (--sigma Z | "
                    "--target-epsilon E) [--delta D] [--conversion "
                    "classic|improved]\n");
    return 2;
  }
  fs_err err = {0};
  if (target > 0) {
    double z;
    fs_status st = fs_dp_calibrate(q, steps, delta, target, conv, &z, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim privacy: %s\n", fs_err_msg(&err, st));
      return 1;
    }
    printf("sigma = %.6g reaches epsilon <= %g at delta = %g after %g steps "
           "with q = %g (%s conversion)\n",
           z, target, delta, steps, q, conv_s);
    return 0;
  }
  double eps, order;
  fs_status st = fs_dp_epsilon(q, sigma, steps, delta, conv, &eps, &order);
  if (st != FS_OK) {
    fprintf(stderr, "fedsim privacy: %s\n", fs_err_msg(&err, st));
    return 1;
  }
  printf("epsilon = %.6g at delta = %g (q = %g, sigma = %g, %g steps, %s "
         "conversion, best order %g)\n",
         eps, delta, q, sigma, steps, conv_s, order);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "privacy")) {
    if (sodium_init() < 0)
      return 1;
    return privacy_cmd(argc, argv);
  }
  if (argc > 1 && !strcmp(argv[1], "stragglers")) {
    if (sodium_init() < 0)
      return 1;
    return fs_gc_sim_main(argc - 1, argv + 1); /* server/gc_sim.c */
  }
  fs_config cfg;
  fs_err err = {0};
  fs_cli_action action;
  fs_status st = fs_config_from_args(&cfg, argc, argv, &action, &err);
  if (action == FS_CLI_HELP) {
    fs_config_print_help(stdout);
    return 0;
  }
  if (action == FS_CLI_VERSION) {
    printf("fedsim %s (git %s, %s)\n", FS_VERSION, FS_GIT_REV, FS_CC);
    return 0;
  }
  if (st == FS_OK && cfg.resume[0] != '\0')
    st = fs_ckpt_resume_config(&cfg, &err);
  if (st == FS_OK)
    st = fs_config_validate(&cfg, &err);

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

  if (cfg.secure_seal && cfg.resume[0] != '\0') {
    /* Fresh session keys for every resume (docs/reliability.md): a key
     * epoch drawn by the server, never 0 (a fresh run's), sent to all. */
    while (rank == 0 && cfg.seal_epoch == 0)
      randombytes_buf(&cfg.seal_epoch, sizeof cfg.seal_epoch);
    if (fs_transport_bcast_u64(t, &cfg.seal_epoch, &terr) != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, terr.msg);
      fs_transport_abort(t, 1);
    }
  }

  fs_world world;
  st = fs_world_build(&cfg, &world, &err);
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    fs_transport_finalize(t);
    return 1;
  }

  {
    /* Refuse a run that cannot fit in memory before it starts. */
    fs_model *m0 = NULL;
    st = fs_model_new(&world.mspec, 1, &m0, &err);
    if (st == FS_OK) {
      double data = 4.0 * (double)(world.train.n * (world.train.dim + 1) +
                                   world.test.n * (world.test.dim + 1));
      const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
      int local = ls != NULL ? atoi(ls) : 1;
      st = fs_ckpt_memory_check(&cfg, fs_model_dim(m0), data,
                                fs_transport_size(t), local, NULL, NULL, &err);
    }
    fs_model_free(m0);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
      fs_world_free(&world);
      if (fs_transport_size(t) > 1)
        fs_transport_abort(t, 2);
      fs_transport_finalize(t);
      return 2;
    }
  }
  if (cfg.dp_target_eps > 0 && strcmp(cfg.dp_noise, "none") != 0) {
    /* Every rank computes the same z (the workers need it for local
     * noise). */
    fs_dp_conversion conv;
    fs_dp_conversion_parse(cfg.dp_conversion, &conv);
    st = fs_dp_calibrate((double)cfg.per_round / (double)cfg.clients,
                         (double)cfg.rounds, cfg.dp_delta, cfg.dp_target_eps,
                         conv, &world.dp_z, &err);
    if (st != FS_OK) {
      if (rank == 0)
        fprintf(stderr, "fedsim: dp.target_epsilon: %s\n",
                fs_err_msg(&err, st));
      fs_world_free(&world);
      fs_transport_finalize(t);
      return 2;
    }
  }
  int rc = 0;
  fs_worker *worker = NULL;
  if (rank != 0 || fs_transport_is_local(t)) {
    st = fs_worker_new(&cfg, &world, t, &worker, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
      fs_transport_abort(t, 1);
    }
  }
  if (rank == 0) {
    char run_dir[512];
    st = pick_run_dir(&cfg, run_dir, sizeof run_dir, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
      fs_transport_abort(t, 1);
    }
    if (worker != NULL)
      fs_transport_set_pump(t, fs_worker_pump, worker);
    fs_ckpt_set_resume_hint(run_dir);
    printf("fedsim %s: %s, %lld clients (%lld per round), model %s, %d "
           "rank%s, run folder %s\n",
           FS_VERSION, world.data_desc, (long long)cfg.clients,
           (long long)cfg.per_round, cfg.model_kind, fs_transport_size(t),
           fs_transport_size(t) > 1 ? "s" : "", run_dir);
    fflush(stdout);
    fs_server_args a = {.cfg = &cfg,
                        .world = &world,
                        .t = t,
                        .run_dir = run_dir,
                        .build_info = build_info()};
    st = fs_server_run(&a, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
      rc = 1;
    } else if (fs_ckpt_interrupted) {
      rc = 3; /* interrupted at a boundary, resumable */
    }
  } else {
    st = fs_worker_run(worker, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: rank %d: %s\n", rank, fs_err_msg(&err, st));
      fs_transport_abort(t, 1);
    }
  }
  fs_worker_free(worker);
  fs_world_free(&world);
  fs_transport_finalize(t);
  return rc;
}
