/*
 * randk_indices.c — RandK's indices, regenerated from a payload's seed by
 * the sender (compress/randk.c) and by every expander of RANDK payloads
 * (compress/compress.c), so they are never sent (docs/compression.md).
 *
 * RandK draws its k indices from a stream of the payload's seed alone: it
 * splits [0, dim) into at most 256 parts, draws how many indices each part
 * gets (multivariate hypergeometric, by rejection), and runs Floyd's
 * algorithm inside each part on a stack bitmap (or a small sorted array).
 * That is exactly a uniform k-subset, in integer arithmetic only, without
 * heap memory, in increasing order, in O(k + dim/64) expected time; so the
 * expanders regenerate the indices instead of storing them.
 */
#include "compress_impl.h"

#include <string.h>

/* Parts of at most LEAF_N indices get Floyd's algorithm on a stack bitmap;
 * larger ranges are split into at most MAX_PARTS parts. */
#define LEAF_N 65536u
#define MAX_PARTS 256u
#define SMALL_K 32u
/* The stream of a RandK seed: (seed, FS_RNG_COMPRESS, RANDK_STREAM_ID, 0). */
#define RANDK_STREAM_ID UINT64_C(0x72616e646b) /* "randk" */

static inline void rk_emit(fs__randk_sink *s, uint32_t j) {
  s->emit(s->ctx, s->pos++, j);
}

/* Uniform in [0, n), n >= 1: Lemire's method on 32-bit draws (half the
 * keystream of fs_rng_below, which dominates the cost here). */
static inline uint32_t below32(fs_rng *r, uint32_t n) {
  uint64_t m = (uint64_t)fs_rng_u32(r) * n;
  if ((uint32_t)m < n) {
    uint32_t t = (0u - n) % n;
    while ((uint32_t)m < t)
      m = (uint64_t)fs_rng_u32(r) * n;
  }
  return (uint32_t)(m >> 32);
}

/* Floyd's algorithm for k of [0, n), n <= LEAF_N, on a bitmap. */
static void rk_leaf_bitmap(fs_rng *r, uint32_t off, uint32_t n, uint32_t k,
                           fs__randk_sink *s) {
  uint64_t bm[LEAF_N / 64];
  uint32_t words = (n + 63) / 64;
  memset(bm, 0, words * sizeof bm[0]);
  for (uint32_t j = n - k; j < n; j++) {
    uint32_t t = below32(r, j + 1);
    if (bm[t / 64] >> (t % 64) & 1)
      t = j;
    bm[t / 64] |= UINT64_C(1) << (t % 64);
  }
  for (uint32_t w = 0; w < words; w++)
    for (uint64_t b = bm[w]; b != 0; b &= b - 1)
      rk_emit(s, off + w * 64 + (uint32_t)__builtin_ctzll(b));
}

/* Floyd's algorithm for k <= SMALL_K of [0, n) on a sorted array. */
static void rk_leaf_small(fs_rng *r, uint32_t off, uint32_t n, uint32_t k,
                          fs__randk_sink *s) {
  uint32_t a[SMALL_K];
  uint32_t m = 0;
  for (uint32_t j = n - k; j < n; j++) {
    uint32_t t = below32(r, j + 1);
    uint32_t lo = 0, hi = m;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (a[mid] < t)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < m && a[lo] == t) { /* taken: take j, above everything */
      a[m++] = j;
      continue;
    }
    memmove(a + lo + 1, a + lo, (m - lo) * sizeof a[0]);
    a[lo] = t;
    m++;
  }
  for (uint32_t i = 0; i < m; i++)
    rk_emit(s, off + a[i]);
}

/* k uniform of [off, off + n), in increasing order. */
static void rk_range(fs_rng *r, uint32_t off, uint32_t n, uint32_t k,
                     fs__randk_sink *s) {
  if (k == 0)
    return;
  if (k == n) {
    for (uint32_t j = 0; j < n; j++)
      rk_emit(s, off + j);
    return;
  }
  if (k <= SMALL_K) {
    rk_leaf_small(r, off, n, k, s);
    return;
  }
  if (n <= LEAF_N) {
    rk_leaf_bitmap(r, off, n, k, s);
    return;
  }
  /* Split into nb <= MAX_PARTS parts of size = 2^sh (the last shorter)
   * and draw how many indices each gets: min(k, n - k) draws without
   * replacement (drawing the n - k left-out indices instead of the k
   * chosen ones gives the same law), each taking part b with probability
   * rem[b] / sum(rem). Parts are exchangeable inside, so a draw is a
   * uniform x in [0, n), accepted when its offset in part x >> sh is below
   * that part's remaining count: at least half of the draws succeed. */
  unsigned sh = 16; /* LEAF_N = 2^16 */
  while (((uint64_t)MAX_PARTS << sh) < n)
    sh++;
  uint32_t size = UINT32_C(1) << sh;
  uint32_t nb = (uint32_t)(((uint64_t)n + size - 1) >> sh);
  uint32_t rem[MAX_PARTS];
  for (uint32_t b = 0; b < nb; b++)
    rem[b] = b + 1 < nb ? size : n - size * (nb - 1);
  int comp = k > n - k;
  uint32_t draws = comp ? n - k : k;
  while (draws > 0) {
    uint32_t x = below32(r, n);
    uint32_t b = x >> sh;
    if ((x & (size - 1)) < rem[b]) {
      rem[b]--;
      draws--;
    }
  }
  for (uint32_t b = 0; b < nb; b++) {
    uint32_t sz = b + 1 < nb ? size : n - size * (nb - 1);
    rk_range(r, off + b * size, sz, comp ? rem[b] : sz - rem[b], s);
  }
}

void fs__randk_visit(uint64_t seed, uint32_t dim, uint32_t k,
                     fs__randk_sink *s) {
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_COMPRESS, RANDK_STREAM_ID, 0);
  s->pos = 0;
  rk_range(&r, 0, dim, k, s);
}

static void emit_store(void *ctx, uint32_t pos, uint32_t j) {
  ((uint32_t *)ctx)[pos] = j;
}

fs_status fs_randk_indices(uint64_t seed, uint32_t dim, uint32_t k,
                           uint32_t *idx) {
  if (k > dim)
    return FS_EINVAL;
  fs__randk_sink s = {emit_store, idx, 0};
  fs__randk_visit(seed, dim, k, &s);
  return FS_OK;
}
