/*
 * test_secagg.c — pairwise-masked secure aggregation without MPI: a whole
 * round (keys, graph, encrypted shares, masking, dropouts after masking,
 * recovery from shares, unmasking) played out in memory with the same calls
 * the client and server roles make, for 0%, 10% and 30% dropouts; the
 * uniformity of one masked update (chi-square); parameter checks; the
 * neighbour graph; forged shares and keys.
 */
#include "fs_test.h"
#include "secagg.h"
#include "secagg_client.h"
#include "secagg_msg.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

/* One simulated round: n clients (ids 3, 10, 17, ...), d coordinates. Every
 * client's update is v_u[j] in [-0.9 c, 0.9 c]. ndrop clients (drawn from the
 * test stream) drop after masking. Returns the dequantised sum of the
 * survivors in out and their plain sum in plain. */
typedef struct {
  uint32_t n;
  size_t d;
  double clip;
  uint32_t bits;
  uint32_t degree; /* 0: automatic for 30% dropouts */
} round_cfg;

static void run_round(const round_cfg *rc, uint32_t ndrop, double *out,
                      double *plain, uint32_t *survivors) {
  const uint64_t seed = 42;
  const uint32_t round = 7;
  uint32_t n = rc->n;
  size_t d = rc->d;
  fs_sa_params p;
  ck_assert_int_eq(
      fs_sa_params_make(n, rc->bits, rc->clip, rc->degree, 0.3, &p, NULL),
      FS_OK);
  ck_assert_uint_ge(p.threshold, p.degree / 2 + 1);
  uint32_t *ids = malloc(n * sizeof *ids);
  fs_sa_keys *keys = malloc(n * sizeof *keys);
  for (uint32_t i = 0; i < n; i++) {
    ids[i] = 3 + 7 * i;
    fs_sa_keys_derive(seed, ids[i], round, &keys[i]);
  }
  fs_sa_graph *g;
  ck_assert_int_eq(fs_sa_graph_new(seed, round, &p, &g), FS_OK);
  uint32_t k = p.degree;
  uint32_t *nbi = malloc((size_t)n * k * sizeof *nbi); /* positions */
  uint32_t *nid = malloc(k * sizeof *nid);
  uint8_t(*cpk)[32] = malloc(k * 32), (*spk)[32] = malloc(k * 32);
  /* ct[u][i]: from u to its i-th neighbour */
  uint8_t(*ct)[FS_SA_CT_BYTES] = malloc((size_t)n * k * FS_SA_CT_BYTES);
  uint32_t *sum = calloc(d, sizeof *sum);
  uint32_t *y = malloc(d * sizeof *y);
  float *v = malloc(d * sizeof *v);
  uint8_t *dropped = calloc(n, 1);
  fs_rng tr;
  fs_rng_init(&tr, 9, FS_RNG_TEST, n, ndrop);
  for (uint32_t c = 0; c < ndrop;) {
    uint32_t i = (uint32_t)fs_rng_below(&tr, n);
    if (!dropped[i]) {
      dropped[i] = 1;
      c++;
    }
  }
  memset(plain, 0, d * sizeof *plain);
  for (uint32_t u = 0; u < n; u++) {
    size_t m = fs_sa_graph_neighbours(g, u, nbi + (size_t)u * k);
    ck_assert_uint_eq(m, k);
    for (size_t i = 0; i < m; i++) {
      uint32_t w = nbi[(size_t)u * k + i];
      nid[i] = ids[w];
      memcpy(cpk[i], keys[w].c_pk, 32);
      memcpy(spk[i], keys[w].s_pk, 32);
    }
    ck_assert_int_eq(fs_sa_share(&keys[u], seed, ids[u], round, p.threshold,
                                 nid, (const uint8_t(*)[32])cpk, m,
                                 ct + (size_t)u * k, NULL),
                     FS_OK);
    for (size_t j = 0; j < d; j++)
      v[j] = (float)(rc->clip * 0.9 * sin(0.37 * (double)(j + 1) * (u + 1)));
    fs_rng qr;
    fs_rng_init(&qr, seed, FS_RNG_SECAGG,
                fs_sa_stream_id(FS_SA_TAG_QUANT, ids[u]), round);
    ck_assert_uint_eq(fs_sa_quantise(v, d, 1.0, &p, &qr, y, NULL), 0);
    ck_assert_int_eq(fs_sa_mask(&keys[u], ids[u], round, nid,
                                (const uint8_t(*)[32])spk, m, y, d, NULL),
                     FS_OK);
    if (dropped[u])
      continue; /* masked, then gone: y never reaches the server */
    for (size_t j = 0; j < d; j++) {
      sum[j] += y[j];
      plain[j] += v[j];
    }
  }
  /* Server: rebuild b of every survivor and s_sk of every dropped client
   * from the shares its surviving neighbours open for it. */
  fs_shamir_share *sh = malloc(k * sizeof *sh);
  uint32_t nsurv = 0;
  for (uint32_t u = 0; u < n; u++) {
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
      uint32_t w = nbi[(size_t)u * k + i];
      if (dropped[w])
        continue;
      ck_assert_int_eq(fs_sa_open(&keys[w], ids[w], round, ids[u], keys[u].c_pk,
                                  ct[(size_t)u * k + i],
                                  dropped[u] ? FS_SA_SECRET_SK : FS_SA_SECRET_B,
                                  &sh[m], NULL),
                       FS_OK);
      m++;
    }
    uint8_t sec[32];
    if (!dropped[u]) {
      nsurv++;
      ck_assert_int_eq(fs_shamir_reconstruct(sh, m, p.threshold, sec, NULL),
                       FS_OK);
      ck_assert_mem_eq(sec, keys[u].b, 32);
      fs_sa_prg_add(sec, -1, sum, d);
      continue;
    }
    ck_assert_int_eq(
        fs_sa_rebuild_sk(sh, m, p.threshold, ids[u], keys[u].s_pk, sec, NULL),
        FS_OK);
    size_t ms = 0;
    for (size_t i = 0; i < k; i++) {
      uint32_t w = nbi[(size_t)u * k + i];
      if (dropped[w])
        continue;
      nid[ms] = ids[w];
      memcpy(spk[ms], keys[w].s_pk, 32);
      ms++;
    }
    ck_assert_int_eq(fs_sa_unmask_dropped(sec, ids[u], round, nid,
                                          (const uint8_t(*)[32])spk, ms, sum, d,
                                          NULL),
                     FS_OK);
  }
  fs_sa_dequantise(sum, d, nsurv, &p, out);
  *survivors = nsurv;
  fs_sa_graph_free(g);
  free(ids);
  free(keys);
  free(nbi);
  free(nid);
  free(cpk);
  free(spk);
  free(ct);
  free(sum);
  free(y);
  free(v);
  free(dropped);
  free(sh);
}

