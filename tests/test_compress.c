/*
 * test_compress.c — the compressors, payload expansion and error feedback.
 *
 * TopK is checked against a brute-force reference (sort by |v| descending,
 * ties to the lower index) on random, tied, signed, NaN and adversarial
 * vectors, including ones built to defeat its sampled threshold. The
 * randomised compressors are checked for unbiasedness and for their
 * variance against the exact expectation, over many fixed streams (so each
 * check is deterministic; the tolerances are 5 standard deviations of the
 * estimate, which a correct implementation misses with probability below
 * 1e-6 per coordinate). Sign and Block8 are checked exactly on hand-made
 * vectors, EF14 and EF21 against three steps worked out by hand, and the
 * spec checks against each error they report.
 */
#include "fs_test.h"

#include "compress.h"
#include "ef.h"
#include "payload.h"

#include <float.h>
#include <math.h>
#include <signal.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static float *normal_vec(uint32_t dim, uint64_t id) {
  float *v = malloc((dim ? dim : 1) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  fs_rng r;
  fs_rng_init(&r, 11, FS_RNG_TEST, id, 0);
  for (uint32_t j = 0; j < dim; j++)
    v[j] = (float)fs_rng_normal(&r);
  return v;
}

static uint32_t key_of(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u & 0x7fffffffu;
}

typedef struct {
  uint32_t key, idx;
} ranked;

static int by_rank(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The k indices TopK must return, increasing, by sorting everything. */
static uint32_t *topk_reference(const float *v, uint32_t dim, uint32_t k) {
  ranked *rk = malloc((dim ? dim : 1) * sizeof *rk);
  uint32_t *out = malloc((k ? k : 1) * sizeof *out);
  ck_assert(rk != NULL && out != NULL);
  for (uint32_t j = 0; j < dim; j++)
    rk[j] = (ranked){key_of(v[j]), j};
  qsort(rk, dim, sizeof *rk, by_rank);
  for (uint32_t i = 0; i < k; i++)
    out[i] = rk[i].idx;
  qsort(out, k, sizeof *out, by_u32);
  free(rk);
  return out;
}

static void check_topk(const float *v, uint32_t dim, uint32_t k,
                       const char *what) {
  uint32_t *want = topk_reference(v, dim, k);
  uint32_t *got = malloc((k ? k : 1) * sizeof *got);
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(fs_topk_select(v, dim, k, got), FS_OK);
  uint32_t bad = k;
  for (uint32_t i = 0; i < k && bad == k; i++)
    if (got[i] != want[i])
      bad = i;
  ck_assert_msg(bad == k, "%s: dim %u k %u: entry %u is %u, want %u", what, dim,
                k, bad, bad < k ? got[bad] : 0, bad < k ? want[bad] : 0);
  /* the compressor: the same indices, and the values bit for bit */
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = k};
  fs_payload p = {0};
  if (k > 0) {
    ck_assert_int_eq(fs_compress(&s, v, dim, NULL, &p), FS_OK);
    ck_assert_uint_eq(p.nnz, k);
    ck_assert_mem_eq(p.idx, want, k * sizeof *want);
    for (uint32_t i = 0; i < k; i++)
      ck_assert_msg(memcmp(p.val + i, v + want[i], 4) == 0,
                    "%s: value %u differs", what, i);
    fs_payload_free(&p);
  }
  free(want);
  free(got);
}

/* Random vectors of several flavours. */
enum { V_NORMAL, V_TIES, V_CONST, V_SIGNED_ZERO, V_ASC, V_DESC, V_NAN, V_N };
static const char *const flavour_name[] = {
    "normal",    "ties",       "constant",   "signed zeros",
    "ascending", "descending", "nan and inf"};

static float *flavoured(uint32_t dim, int fl, uint64_t id) {
  float *v = normal_vec(dim, id);
  fs_rng r;
  fs_rng_init(&r, 12, FS_RNG_TEST, id, (uint64_t)fl);
  for (uint32_t j = 0; j < dim; j++) {
    switch (fl) {
    case V_TIES: /* integers in -3..3: huge tie groups, both signs */
      v[j] = (float)((int)fs_rng_below(&r, 7) - 3);
      break;
    case V_CONST:
      v[j] = -2.5f;
      break;
    case V_SIGNED_ZERO:
      v[j] = fs_rng_below(&r, 2) ? 0.0f : -0.0f;
      if (fs_rng_below(&r, 10) == 0)
        v[j] = fs_rng_below(&r, 2) ? 1.0f : -1.0f;
      break;
    case V_ASC:
      v[j] = (float)j * (j % 2 ? -1.0f : 1.0f);
      break;
    case V_DESC:
      v[j] = (float)(dim - j);
      break;
    case V_NAN: {
      uint64_t c = fs_rng_below(&r, 20);
      if (c == 0)
        v[j] = NAN;
      else if (c == 1)
        v[j] = -INFINITY;
      else if (c == 2)
        v[j] = INFINITY;
      break;
    }
    default:
      break;
    }
  }
  return v;
}

/* p's vector, densified. */
static float *dense_of(const fs_payload *p) {
  float *y = malloc((p->dim ? p->dim : 1) * sizeof *y);
  ck_assert_ptr_nonnull(y);
  fs_payload_to_dense(p, y);
  return y;
}

/* ---- core: names, TopK --------------------------------------------------- */

START_TEST(kind_names) {
  ck_assert_uint_ge(fs_compressor_count(), 7);
  for (size_t i = 0; i < fs_compressor_count(); i++) {
    const fs_compressor *c = fs_compressor_at(i);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(fs_compressor_find(c->base.name), c);
    ck_assert_ptr_nonnull(c->base.help);
    ck_assert(c->compress != NULL);
    ck_assert(c->ideal_bits != NULL);
    ck_assert(c->payload >= FS_PL_DENSE && c->payload <= FS_PL_PAYLOAD_MAX);
  }
  ck_assert_ptr_eq(fs_compressor_at(0), &fs_compressor_identity);
  ck_assert_ptr_null(fs_compressor_at(fs_compressor_count()));
  ck_assert_str_eq((&fs_compressor_topk)->base.name, "topk");
  ck_assert_ptr_null(fs_compressor_find("unknown"));
}
END_TEST

START_TEST(topk_matches_bruteforce) {
  static const uint32_t dims[] = {1, 2, 7, 33, 100, 1000, 4099};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    for (int fl = 0; fl < V_N; fl++) {
      uint32_t dim = dims[di];
      float *v = flavoured(dim, fl, dim);
      uint32_t ks[] = {1, 2, dim / 16, dim / 3, dim - 1, dim};
      for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        if (ks[ki] >= 1 && ks[ki] <= dim)
          check_topk(v, dim, ks[ki], flavour_name[fl]);
      free(v);
    }
}
END_TEST

/* Dimensions large enough for the sampled threshold (dim >= 65536, k <=
 * dim/16), every flavour. */
START_TEST(topk_large_matches_bruteforce) {
  uint32_t dim = 70001;
  for (int fl = 0; fl < V_N; fl++) {
    float *v = flavoured(dim, fl, 100 + (uint64_t)fl);
    check_topk(v, dim, 1, flavour_name[fl]);
    check_topk(v, dim, 700, flavour_name[fl]);
    check_topk(v, dim, dim / 16, flavour_name[fl]);
    free(v);
  }
}
END_TEST

