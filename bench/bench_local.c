/*
 * bench_local.c — client updates per second of fedsim's own local training.
 *
 * One client update is what a worker does for one TRAIN frame: decode the
 * model, run the client's local work (E epochs of minibatch SGD: shuffle,
 * gather a batch, fs_model_loss_grad, w -= lr * grad) and send the UPDATE
 * frame. This program builds the world and the worker from the same options
 * as build/fedsim (fs_world_build, fs_worker_new), in local transport mode
 * (one process, no mpirun), and times fs_worker_handle on TRAIN frames for
 * clients 0, 1, 2, ... in turn; the UPDATE frames are drained and dropped.
 * Nothing is copied from client.c: the timed code is the simulator's.
 *
 * --bench.mode model times only the model: fs_model_loss_grad plus the SGD
 * step on consecutive batches of each client's rows as stored in the data
 * set (no shuffle, no gather, no frames), as a lower bound of the above.
 *
 * Bench options (the rest go to the fedsim option parser):
 *   --bench.mode worker|model   what to time (default worker)
 *   --bench.seconds S           time for at least S seconds (default 5)
 *   --bench.warmup N            untimed updates first (default 20)
 *   --bench.start_at T          after setup, sleep until Unix time T, so
 *                               that copies started together time the same
 *                               window (run_local.sh runs one per core)
 * Output: one line of key=value pairs (see run_local.sh).
 */
#include "app.h"
#include "client.h"
#include "config.h"
#include "frame.h"
#include "fs_rng.h"
#include "model.h"
#include "setup.h"
#include "transport.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
  const char *mode;
  double seconds;
  long warmup;
  double start_at;
} bench_opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void wait_until(double unix_t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double left = unix_t - ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  if (left <= 0.0) {
    if (unix_t > 0.0)
      fprintf(stderr, "bench_local: setup ended %.2f s after start_at\n",
              -left);
    return;
  }
  struct timespec d = {(time_t)left, (long)((left - floor(left)) * 1e9)};
  nanosleep(&d, NULL);
}

/* Split argv into bench options and the fedsim options (kept in argv). */
static int take_bench_opts(int *argc, char **argv, bench_opts *o) {
  int k = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--bench.", 8) != 0) {
      argv[k++] = argv[i];
      continue;
    }
    if (i + 1 >= *argc) {
      fprintf(stderr, "bench_local: %s needs a value\n", a);
      return -1;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--bench.mode"))
      o->mode = v;
    else if (!strcmp(a, "--bench.seconds"))
      o->seconds = atof(v);
    else if (!strcmp(a, "--bench.warmup"))
      o->warmup = atol(v);
    else if (!strcmp(a, "--bench.start_at"))
      o->start_at = atof(v);
    else {
      fprintf(stderr, "bench_local: unknown option %s\n", a);
      return -1;
    }
  }
  *argc = k;
  argv[k] = NULL;
  if (strcmp(o->mode, "worker") && strcmp(o->mode, "model")) {
    fprintf(stderr, "bench_local: --bench.mode is worker or model\n");
    return -1;
  }
  return 0;
}

/* GEMM floating-point operations of one pass over n rows: forward Z = A W^T,
 * weight gradient dW = dZ^T A, and dA = dZ W for every layer but the first
 * (2 * rows * in * out each). */
static double gemm_flops(const fs_model_spec *s, double n) {
  size_t w[FS_MODEL_MAX_LAYERS + 1], L = 0;
  w[L++] = s->in_dim;
  for (size_t i = 0; i < s->n_layers; i++)
    w[L++] = s->layer[i].out;
  double f = 0.0;
  for (size_t l = 1; l < L; l++)
    f += 2.0 * n * (double)w[l - 1] * (double)w[l] * (l == 1 ? 2.0 : 3.0);
  return f;
}

typedef struct {
  long updates;
  double wall, cpu, busy;
} timing;

