/*
 * compress.c — the compression operators (TopK, RandK, QSGD, scaled sign,
 * natural compression, block-wise 8-bit, identity) and the three ways to
 * expand a payload (to a dense vector, into a double accumulator, into a
 * float vector).
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
 *
 * RandK draws its k indices from a stream of the payload's seed alone: it
 * splits [0, dim) into at most 256 parts, draws how many indices each part
 * gets (multivariate hypergeometric, by rejection), and runs Floyd's
 * algorithm inside each part on a stack bitmap (or a small sorted array).
 * That is exactly a uniform k-subset, in integer arithmetic only, without
 * heap memory, in increasing order, in O(k + dim/64) expected time; so the
 * expanders regenerate the indices instead of storing them.
 *
 * The randomised quantisers draw from the caller's fs_rng in index order, so
 * a result depends only on (stream, v).
 */
#include "compress.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const char *const kind_names[] = {"identity", "topk",    "randk", "qsgd",
                                         "sign",     "natural", "block8"};
#define FS__COMP_KINDS (sizeof kind_names / sizeof kind_names[0])

_Noreturn static void misuse(const char *what) {
  fprintf(stderr, "fedsim: compress: %s\n", what);
  abort();
}

fs_status fs_comp_kind_parse(const char *s, fs_comp_kind *out) {
  for (size_t i = 0; i < FS__COMP_KINDS; i++)
    if (s != NULL && strcmp(s, kind_names[i]) == 0) {
      *out = (fs_comp_kind)i;
      return FS_OK;
    }
  return FS_EINVAL;
}

const char *fs_comp_kind_name(fs_comp_kind k) {
  if ((size_t)k < FS__COMP_KINDS)
    return kind_names[k];
  return "unknown";
}

fs_status fs_comp_check(const fs_comp_spec *s, uint32_t dim, fs_err *err) {
  if ((size_t)s->kind >= FS__COMP_KINDS)
    return fs_err_set(err, FS_ECONFIG, "compressor: unknown kind %d",
                      (int)s->kind);
  const char *name = kind_names[s->kind];
  if (dim == 0)
    return fs_err_set(err, FS_ECONFIG, "compressor %s: dimension is 0", name);
  switch (s->kind) {
  case FS_C_TOPK:
  case FS_C_RANDK:
    if (s->k > dim)
      return fs_err_set(err, FS_ECONFIG,
                        "compressor %s: k = %u exceeds the dimension %u", name,
                        s->k, dim);
    if (s->k == 0 && !(s->ratio > 0.0 && s->ratio <= 1.0))
      return fs_err_set(err, FS_ECONFIG,
                        "compressor %s: k is 0 and ratio = %g is not in (0, 1]",
                        name, s->ratio);
    break;
  case FS_C_QSGD:
    if (s->levels < 1 || s->levels > 127)
      return fs_err_set(err, FS_ECONFIG,
                        "compressor qsgd: levels = %u is not in 1..127",
                        s->levels);
    break;
  case FS_C_BLOCK8:
    if (s->block == 0)
      return fs_err_set(err, FS_ECONFIG, "compressor block8: block is 0");
    break;
  default:
    break;
  }
  return FS_OK;
}

uint32_t fs_comp_k(const fs_comp_spec *s, uint32_t dim) {
  if (s->kind != FS_C_TOPK && s->kind != FS_C_RANDK)
    return dim;
  if (s->k != 0)
    return s->k < dim ? s->k : dim;
  double k = round(s->ratio * (double)dim);
  if (!(k >= 1.0))
    return dim > 0 ? 1 : 0;
  return k < (double)dim ? (uint32_t)k : dim;
}

/* ceil(log2 n) for n >= 1. */
static unsigned ceil_log2(uint64_t n) {
  unsigned b = 0;
  while (b < 64 && (UINT64_C(1) << b) < n)
    b++;
  return b;
}

double fs_comp_ideal_bits(const fs_comp_spec *s, uint32_t dim) {
  double d = (double)dim;
  double k = (double)fs_comp_k(s, dim);
  switch (s->kind) {
  case FS_C_TOPK:
    return k * (32.0 + ceil_log2(dim));
  case FS_C_RANDK:
    return 32.0 * k;
  case FS_C_QSGD:
    return 32.0 + d * ceil_log2(2 * (uint64_t)s->levels + 1);
  case FS_C_SIGN:
    return 32.0 + d;
  case FS_C_NATURAL:
    return 9.0 * d;
  case FS_C_BLOCK8: {
    uint64_t nb = s->block ? ((uint64_t)dim + s->block - 1) / s->block : 0;
    return 32.0 * (double)nb + 8.0 * d;
  }
  case FS_C_IDENTITY:
  default:
    return 32.0 * d;
  }
}