START_TEST(topk_tie_rule) {
  const float v[] = {1.0f, -3.0f, 3.0f, 2.0f, -3.0f, 3.0f};
  uint32_t idx[6];
  ck_assert_int_eq(fs_topk_select(v, 6, 2, idx), FS_OK);
  ck_assert_uint_eq(idx[0], 1);
  ck_assert_uint_eq(idx[1], 2);
  ck_assert_int_eq(fs_topk_select(v, 6, 3, idx), FS_OK);
  ck_assert_uint_eq(idx[2], 4);
  ck_assert_int_eq(fs_topk_select(v, 6, 5, idx), FS_OK);
  const uint32_t want5[] = {1, 2, 3, 4, 5};
  ck_assert_mem_eq(idx, want5, sizeof want5);
  /* -0.0 and +0.0 tie */
  const float z[] = {-0.0f, 0.0f, -0.0f};
  ck_assert_int_eq(fs_topk_select(z, 3, 2, idx), FS_OK);
  ck_assert_uint_eq(idx[0], 0);
  ck_assert_uint_eq(idx[1], 1);
  /* the payload keeps the signed values */
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 3};
  fs_payload p = {0};
  ck_assert_int_eq(fs_compress(&s, v, 6, NULL, &p), FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_SPARSE);
  ck_assert_uint_eq(p.nnz, 3);
  ck_assert_float_eq(p.val[0], -3.0f);
  ck_assert_float_eq(p.val[1], 3.0f);
  ck_assert_float_eq(p.val[2], -3.0f);
  fs_payload_free(&p);
}
END_TEST

START_TEST(topk_nan_is_largest) {
  const float v[] = {1.0f, NAN, 5.0f, -INFINITY, 2.0f, NAN};
  uint32_t idx[6];
  ck_assert_int_eq(fs_topk_select(v, 6, 1, idx), FS_OK);
  ck_assert_uint_eq(idx[0], 1); /* two equal NaNs: the lower index */
  ck_assert_int_eq(fs_topk_select(v, 6, 3, idx), FS_OK);
  const uint32_t want3[] = {1, 3, 5};
  ck_assert_mem_eq(idx, want3, sizeof want3);
  ck_assert_int_eq(fs_topk_select(v, 6, 4, idx), FS_OK);
  const uint32_t want4[] = {1, 2, 3, 5};
  ck_assert_mem_eq(idx, want4, sizeof want4);
}
END_TEST

/* ---- core: RandK ----------------------------------------------------------
 */

static void check_indices(const uint32_t *idx, uint32_t dim, uint32_t k) {
  for (uint32_t i = 0; i < k; i++) {
    ck_assert_msg(idx[i] < dim, "index %u of %u out of range", i, k);
    if (i > 0)
      ck_assert_msg(idx[i - 1] < idx[i], "indices %u, %u not increasing",
                    idx[i - 1], idx[i]);
  }
}