/* The unmasked sum equals the plain sum within the quantisation error: each
 * of m survivors is off by less than one step delta = 2c / (2^bits - 1) per
 * coordinate (so |error| < m delta), and stochastic rounding is unbiased
 * (the mean error over coordinates is far below delta). */
static void check_dropout(uint32_t n, uint32_t ndrop, uint32_t degree) {
  round_cfg rc = {.n = n, .d = 3000, .clip = 0.5, .bits = 16, .degree = degree};
  double *out = malloc(rc.d * sizeof *out),
         *plain = malloc(rc.d * sizeof *plain);
  uint32_t m;
  run_round(&rc, ndrop, out, plain, &m);
  ck_assert_uint_eq(m, n - ndrop);
  double delta = 2 * rc.clip / ((1 << rc.bits) - 1), worst = 0, mean = 0;
  for (size_t j = 0; j < rc.d; j++) {
    double e = out[j] - plain[j];
    worst = fmax(worst, fabs(e));
    mean += e;
  }
  mean /= (double)rc.d;
  ck_assert_double_lt(worst, m * delta);
  /* sd of one coordinate's error <= sqrt(m) delta / 2; of the mean over d:
   * that / sqrt(d). 6 sd. */
  ck_assert_double_lt(fabs(mean),
                      6 * sqrt((double)m) * delta / 2 / sqrt((double)rc.d));
  free(out);
  free(plain);
}