/* ---- payload arrays ---------------------------------------------------- */

/* Make *arr hold at least n elements of size bytes (old contents dropped). */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n == 0)
    n = 1;
  if (*arr != NULL && *cap >= n)
    return 0;
  if (n > SIZE_MAX / size)
    return -1;
  void *q = malloc(n * size);
  if (q == NULL)
    return -1;
  free(*arr);
  *arr = q;
  *cap = n;
  return 0;
}

static int grow_idx(fs_payload *p, size_t n) {
  void *a = p->idx;
  int rc = grow(&a, &p->cap_idx, n, sizeof *p->idx);
  p->idx = a;
  return rc;
}

static int grow_val(fs_payload *p, size_t n) {
  void *a = p->val;
  int rc = grow(&a, &p->cap_val, n, sizeof *p->val);
  p->val = a;
  return rc;
}

static int grow_codes(fs_payload *p, size_t n) {
  void *a = p->codes;
  int rc = grow(&a, &p->cap_codes, n, sizeof *p->codes);
  p->codes = a;
  return rc;
}

static int grow_absmax(fs_payload *p, size_t n) {
  void *a = p->absmax;
  int rc = grow(&a, &p->cap_absmax, n, sizeof *p->absmax);
  p->absmax = a;
  return rc;
}

void fs_payload_free(fs_payload *p) {
  if (p == NULL)
    return;
  free(p->idx);
  free(p->val);
  free(p->codes);
  free(p->absmax);
  memset(p, 0, sizeof *p);
}

/* ---- TopK -------------------------------------------------------------- */

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

/* ---- RandK indices ------------------------------------------------------ */

/* Parts of at most LEAF_N indices get Floyd's algorithm on a stack bitmap;
 * larger ranges are split into at most MAX_PARTS parts. */
#define LEAF_N 65536u
#define MAX_PARTS 256u
#define SMALL_K 32u
/* The stream of a RandK seed: (seed, FS_RNG_COMPRESS, RANDK_STREAM_ID, 0). */
#define RANDK_STREAM_ID UINT64_C(0x72616e646b) /* "randk" */

typedef struct {
  void (*emit)(void *ctx, uint32_t pos, uint32_t j);
  void *ctx;
  uint32_t pos;
} randk_sink;