START_TEST(randk_indices_valid_and_reproducible) {
  static const uint32_t cases[][2] = {
      {1, 1},          {5, 2},        {40, 35},     {1000, 31},
      {1000, 500},     {65536, 100},  {65537, 100}, {200003, 150000},
      {1000000, 5000}, {1000000, 20}, {3000000, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint32_t dim = cases[c][0], k = cases[c][1];
    uint32_t *a = malloc(k * sizeof *a), *b = malloc(k * sizeof *b);
    ck_assert(a != NULL && b != NULL);
    ck_assert_int_eq(fs_randk_indices(77, dim, k, a), FS_OK);
    check_indices(a, dim, k);
    ck_assert_int_eq(fs_randk_indices(77, dim, k, b), FS_OK);
    ck_assert_mem_eq(a, b, k * sizeof *a);
    if (k < dim && dim > 4) { /* another seed, another set */
      ck_assert_int_eq(fs_randk_indices(78, dim, k, b), FS_OK);
      ck_assert_msg(memcmp(a, b, k * sizeof *a) != 0, "seed ignored");
    }
    free(a);
    free(b);
  }
}
END_TEST

/* Exactly uniform over the 20 subsets of 3 out of 6: chi-square with 19
 * degrees of freedom under 19 + 5 sqrt(38) = 50. */
START_TEST(randk_subsets_uniform) {
  enum { N = 20000 };
  uint32_t count[64] = {0};
  for (uint64_t seed = 0; seed < N; seed++) {
    uint32_t idx[3];
    ck_assert_int_eq(fs_randk_indices(seed, 6, 3, idx), FS_OK);
    count[(1u << idx[0]) | (1u << idx[1]) | (1u << idx[2])]++;
  }
  double chi = 0.0, e = N / 20.0;
  int subsets = 0;
  for (int m = 0; m < 64; m++)
    if (__builtin_popcount((unsigned)m) == 3) {
      subsets++;
      chi += (count[m] - e) * (count[m] - e) / e;
    } else {
      ck_assert_uint_eq(count[m], 0);
    }
  ck_assert_int_eq(subsets, 20);
  ck_assert_msg(chi < 50.0, "chi-square %g", chi);
}
END_TEST

/* Marginals and pair inclusion for k > 32 in a small range (the bitmap
 * path): each index with probability k/d, each pair k(k-1)/(d(d-1)). */
START_TEST(randk_bitmap_marginals) {
  enum { N = 20000, D = 40, K = 35 };
  uint32_t inc[D] = {0}, pair01 = 0, pair0last = 0;
  for (uint64_t seed = 0; seed < N; seed++) {
    uint32_t idx[K];
    uint8_t in[D] = {0};
    ck_assert_int_eq(fs_randk_indices(seed, D, K, idx), FS_OK);
    for (int i = 0; i < K; i++)
      in[idx[i]] = 1;
    for (int j = 0; j < D; j++)
      inc[j] += in[j];
    pair01 += in[0] && in[1];
    pair0last += in[0] && in[D - 1];
  }
  double p = (double)K / D, sd = sqrt(N * p * (1 - p));
  for (int j = 0; j < D; j++)
    ck_assert_msg(fabs(inc[j] - N * p) < 5 * sd, "index %d: %u", j, inc[j]);
  double q = (double)K * (K - 1) / (D * (D - 1.0)), sq = sqrt(N * q * (1 - q));
  ck_assert_msg(fabs(pair01 - N * q) < 5 * sq, "pair (0,1): %u", pair01);
  ck_assert_msg(fabs(pair0last - N * q) < 5 * sq, "pair (0,39): %u", pair0last);
}
END_TEST

/* Large ranges are split by multivariate hypergeometric draws: the number
 * of indices in the first half must vary across seeds with the
 * hypergeometric variance (a proportional split would not vary at all;
 * draws with replacement would vary by a factor (N-1)/(N-K) more: 1.85 in
 * the second case), and 100 buckets must fill evenly (chi-square, 99
 * degrees of freedom, under 99 + 5 sqrt(198) = 170). The third case takes
 * the complement path (k > dim/2). */
static const uint32_t split_cases[][3] = {
    {300007, 3000, 300}, {131075, 60000, 200}, {131075, 100000, 100}};

START_TEST(randk_split_is_hypergeometric) {
  const uint32_t dim = split_cases[_i][0], K = split_cases[_i][1];
  const uint32_t S = split_cases[_i][2];
  uint32_t *idx = malloc(K * sizeof *idx);
  ck_assert_ptr_nonnull(idx);
  double sum = 0.0, sum2 = 0.0;
  double bucket[100] = {0};
  for (uint64_t seed = 0; seed < S; seed++) {
    ck_assert_int_eq(fs_randk_indices(seed, dim, K, idx), FS_OK);
    uint32_t left = 0;
    for (uint32_t i = 0; i < K; i++) {
      left += idx[i] < dim / 2;
      bucket[(uint64_t)idx[i] * 100 / dim]++;
    }
    sum += left;
    sum2 += (double)left * left;
  }
  double n = dim / 2, N = dim;
  double mean = K * n / N;
  double var = K * (n / N) * (1 - n / N) * (N - K) / (N - 1);
  double m = sum / S, v = (sum2 / S - m * m) * S / (S - 1.0);
  ck_assert_msg(fabs(m - mean) < 5 * sqrt(var / S), "mean %g want %g", m, mean);
  /* the sample variance of S draws has relative sd sqrt(2/S), at most 14% */
  ck_assert_msg(v > 0.6 * var && v < 1.4 * var, "variance %g want %g", v, var);
  double chi = 0.0;
  for (int b = 0; b < 100; b++) {
    double lo = ceil(b * N / 100), hi = ceil((b + 1) * N / 100);
    double e = (double)S * K * (hi - lo) / N;
    chi += (bucket[b] - e) * (bucket[b] - e) / e;
  }
  ck_assert_msg(chi < 170.0, "chi-square %g", chi);
  free(idx);
}
END_TEST

/* E C(v) = v: C(v)_j = (d/k) v_j with probability k/d, so the mean of N
 * draws has sd |v_j| sqrt((d/k - 1)/N) (0.0091 |v_j| here); allow 5 sd. */
START_TEST(randk_unbiased) {
  enum { N = 20000, D = 8, K = 3 };
  const float v[D] = {1.0f, -2.0f, 3.0f, 0.5f, -0.25f, 4.0f, -1.5f, 0.0f};
  double mean[D] = {0};
  fs_comp_spec s = {.kind = &fs_compressor_randk, .k = K};
  fs_payload p = {0};
  float y[D];
  for (uint64_t i = 0; i < N; i++) {
    fs_rng r;
    fs_rng_init(&r, 5, FS_RNG_TEST, i, 0);
    ck_assert_int_eq(fs_compress(&s, v, D, &r, &p), FS_OK);
    ck_assert_int_eq(p.kind, FS_PL_RANDK);
    ck_assert_uint_eq(p.nnz, K);
    fs_payload_to_dense(&p, y);
    for (int j = 0; j < D; j++)
      mean[j] += y[j] / (double)N;
  }
  for (int j = 0; j < D; j++) {
    double tol = 5.0 * fabs(v[j]) * sqrt(((double)D / K - 1.0) / N);
    ck_assert_msg(fabs(mean[j] - v[j]) <= tol, "coordinate %d: %g vs %g", j,
                  mean[j], v[j]);
  }
  fs_payload_free(&p);
}
END_TEST

START_TEST(randk_payload_from_seed) {
  uint32_t dim = 1000, k = 37;
  float *v = normal_vec(dim, 3);
  fs_comp_spec s = {.kind = &fs_compressor_randk, .k = k};
  fs_payload p = {0}, q = {0};
  fs_rng r1, r2;
  fs_rng_init(&r1, 9, FS_RNG_COMPRESS, 4, 2);
  fs_rng_init(&r2, 9, FS_RNG_COMPRESS, 4, 2);
  ck_assert_int_eq(fs_compress(&s, v, dim, &r1, &p), FS_OK);
  ck_assert_int_eq(fs_compress(&s, v, dim, &r2, &q), FS_OK);
  ck_assert_uint_eq(p.seed, q.seed);
  ck_assert_mem_eq(p.val, q.val, k * sizeof *p.val);
  /* the values sit at the indices of the seed, scaled by dim / k */
  uint32_t *idx = malloc(k * sizeof *idx);
  ck_assert_ptr_nonnull(idx);
  ck_assert_int_eq(fs_randk_indices(p.seed, dim, k, idx), FS_OK);
  float *y = dense_of(&p);
  uint32_t at = 0;
  for (uint32_t j = 0; j < dim; j++) {
    if (at < k && idx[at] == j) {
      ck_assert_float_eq(y[j], (float)((double)v[j] * dim / k));
      ck_assert_float_eq(p.val[at], y[j]);
      at++;
    } else {
      ck_assert_float_eq(y[j], 0.0f);
    }
  }
  free(idx);
  free(y);
  free(v);
  fs_payload_free(&p);
  fs_payload_free(&q);
}
END_TEST

/* ---- core: quantisers -----------------------------------------------------
 */

/*
 * Draw n compressions of v and check E C(v) = v coordinate-wise and the
 * mean of ||C(v) - v||^2 against its exact expectation want_var (both
 * within 5 sd of the estimates). Returns the measured mean squared error.
 */
/* The row's place in the table (the stream id these tests always used). */
static uint64_t row_index(const fs_compressor *c) {
  for (size_t i = 0; i < fs_compressor_count(); i++)
    if (fs_compressor_at(i) == c)
      return i;
  ck_abort_msg("row not in the table");
  return 0;
}

static double check_unbiased(const fs_comp_spec *s, const float *v,
                             uint32_t dim, int n, const double *coord_var,
                             double want_var) {
  fs_rng r;
  fs_rng_init(&r, 21, FS_RNG_TEST, row_index(s->kind), s->levels);
  fs_payload p = {0};
  double *mean = calloc(dim, sizeof *mean);
  float *y = malloc(dim * sizeof *y);
  ck_assert(mean != NULL && y != NULL);
  double e_sum = 0.0, e_sum2 = 0.0;
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(fs_compress(s, v, dim, &r, &p), FS_OK);
    fs_payload_to_dense(&p, y);
    double e = 0.0;
    for (uint32_t j = 0; j < dim; j++) {
      mean[j] += y[j];
      e += ((double)y[j] - v[j]) * ((double)y[j] - v[j]);
    }
    e_sum += e;
    e_sum2 += e * e;
  }
  for (uint32_t j = 0; j < dim; j++) {
    double m = mean[j] / n;
    double tol = 5.0 * sqrt(coord_var[j] / n) + 1e-6 * fabs(v[j]);
    ck_assert_msg(fabs(m - v[j]) <= tol, "%s: coordinate %u: mean %g, v %g",
                  (s->kind)->base.name, j, m, v[j]);
  }
  double em = e_sum / n, esd = sqrt((e_sum2 / n - em * em) / n);
  ck_assert_msg(fabs(em - want_var) <= 5.0 * esd + 1e-9 * want_var,
                "%s: mean squared error %g, expected %g (sd %g)",
                (s->kind)->base.name, em, want_var, esd);
  free(mean);
  free(y);
  fs_payload_free(&p);
  return em;
}

START_TEST(qsgd_unbiased_variance_bound) {
  enum { D = 16, N = 20000 };
  float *v = normal_vec(D, 7);
  v[3] = 0.0f;
  double norm2 = 0.0;
  for (int j = 0; j < D; j++)
    norm2 += (double)v[j] * v[j];
  float scale = (float)sqrt(norm2);
  static const uint32_t levels[] = {1, 2, 4, 127};
  for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
    uint32_t s = levels[li];
    fs_comp_spec sp = {.kind = &fs_compressor_qsgd, .levels = s};
    double cv[D], want = 0.0;
    for (int j = 0; j < D; j++) { /* Var = (scale/s)^2 f (1 - f) */
      double l = fabs((double)v[j]) / scale * s, f = l - floor(l);
      cv[j] = (scale / (double)s) * (scale / (double)s) * f * (1 - f);
      want += cv[j];
    }
    double em = check_unbiased(&sp, v, D, N, cv, want);
    double bound = fmin((double)D / (s * s), sqrt((double)D) / s) * norm2;
    ck_assert_msg(em <= bound, "s = %u: %g above the bound %g", s, em, bound);
  }
  /* codes in [-s, s], with the signs of v */
  fs_comp_spec sp = {.kind = &fs_compressor_qsgd, .levels = 2};
  fs_payload p = {0};
  fs_rng r;
  fs_rng_init(&r, 1, FS_RNG_TEST, 0, 0);
  ck_assert_int_eq(fs_compress(&sp, v, D, &r, &p), FS_OK);
  ck_assert_float_eq(p.scale, scale);
  for (int j = 0; j < D; j++) {
    ck_assert(p.codes[j] >= -2 && p.codes[j] <= 2);
    ck_assert(p.codes[j] == 0 || (p.codes[j] < 0) == (v[j] < 0));
  }
  fs_payload_free(&p);
  free(v);
}
END_TEST

