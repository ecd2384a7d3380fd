/*
 * topk.c — TopK: the k largest |v_j| (ties to the lower index), sent as a
 * SPARSE payload; and fs_topk_select, the O(dim) selection behind it.
 *
 * TopK ranks entries by the IEEE bits of |v_j| read as a uint32 with the
 * sign cleared: for non-negative floats that order is the numeric order,
 * and every NaN lands above +Inf. Selection is O(dim): a sample of the data
 * (runs of 8 neighbours, evenly spread) gives a threshold that at least k
 * entries reach (with high probability), one pass collects the entries at
 * or above it, and a radix select on those candidates finds the exact k-th
 * key. When the sample misleads (too few or too many candidates) an exact
 * radix select over the whole vector takes over, so the result never
 * depends on the sample.
 */
#include "compress_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define KEY_MASK UINT32_C(0x7fffffff)
#define SAMPLE_MIN 4096u
#define SAMPLE_MAX 32768u
#define SAMPLE_MIN_DIM 65536u
#define SAMPLE_RUN 8u

/* The ranking key of element i of an array of 4-byte floats or keys. */
static inline uint32_t key_at(const void *base, size_t i) {
  uint32_t u;
  memcpy(&u, (const char *)base + 4 * i, 4);
  return u & KEY_MASK;
}

/*
 * Count the digit (key >> shift) & dm of the keys whose bits under pmask
 * equal prefix into hist[0..dm], the others into the spare bin hist[dm + 1].
 * Four interleaved tables keep runs of equal digits (frequent: the keys of
 * a tail share their top bits) from waiting on one another.
 */
static void digit_hist(const void *keys, size_t n, unsigned shift, uint32_t dm,
                       uint32_t pmask, uint32_t prefix, uint32_t (*h)[2049],
                       uint32_t *hist) {
  size_t bins = (size_t)dm + 2;
  int tables = n >= bins ? 4 : 1; /* few keys: not worth the clearing */
  for (int t = 0; t < tables; t++)
    memset(h[t], 0, bins * sizeof h[t][0]);
  size_t i = 0;
  if (tables == 4)
    for (; n - i >= 4; i += 4)
      for (int t = 0; t < 4; t++) {
        uint32_t key = key_at(keys, i + (size_t)t);
        h[t][(key & pmask) == prefix ? (key >> shift) & dm : dm + 1]++;
      }
  for (; i < n; i++) {
    uint32_t key = key_at(keys, i);
    h[0][(key & pmask) == prefix ? (key >> shift) & dm : dm + 1]++;
  }
  for (size_t b = 0; b < bins; b++)
    hist[b] = h[0][b];
  for (int t = 1; t < tables; t++)
    for (size_t b = 0; b < bins; b++)
      hist[b] += h[t][b];
}

/*
 * The r-th largest key (1 <= r <= n) among n keys (floats or keys, see
 * key_at), by a three-digit radix select (bits 30..20, 19..10, 9..0; bit 31
 * is always clear). *n_gt gets the number of keys strictly above it. With
 * scratch (room for n keys; it may be keys itself, which is then
 * overwritten), the keys that still compete are copied there after each
 * digit, so that later passes read only those.
 */
static uint32_t kth_key(const void *keys, size_t n, size_t r, size_t *n_gt,
                        uint32_t *scratch) {
  static const unsigned shift[3] = {20, 10, 0};
  static const uint32_t width[3] = {2048, 1024, 1024};
  uint32_t h[4][2049], hist[2049];
  uint32_t prefix = 0; /* digits found so far, in place */
  uint32_t pmask = 0;  /* which bits of prefix are fixed */
  size_t above = 0;
  for (int d = 0; d < 3; d++) {
    uint32_t dm = width[d] - 1;
    digit_hist(keys, n, shift[d], dm, pmask, prefix, h, hist);
    uint32_t b = dm;
    for (; b > 0 && above + hist[b] < r; b--)
      above += hist[b];
    prefix |= b << shift[d];
    pmask |= dm << shift[d];
    if (scratch != NULL && d < 2) {
      size_t m = 0;
      for (size_t i = 0; i < n; i++) {
        uint32_t key = key_at(keys, i);
        scratch[m] = key;
        m += (key & pmask) == prefix;
      }
      keys = scratch;
      n = m;
    }
  }
  *n_gt = above;
  return prefix;
}