/* Worker mode: the simulator's worker answers TRAIN frames. */
static fs_status run_worker(const fs_config *cfg, const fs_world *w,
                            fs_transport *t, const bench_opts *o, timing *out,
                            fs_err *err) {
  fs_worker *k = NULL;
  fs_model *m = NULL;
  fs_status st = fs_worker_new(cfg, w, t, &k, err);
  if (st != FS_OK)
    return st;
  if ((st = fs_model_new(&w->mspec, 32, &m, err)) != FS_OK) {
    fs_worker_free(k);
    return st;
  }
  size_t dim = fs_model_dim(m);
  float *x = malloc(dim * sizeof(float));
  size_t len = FS_FRAME_HEADER_BYTES + fs_dense_size(dim);
  uint8_t *frame = malloc(len);
  if (x == NULL || frame == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "bench: out of memory");
    goto out;
  }
  fs_rng r;
  fs_rng_init(&r, cfg->seed, FS_RNG_MODEL_INIT, 0, 0);
  fs_model_init_params(m, x, &r);
  fs_dense_encode(x, dim, frame + FS_FRAME_HEADER_BYTES);

  uint32_t N = (uint32_t)cfg->clients;
  long done = 0;
  double t0 = 0.0, c0 = 0.0, b0 = 0.0;
  for (long i = 0;; i++) {
    if (i == o->warmup) {
      wait_until(o->start_at);
      t0 = now_s();
      c0 = cpu_s();
      b0 = fs_worker_busy_seconds(k);
    }
    if (i >= o->warmup && now_s() - t0 >= o->seconds)
      break;
    fs_frame_header h = {.type = FS_MSG_TRAIN,
                         .encoding = FS_PL_DENSE,
                         .round = (uint32_t)(1 + i / N),
                         .client = (uint32_t)(i % N),
                         .model_version = (uint32_t)(i / N),
                         .body_len = (uint32_t)fs_dense_size(dim)};
    fs_frame_header_encode(&h, frame);
    int stop = 0;
    if ((st = fs_worker_handle(k, frame, len, &stop, err)) != FS_OK)
      goto out;
    int src;
    const uint8_t *buf;
    size_t blen;
    if ((st = fs_transport_try_recv(t, FS_ROLE_SERVER, &src, &buf, &blen,
                                    err)) != FS_OK)
      goto out;
    if (buf == NULL) {
      st = fs_err_set(err, FS_EINVAL, "bench: the worker sent no update");
      goto out;
    }
    if (i >= o->warmup)
      done++;
  }
  out->updates = done;
  out->wall = now_s() - t0;
  out->cpu = cpu_s() - c0;
  out->busy = fs_worker_busy_seconds(k) - b0;
out:
  free(x);
  free(frame);
  fs_model_free(m);
  fs_worker_free(k);
  return st;
}

/* Model mode: loss, gradient and SGD step on each client's rows in storage
 * order, gathered once up front (the gather is not timed). */
static fs_status run_model(const fs_config *cfg, const fs_world *w,
                           const bench_opts *o, timing *out, fs_err *err) {
  fs_model *m = NULL;
  size_t B = (size_t)cfg->local_batch;
  fs_status st = fs_model_new(&w->mspec, B > 256 ? B : 256, &m, err);
  if (st != FS_OK)
    return st;
  size_t dim = fs_model_dim(m), D = w->train.dim;
  size_t N = (size_t)cfg->clients, rows = w->part.offset[N];
  float *x = malloc(rows * D * sizeof(float));
  int32_t *y = malloc(rows * sizeof(int32_t));
  float *p = malloc(dim * sizeof(float)), *g = malloc(dim * sizeof(float));
  if (x == NULL || y == NULL || p == NULL || g == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "bench: out of memory");
    goto out;
  }
  for (size_t i = 0; i < rows; i++) {
    uint32_t row = w->part.rows[i];
    memcpy(x + i * D, w->train.x + (size_t)row * D, D * sizeof(float));
    y[i] = w->train.y[row];
  }
  fs_rng r;
  fs_rng_init(&r, cfg->seed, FS_RNG_MODEL_INIT, 0, 0);
  fs_model_init_params(m, p, &r);
  float lr = (float)cfg->local_lr;
  long done = 0;
  double t0 = 0.0, c0 = 0.0;
  for (long i = 0;; i++) {
    if (i == o->warmup) {
      wait_until(o->start_at);
      t0 = now_s();
      c0 = cpu_s();
    }
    if (i >= o->warmup && now_s() - t0 >= o->seconds)
      break;
    size_t c = (size_t)i % N, a = w->part.offset[c],
           n = w->part.offset[c + 1] - a;
    for (int64_t e = 0; e < cfg->local_epochs; e++)
      for (size_t from = 0; from < n; from += B) {
        size_t b = n - from < B ? n - from : B;
        fs_model_loss_grad(m, p, x + (a + from) * D, y + a + from, b, g);
        for (size_t j = 0; j < dim; j++)
          p[j] -= lr * g[j];
      }
    if (i >= o->warmup)
      done++;
  }
  out->updates = done;
  out->wall = now_s() - t0;
  out->cpu = cpu_s() - c0;
  out->busy = out->wall;