START_TEST(natural_unbiased_variance_bound) {
  enum { D = 12, N = 20000 };
  const float v[D] = {1.0f,   -3.0f,    0.7f,     1e-3f, -1e30f, 5.5f,
                      0.375f, -0.0625f, 12345.6f, 1.25f, -1.0f,  0.0f};
  double cv[D], want = 0.0, norm2 = 0.0;
  for (int j = 0; j < D; j++) { /* (hi - a)(a - lo) */
    double a = fabs((double)v[j]);
    norm2 += a * a;
    cv[j] = 0.0;
    if (a > 0) {
      double lo = exp2(floor(log2(a))), hi = 2 * lo;
      cv[j] = (hi - a) * (a - lo);
    }
    want += cv[j];
  }
  fs_comp_spec sp = {.kind = &fs_compressor_natural};
  double em = check_unbiased(&sp, v, D, N, cv, want);
  ck_assert_msg(em <= norm2 / 8, "%g above ||v||^2/8 = %g", em, norm2 / 8);
  /* every output a signed power of two (or 0), exact powers kept */
  fs_payload p = {0};
  fs_rng r;
  fs_rng_init(&r, 2, FS_RNG_TEST, 0, 0);
  for (int i = 0; i < 100; i++) {
    ck_assert_int_eq(fs_compress(&sp, v, D, &r, &p), FS_OK);
    ck_assert_int_eq(p.kind, FS_PL_NATURAL);
    for (int j = 0; j < D; j++) {
      int e;
      float m = frexpf(fabsf(p.val[j]), &e);
      ck_assert(p.val[j] == 0.0f || m == 0.5f);
      ck_assert(p.val[j] == 0.0f || (p.val[j] < 0) == (v[j] < 0));
    }
    ck_assert_float_eq(p.val[0], 1.0f);
    ck_assert_float_eq(p.val[7], -0.0625f);
    ck_assert_float_eq(p.val[10], -1.0f);
    ck_assert_float_eq(p.val[11], 0.0f);
  }
  fs_payload_free(&p);
}
END_TEST

START_TEST(sign_exact) {
  const float v[] = {1.0f, -2.0f, 0.0f, -0.0f, 3.0f};
  fs_comp_spec s = {.kind = &fs_compressor_sign};
  fs_payload p = {0};
  ck_assert_int_eq(fs_compress(&s, v, 5, NULL, &p), FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_SIGN);
  ck_assert_float_eq(p.scale, 1.2f);
  const int8_t want[] = {1, -1, 1, 1, 1};
  ck_assert_mem_eq(p.codes, want, sizeof want);
  float y[5];
  fs_payload_to_dense(&p, y);
  const float wy[] = {1.2f, -1.2f, 1.2f, 1.2f, 1.2f};
  ck_assert_mem_eq(y, wy, sizeof wy);
  fs_payload_free(&p);
}
END_TEST

START_TEST(block8_exact) {
  /* blocks of 4: absmax 1, 0, 127, and a last block of 2 with absmax 6;
   * codes round(127 v / absmax), halves away from zero */
  const float v[] = {1.0f,  -0.5f, 0.25f,  0.0f, 0.0f, 0.0f, 0.0f,
                     -0.0f, 127.f, -63.5f, 1.0f, 2.0f, 3.0f, -6.0f};
  fs_comp_spec s = {.kind = &fs_compressor_block8, .block = 4};
  fs_payload p = {0};
  ck_assert_int_eq(fs_compress(&s, v, 14, NULL, &p), FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_BLOCK8);
  ck_assert_uint_eq(p.block, 4);
  const float wa[] = {1.0f, 0.0f, 127.0f, 6.0f};
  ck_assert_mem_eq(p.absmax, wa, sizeof wa);
  const int8_t wc[] = {127, -64, 32, 0, 0, 0, 0, 0, 127, -64, 1, 2, 64, -127};
  ck_assert_mem_eq(p.codes, wc, sizeof wc);
  float y[14];
  fs_payload_to_dense(&p, y);
  ck_assert_float_eq(y[0], 1.0f);
  ck_assert_float_eq(y[8], 127.0f);
  ck_assert_float_eq(y[10], 1.0f);
  ck_assert_float_eq(y[13], -6.0f);
  ck_assert_float_eq(y[4], 0.0f);
  fs_payload_free(&p);
}
END_TEST

/* |C(v)_j - v_j| <= absmax/254, up to float rounding of the decode. */
START_TEST(block8_error_bound) {
  uint32_t dim = 1000;
  float *v = normal_vec(dim, 8);
  for (uint32_t j = 0; j < dim; j += 7)
    v[j] *= 1000.0f;
  static const uint32_t blocks[] = {1, 3, 64, 1000, 4096};
  fs_payload p = {0};
  for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
    fs_comp_spec s = {.kind = &fs_compressor_block8, .block = blocks[bi]};
    ck_assert_int_eq(fs_compress(&s, v, dim, NULL, &p), FS_OK);
    float *y = dense_of(&p);
    for (uint32_t j = 0; j < dim; j++) {
      float am = p.absmax[j / blocks[bi]];
      double err = fabs((double)y[j] - v[j]);
      ck_assert_msg(err <= am / 254.0 * (1 + 1e-6) + 1e-7 * am,
                    "block %u, j %u: error %g, absmax %g", blocks[bi], j, err,
                    am);
    }
    free(y);
  }
  fs_payload_free(&p);
  free(v);
}
END_TEST

START_TEST(identity_is_dense_copy) {
  uint32_t dim = 100;
  float *v = normal_vec(dim, 9);
  fs_comp_spec s = {.kind = &fs_compressor_identity};
  fs_payload p = {0};
  ck_assert_int_eq(fs_compress(&s, v, dim, NULL, &p), FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_DENSE);
  ck_assert_uint_eq(p.dim, dim);
  ck_assert_mem_eq(p.val, v, dim * sizeof *v);
  fs_payload_free(&p);
  free(v);
}
END_TEST

/* ---- core: expansion, reuse, bits -----------------------------------------
 */

static const fs_comp_spec all_specs[] = {
    {.kind = &fs_compressor_identity},
    {.kind = &fs_compressor_topk, .k = 17},
    {.kind = &fs_compressor_topk, .ratio = 0.5},
    {.kind = &fs_compressor_randk, .k = 23},
    {.kind = &fs_compressor_qsgd, .levels = 3},
    {.kind = &fs_compressor_sign},
    {.kind = &fs_compressor_natural},
    {.kind = &fs_compressor_block8, .block = 16}};
#define N_SPECS (int)(sizeof all_specs / sizeof all_specs[0])

/* to_dense, add_to, sub_from and axpy describe the same vector, exactly. */
START_TEST(expanders_agree) {
  uint32_t dim = 301;
  float *v = normal_vec(dim, 10), *base = normal_vec(dim, 11);
  float *y = malloc(dim * sizeof *y);
  double *acc = malloc(dim * sizeof *acc);
  ck_assert(y != NULL && acc != NULL);
  fs_rng r;
  fs_rng_init(&r, 3, FS_RNG_TEST, 0, 0);
  fs_payload p = {0};
  for (int i = 0; i < N_SPECS; i++) {
    ck_assert_int_eq(fs_compress(&all_specs[i], v, dim, &r, &p), FS_OK);
    float *d = dense_of(&p);
    memcpy(y, base, dim * sizeof *y);
    fs_payload_add_to(&p, y);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert_float_eq(y[j], base[j] + d[j]);
    memcpy(y, base, dim * sizeof *y);
    fs_payload_sub_from(&p, y);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert_float_eq(y[j], base[j] - d[j]);
    for (uint32_t j = 0; j < dim; j++)
      acc[j] = base[j];
    fs_payload_axpy(&p, -0.75, acc);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert_double_eq(acc[j], (double)base[j] + -0.75 * (double)d[j]);
    /* to_dense overwrites what was there */
    for (uint32_t j = 0; j < dim; j++)
      y[j] = NAN;
    fs_payload_to_dense(&p, y);
    ck_assert_mem_eq(y, d, dim * sizeof *y);
    free(d);
  }
  fs_payload_free(&p);
  free(v);
  free(base);
  free(y);
  free(acc);
}
END_TEST