/* Exact selection over all of v, no allocation: 3 histogram passes and one
 * collecting pass. Writes idx and, if val is not NULL, the values. */
static void topk_full(const float *v, uint32_t dim, uint32_t k, uint32_t *idx,
                      float *val) {
  size_t n_gt;
  uint32_t t = kth_key(v, dim, k, &n_gt, NULL);
  size_t ties = k - n_gt, m = 0;
  for (uint32_t j = 0; j < dim && m < k; j++) {
    uint32_t key = key_at(v, j);
    if (key > t || (key == t && ties > 0)) {
      ties -= key == t;
      if (val != NULL)
        val[m] = v[j];
      idx[m++] = j;
    }
  }
}

/* Bit i set when the key of v[i] is >= lo, for i < 32. */
static inline uint32_t ge_mask32(const float *v, uint32_t lo) {
#if defined(__SSE2__)
  const __m128i m = _mm_set1_epi32((int32_t)KEY_MASK);
  const __m128i t = _mm_set1_epi32((int32_t)lo - 1); /* keys < 2^31: signed */
  uint32_t r = 0;
  for (int h = 0; h < 2; h++) { /* 16 compare lanes packed into 16 bytes */
    __m128i c[4];
    for (int q = 0; q < 4; q++) {
      __m128i x =
          _mm_loadu_si128((const __m128i *)(const void *)(v + 16 * h + 4 * q));
      c[q] = _mm_cmpgt_epi32(_mm_and_si128(x, m), t);
    }
    __m128i p = _mm_packs_epi16(_mm_packs_epi32(c[0], c[1]),
                                _mm_packs_epi32(c[2], c[3]));
    r |= (uint32_t)_mm_movemask_epi8(p) << (16 * h);
  }
  return r;
#else
  uint32_t r = 0;
  for (unsigned i = 0; i < 32; i++)
    r |= (uint32_t)(key_at(v, i) >= lo) << i;
  return r;
#endif
}

/*
 * Collect (index, bits) of every element whose key is >= lo, in index
 * order (the bits with their sign, so that the values need no second read).
 * Returns the count, or cap + 1 when there are more than cap. Blocks of 32
 * are tested as a whole first (with SSE2 where there is SSE2). With dense
 * set (candidates expected in many blocks), the first candidate of a block
 * is stored without a branch and only further ones branch; otherwise empty
 * blocks are skipped with a branch that is then well predicted.
 */
static size_t topk_filter(const float *v, uint32_t dim, uint32_t lo, int dense,
                          uint32_t *ci, uint32_t *ck, size_t cap) {
  size_t n = 0;
  uint32_t j = 0;
  for (; dim - j >= 32; j += 32) {
    uint32_t bits = ge_mask32(v + j, lo);
    if (cap - n < 32) { /* near the end of the buffer: count carefully */
      for (; bits != 0; bits &= bits - 1) {
        if (n == cap)
          return cap + 1;
        uint32_t i = j + (uint32_t)__builtin_ctz(bits);
        ci[n] = i;
        memcpy(ck + n++, v + i, 4);
      }
      continue;
    }
    if (dense) { /* an empty block writes a slot that is not counted */
      uint32_t i = j + (uint32_t)__builtin_ctz(bits | UINT32_C(0x80000000));
      ci[n] = i;
      memcpy(ck + n, v + i, 4);
      n += bits != 0;
      bits &= bits - 1;
    }
    for (; bits != 0; bits &= bits - 1) {
      uint32_t i = j + (uint32_t)__builtin_ctz(bits);
      ci[n] = i;
      memcpy(ck + n++, v + i, 4);
    }
  }
  for (; j < dim; j++) {
    if (key_at(v, j) >= lo) {
      if (n == cap)
        return cap + 1;
      ci[n] = j;
      memcpy(ck + n++, v + j, 4);
    }
  }
  return n;
}

/* The sampled path; returns 0 when it could not decide (the caller then
 * runs topk_full). */