START_TEST(sum_no_dropout) { check_dropout(30, 0, 0); }
END_TEST
START_TEST(sum_10pc_dropout) { check_dropout(30, 3, 0); }
END_TEST
START_TEST(sum_30pc_dropout) { check_dropout(30, 9, 0); }
END_TEST
/* A sparse graph (n = 200, degree 60, threshold 31) with 30% dropouts:
 * every client keeps 42 surviving neighbours on average (sd 3.5). */
START_TEST(sum_sparse_graph_30pc) { check_dropout(200, 60, 60); }
END_TEST
START_TEST(sum_sparse_graph_0pc) { check_dropout(200, 0, 16); }
END_TEST

/* Without the masks removed the sum is garbage: the test above can fail. */
START_TEST(masks_matter) {
  fs_sa_keys k;
  fs_sa_keys_derive(1, 5, 1, &k);
  uint32_t y[64] = {0};
  fs_sa_prg_add(k.b, +1, y, 64);
  size_t zero = 0;
  for (int j = 0; j < 64; j++)
    zero += y[j] == 0;
  ck_assert_uint_lt(zero, 2);
  fs_sa_prg_add(k.b, -1, y, 64);
  for (int j = 0; j < 64; j++)
    ck_assert_uint_eq(y[j], 0);
}
END_TEST

/* Pearson's chi-square on the 256 byte values. */
static double chi2_bytes(const uint32_t *w, size_t d) {
  double cnt[256] = {0};
  for (size_t j = 0; j < d; j++)
    for (int b = 0; b < 4; b++)
      cnt[(w[j] >> (8 * b)) & 0xff] += 1;
  double e = 4.0 * (double)d / 256.0, x = 0;
  for (int i = 0; i < 256; i++)
    x += (cnt[i] - e) * (cnt[i] - e) / e;
  return x;
}

/* A single masked update is indistinguishable from uniform: the chi-square
 * statistic of its 2^18 bytes over 256 bins (255 degrees of freedom) stays
 * below 377.2, the 1 - 1e-6 quantile (Wilson-Hilferty: 255 (1 - 2/(9*255)
 * + 4.753 sqrt(2/(9*255)))^3), so a uniform vector fails it once in a
 * million. The quantised update itself (all values near the middle level)
 * and a half-masked one fail it by far: the test has power. */
START_TEST(masked_update_looks_uniform) {
  const size_t d = 1 << 16;
  const double crit = 377.2;
  fs_sa_params p;
  ck_assert_int_eq(fs_sa_params_make(10, 16, 1.0, 0, 0.0, &p, NULL), FS_OK);
  float *v = malloc(d * sizeof *v);
  uint32_t *y = malloc(d * sizeof *y);
  for (size_t j = 0; j < d; j++)
    v[j] = (float)(0.01 * cos((double)j)); /* a small, structured update */
  fs_rng r;
  fs_rng_init(&r, 3, FS_RNG_TEST, 0, 0);
  fs_sa_quantise(v, d, 1.0, &p, &r, y, NULL);
  double x_plain = chi2_bytes(y, d);
  ck_assert_double_gt(x_plain, 100 * crit);
  fs_sa_keys k[3];
  for (int i = 0; i < 3; i++)
    fs_sa_keys_derive(3, (uint32_t)i, 1, &k[i]);
  uint32_t nb[2] = {1, 2};
  uint8_t spk[2][32];
  memcpy(spk[0], k[1].s_pk, 32);
  memcpy(spk[1], k[2].s_pk, 32);
  uint32_t *z = malloc(d * sizeof *z);
  memcpy(z, y, d * sizeof *y);
  /* Half a mask (only the low 16 bits of each word masked) fails too. */
  for (size_t j = 0; j < d; j++)
    z[j] ^= (uint32_t)(fs_rng_u32(&r) & 0xffff);
  ck_assert_double_gt(chi2_bytes(z, d), crit);
  ck_assert_int_eq(
      fs_sa_mask(&k[0], 0, 1, nb, (const uint8_t(*)[32])spk, 2, y, d, NULL),
      FS_OK);
  double x_masked = chi2_bytes(y, d);
  ck_assert_double_lt(x_masked, crit);
  free(v);
  free(y);
  free(z);
}
END_TEST

