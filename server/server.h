/*
 * server.h — the server role (rank 0): owns the global model, runs the
 * configured strategy (a row of the table in strategy.h: synchronous
 * FedAvg, async, FedBuff, FedFix, gc), steps the server optimiser (optim.h),
 * keeps the virtual clock, evaluates, and writes metrics.csv, summary.json
 * and model.bin into the run folder.
 */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include "config.h"
#include "setup.h"
#include "transport.h"

typedef struct fs_server_args {
  const fs_config *cfg;
  const fs_world *world;
  fs_transport *t;
  const char *run_dir;
  void *build_info; /* cJSON object echoed into summary.json (taken over) */
} fs_server_args;

/* Run the whole training; tells the workers to stop at the end (also after
 * an error, where it can). */
fs_status fs_server_run(const fs_server_args *a, fs_err *err);

/* Write dir/model.bin: "FSMODEL1", u32 version 1, u64 dim, dim float32
 * (little-endian), atomically. */
fs_status fs_server_write_model(const char *dir, const float *x, size_t dim,
                                fs_err *err);

/* SHUTDOWN to every worker, sealed (secure.seal, sl not NULL) for the
 * worker's first client, whose id the header carries; then flush. err may be
 * NULL (shutting down after another error). */
struct fs_sealer;
fs_status fs_server_shutdown_workers(struct fs_sealer *sl, fs_transport *t,
                                     fs_err *err);

/* Sample k of n client ids without replacement for round r (Floyd's
 * algorithm on the stream (seed, SAMPLE, 0, r)), sorted increasing into out. */
fs_status fs_sample_clients(uint64_t seed, uint64_t round, uint32_t n,
                            uint32_t k, uint32_t *out);

/* Poisson sampling for round r: every client independently with
 * probability q (geometric skips on the stream (seed, SAMPLE, 1, r), so the
 * cost is proportional to the clients taken), increasing into out (room for
 * n); returns how many. */
uint32_t fs_sample_poisson(uint64_t seed, uint64_t round, uint32_t n, double q,
                           uint32_t *out);

#endif