static int topk_sampled(const float *v, uint32_t dim, uint32_t k, uint32_t *idx,
                        float *val) {
  uint32_t ns = dim / 32;
  ns = ns < SAMPLE_MIN ? SAMPLE_MIN : ns > SAMPLE_MAX ? SAMPLE_MAX : ns;
  ns -= ns % SAMPLE_RUN;
  uint32_t stride = dim / ns;
  /* mu sample points are expected above the k-th key; taking the r-th
   * largest sample key with r = mu + 4 sqrt(mu) + 4 leaves fewer than k
   * entries above it only with probability about 1e-6 on unordered data. */
  double mu = (double)ns * k / dim;
  size_t r = (size_t)ceil(mu + 4.0 * sqrt(mu) + 4.0);
  if (r > ns)
    return 0;
  size_t cap = 2 * r * (size_t)stride + 4096;
  if (cap > dim)
    cap = dim;
  uint32_t *ci = malloc((3 * cap + ns) * sizeof *ci);
  if (ci == NULL)
    return 0;
  uint32_t *ck = ci + cap, *sample = ck + cap; /* then scratch of cap */
  /* blocks of SAMPLE_RUN neighbours spread evenly: fewer cache lines */
  size_t gap = (size_t)stride * SAMPLE_RUN;
  for (uint32_t i = 0; i < ns; i += SAMPLE_RUN)
    for (uint32_t t = 0; t < SAMPLE_RUN; t++)
      sample[i + t] = key_at(v, (size_t)i / SAMPLE_RUN * gap + gap / 2 + t);
  size_t n_gt;
  uint32_t lo = kth_key(sample, ns, r, &n_gt, sample); /* in place */
  /* dense: more than 4 candidates in 1000 (the measured crossover) */
  size_t n = topk_filter(v, dim, lo, r * 250 > ns, ci, ck, cap);
  if (n < k || n > cap) {
    free(ci);
    return 0;
  }
  uint32_t t = kth_key(ck, n, k, &n_gt, ck + cap + ns);
  size_t ties = k - n_gt, m = 0;
  for (size_t i = 0; i < n && m < k; i++) { /* branch-free: store, count */
    uint32_t key = ck[i] & KEY_MASK;
    size_t eq = key == t, take = (key > t) | (eq & (ties > 0));
    ties -= take & eq;
    if (val != NULL)
      memcpy(val + m, ck + i, 4);
    idx[m] = ci[i];
    m += take;
  }
  free(ci);
  return 1;
}

/* TopK into idx and, if val is not NULL, val; k <= dim. */
static void topk(const float *v, uint32_t dim, uint32_t k, uint32_t *idx,
                 float *val) {
  if (k == dim) {
    for (uint32_t j = 0; j < dim; j++)
      idx[j] = j;
    if (val != NULL)
      memcpy(val, v, (size_t)dim * sizeof *v);
    return;
  }
  if (k == 0 || (dim >= SAMPLE_MIN_DIM && k <= dim / 16 &&
                 topk_sampled(v, dim, k, idx, val)))
    return;
  topk_full(v, dim, k, idx, val);
}

fs_status fs_topk_select(const float *v, uint32_t dim, uint32_t k,
                         uint32_t *idx) {
  if (k > dim)
    return FS_EINVAL;
  topk(v, dim, k, idx, NULL);
  return FS_OK;
}

static fs_status topk_compress(const fs_comp_spec *s, const float *v,
                               uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)rng;
  uint32_t k = fs_comp_k(s, dim);
  if (fs__payload_grow_idx(p, k) || fs__payload_grow_val(p, k))
    return FS_ENOMEM;
  p->kind = FS_PL_SPARSE;
  p->nnz = k;
  topk(v, dim, k, p->idx, p->val);
  return FS_OK;
}

static double topk_bits(const fs_comp_spec *s, uint32_t dim) {
  return (double)fs_comp_k(s, dim) * (32.0 + fs__ceil_log2(dim));
}

const fs_compressor fs_compressor_topk = {
    .base =
        {.name = "topk",
         .help =
             "k largest |v_j| (compress.up_k or up_ratio): index + float32"},
    .payload = FS_PL_SPARSE,
    .flags = FS_COMP_USES_K | FS_COMP_CLIPPABLE,
    .check = fs__comp_check_k,
    .compress = topk_compress,
    .ideal_bits = topk_bits,
};