START_TEST(params_checks) {
  fs_sa_params p;
  fs_err e = {0};
  /* n 2^bits < 2^32 */
  ck_assert_int_eq(fs_sa_params_make(1000, 22, 1.0, 0, 0, &p, NULL), FS_OK);
  ck_assert_int_eq(fs_sa_params_make(1025, 22, 1.0, 0, 0, &p, &e), FS_ERANGE);
  ck_assert_ptr_nonnull(strstr(e.msg, "at most 21 bits"));
  ck_assert_int_eq(fs_sa_params_make(1024, 22, 1.0, 0, 0, &p, &e), FS_ERANGE);
  ck_assert_int_eq(fs_sa_params_make(2, 30, 1.0, 0, 0, &p, NULL), FS_OK);
  ck_assert_int_eq(fs_sa_params_make(2, 31, 1.0, 0, 0, &p, &e), FS_ERANGE);
  ck_assert_int_eq(fs_sa_params_make(10, 0, 1.0, 0, 0, &p, &e), FS_ERANGE);
  ck_assert_int_eq(fs_sa_params_make(1, 8, 1.0, 0, 0, &p, &e), FS_ERANGE);
  ck_assert_ptr_nonnull(strstr(e.msg, "at least 2"));
  ck_assert_int_eq(fs_sa_params_make(10, 8, NAN, 0, 0, &p, &e), FS_EINVAL);
  ck_assert_int_eq(fs_sa_params_make(10, 8, -1, 0, 0, &p, &e), FS_EINVAL);
  ck_assert_int_eq(fs_sa_params_make(10, 8, 1, 0, 1.0, &p, &e), FS_EINVAL);
  /* degrees: complete graph for small n, logarithmic for large n */
  ck_assert_int_eq(fs_sa_params_make(10, 8, 1, 0, 0, &p, NULL), FS_OK);
  ck_assert_uint_eq(p.degree, 8); /* 2 ceil(log2 10) = 8 < 9 */
  ck_assert_uint_eq(p.threshold, 5);
  ck_assert_int_eq(fs_sa_params_make(1000, 8, 1, 0, 0, &p, NULL), FS_OK);
  ck_assert_uint_eq(p.degree, 20);
  ck_assert_int_eq(fs_sa_params_make(1000, 8, 1, 0, 0.3, &p, NULL), FS_OK);
  ck_assert_uint_gt(p.degree, 20); /* more neighbours to survive dropouts */
  ck_assert_uint_lt(p.degree, 999);
  ck_assert_int_eq(fs_sa_params_make(5, 8, 1, 0, 0.3, &p, NULL), FS_OK);
  ck_assert_uint_eq(p.degree, 4); /* complete */
  ck_assert_int_eq(fs_sa_params_make(100, 8, 1, 7, 0, &p, NULL), FS_OK);
  ck_assert_uint_eq(p.degree, 8); /* odd requests round up to even */
  ck_assert_int_eq(fs_sa_params_make(2, 8, 1, 0, 0, &p, NULL), FS_OK);
  ck_assert_uint_eq(p.degree, 1);
  ck_assert_uint_eq(p.threshold, 1);
}
END_TEST