/* One payload through every kind and size, against a fresh payload. */
START_TEST(payload_reuse) {
  static const uint32_t dims[] = {1000, 10, 5000, 3};
  fs_payload p = {0};
  for (int rep = 0; rep < 2; rep++)
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
      for (int i = 0; i < N_SPECS; i++) {
        uint32_t dim = dims[di];
        fs_comp_spec s = all_specs[i];
        if (s.k > dim)
          s.k = dim;
        float *v = normal_vec(dim, (uint64_t)i);
        fs_rng r1, r2;
        fs_rng_init(&r1, 4, FS_RNG_TEST, (uint64_t)i, dim);
        r2 = r1;
        fs_payload q = {0};
        ck_assert_int_eq(fs_compress(&s, v, dim, &r1, &p), FS_OK);
        ck_assert_int_eq(fs_compress(&s, v, dim, &r2, &q), FS_OK);
        ck_assert_int_eq(p.kind, q.kind);
        ck_assert_uint_eq(p.dim, dim);
        ck_assert_uint_eq(p.nnz, q.nnz);
        ck_assert_uint_eq(p.levels, q.levels);
        ck_assert_uint_eq(p.block, q.block);
        ck_assert(p.seed == q.seed);
        ck_assert(p.scale == q.scale);
        float *a = dense_of(&p), *b = dense_of(&q);
        ck_assert_mem_eq(a, b, dim * sizeof *a);
        free(a);
        free(b);
        free(v);
        fs_payload_free(&q);
      }
  fs_payload_free(&p);
  ck_assert_ptr_null(p.val);
  fs_payload_free(&p); /* twice is fine */
  fs_payload_free(NULL);
}
END_TEST

START_TEST(ideal_bits_and_k) {
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 10};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 10 * (32 + 10));
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1024), 10 * (32 + 10));
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1025), 10 * (32 + 11));
  s.k = 1;
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1), 32);
  s = (fs_comp_spec){.kind = &fs_compressor_topk, .ratio = 0.01};
  ck_assert_uint_eq(fs_comp_k(&s, 1000), 10);
  ck_assert_uint_eq(fs_comp_k(&s, 10), 1);    /* at least 1 */
  ck_assert_uint_eq(fs_comp_k(&s, 1050), 11); /* rounded */
  s = (fs_comp_spec){.kind = &fs_compressor_randk, .k = 10};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 320);
  s = (fs_comp_spec){.kind = &fs_compressor_qsgd, .levels = 1};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 32 + 1000 * 2);
  s.levels = 127;
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 32 + 1000 * 8);
  s.levels = 4;
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 32 + 1000 * 4);
  s = (fs_comp_spec){.kind = &fs_compressor_sign};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 1032);
  s = (fs_comp_spec){.kind = &fs_compressor_natural};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 9000);
  s = (fs_comp_spec){.kind = &fs_compressor_block8, .block = 64};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 32 * 16 + 8000);
  s = (fs_comp_spec){.kind = &fs_compressor_identity};
  ck_assert_double_eq(fs_comp_ideal_bits(&s, 1000), 32000);
  ck_assert_uint_eq(fs_comp_k(&s, 1000), 1000);
}
END_TEST

/* ---- core: error feedback -------------------------------------------------
 */

START_TEST(ef14_by_hand) {
  /* TopK k = 1 on d = 4:
   *   d1 = ( 1, -2,  .5, .25): u = ( 1,  -2,  .5, .25), c = (0, -2, 0, 0),
   *                            e = ( 1,   0,  .5, .25)
   *   d2 = (.5,  1,  -1,   0): u = (1.5,  1, -.5, .25), c = (1.5, 0, 0, 0),
   *                            e = ( 0,   1, -.5, .25)
   *   d3 = ( 0, .5,  -1,   1): u = ( 0, 1.5, -1.5, 1.25), tie at 1 and 2
   *                            goes to index 1: c = (0, 1.5, 0, 0),
   *                            e = ( 0,   0, -1.5, 1.25) */
  const float d[3][4] = {{1, -2, .5f, .25f}, {.5f, 1, -1, 0}, {0, .5f, -1, 1}};
  const float want_c[3][4] = {{0, -2, 0, 0}, {1.5f, 0, 0, 0}, {0, 1.5f, 0, 0}};
  const float want_e[3][4] = {
      {1, 0, .5f, .25f}, {0, 1, -.5f, .25f}, {0, 0, -1.5f, 1.25f}};
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 1};
  float e[4] = {0}, tmp[4], c[4];
  fs_payload p = {0};
  for (int t = 0; t < 3; t++) {
    ck_assert_int_eq(fs_ef14_step(&s, e, d[t], 4, NULL, &p, tmp), FS_OK);
    fs_payload_to_dense(&p, c);
    ck_assert_mem_eq(c, want_c[t], sizeof c);
    ck_assert_mem_eq(e, want_e[t], sizeof e);
  }
  fs_payload_free(&p);
}
END_TEST

START_TEST(ef21_by_hand) {
  /* TopK k = 1 on d = 4, g0 = 0:
   *   t1 = (  1,  -2, .5, .25): t - g = (1, -2, .5, .25), c = (0, -2, 0, 0),
   *                             g = (  0,  -2,  0, 0)
   *   t2 = (1.5,  -1, .5,   0): t - g = (1.5, 1, .5, 0), c = (1.5, 0, 0, 0),
   *                             g = (1.5,  -2,  0, 0)
   *   t3 = (1.5, -.5, 1.5,  0): t - g = (0, 1.5, 1.5, 0), tie to index 1:
   *                             c = (0, 1.5, 0, 0), g = (1.5, -.5, 0, 0) */
  const float t[3][4] = {
      {1, -2, .5f, .25f}, {1.5f, -1, .5f, 0}, {1.5f, -.5f, 1.5f, 0}};
  const float want_c[3][4] = {{0, -2, 0, 0}, {1.5f, 0, 0, 0}, {0, 1.5f, 0, 0}};
  const float want_g[3][4] = {
      {0, -2, 0, 0}, {1.5f, -2, 0, 0}, {1.5f, -.5f, 0, 0}};
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 1};
  float g[4] = {0}, tmp[4], c[4];
  fs_payload p = {0};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(fs_ef21_step(&s, g, t[i], 4, NULL, &p, tmp), FS_OK);
    fs_payload_to_dense(&p, c);
    ck_assert_mem_eq(c, want_c[i], sizeof c);
    ck_assert_mem_eq(g, want_g[i], sizeof g);
  }
  fs_payload_free(&p);
}
END_TEST

/* With the identity, g = t after one step: exactly from g = 0, and up to
 * the rounding of (t - g) + g otherwise. */
START_TEST(ef21_identity_tracks_target) {
  uint32_t dim = 200;
  float *t = normal_vec(dim, 12), *g = calloc(dim, sizeof(float));
  float *tmp = malloc(dim * sizeof(float));
  ck_assert(g != NULL && tmp != NULL);
  fs_comp_spec s = {.kind = &fs_compressor_identity};
  fs_payload p = {0};
  ck_assert_int_eq(fs_ef21_step(&s, g, t, dim, NULL, &p, tmp), FS_OK);
  ck_assert_mem_eq(g, t, dim * sizeof *g);
  float *g0 = normal_vec(dim, 13);
  memcpy(g, g0, dim * sizeof *g);
  ck_assert_int_eq(fs_ef21_step(&s, g, t, dim, NULL, &p, tmp), FS_OK);
  for (uint32_t j = 0; j < dim; j++)
    ck_assert_float_eq_tol(g[j], t[j],
                           2 * FLT_EPSILON * (fabsf(t[j]) + fabsf(g0[j])));
  fs_payload_free(&p);
  free(t);
  free(g);
  free(g0);
  free(tmp);
}
END_TEST

