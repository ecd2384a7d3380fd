/*
 * bench_topk.c — TopK selection speed against a plain read pass.
 *
 * For d = 1e5, 1e6, 1e7 and k = 1% and 0.1% of d, on standard normal data
 * (stream FS_RNG_TEST of seed 1), reports the best of several repetitions
 * of fs_topk_select in ns per element next to the floor: one pass that reads
 * the same data and sums |v_j| (SSE2, four vector accumulators, so that it
 * runs at memory speed rather than at the latency of one addition). Also
 * the whole TopK compressor (fs_compress: selection plus gathering values)
 * and RandK's compressor for scale. Not a test: numbers only.
 *
 * Usage: bench_topk [reps]   (default 7)
 */
#include "compress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The floor: sum of |v_j|, with four SSE2 accumulators where there is
 * SSE2 (sixteen floats per step), else four scalar ones. */
static __attribute__((noinline)) float read_pass(const float *v, uint32_t d) {
  uint32_t j = 0;
  float s = 0.0f;
#if defined(__SSE2__)
  const __m128 m = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (; d - j >= 16; j += 16) {
    a0 = _mm_add_ps(a0, _mm_and_ps(m, _mm_loadu_ps(v + j)));
    a1 = _mm_add_ps(a1, _mm_and_ps(m, _mm_loadu_ps(v + j + 4)));
    a2 = _mm_add_ps(a2, _mm_and_ps(m, _mm_loadu_ps(v + j + 8)));
    a3 = _mm_add_ps(a3, _mm_and_ps(m, _mm_loadu_ps(v + j + 12)));
  }
  float t[4];
  _mm_storeu_ps(t, _mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)));
  s = t[0] + t[1] + t[2] + t[3];
#else
  float a[4] = {0};
  for (; d - j >= 4; j += 4)
    for (int i = 0; i < 4; i++)
      a[i] += fabsf(v[j + i]);
  s = a[0] + a[1] + a[2] + a[3];
#endif
  for (; j < d; j++)
    s += fabsf(v[j]);
  return s;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 7;
  if (reps < 1)
    reps = 1;
  static const uint32_t dims[] = {100000, 1000000, 10000000};
  static const double fracs[] = {0.01, 0.001};
  printf("TopK selection, best of %d, ns per element (random normal data)\n",
         reps);
  printf("%10s %8s %10s %10s %8s %12s %12s\n", "d", "k", "read", "topk",
         "ratio", "topk_comp", "randk_comp");
  volatile float sink = 0.0f;
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    uint32_t d = dims[di];
    float *v = malloc((size_t)d * sizeof *v);
    uint32_t *idx = malloc((size_t)d * sizeof *idx);
    if (v == NULL || idx == NULL)
      return 1;
    fs_rng r;
    fs_rng_init(&r, 1, FS_RNG_TEST, d, 0);
    for (uint32_t j = 0; j < d; j++)
      v[j] = (float)fs_rng_normal(&r);
    for (size_t fi = 0; fi < sizeof fracs / sizeof fracs[0]; fi++) {
      uint32_t k = (uint32_t)llround(fracs[fi] * d);
      double best_read = INFINITY, best_topk = INFINITY;
      double best_comp = INFINITY, best_randk = INFINITY;
      fs_payload p = {0};
      fs_comp_spec tk = {.kind = &fs_compressor_topk, .k = k};
      fs_comp_spec rk = {.kind = &fs_compressor_randk, .k = k};
      for (int rep = 0; rep < reps; rep++) {
        double t0 = now_ns();
        sink += read_pass(v, d);
        double t1 = now_ns();
        if (fs_topk_select(v, d, k, idx) != FS_OK)
          return 1;
        double t2 = now_ns();
        if (fs_compress(&tk, v, d, NULL, &p) != FS_OK)
          return 1;
        double t3 = now_ns();
        if (fs_compress(&rk, v, d, &r, &p) != FS_OK)
          return 1;
        double t4 = now_ns();
        best_read = fmin(best_read, t1 - t0);
        best_topk = fmin(best_topk, t2 - t1);
        best_comp = fmin(best_comp, t3 - t2);
        best_randk = fmin(best_randk, t4 - t3);
      }
      fs_payload_free(&p);
      printf("%10u %8u %10.3f %10.3f %8.2f %12.3f %12.3f\n", d, k,
             best_read / d, best_topk / d, best_topk / best_read, best_comp / d,
             best_randk / d);
    }
    free(v);
    free(idx);
  }
  (void)sink;
  return 0;
}