/* The Harary graph is symmetric, k-regular, without self-loops, and
 * different rounds give different graphs. */
START_TEST(graph_is_regular_and_symmetric) {
  fs_sa_params p;
  ck_assert_int_eq(fs_sa_params_make(101, 8, 1, 0, 0, &p, NULL), FS_OK);
  fs_sa_graph *g, *g2;
  ck_assert_int_eq(fs_sa_graph_new(1, 1, &p, &g), FS_OK);
  ck_assert_int_eq(fs_sa_graph_new(1, 2, &p, &g2), FS_OK);
  uint32_t a[128], b[128];
  int differ = 0;
  for (uint32_t i = 0; i < p.n; i++) {
    size_t m = fs_sa_graph_neighbours(g, i, a);
    ck_assert_uint_eq(m, p.degree);
    for (size_t j = 0; j < m; j++) {
      ck_assert_uint_ne(a[j], i);
      if (j)
        ck_assert_uint_gt(a[j], a[j - 1]);
      size_t mb = fs_sa_graph_neighbours(g, a[j], b);
      int found = 0;
      for (size_t l = 0; l < mb; l++)
        found |= b[l] == i;
      ck_assert(found);
    }
    fs_sa_graph_neighbours(g2, i, b);
    differ |= memcmp(a, b, m * sizeof *a) != 0;
  }
  ck_assert(differ);
  fs_sa_graph_free(g);
  fs_sa_graph_free(g2);
  fs_sa_graph_free(NULL);
}
END_TEST

START_TEST(pairwise_keys_agree) {
  fs_sa_keys a, b;
  fs_sa_keys_derive(1, 4, 9, &a);
  fs_sa_keys_derive(1, 6, 9, &b);
  uint8_t s1[32], s2[32];
  ck_assert_int_eq(fs_sa_agree(a.s_sk, b.s_pk, 4, 6, 9, "fsmask01", s1, NULL),
                   FS_OK);
  ck_assert_int_eq(fs_sa_agree(b.s_sk, a.s_pk, 6, 4, 9, "fsmask01", s2, NULL),
                   FS_OK);
  ck_assert_mem_eq(s1, s2, 32);
  /* a different label or round gives another key */
  ck_assert_int_eq(fs_sa_agree(a.s_sk, b.s_pk, 4, 6, 9, "fsshare1", s2, NULL),
                   FS_OK);
  ck_assert_int_ne(memcmp(s1, s2, 32), 0);
  /* the same client in another round has other keys */
  fs_sa_keys a2;
  fs_sa_keys_derive(1, 4, 10, &a2);
  ck_assert_int_ne(memcmp(a.s_pk, a2.s_pk, 32), 0);
  fs_sa_keys_wipe(&a2);
  uint8_t zero[32] = {0};
  ck_assert_mem_eq(a2.s_sk, zero, 32);
}
END_TEST

