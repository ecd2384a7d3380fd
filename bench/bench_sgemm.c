/*
 * bench_sgemm.c — this machine's one-thread OpenBLAS sgemm rate, for the
 * floor of local training: a large square product (the kernel's peak) and
 * the exact calls fs_model_loss_grad makes for one minibatch (sim/model.c:
 * forward Z = A W^T, weight gradient dW = dZ^T A (beta = 0: a batch is
 * one chunk), and dA = dZ W for every layer but the first), row-major, same
 * transposes.
 *
 * Usage: bench_sgemm [--size S] [--widths 784,256,128,10] [--rows 600]
 *                    [--batch 32] [--seconds T]
 * Prints the square rate, one line per call shape (microseconds per call
 * and GFLOP/s), and the floor of one client update of `rows` rows in
 * batches of `batch`: the sum of the timed calls (shape floor) and the
 * FLOPs over the square rate (peak floor). Set OPENBLAS_CORETYPE to compare
 * kernels; the chosen one is printed.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *filled(size_t n) {
  float *p = malloc(n * sizeof *p);
  if (p == NULL) {
    fprintf(stderr, "bench_sgemm: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

typedef struct {
  enum CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
  float beta;
} call;

/* Seconds per call of C(m x n) = op(A) op(B) (+ beta C), best of 5 runs of
 * enough calls to fill `secs` / 5 each. */
static double time_call(const call *c, double secs) {
  float *A = filled((size_t)c->m * c->k), *B = filled((size_t)c->k * c->n);
  float *C = filled((size_t)c->m * c->n);
  int lda = c->ta == CblasNoTrans ? c->k : c->m;
  int ldb = c->tb == CblasNoTrans ? c->n : c->k;
  long reps = 1;
  double best = 1e30;
  for (;;) { /* calibrate */
    double t0 = now_s();
    for (long r = 0; r < reps; r++)
      cblas_sgemm(CblasRowMajor, c->ta, c->tb, c->m, c->n, c->k, 1.0f, A, lda,
                  B, ldb, c->beta, C, c->n);
    double dt = now_s() - t0;
    if (dt > secs / 20.0)
      break;
    reps *= 2;
  }
  for (int run = 0; run < 5; run++) {
    double t0 = now_s();
    for (long r = 0; r < reps; r++)
      cblas_sgemm(CblasRowMajor, c->ta, c->tb, c->m, c->n, c->k, 1.0f, A, lda,
                  B, ldb, c->beta, C, c->n);
    double dt = (now_s() - t0) / (double)reps;
    if (dt < best)
      best = dt;
  }
  free(A);
  free(B);
  free(C);
  return best;
}

static const char *tname(enum CBLAS_TRANSPOSE t) {
  return t == CblasNoTrans ? "N" : "T";
}

/* Time the calls of one minibatch of b rows; returns the seconds. */
static double batch_calls(const int *w, int L, int b, double secs, int print,
                          double *flops) {
  double total = 0.0;
  *flops = 0.0;
  for (int l = 1; l < L; l++) {
    int ni = w[l - 1], no = w[l];
    call cs[3] = {{CblasNoTrans, CblasTrans, b, no, ni, 0.0f},
                  {CblasTrans, CblasNoTrans, no, ni, b, 0.0f},
                  {CblasNoTrans, CblasNoTrans, b, ni, no, 0.0f}};
    const char *what[3] = {"forward Z=A*W^T", "grad dW=dZ^T*A", "back dA=dZ*W"};
    for (int i = 0; i < (l == 1 ? 2 : 3); i++) {
      double f = 2.0 * cs[i].m * (double)cs[i].n * cs[i].k;
      double t = time_call(&cs[i], secs);
      total += t;
      *flops += f;
      if (print)
        printf("  layer %d %-16s sgemm %s%s m=%-4d n=%-4d k=%-4d  %9.2f us  "
               "%7.2f GFLOP/s\n",
               l, what[i], tname(cs[i].ta), tname(cs[i].tb), cs[i].m, cs[i].n,
               cs[i].k, t * 1e6, f / t / 1e9);
    }
  }
  return total;
}

int main(int argc, char **argv) {
  int size = 2048, rows = 600, batch = 32;
  double secs = 1.0;
  int w[16] = {784, 256, 128, 10}, L = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--size"))
      size = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rows"))
      rows = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch"))
      batch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds"))
      secs = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--widths")) {
      L = 0;
      for (char *s = strtok(argv[i + 1], ","); s && L < 16;
           s = strtok(NULL, ","))
        w[L++] = atoi(s);
    } else {
      fprintf(stderr, "bench_sgemm: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (L < 2 || rows < 1 || batch < 1 || size < 1) {
    fprintf(stderr, "bench_sgemm: bad arguments\n");
    return 2;
  }
  openblas_set_num_threads(1);
  call sq = {CblasNoTrans, CblasNoTrans, size, size, size, 0.0f};
  double tsq = time_call(&sq, 3.0 * secs);
  double peak = 2.0 * size * (double)size * size / tsq;
  printf("bench_sgemm core=%s threads=1 square=%d gflops=%.2f\n",
         openblas_get_corename(), size, peak / 1e9);

  printf("widths");
  for (int l = 0; l < L; l++)
    printf("%c%d", l ? '-' : ' ', w[l]);
  printf(", batch %d:\n", batch);
  double f_full, f_last = 0.0;
  double t_full = batch_calls(w, L, batch, secs, 1, &f_full), t_last = 0.0;
  int full = rows / batch, rest = rows % batch;
  if (rest)
    t_last = batch_calls(w, L, rest, secs, 0, &f_last);
  double t_upd = full * t_full + t_last, f_upd = full * f_full + f_last;
  printf("bench_sgemm_floor rows=%d batch=%d gemm_mflop_per_update=%.3f "
         "shape_floor_ms=%.4f shape_gflops=%.2f peak_floor_ms=%.4f "
         "shape_floor_updates_per_s=%.1f peak_floor_updates_per_s=%.1f\n",
         rows, batch, f_upd / 1e6, t_upd * 1e3, f_upd / t_upd / 1e9,
         f_upd / peak * 1e3, 1.0 / t_upd, peak / f_upd);
  return 0;
}