out:
  free(x);
  free(y);
  free(p);
  free(g);
  fs_model_free(m);
  return st;
}

int main(int argc, char **argv) {
  fs_app_register_tables();
  bench_opts o = {.mode = "worker", .seconds = 5.0, .warmup = 20};
  if (take_bench_opts(&argc, argv, &o) != 0)
    return 2;
  fs_config cfg;
  fs_err err = {0};
  fs_cli_action action;
  fs_status st = fs_config_from_args(&cfg, argc, argv, &action, &err);
  if (st == FS_OK)
    st = fs_config_validate(&cfg, &err);
  if (st != FS_OK || action != FS_CLI_RUN) {
    fprintf(stderr, "bench_local: %s\n", fs_err_msg(&err, st));
    return 2;
  }
  openblas_set_num_threads(1);

  fs_transport *t = NULL;
  if ((st = fs_transport_init(&argc, &argv, &t, &err)) != FS_OK) {
    fprintf(stderr, "bench_local: %s\n", fs_err_msg(&err, st));
    return 1;
  }
  if (!fs_transport_is_local(t)) {
    fprintf(stderr, "bench_local: run it without mpirun (one process)\n");
    fs_transport_finalize(t);
    return 2;
  }
  fs_world w;
  timing tm = {0};
  if ((st = fs_world_build(&cfg, &w, &err)) == FS_OK) {
    if (!strcmp(o.mode, "worker"))
      st = run_worker(&cfg, &w, t, &o, &tm, &err);
    else
      st = run_model(&cfg, &w, &o, &tm, &err);
  }
  if (st != FS_OK) {
    fprintf(stderr, "bench_local: %s\n", fs_err_msg(&err, st));
    fs_transport_finalize(t);
    return 1;
  }
  size_t N = (size_t)cfg.clients;
  double rows = (double)w.part.offset[N] / (double)N;
  double fl = gemm_flops(&w.mspec, rows * (double)cfg.local_epochs);
  double ups = (double)tm.updates / tm.wall;
  printf("bench_local mode=%s model=%s hidden=", o.mode,
         FS_CFG_NAME(&cfg, model_kind));
  size_t n_hidden = w.mspec.n_layers - 1; /* the layers before the logits */
  for (size_t i = 0; i < n_hidden; i++)
    printf("%s%zu", i ? "," : "", w.mspec.layer[i].out);
  printf("%s rows_per_client=%.1f batch=%lld epochs=%lld updates=%ld "
         "wall_s=%.4f cpu_s=%.4f busy_s=%.4f updates_per_s=%.3f "
         "ms_per_update=%.4f gemm_mflop_per_update=%.3f gflops=%.3f "
         "blas_core=%s\n",
         n_hidden ? "" : "-", rows, (long long)cfg.local_batch,
         (long long)cfg.local_epochs, tm.updates, tm.wall, tm.cpu, tm.busy, ups,
         1e3 / ups, fl / 1e6, fl * ups / 1e9, openblas_get_corename());
  fs_world_free(&w);
  fs_transport_finalize(t);
  return 0;
}