START_TEST(forged_inputs_are_refused) {
  fs_sa_keys a, b, c;
  fs_sa_keys_derive(1, 1, 1, &a);
  fs_sa_keys_derive(1, 2, 1, &b);
  fs_sa_keys_derive(1, 3, 1, &c);
  fs_err e = {0};
  /* small-order public key (all zero) */
  uint8_t zero[32] = {0}, out[32];
  ck_assert_int_eq(fs_sa_agree(a.s_sk, zero, 1, 2, 1, "fsmask01", out, &e),
                   FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "small order"));
  /* shares from a to b, opened by b; a flipped bit, or c opening them */
  uint32_t nb[2] = {2, 3};
  uint8_t cpk[2][32];
  memcpy(cpk[0], b.c_pk, 32);
  memcpy(cpk[1], c.c_pk, 32);
  uint8_t ct[2][FS_SA_CT_BYTES];
  ck_assert_int_eq(
      fs_sa_share(&a, 1, 1, 1, 2, nb, (const uint8_t(*)[32])cpk, 2, ct, NULL),
      FS_OK);
  fs_shamir_share s;
  ck_assert_int_eq(
      fs_sa_open(&b, 2, 1, 1, a.c_pk, ct[0], FS_SA_SECRET_B, &s, NULL), FS_OK);
  ck_assert_uint_eq(s.x, 3);
  /* the kept pair keys open the same shares without an X25519 */
  uint8_t ct2[2][FS_SA_CT_BYTES], keys[2][32];
  fs_shamir_share s2;
  ck_assert_int_eq(fs_sa_share_keep(&a, 1, 1, 1, 2, nb,
                                    (const uint8_t(*)[32])cpk, 2, ct2, keys,
                                    NULL),
                   FS_OK);
  ck_assert_mem_eq(ct2[0], ct[0], FS_SA_CT_BYTES);
  ck_assert_int_eq(
      fs_sa_open_key(keys[0], 2, 1, 1, ct[0], FS_SA_SECRET_B, &s2, NULL),
      FS_OK);
  ck_assert_mem_eq(s2.y, s.y, sizeof s.y);
  ck_assert_int_eq(
      fs_sa_open_key(keys[1], 2, 1, 1, ct[0], FS_SA_SECRET_B, &s2, &e),
      FS_EFORMAT);
  ck_assert_int_eq(
      fs_sa_open(&c, 3, 1, 1, a.c_pk, ct[0], FS_SA_SECRET_B, &s, &e),
      FS_EFORMAT);
  ct[1][17] ^= 1;
  ck_assert_int_eq(
      fs_sa_open(&c, 3, 1, 1, a.c_pk, ct[1], FS_SA_SECRET_B, &s, &e),
      FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "authentication"));
  /* a rebuilt mask key that does not match the public key */
  fs_shamir_share sh[2];
  uint64_t xs[2] = {3, 4};
  fs_rng r;
  fs_rng_init(&r, 1, FS_RNG_TEST, 0, 0);
  fs_shamir_split(a.s_sk, 2, xs, 2, &r, sh);
  ck_assert_int_eq(fs_sa_rebuild_sk(sh, 2, 2, 1, a.s_pk, out, NULL), FS_OK);
  ck_assert_mem_eq(out, a.s_sk, 32);
  ck_assert_int_eq(fs_sa_rebuild_sk(sh, 2, 2, 1, b.s_pk, out, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "does not match"));
  /* a client listed as its own neighbour */
  uint32_t y[4] = {0};
  uint32_t self[1] = {1};
  ck_assert_int_eq(
      fs_sa_mask(&a, 1, 1, self, (const uint8_t(*)[32])cpk, 1, y, 4, &e),
      FS_EINVAL);
}
END_TEST

/* Quantisation: values inside [-c, c] are unbiased; outside are clipped and
 * counted; non-finite values become 0 and are counted. */
START_TEST(quantise_clips_and_counts) {
  fs_sa_params p;
  ck_assert_int_eq(fs_sa_params_make(4, 4, 1.0, 0, 0, &p, NULL), FS_OK);
  float v[5] = {2.0f, -3.0f, 0.0f, NAN, INFINITY};
  uint32_t q[5];
  size_t bad = 0;
  fs_rng r;
  fs_rng_init(&r, 1, FS_RNG_TEST, 0, 0);
  ck_assert_uint_eq(fs_sa_quantise(v, 5, 1.0, &p, &r, q, &bad), 2);
  ck_assert_uint_eq(bad, 2);
  ck_assert_uint_eq(q[0], 15);
  ck_assert_uint_eq(q[1], 0);
  /* scale is applied before clipping */
  float w[1] = {0.25f};
  ck_assert_uint_eq(fs_sa_quantise(w, 1, 8.0, &p, &r, q, NULL), 1);
  ck_assert_uint_eq(q[0], 15);
  /* mean of many stochastic roundings of 0.1 */
  double s = 0;
  for (int i = 0; i < 20000; i++) {
    float x[1] = {0.1f};
    fs_sa_quantise(x, 1, 1.0, &p, &r, q, NULL);
    double back;
    fs_sa_dequantise(q, 1, 1, &p, &back);
    s += back;
  }
  /* one rounding has sd <= delta/2 = 1/15; 20000 of them: 4.7e-4; 6 sd */
  ck_assert_double_eq_tol(s / 20000, 0.1, 3e-3);
}
END_TEST

