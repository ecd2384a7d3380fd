/*
 * sample.c — which clients take part in a synchronous round: a fixed number
 * K drawn without replacement (Floyd's algorithm), or every client
 * independently with probability q (Poisson sampling, which the DP
 * accountant assumes; docs/privacy.md). Both draw from the stream
 * (seed, SAMPLE, ., round) only, so the cohort is the same on any number
 * of ranks, and cost in proportion to the clients taken, not to N.
 */
#include "server.h"
#include "srv.h"

#include "fs_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

fs_status fs_sample_clients(uint64_t seed, uint64_t round, uint32_t n,
                            uint32_t k, uint32_t *out) {
  if (k > n || k == 0)
    return FS_EINVAL;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SAMPLE, 0, round);
  if (k == n) {
    for (uint32_t i = 0; i < n; i++)
      out[i] = i;
    return FS_OK;
  }
  /* Floyd: for j = n-k .. n-1, pick t in [0, j]; take t unless taken, else j.
   * Membership through an open-addressing set of 2^b >= 2k slots. */
  size_t cap = 1;
  while (cap < 2 * (size_t)k)
    cap <<= 1;
  uint32_t *set = malloc(cap * sizeof *set);
  if (set == NULL)
    return FS_ENOMEM;
  memset(set, 0xff, cap * sizeof *set);
  uint32_t m = 0;
  for (uint64_t j = (uint64_t)n - k; j < n; j++) {
    uint32_t t = (uint32_t)fs_rng_below(&r, j + 1);
    for (int pass = 0; pass < 2; pass++) {
      size_t h = ((size_t)t * 0x9E3779B1u) & (cap - 1);
      int found = 0;
      while (set[h] != UINT32_MAX) {
        if (set[h] == t) {
          found = 1;
          break;
        }
        h = (h + 1) & (cap - 1);
      }
      if (!found) {
        set[h] = t;
        out[m++] = t;
        break;
      }
      t = (uint32_t)j; /* j itself is never taken yet */
    }
  }
  free(set);
  qsort(out, k, sizeof *out, fs_srv_cmp_u32);
  return FS_OK;
}

uint32_t fs_sample_poisson(uint64_t seed, uint64_t round, uint32_t n, double q,
                           uint32_t *out) {
  if (q >= 1.0) {
    for (uint32_t i = 0; i < n; i++)
      out[i] = i;
    return n;
  }
  if (q <= 0.0)
    return 0;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SAMPLE, 1, round);
  double l1q = log1p(-q);
  uint32_t m = 0;
  double pos = -1.0;
  for (;;) {
    /* Gap to the next taken client ~ Geometric(q). */
    pos += floor(log(fs_rng_uniform_pos(&r)) / l1q) + 1.0;
    if (pos >= (double)n)
      break;
    out[m++] = (uint32_t)pos;
  }
  return m;
}