/*
 * Telescoping over 30 steps: EF14 keeps e_T + sum_t c_t = sum_t d_t, and
 * EF21 g_T = g_0 + sum_t c_t, for every kind of compressor. The sums run in
 * double; the only float rounding is in e + d (and t - g), so the
 * tolerance is a few ulps of the magnitudes involved per step.
 */
START_TEST(ef_telescoping) {
  enum { T = 30 };
  uint32_t dim = 64;
  float *e = calloc(dim, sizeof(float)), *g = calloc(dim, sizeof(float));
  float *tmp = malloc(dim * sizeof(float));
  double *sum_c14 = calloc(dim, sizeof(double)),
         *sum_d = calloc(dim, sizeof(double)),
         *sum_c21 = calloc(dim, sizeof(double));
  ck_assert(e && g && tmp && sum_c14 && sum_d && sum_c21);
  int i = _i;
  fs_rng r;
  fs_rng_init(&r, 6, FS_RNG_TEST, (uint64_t)i, 0);
  fs_payload p = {0};
  for (int t = 0; t < T; t++) {
    float *d = normal_vec(dim, 1000 + (uint64_t)t);
    ck_assert_int_eq(fs_ef14_step(&all_specs[i], e, d, dim, &r, &p, tmp),
                     FS_OK);
    fs_payload_axpy(&p, 1.0, sum_c14);
    for (uint32_t j = 0; j < dim; j++)
      sum_d[j] += d[j];
    ck_assert_int_eq(fs_ef21_step(&all_specs[i], g, d, dim, &r, &p, tmp),
                     FS_OK);
    fs_payload_axpy(&p, 1.0, sum_c21);
    free(d);
  }
  for (uint32_t j = 0; j < dim; j++) {
    double big = fabs(sum_d[j]) + fabs(sum_c14[j]) + fabs(e[j]) + T * 4.0;
    ck_assert_msg(fabs(e[j] + sum_c14[j] - sum_d[j]) <= 1e-5 * big,
                  "%s: EF14 coordinate %u: %g + %g vs %g",
                  (all_specs[i].kind)->base.name, j, e[j], sum_c14[j],
                  sum_d[j]);
    ck_assert_msg(fabs(g[j] - sum_c21[j]) <= 1e-5 * (fabs(g[j]) + T * 4.0),
                  "%s: EF21 coordinate %u: %g vs %g",
                  (all_specs[i].kind)->base.name, j, g[j], sum_c21[j]);
  }
  fs_payload_free(&p);
  free(e);
  free(g);
  free(tmp);
  free(sum_c14);
  free(sum_d);
  free(sum_c21);
}
END_TEST

/* ---- limits -----------------------------------------------------------------
 */

START_TEST(dim_one_every_kind) {
  const float v[1] = {-0.3f};
  fs_rng r;
  fs_rng_init(&r, 7, FS_RNG_TEST, 0, 0);
  fs_payload p = {0};
  for (int i = 0; i < N_SPECS; i++) {
    fs_comp_spec s = all_specs[i];
    if (s.k > 1)
      s.k = 1;
    ck_assert_int_eq(fs_comp_check(&s, 1, NULL), FS_OK);
    ck_assert_int_eq(fs_compress(&s, v, 1, &r, &p), FS_OK);
    float y;
    fs_payload_to_dense(&p, &y);
    ck_assert(isfinite(y));
    if (s.kind == &fs_compressor_identity || s.kind == &fs_compressor_topk ||
        s.kind == &fs_compressor_randk || s.kind == &fs_compressor_sign ||
        s.kind == &fs_compressor_qsgd || s.kind == &fs_compressor_block8)
      ck_assert_float_eq_tol(y, -0.3f, 1e-7);
    else /* natural: -0.25 or -0.5 */
      ck_assert(y == -0.25f || y == -0.5f);
  }
  fs_payload_free(&p);
}
END_TEST

START_TEST(k_equals_dim) {
  uint32_t dim = 50;
  float *v = normal_vec(dim, 14);
  fs_rng r;
  fs_rng_init(&r, 8, FS_RNG_TEST, 0, 0);
  fs_payload p = {0};
  fs_comp_spec tk = {.kind = &fs_compressor_topk, .ratio = 1.0};
  fs_comp_spec rk = {.kind = &fs_compressor_randk, .k = dim};
  ck_assert_int_eq(fs_compress(&tk, v, dim, NULL, &p), FS_OK);
  ck_assert_uint_eq(p.nnz, dim);
  for (uint32_t j = 0; j < dim; j++)
    ck_assert_uint_eq(p.idx[j], j);
  float *y = dense_of(&p);
  ck_assert_mem_eq(y, v, dim * sizeof *v);
  free(y);
  ck_assert_int_eq(fs_compress(&rk, v, dim, &r, &p), FS_OK);
  y = dense_of(&p);
  ck_assert_mem_eq(y, v, dim * sizeof *v); /* scale dim/k = 1 */
  free(y);
  fs_payload_free(&p);
  free(v);
}
END_TEST

/*
 * Vectors that defeat TopK's sampled threshold, so that its exact fallback
 * runs: (a) spikes exactly where the sampler looks (this mirrors the
 * sampler in compress.c: 8 neighbours in each of ns/8 evenly spaced gaps),
 * so the threshold is too high; (b) zeros with few nonzeros, so the
 * threshold is 0 and everything is a candidate; (c) k inside a huge tie.
 */
START_TEST(topk_adversarial_fallbacks) {
  uint32_t dim = 131072;
  float *v = normal_vec(dim, 15);
  uint32_t ns = dim / 32;
  ns -= ns % 8;
  uint32_t gap = dim / ns * 8;
  for (uint32_t b = 0; b < ns / 8; b++)
    for (uint32_t t = 0; t < 8; t++)
      v[b * gap + gap / 2 + t] = 1000.0f + (float)t;
  check_topk(v, dim, dim / 16, "sample spikes");
  check_topk(v, dim, 10, "sample spikes, small k");
  for (uint32_t j = 0; j < dim; j++)
    v[j] = j % 1000 == 7 ? (float)j : 0.0f;
  check_topk(v, dim, 500, "mostly zeros");
  for (uint32_t j = 0; j < dim; j++)
    v[j] = j % 3 == 0 ? 2.0f : 1.0f;
  check_topk(v, dim, 8000, "huge tie");
  free(v);
}
END_TEST

START_TEST(randk_huge_dim) {
  uint32_t idx[200];
  ck_assert_int_eq(fs_randk_indices(1, UINT32_MAX, 200, idx), FS_OK);
  check_indices(idx, UINT32_MAX, 200);
  ck_assert_int_eq(fs_randk_indices(2, UINT32_MAX, 20, idx), FS_OK);
  check_indices(idx, UINT32_MAX, 20);
  ck_assert_int_eq(fs_randk_indices(3, 70000, 0, idx), FS_OK);
}
END_TEST