/* The wire bodies: sizes, round trips, and every malformed length or
 * secret byte refused with a status. */
START_TEST(wire_bodies) {
  ck_assert_uint_eq(fs_sam_size(FS_MSG_SA_KEYS, 0), 64);
  ck_assert_uint_eq(fs_sam_size(FS_MSG_SA_ADVERTISE, 3), 8 + 3 * 68);
  ck_assert_uint_eq(fs_sam_size(FS_MSG_SA_SHARES, 3), 4 + 3 * 100);
  ck_assert_uint_eq(fs_sam_size(FS_MSG_SA_UNMASK, 3), 4 + 3 * 101);
  ck_assert_uint_eq(fs_sam_size(FS_MSG_SA_REVEAL, 3), 4 + 3 * 45);
  ck_assert_uint_eq(FS_SAM_CT, FS_SA_CT_BYTES);
  ck_assert_uint_eq(FS_SAM_SHARE, FS_SHAMIR_SHARE_BYTES);
  uint8_t buf[512], key[32], ct[FS_SAM_CT], sh[FS_SAM_SHARE];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)i;
  memset(ct, 0x5c, sizeof ct);
  memset(sh, 0x3a, sizeof sh);
  /* ADVERTISE */
  uint8_t *r = fs_sam_begin(FS_MSG_SA_ADVERTISE, 2, 2, buf);
  fs_sam_put_advertise(r, 7, key, key);
  fs_sam_put_advertise(r + 68, 9, key, key);
  fs_sam_view v;
  size_t len = fs_sam_size(FS_MSG_SA_ADVERTISE, 2);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_ADVERTISE, buf, len, &v, NULL),
                   FS_OK);
  ck_assert_uint_eq(v.threshold, 2);
  ck_assert_uint_eq(v.count, 2);
  ck_assert_uint_eq(fs_sam_id(&v, 1), 9);
  ck_assert_mem_eq(fs_sam_data(&v, 1), key, 32);
  fs_err e = {0};
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_ADVERTISE, buf, len - 1, &v, &e),
                   FS_ETRUNC);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_ADVERTISE, buf, len + 1, &v, &e),
                   FS_EFORMAT);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_ADVERTISE, buf, 7, &v, &e),
                   FS_ETRUNC);
  /* a count that would overflow 32-bit arithmetic */
  buf[4] = buf[5] = buf[6] = buf[7] = 0xff;
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_ADVERTISE, buf, len, &v, &e),
                   FS_ETRUNC);
  /* UNMASK / REVEAL: the secret byte */
  r = fs_sam_begin(FS_MSG_SA_UNMASK, 1, 0, buf);
  fs_sam_put_unmask(r, 4, 1, ct);
  len = fs_sam_size(FS_MSG_SA_UNMASK, 1);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_UNMASK, buf, len, &v, NULL), FS_OK);
  ck_assert_uint_eq(fs_sam_secret(&v, 0), 1);
  ck_assert_mem_eq(fs_sam_data(&v, 0), ct, FS_SAM_CT);
  buf[8] = 2;
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_UNMASK, buf, len, &v, &e),
                   FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "secret 2"));
  r = fs_sam_begin(FS_MSG_SA_REVEAL, 1, 0, buf);
  fs_sam_put_reveal(r, 4, 0, sh);
  len = fs_sam_size(FS_MSG_SA_REVEAL, 1);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_REVEAL, buf, len, &v, NULL), FS_OK);
  ck_assert_mem_eq(fs_sam_data(&v, 0), sh, FS_SAM_SHARE);
  /* SHARES */
  r = fs_sam_begin(FS_MSG_SA_SHARES, 1, 0, buf);
  fs_sam_put_share(r, 11, ct);
  len = fs_sam_size(FS_MSG_SA_SHARES, 1);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_SHARES, buf, len, &v, NULL), FS_OK);
  ck_assert_uint_eq(fs_sam_id(&v, 0), 11);
  ck_assert_mem_eq(fs_sam_data(&v, 0), ct, FS_SAM_CT);
  /* KEYS: exactly 64 bytes */
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_KEYS, buf, 64, &v, NULL), FS_OK);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_KEYS, buf, 63, &v, &e), FS_ETRUNC);
  ck_assert_int_eq(fs_sam_decode(FS_MSG_SA_KEYS, buf, 65, &v, &e), FS_EFORMAT);
  /* not a secure-aggregation type */
  ck_assert_int_eq(fs_sam_decode(FS_MSG_UPDATE, buf, 64, &v, &e), FS_EFORMAT);
  /* masked vectors */
  uint32_t y[3] = {1, 0xffffffffu, 77}, back[3] = {0};
  fs_masked_encode(y, 3, buf);
  ck_assert_uint_eq(fs_masked_size(3), 16);
  ck_assert_int_eq(fs_masked_decode(buf, 16, back, 3, NULL), FS_OK);
  ck_assert_mem_eq(back, y, sizeof y);
  ck_assert_int_eq(fs_masked_decode(buf, 15, back, 3, &e), FS_ETRUNC);
  ck_assert_int_eq(fs_masked_decode(buf, 17, back, 3, &e), FS_EFORMAT);
  ck_assert_int_eq(fs_masked_decode(buf, 16, back, 4, &e), FS_EFORMAT);
  ck_assert_int_eq(fs_masked_decode(buf, 3, back, 3, &e), FS_ETRUNC);
}
END_TEST