static inline void rk_emit(randk_sink *s, uint32_t j) {
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
                           randk_sink *s) {
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
                          randk_sink *s) {
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
                     randk_sink *s) {
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

static void randk_visit(uint64_t seed, uint32_t dim, uint32_t k,
                        randk_sink *s) {
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
  randk_sink s = {emit_store, idx, 0};
  randk_visit(seed, dim, k, &s);
  return FS_OK;
}

/* ---- compressors --------------------------------------------------------- */

typedef struct {
  const float *v;
  float *val;
  double scale;
} randk_gather;

static void emit_gather(void *ctx, uint32_t pos, uint32_t j) {
  randk_gather *g = ctx;
  g->val[pos] = (float)((double)g->v[j] * g->scale);
}

static void comp_qsgd(const float *v, uint32_t dim, uint32_t s, fs_rng *rng,
                      fs_payload *p) {
  double ss = 0.0;
  for (uint32_t j = 0; j < dim; j++)
    ss += (double)v[j] * v[j];
  double norm = sqrt(ss);
  float scale = (float)norm;
  if (isinf(scale) && isfinite(norm)) /* finite v, norm beyond float */
    scale = FLT_MAX;
  p->scale = scale;
  if (!(scale > 0.0f) || !isfinite(scale)) {
    /* 0 stands for 0; a non-finite norm stays in scale (decodes to NaN) */
    memset(p->codes, 0, dim);
    return;
  }
  double f = (double)s / scale;
  for (uint32_t j = 0; j < dim; j++) {
    double l = fabs((double)v[j]) * f;
    if (l > s) /* rounding at |v_j| = ||v|| */
      l = s;
    double fl = floor(l);
    /* Bernoulli(l - fl) from a 32-bit uniform: off by less than 2^-32 */
    uint64_t thr = (uint64_t)((l - fl) * 0x1p32);
    int c = (int)fl + ((uint64_t)fs_rng_u32(rng) < thr);
    p->codes[j] = (int8_t)(v[j] < 0.0f ? -c : c);
  }
}

static void comp_sign(const float *v, uint32_t dim, fs_payload *p) {
  double l1 = 0.0;
  for (uint32_t j = 0; j < dim; j++)
    l1 += fabs((double)v[j]);
  p->scale = (float)(l1 / dim);
  for (uint32_t j = 0; j < dim; j++)
    p->codes[j] = v[j] >= 0.0f ? 1 : -1;
}

/*
 * Natural compression on the bits: |v_j| = 2^(E-127) (1 + m/2^23) with
 * exponent field E and mantissa m. It becomes 2^(E-127) or 2^(E-126) with
 * probability m/2^23 of the latter: unbiased, and a 32-bit uniform u decides
 * exactly (u < m * 2^9). Subnormals (E = 0) go the same way to 0 or FLT_MIN.
 * E = 254 with m > 0 rounds down to 2^127 (no 2^128 in float). Inf and NaN
 * pass through.
 */
static void comp_natural(const float *v, uint32_t dim, fs_rng *rng,
                         fs_payload *p) {
  for (uint32_t j = 0; j < dim; j++) {
    uint32_t u;
    memcpy(&u, v + j, 4);
    uint32_t sign = u & ~KEY_MASK, e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff) {
      p->val[j] = v[j];
      continue;
    }
    if (m != 0 && e < 254 && fs_rng_u32(rng) < m << 9)
      e++;
    uint32_t out = e == 0 ? 0 : sign | e << 23;
    memcpy(p->val + j, &out, 4);
  }
}

static void comp_block8(const float *v, uint32_t dim, uint32_t block,
                        fs_payload *p) {
  size_t nb = ((size_t)dim + block - 1) / block;
  for (size_t b = 0; b < nb; b++) {
    size_t lo = b * block, hi = lo + block < dim ? lo + block : dim;
    float amax = 0.0f;
    int bad = 0;
    for (size_t j = lo; j < hi; j++) {
      float a = fabsf(v[j]);
      bad |= !isfinite(a);
      amax = a > amax ? a : amax;
    }
    if (bad) /* decodes to NaN: 0 * non-finite */
      amax = NAN;
    p->absmax[b] = amax;
    if (bad || amax == 0.0f) {
      memset(p->codes + lo, 0, hi - lo);
      continue;
    }
    double f = 127.0 / amax;
    for (size_t j = lo; j < hi; j++)
      p->codes[j] = (int8_t)round((double)v[j] * f);
  }
}

fs_status fs_compress(const fs_comp_spec *s, const float *v, uint32_t dim,
                      fs_rng *rng, fs_payload *p) {
  fs_err err;
  if (fs_comp_check(s, dim, &err) != FS_OK)
    misuse(err.msg);
  uint32_t k = fs_comp_k(s, dim);
  p->dim = dim;
  p->nnz = 0;
  p->levels = 0;
  p->block = 0;
  p->seed = 0;
  p->scale = 0.0f;
  switch (s->kind) {
  case FS_C_IDENTITY:
    if (grow_val(p, dim))
      return FS_ENOMEM;
    p->kind = FS_PL_DENSE;
    memcpy(p->val, v, (size_t)dim * sizeof *v);
    break;
  case FS_C_TOPK:
    if (grow_idx(p, k) || grow_val(p, k))
      return FS_ENOMEM;
    p->kind = FS_PL_SPARSE;
    p->nnz = k;
    topk(v, dim, k, p->idx, p->val);
    break;
  case FS_C_RANDK: {
    if (rng == NULL)
      misuse("randk needs an rng");
    if (grow_val(p, k))
      return FS_ENOMEM;
    p->kind = FS_PL_RANDK;
    p->nnz = k;
    p->seed = fs_rng_u64(rng);
    randk_gather g = {v, p->val, (double)dim / k};
    randk_sink sink = {emit_gather, &g, 0};
    randk_visit(p->seed, dim, k, &sink);
    break;
  }
  case FS_C_QSGD:
    if (rng == NULL)
      misuse("qsgd needs an rng");
    if (grow_codes(p, dim))
      return FS_ENOMEM;
    p->kind = FS_PL_QSGD;
    p->levels = s->levels;
    comp_qsgd(v, dim, s->levels, rng, p);
    break;
  case FS_C_SIGN:
    if (grow_codes(p, dim))
      return FS_ENOMEM;
    p->kind = FS_PL_SIGN;
    comp_sign(v, dim, p);
    break;
  case FS_C_NATURAL:
    if (rng == NULL)
      misuse("natural needs an rng");
    if (grow_val(p, dim))
      return FS_ENOMEM;
    p->kind = FS_PL_NATURAL;
    comp_natural(v, dim, rng, p);
    break;
  case FS_C_BLOCK8:
    if (grow_codes(p, dim) ||
        grow_absmax(p, ((size_t)dim + s->block - 1) / s->block))
      return FS_ENOMEM;
    p->kind = FS_PL_BLOCK8;
    p->block = s->block;
    comp_block8(v, dim, s->block, p);
    break;
  }
  return FS_OK;
}

