/*
 * main.c — the driver: read the configuration, start MPI, build the data
 * every rank needs, and start the role of this rank (rank 0: server; others:
 * client workers; a single process plays both). Nothing else.
 */
#include "client.h"
#include "config.h"
#include "fs_build.h"
#include "metrics.h"
#include "server.h"
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

int main(int argc, char **argv) {
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
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    fs_transport_finalize(t);
    return 2;
  }

  fs_world world;
  st = fs_world_build(&cfg, &world, &err);
  if (st != FS_OK) {
    if (rank == 0)
      fprintf(stderr, "fedsim: %s\n", fs_err_msg(&err, st));
    fs_transport_finalize(t);
    return 1;
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