/* The client side refuses secure-aggregation frames out of sequence (no
 * TRAIN before them) without touching the transport. */
START_TEST(client_refuses_out_of_sequence) {
  fs_config cfg;
  fs_config_defaults(&cfg);
  fs_sa_client *c;
  ck_assert_int_eq(fs_sa_client_new(&cfg, 2, 10, &c, NULL), FS_OK);
  uint8_t body[8 + 68] = {0};
  fs_frame_header h = {.type = FS_MSG_SA_ADVERTISE,
                       .round = 1,
                       .client = 4,
                       .body_len = sizeof body};
  fs_err e = {0};
  ck_assert_int_eq(fs_sa_client_handle(c, NULL, 1, &h, body, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "out of sequence"));
  h.type = FS_MSG_SA_UNMASK;
  ck_assert_int_eq(fs_sa_client_handle(c, NULL, 0, &h, body, &e), FS_EFORMAT);
  fs_sa_client_free(c);
  fs_sa_client_free(NULL);
}
END_TEST

static Suite *secagg_suite(void) {
  Suite *s = suite_create("secagg");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 120);
  tcase_add_test(core, sum_no_dropout);
  tcase_add_test(core, sum_10pc_dropout);
  tcase_add_test(core, sum_30pc_dropout);
  tcase_add_test(core, sum_sparse_graph_30pc);
  tcase_add_test(core, sum_sparse_graph_0pc);
  tcase_add_test(core, masks_matter);
  tcase_add_test(core, masked_update_looks_uniform);
  tcase_add_test(core, graph_is_regular_and_symmetric);
  tcase_add_test(core, pairwise_keys_agree);
  tcase_add_test(core, quantise_clips_and_counts);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, params_checks);
  suite_add_tcase(s, limits);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, forged_inputs_are_refused);
  tcase_add_test(errors, wire_bodies);
  tcase_add_test(errors, client_refuses_out_of_sequence);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(secagg_suite)