/* ---- expanding a payload ------------------------------------------------- */

/*
 * One walk over the entries of a payload for the public expanders: DENSE
 * writes, ADD adds in float, SUB subtracts in float, AXPY adds w times in
 * double. Every value is first computed as the same float, so they agree
 * exactly. expand() is inlined with a constant op, so its loops carry no
 * switch.
 */
typedef enum { OP_DENSE, OP_ADD, OP_SUB, OP_AXPY } expand_op;

typedef struct {
  expand_op op;
  float *y;
  double *acc;
  double w;
  const float *val;
} expand_ctx;

static inline __attribute__((always_inline)) void
put(expand_op op, float *y, double *acc, double w, uint32_t j, float x) {
  switch (op) {
  case OP_DENSE:
    y[j] = x;
    break;
  case OP_ADD:
    y[j] += x;
    break;
  case OP_SUB:
    y[j] -= x;
    break;
  case OP_AXPY:
    acc[j] += w * (double)x;
    break;
  }
}

static void emit_expand(void *ctx, uint32_t pos, uint32_t j) {
  const expand_ctx *c = ctx;
  put(c->op, c->y, c->acc, c->w, j, c->val[pos]);
}

static inline __attribute__((always_inline)) void
expand(const fs_payload *p, expand_op op, float *y, double *acc, double w) {
  uint32_t dim = p->dim;
  if (op == OP_DENSE && (p->kind == FS_PL_SPARSE || p->kind == FS_PL_RANDK))
    memset(y, 0, (size_t)dim * sizeof *y);
  switch (p->kind) {
  case FS_PL_DENSE:
  case FS_PL_NATURAL:
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, p->val[j]);
    break;
  case FS_PL_SPARSE:
    for (uint32_t i = 0; i < p->nnz; i++)
      put(op, y, acc, w, p->idx[i], p->val[i]);
    break;
  case FS_PL_RANDK: {
    expand_ctx c = {op, y, acc, w, p->val};
    randk_sink sink = {emit_expand, &c, 0};
    randk_visit(p->seed, dim, p->nnz, &sink);
    break;
  }
  case FS_PL_QSGD: {
    double f = (double)p->scale / p->levels;
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, (float)(f * p->codes[j]));
    break;
  }
  case FS_PL_SIGN:
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, p->scale * (float)p->codes[j]);
    break;
  case FS_PL_BLOCK8: {
    size_t nb = ((size_t)dim + p->block - 1) / p->block;
    for (size_t b = 0; b < nb; b++) {
      size_t lo = b * p->block, hi = lo + p->block < dim ? lo + p->block : dim;
      double f = (double)p->absmax[b] / 127.0;
      for (size_t j = lo; j < hi; j++)
        put(op, y, acc, w, (uint32_t)j, (float)(f * p->codes[j]));
    }
    break;
  }
  default:
    misuse("payload of unknown kind");
  }
}

void fs_payload_to_dense(const fs_payload *p, float *out) {
  expand(p, OP_DENSE, out, NULL, 0.0);
}

void fs_payload_axpy(const fs_payload *p, double w, double *acc) {
  expand(p, OP_AXPY, NULL, acc, w);
}

void fs_payload_add_to(const fs_payload *p, float *y) {
  expand(p, OP_ADD, y, NULL, 0.0);
}

void fs_payload_sub_from(const fs_payload *p, float *y) {
  expand(p, OP_SUB, y, NULL, 0.0);
}