START_TEST(quantiser_extremes) {
  fs_rng r;
  fs_rng_init(&r, 9, FS_RNG_TEST, 0, 0);
  fs_payload p = {0};
  /* QSGD: zero vector; a single nonzero gives codes 0 and +-s exactly */
  const float z[4] = {0};
  fs_comp_spec q = {.kind = &fs_compressor_qsgd, .levels = 5};
  ck_assert_int_eq(fs_compress(&q, z, 4, &r, &p), FS_OK);
  ck_assert_float_eq(p.scale, 0.0f);
  for (int j = 0; j < 4; j++)
    ck_assert_int_eq(p.codes[j], 0);
  float y[4];
  fs_payload_to_dense(&p, y);
  ck_assert_mem_eq(y, z, sizeof y);
  const float one[4] = {0, -7.0f, 0, 0};
  ck_assert_int_eq(fs_compress(&q, one, 4, &r, &p), FS_OK);
  ck_assert_int_eq(p.codes[1], -5);
  /* QSGD with a norm above FLT_MAX stays finite */
  const float big[2] = {3e38f, -3e38f};
  ck_assert_int_eq(fs_compress(&q, big, 2, &r, &p), FS_OK);
  ck_assert(isfinite(p.scale));
  fs_payload_to_dense(&p, y);
  ck_assert(isfinite(y[0]) && isfinite(y[1]));
  /* natural: FLT_MAX -> 2^127, subnormals -> 0 or FLT_MIN, Inf/NaN kept */
  const float nat[6] = {FLT_MAX, -FLT_MAX, 1e-40f, -FLT_MIN, INFINITY, 0.0f};
  fs_comp_spec n = {.kind = &fs_compressor_natural};
  for (int i = 0; i < 50; i++) {
    ck_assert_int_eq(fs_compress(&n, nat, 6, &r, &p), FS_OK);
    ck_assert_float_eq(p.val[0], 0x1p127f);
    ck_assert_float_eq(p.val[1], -0x1p127f);
    ck_assert(p.val[2] == 0.0f || p.val[2] == FLT_MIN);
    ck_assert_float_eq(p.val[3], -FLT_MIN);
    ck_assert(isinf(p.val[4]));
    ck_assert_float_eq(p.val[5], 0.0f);
  }
  /* unbiased at the bottom too: mean of C(x) for subnormal x */
  const float tiny = 0x1p-140f;
  double mean = 0.0;
  enum { N = 20000 };
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(fs_compress(&n, &tiny, 1, &r, &p), FS_OK);
    mean += p.val[0] / (double)N;
  }
  double pr = 0x1p-140 / FLT_MIN; /* P(FLT_MIN) = x / FLT_MIN */
  double sd = FLT_MIN * sqrt(pr * (1 - pr) / N);
  ck_assert_msg(fabs(mean - 0x1p-140) < 5 * sd, "mean %g", mean);
  fs_payload_free(&p);
}
END_TEST

/* ---- hadamard (compress/hadamard.c) ---------------------------------------
 */

/* The normalised Walsh-Hadamard transform of hadamard.c (internal). */
void fs__hadamard_fwht(double *x, uint32_t n);

/* Compress v with hadamard from the stream (7, client, round) and decode it
 * as the server does: encode the SIGN payload, decode it with the wire dim,
 * fs_comp_receive. Returns the decoded vector (dim floats, caller frees),
 * the encoded bytes in *bytes and checks the sender's kept C(v) against it. */
static float *hadamard_roundtrip(const float *v, uint32_t dim, uint32_t client,
                                 size_t *bytes) {
  fs_comp_spec s = {.kind = &fs_compressor_hadamard};
  fs_rng r;
  fs_rng_init(&r, 7, FS_RNG_COMPRESS, client, 3);
  fs_payload p = {0}, q = {0};
  ck_assert_int_eq(fs_compress(&s, v, dim, &r, &p), FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_SIGN);
  uint32_t n = fs_comp_wire_dim(&s, FS_PL_SIGN, dim);
  ck_assert_uint_eq(p.dim, n);
  ck_assert_uint_eq(fs_comp_wire_dim(&s, FS_PL_DENSE, dim), dim);
  size_t len = fs_payload_encoded_size(&p, NULL);
  uint8_t *buf = malloc(len);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fs_payload_encode(&p, buf), len);
  *bytes = len;
  fs_err err;
  ck_assert_int_eq(fs_payload_decode(buf, len, FS_PL_SIGN, n, &q, &err), FS_OK);
  ck_assert_int_eq(fs_comp_receive(&s, &q, dim, 7, client, 3), FS_OK);
  ck_assert_int_eq(q.kind, FS_PL_DENSE);
  ck_assert_uint_eq(q.dim, dim);
  float *y = dense_of(&q);
  float *e = calloc(dim, sizeof *e); /* the sender's view, for EF */
  ck_assert_ptr_nonnull(e);
  fs_comp_add_to(&s, &p, dim, e);
  for (uint32_t j = 0; j < dim; j++) /* sender and receiver agree (0 + -0) */
    ck_assert(e[j] == y[j]);
  free(e);
  free(buf);
  fs_payload_free(&p);
  fs_payload_free(&q);
  return y;
}

START_TEST(hadamard_transform_orthonormal) {
  static const uint32_t ns[] = {1, 2, 8, 1024, 8192};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    uint32_t n = ns[i];
    float *v = normal_vec(n, 40 + (int)i);
    double *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    double n0 = 0.0, n1 = 0.0;
    for (uint32_t j = 0; j < n; j++) {
      x[j] = v[j];
      n0 += x[j] * x[j];
    }
    fs__hadamard_fwht(x, n);
    for (uint32_t j = 0; j < n; j++)
      n1 += x[j] * x[j];
    ck_assert_double_eq_tol(n1, n0, 1e-9 * n0); /* norm kept */
    fs__hadamard_fwht(x, n);                    /* H H = I */
    for (uint32_t j = 0; j < n; j++)
      ck_assert_double_eq_tol(x[j], v[j], 1e-6);
    free(x);
    free(v);
  }
}
END_TEST

START_TEST(hadamard_roundtrip_exact) {
  /* v = 3 e_5: every rotated coordinate is +-3/32 = S, so the quantiser
   * is deterministic and decoding must give v back (1000 -> d' = 1024). */
  enum { D = 1000 };
  float v[D] = {0};
  v[5] = 3.0f;
  size_t bytes;
  float *y = hadamard_roundtrip(v, D, 1, &bytes);
  for (uint32_t j = 0; j < D; j++)
    ck_assert_float_eq_tol(y[j], v[j], 1e-6);
  free(y);
}
END_TEST

START_TEST(hadamard_encoded_size) {
  /* a SIGN payload over d': u32 d' + f32 scale + d'/8 bytes (d' >= 8) */
  static const uint32_t dims[] = {1, 7, 8, 100, 128, 129, 1000, 7850};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
    uint32_t dim = dims[i], n = 1;
    while (n < dim)
      n <<= 1;
    float *v = normal_vec(dim, 50 + (int)i);
    size_t bytes;
    float *y = hadamard_roundtrip(v, dim, 2, &bytes);
    ck_assert_uint_eq(bytes, 4 + 4 + (n + 7) / 8);
    fs_comp_spec s = {.kind = &fs_compressor_hadamard};
    ck_assert_double_eq(fs_comp_ideal_bits(&s, dim), 32.0 + n);
    free(y);
    free(v);
  }
}
END_TEST

START_TEST(hadamard_unbiased) {
  /* E v^ = v: the mean of N decodings (independent streams) within 5 sd of
   * v, coordinate by coordinate, sd from the measured variance. */
  enum { D = 100, N = 4000 };
  float *v = normal_vec(D, 60);
  double mean[D] = {0}, m2[D] = {0};
  for (int i = 0; i < N; i++) {
    size_t bytes;
    float *y = hadamard_roundtrip(v, D, 100 + (uint32_t)i, &bytes);
    for (int j = 0; j < D; j++) {
      mean[j] += y[j];
      m2[j] += (double)y[j] * y[j];
    }
    free(y);
  }
  for (int j = 0; j < D; j++) {
    double m = mean[j] / N, var = m2[j] / N - m * m;
    ck_assert_msg(fabs(m - v[j]) <= 5.0 * sqrt(var / N) + 1e-6,
                  "hadamard: coordinate %d: mean %g, v %g (sd %g)", j, m, v[j],
                  sqrt(var / N));
  }
  free(v);
}
END_TEST

START_TEST(hadamard_rejects_bad_payloads) {
  fs_comp_spec s = {.kind = &fs_compressor_hadamard};
  fs_payload p = {0};
  int8_t codes[8] = {1, -1, 1, 1, -1, 1, 1, 1};
  p.kind = FS_PL_SIGN;
  p.dim = 8;
  p.codes = codes;
  p.scale = 3e38f; /* finite, but the decoded vector is not */
  ck_assert_int_eq(fs_comp_receive(&s, &p, 8, 1, 2, 3), FS_ENUMERIC);
  p.scale = 1.0f;
  ck_assert_int_eq(fs_comp_receive(&s, &p, 3, 1, 2, 3), FS_EFORMAT); /* d' */
  p.codes = NULL;
  free(p.val);
  fs_payload d = {.kind = FS_PL_DENSE, .dim = 5}; /* EF21's first message */
  ck_assert_int_eq(fs_comp_receive(&s, &d, 5, 1, 2, 3), FS_OK);
  ck_assert_int_eq(d.kind, FS_PL_DENSE);
  fs_err err;
  ck_assert_int_eq(fs_comp_check(&s, (UINT32_C(1) << 31) + 1, &err),
                   FS_ECONFIG);
  ck_assert(fs_compressor_hadamard.flags & FS_COMP_UPLINK_ONLY);
}
END_TEST

/* ---- errors -----------------------------------------------------------------
 */

START_TEST(check_reports_errors) {
  fs_err err;
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 11};
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "exceeds"));
  ck_assert_int_eq(fs_comp_check(&s, 11, &err), FS_OK);
  s = (fs_comp_spec){.kind = &fs_compressor_randk, .k = 0, .ratio = 0.0};
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "ratio"));
  s.ratio = 1.5;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  s.ratio = -0.1;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  s.ratio = NAN;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  s.ratio = 1.0;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_OK);
  s = (fs_comp_spec){.kind = &fs_compressor_qsgd, .levels = 0};
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "levels"));
  s.levels = 128;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  s.levels = 127;
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_OK);
  s = (fs_comp_spec){.kind = &fs_compressor_block8, .block = 0};
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "block"));
  s = (fs_comp_spec){.kind = &fs_compressor_sign};
  ck_assert_int_eq(fs_comp_check(&s, 0, &err), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dimension"));
  s = (fs_comp_spec){.kind = NULL}; /* no row */
  ck_assert_int_eq(fs_comp_check(&s, 10, &err), FS_ECONFIG);
  ck_assert_int_eq(fs_comp_check(&s, 10, NULL), FS_ECONFIG);
  ck_assert_ptr_null(fs_compressor_find("top-k"));
  ck_assert_ptr_null(fs_compressor_find(NULL));
}
END_TEST

START_TEST(selectors_reject_k_above_dim) {
  float v[3] = {1, 2, 3};
  uint32_t idx[4];
  ck_assert_int_eq(fs_topk_select(v, 3, 4, idx), FS_EINVAL);
  ck_assert_int_eq(fs_randk_indices(1, 3, 4, idx), FS_EINVAL);
  ck_assert_int_eq(fs_topk_select(v, 3, 0, idx), FS_OK);
}
END_TEST

START_TEST(compress_bad_spec_aborts) {
  float v[3] = {1, 2, 3};
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 4};
  fs_payload p = {0};
  fs_compress(&s, v, 3, NULL, &p);
}
END_TEST

START_TEST(randomised_without_rng_aborts) {
  float v[3] = {1, 2, 3};
  fs_comp_spec s = {.kind = &fs_compressor_randk, .k = 1};
  fs_payload p = {0};
  fs_compress(&s, v, 3, NULL, &p);
}
END_TEST

/* The rows of ef.method: none sends C(d); the EF21 family's first message
 * is the target itself, uncompressed, and sets g to it (ef.h). */
START_TEST(ef_rows_messages) {
  ck_assert_uint_eq(fs_ef_method_none.flags, 0);
  ck_assert(fs_ef_method_ef21w.flags & FS_EF_WEIGHTED);
  ck_assert(fs_ef_method_ef21.flags & FS_EF_21);
  ck_assert(!(fs_ef_method_ef14.flags & FS_EF_21));
  fs_comp_spec s = {.kind = &fs_compressor_topk, .k = 1};
  float t[4] = {1, -3, 2, 0}, g[4] = {0}, tmp[4];
  fs_payload p = {0};
  ck_assert_int_eq(fs_ef_method_none.message(&s, NULL, 0, t, 4, NULL, &p, tmp),
                   FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_SPARSE);
  ck_assert_uint_eq(p.nnz, 1);
  ck_assert_int_eq(fs_ef_method_ef21.message(&s, g, 1, t, 4, NULL, &p, tmp),
                   FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_DENSE);
  for (int j = 0; j < 4; j++)
    ck_assert(g[j] == t[j] && p.val[j] == t[j]);
  float t2[4] = {1, -3, 5, 0}; /* then C(t2 - g) = TopK: index 2, value 3 */
  ck_assert_int_eq(fs_ef_method_ef21.message(&s, g, 0, t2, 4, NULL, &p, tmp),
                   FS_OK);
  ck_assert_int_eq(p.kind, FS_PL_SPARSE);
  ck_assert(g[2] == 5.0f && g[1] == -3.0f);
  fs_payload_free(&p);
}
END_TEST

static Suite *compress_suite(void) {
  Suite *su = suite_create("compress");

  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 300);
  tcase_add_test(core, kind_names);
  tcase_add_test(core, ef_rows_messages);
  tcase_add_test(core, topk_matches_bruteforce);
  tcase_add_test(core, topk_large_matches_bruteforce);
  tcase_add_test(core, topk_tie_rule);
  tcase_add_test(core, topk_nan_is_largest);
  tcase_add_test(core, randk_indices_valid_and_reproducible);
  tcase_add_test(core, randk_subsets_uniform);
  tcase_add_test(core, randk_bitmap_marginals);
  tcase_add_loop_test(core, randk_split_is_hypergeometric, 0,
                      (int)(sizeof split_cases / sizeof split_cases[0]));
  tcase_add_test(core, randk_unbiased);
  tcase_add_test(core, randk_payload_from_seed);
  tcase_add_test(core, qsgd_unbiased_variance_bound);
  tcase_add_test(core, natural_unbiased_variance_bound);
  tcase_add_test(core, sign_exact);
  tcase_add_test(core, block8_exact);
  tcase_add_test(core, block8_error_bound);
  tcase_add_test(core, identity_is_dense_copy);
  tcase_add_test(core, expanders_agree);
  tcase_add_test(core, payload_reuse);
  tcase_add_test(core, ideal_bits_and_k);
  tcase_add_test(core, ef14_by_hand);
  tcase_add_test(core, ef21_by_hand);
  tcase_add_test(core, ef21_identity_tracks_target);
  tcase_add_test(core, hadamard_transform_orthonormal);
  tcase_add_test(core, hadamard_roundtrip_exact);
  tcase_add_test(core, hadamard_encoded_size);
  tcase_add_test(core, hadamard_unbiased);
  tcase_add_loop_test(core, ef_telescoping, 0, N_SPECS);
  suite_add_tcase(su, core);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 300);
  tcase_add_test(limits, dim_one_every_kind);
  tcase_add_test(limits, k_equals_dim);
  tcase_add_test(limits, topk_adversarial_fallbacks);
  tcase_add_test(limits, randk_huge_dim);
  tcase_add_test(limits, quantiser_extremes);
  tcase_add_test(limits, hadamard_rejects_bad_payloads);
  suite_add_tcase(su, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, check_reports_errors);
  tcase_add_test(errors, selectors_reject_k_above_dim);
  const char *fork = getenv("CK_FORK");
  if (fork == NULL || strcmp(fork, "no") != 0) {
    tcase_add_test_raise_signal(errors, compress_bad_spec_aborts, SIGABRT);
    tcase_add_test_raise_signal(errors, randomised_without_rng_aborts, SIGABRT);
  }
  suite_add_tcase(su, errors);
  return su;
}

FS_TEST_MAIN(compress_suite)
