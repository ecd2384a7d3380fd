/*
 * test_robust.c — the robust aggregation rules (server/robust.h) on
 * hand-made inputs whose answers are worked out in the comments (odd and
 * even k, ties, f at its limits, impossible f refused), and the server's
 * round collector (server/robust_round.h): f reduced by rejected updates,
 * skipped rounds, the NNA pivot; and the peer-to-peer mixing (server/p2p.h).
 */
#include "frame.h"
#include "fs_test.h"
#include "p2p.h"
#include "robust.h"
#include "robust_round.h"

#include <math.h>
#include <string.h>

/* Aggregate k scalars (dim 1) with rule name; returns the status. */
static fs_status agg1(const char *name, const float *x, size_t k, size_t f,
                      size_t m, const float *pivot, double *out) {
  const float *v[16];
  for (size_t i = 0; i < k; i++)
    v[i] = &x[i];
  fs_robust_params p = {.f = f, .m = m, .pivot = pivot};
  const fs_robust_rule *r = fs_robust_find(name);
  ck_assert_ptr_nonnull(r);
  return fs_robust_aggregate(r, v, k, 1, &p, out, NULL);
}

START_TEST(table_names) {
  const char *names[] = {"mean",      "median", "trimmed_mean", "krum",
                         "multikrum", "nna",    "monna"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const fs_robust_rule *r = fs_robust_find(names[i]);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(fs_robust_name(r), names[i]);
  }
  ck_assert_ptr_null(fs_robust_find("fedavg"));
  ck_assert_ptr_null(fs_robust_find(""));
  ck_assert_ptr_null(fs_robust_find("Median"));
}
END_TEST

START_TEST(median_odd_even_ties) {
  /* Three vectors of dim 3: per coordinate {1,2,7} -> 2, {5,-1,0} -> 0,
   * {3,9,4} -> 4. */
  float a[3] = {1, 5, 3}, b[3] = {2, -1, 9}, c[3] = {7, 0, 4};
  const float *v[3] = {a, b, c};
  double out[3];
  fs_robust_params p = {0};
  const fs_robust_rule *med = fs_robust_find("median");
  ck_assert_int_eq(fs_robust_aggregate(med, v, 3, 3, &p, out, NULL), FS_OK);
  ck_assert_double_eq(out[0], 2.0);
  ck_assert_double_eq(out[1], 0.0);
  ck_assert_double_eq(out[2], 4.0);
  /* Even k: mean of the two middle values; an outlier does not matter. */
  float e[4] = {3, 100, 1, 2};
  ck_assert_int_eq(agg1("median", e, 4, 1, 0, NULL, out), FS_OK);
  ck_assert_double_eq(out[0], 2.5);
  float t[4] = {2, 5, 2, 2}; /* ties */
  ck_assert_int_eq(agg1("median", t, 4, 0, 0, NULL, out), FS_OK);
  ck_assert_double_eq(out[0], 2.0);
  float one = -7;
  ck_assert_int_eq(agg1("median", &one, 1, 0, 0, NULL, out), FS_OK);
  ck_assert_double_eq(out[0], -7.0);
  /* f at its limit: k = 2f + 1 is fine, k = 2f is refused. */
  float five[5] = {1e30f, -1e30f, 4, 3, 5};
  ck_assert_int_eq(agg1("median", five, 5, 2, 0, NULL, out), FS_OK);
  ck_assert_double_eq(out[0], 4.0);
  out[0] = 42;
  ck_assert_int_eq(agg1("median", e, 4, 2, 0, NULL, out), FS_EINVAL);
  ck_assert_double_eq(out[0], 42.0); /* untouched on error */
}
END_TEST

START_TEST(trimmed_mean_by_hand) {
  float x[5] = {4, 100, 2, 1, 3};
  double out;
  /* f = 1: drop 1 and 100, mean of {2, 3, 4} = 3. */
  ck_assert_int_eq(agg1("trimmed_mean", x, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 3.0);
  /* f = 0: the plain mean 110 / 5 = 22. */
  ck_assert_int_eq(agg1("trimmed_mean", x, 5, 0, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 22.0);
  /* f = 2 (limit k = 2f + 1): the median 3. */
  ck_assert_int_eq(agg1("trimmed_mean", x, 5, 2, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 3.0);
  /* Ties: {1,1,1,9,9}, f = 1 -> mean of {1,1,9} = 11/3. */
  float t[5] = {9, 1, 1, 9, 1};
  ck_assert_int_eq(agg1("trimmed_mean", t, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq_tol(out, 11.0 / 3.0, 1e-15);
  /* Even k = 4, f = 1: drop one each side, mean of the middle two. */
  float e[4] = {-50, 2, 6, 50};
  ck_assert_int_eq(agg1("trimmed_mean", e, 4, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 4.0);
  ck_assert_int_eq(agg1("trimmed_mean", e, 4, 2, 0, NULL, &out), FS_EINVAL);
}
END_TEST

START_TEST(krum_by_hand) {
  /* 1-D points {0, 1, 2, 3, 100}, f = 1: each score sums the k - f - 2 = 2
   * smallest squared distances: 0 -> 1 + 4 = 5, 1 -> 1 + 1 = 2,
   * 2 -> 1 + 1 = 2, 3 -> 1 + 4 = 5, 100 -> 97^2 + 98^2. Points 1 and 2 tie:
   * the lower index wins, Krum returns 1. */
  float x[5] = {0, 1, 2, 3, 100};
  double out;
  ck_assert_int_eq(agg1("krum", x, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 1.0);
  /* Same points in another order: the winner is still a score-2 point,
   * the one with the lower index (here 2, at index 1). */
  float y[5] = {100, 2, 3, 1, 0};
  ck_assert_int_eq(agg1("krum", y, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 2.0);
  /* Multi-Krum: m = 1 is Krum; m = 2 averages the two score-2 points;
   * m = 0 means k - f = 4: {0, 1, 2, 3} -> 1.5. */
  ck_assert_int_eq(agg1("multikrum", x, 5, 1, 1, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 1.0);
  ck_assert_int_eq(agg1("multikrum", x, 5, 1, 2, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 1.5);
  ck_assert_int_eq(agg1("multikrum", x, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 1.5);
  /* m = k - f is the limit; m = k - f + 1 is refused. */
  ck_assert_int_eq(agg1("multikrum", x, 5, 1, 4, NULL, &out), FS_OK);
  ck_assert_int_eq(agg1("multikrum", x, 5, 1, 5, NULL, &out), FS_EINVAL);
}
END_TEST

START_TEST(krum_two_dims) {
  /* Four honest points around (1, 1) and one far away, f = 1 (k = 5 >
   * 2f + 2 = 4): Krum picks (1, 1), the centre of the honest cluster
   * (its two nearest are at squared distance 1 each). */
  float p0[2] = {1, 1}, p1[2] = {2, 1}, p2[2] = {1, 2}, p3[2] = {0, 1},
        p4[2] = {-40, 70};
  const float *v[5] = {p4, p1, p0, p2, p3};
  fs_robust_params p = {.f = 1};
  double out[2];
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("krum"), v, 5, 2, &p, out, NULL),
      FS_OK);
  ck_assert_double_eq(out[0], 1.0);
  ck_assert_double_eq(out[1], 1.0);
}
END_TEST

START_TEST(krum_limits) {
  float x[6] = {0, 1, 2, 3, 4, 5};
  double out;
  fs_err e = {0};
  const float *v[6] = {&x[0], &x[1], &x[2], &x[3], &x[4], &x[5]};
  fs_robust_params p = {.f = 2};
  /* k = 6 = 2f + 2: refused, with a message naming the condition. */
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("krum"), v, 6, 1, &p, &out, &e),
      FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "k > 2f + 2"));
  ck_assert_ptr_nonnull(strstr(e.msg, "k = 6, f = 2"));
  /* k = 7 = 2f + 3: accepted. */
  float y[7] = {0, 1, 2, 3, 4, 5, 6};
  ck_assert_int_eq(agg1("krum", y, 7, 2, 0, NULL, &out), FS_OK);
  /* f = 0: k = 3 works (score = distance to the nearest), k = 2 not. */
  float z[3] = {0, 10, 11};
  ck_assert_int_eq(agg1("krum", z, 3, 0, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 10.0); /* 10 and 11 tie at 1: lower index */
  ck_assert_int_eq(agg1("krum", z, 2, 0, 0, NULL, &out), FS_EINVAL);
  ck_assert_int_eq(agg1("multikrum", z, 2, 0, 0, NULL, &out), FS_EINVAL);
  /* A huge f does not wrap around. */
  ck_assert_int_eq(agg1("krum", y, 7, (size_t)-1, 0, NULL, &out), FS_EINVAL);
}
END_TEST

START_TEST(nna_by_hand) {
  /* Pivot 0 (NULL), k = 5, f = 2: nna keeps k - f = 3 nearest.
   * |x|^2 = 9, 1, 9, 100, 1: keep 1 and -1, then 3 and -3 tie at 9 and
   * the lower index (3, at 0) wins: mean (3 + 1 - 1) / 3 = 1. */
  float x[5] = {3, 1, -3, 10, -1};
  double out;
  ck_assert_int_eq(agg1("nna", x, 5, 2, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 1.0);
  /* f = 1: keep 4 (all but 10): (3 + 1 - 3 - 1) / 4 = 0. */
  ck_assert_int_eq(agg1("nna", x, 5, 1, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 0.0);
  /* monna keeps k - 2f: f = 2 -> 1 vector, the nearest to the pivot. */
  float piv = 2.9f;
  ck_assert_int_eq(agg1("monna", x, 5, 2, 0, &piv, &out), FS_OK);
  ck_assert_double_eq(out, 3.0);
  /* f = 1 -> 3 nearest to 2.9: 3, 1, -1 -> 1. */
  ck_assert_int_eq(agg1("monna", x, 5, 1, 0, &piv, &out), FS_OK);
  ck_assert_double_eq(out, 1.0);
  /* f = 0: everything, the mean 2. */
  ck_assert_int_eq(agg1("nna", x, 5, 0, 0, &piv, &out), FS_OK);
  ck_assert_double_eq(out, 2.0);
  /* Honest majority needed: k = 4, f = 2 refused for both. */
  ck_assert_int_eq(agg1("nna", x, 4, 2, 0, NULL, &out), FS_EINVAL);
  ck_assert_int_eq(agg1("monna", x, 4, 2, 0, NULL, &out), FS_EINVAL);
}
END_TEST

START_TEST(nna_pivot_vector) {
  /* dim 2, pivot (10, 10), f = 1, keep 2: the points near the pivot. */
  float a[2] = {0, 0}, b[2] = {9, 11}, c[2] = {11, 11}, piv[2] = {10, 10};
  const float *v[3] = {a, b, c};
  fs_robust_params p = {.f = 1, .pivot = piv};
  double out[2];
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("nna"), v, 3, 2, &p, out, NULL),
      FS_OK);
  ck_assert_double_eq(out[0], 10.0);
  ck_assert_double_eq(out[1], 11.0);
}
END_TEST

START_TEST(mean_rule) {
  float x[4] = {1, 2, 3, 10};
  double out;
  ck_assert_int_eq(agg1("mean", x, 4, 0, 0, NULL, &out), FS_OK);
  ck_assert_double_eq(out, 4.0);
}
END_TEST

START_TEST(rejects_nonfinite_and_empty) {
  fs_err e = {0};
  float x[3] = {1, NAN, 2};
  const float *v[3] = {&x[0], &x[1], &x[2]};
  fs_robust_params p = {0};
  double out = 5;
  const char *names[] = {"mean",      "median", "trimmed_mean", "krum",
                         "multikrum", "nna",    "monna"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    ck_assert_int_eq(
        fs_robust_aggregate(fs_robust_find(names[i]), v, 3, 1, &p, &out, &e),
        FS_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "NaN"));
    ck_assert_double_eq(out, 5.0);
  }
  x[1] = INFINITY;
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("median"), v, 3, 1, &p, &out, &e),
      FS_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(e.msg, "Inf"));
  x[1] = 0;
  float piv = NAN;
  p.pivot = &piv;
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("nna"), v, 3, 1, &p, &out, &e),
      FS_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(e.msg, "pivot"));
  p.pivot = NULL;
  ck_assert_int_eq(
      fs_robust_aggregate(fs_robust_find("mean"), v, 0, 1, &p, &out, &e),
      FS_EINVAL);
}
END_TEST

/* A dense payload over vals (not owned: the test keeps the storage). */
static fs_payload dense(float *vals, uint32_t dim) {
  return (fs_payload){.kind = FS_PL_DENSE, .dim = dim, .val = vals};
}

START_TEST(round_reduces_f_by_rejected) {
  /* krum, f = 1, 5 slots; only 4 updates arrive (slot 2 rejected). With
   * the rejected update counted, f drops to 0 and k = 4 > 2 works; without
   * it, k = 4 = 2f + 2 is too few: the round is skipped and counted. */
  fs_robust_round *rr;
  ck_assert_int_eq(fs_robust_round_new(fs_robust_find("krum"), 1, 0,
                                       FS_PIVOT_PREVIOUS, 5, 1, &rr, NULL),
                   FS_OK);
  float vals[5] = {0, 1, 99, 2, 30};
  fs_robust_round_begin(rr);
  for (size_t i = 0; i < 5; i++)
    if (i != 2) {
      fs_payload p = dense(&vals[i], 1);
      fs_robust_round_put(rr, i, &p);
    }
  double out = -1;
  int applied = -1;
  fs_err e = {0};
  ck_assert_int_eq(fs_robust_round_aggregate(rr, 0, &out, &applied, &e), FS_OK);
  ck_assert_int_eq(applied, 0);
  ck_assert_double_eq(out, -1.0);
  ck_assert_uint_eq(fs_robust_round_skipped(rr), 1);
  ck_assert_ptr_nonnull(strstr(e.msg, "krum needs k > 2f + 2"));
  /* f = 0 and points {0, 1, 2, 30}: k - f - 2 = 2 nearest, scores
   * 1 + 4 = 5, 1 + 1 = 2, 1 + 4 = 5, 28^2 + 29^2 -> the point 1. */
  ck_assert_int_eq(fs_robust_round_aggregate(rr, 1, &out, &applied, &e), FS_OK);
  ck_assert_int_eq(applied, 1);
  ck_assert_double_eq(out, 1.0);
  ck_assert_uint_eq(fs_robust_round_skipped(rr), 1);
  /* A new round forgets the slots: nothing stored, skipped. */
  fs_robust_round_begin(rr);
  ck_assert_int_eq(fs_robust_round_aggregate(rr, 0, &out, &applied, &e), FS_OK);
  ck_assert_int_eq(applied, 0);
  ck_assert_uint_eq(fs_robust_round_skipped(rr), 2);
  fs_robust_round_free(rr);
  fs_robust_round_free(NULL);
}
END_TEST

/* Store the 3 scalars x as one round and aggregate it. */
static double round3(fs_robust_round *rr, const float *x) {
  fs_robust_round_begin(rr);
  float tmp[3] = {x[0], x[1], x[2]};
  for (size_t i = 0; i < 3; i++) {
    fs_payload p = dense(&tmp[i], 1);
    fs_robust_round_put(rr, i, &p);
  }
  double out = NAN;
  int applied = 0;
  ck_assert_int_eq(fs_robust_round_aggregate(rr, 0, &out, &applied, NULL),
                   FS_OK);
  ck_assert_int_eq(applied, 1);
  return out;
}

START_TEST(round_pivot_previous_and_model) {
  /* monna, f = 1, k = 3: keeps the one update nearest the pivot.
   * Round 1 {5, -1, 3}: before any aggregate both pivots are 0 -> -1.
   * Round 2 {1, 1, 1} -> 1 (the previous aggregate is now 1).
   * Round 3 {5, -2, 3}: nearest to 1 is 3 (distance 2); nearest to 0
   * (pivot "model") is -2. */
  const float a[3] = {5, -1, 3}, b[3] = {1, 1, 1}, c[3] = {5, -2, 3};
  for (int model = 0; model < 2; model++) {
    fs_robust_round *rr;
    ck_assert_int_eq(
        fs_robust_round_new(fs_robust_find("monna"), 1, 0,
                            model ? FS_PIVOT_MODEL : FS_PIVOT_PREVIOUS, 3, 1,
                            &rr, NULL),
        FS_OK);
    ck_assert_double_eq(round3(rr, a), -1.0);
    ck_assert_double_eq(round3(rr, b), 1.0);
    ck_assert_double_eq(round3(rr, c), model ? -2.0 : 3.0);
    fs_robust_round_free(rr);
  }
}
END_TEST

START_TEST(round_multikrum_m_shrinks) {
  /* multikrum f = 1, m = 4 planned for 6 slots; only 5 arrive: m becomes
   * k - f = 4 (fine); with 4 arriving and 1 rejected, f = 0 and m = 4 = k:
   * the mean of all four. */
  fs_robust_round *rr;
  ck_assert_int_eq(fs_robust_round_new(fs_robust_find("multikrum"), 1, 4,
                                       FS_PIVOT_PREVIOUS, 6, 1, &rr, NULL),
                   FS_OK);
  float v[6] = {1, 2, 3, 4, 50, 6};
  fs_robust_round_begin(rr);
  for (size_t i = 0; i < 4; i++) {
    fs_payload p = dense(&v[i], 1);
    fs_robust_round_put(rr, i, &p);
  }
  double out;
  int applied;
  ck_assert_int_eq(fs_robust_round_aggregate(rr, 1, &out, &applied, NULL),
                   FS_OK);
  ck_assert_int_eq(applied, 1);
  ck_assert_double_eq(out, 2.5);
  fs_robust_round_free(rr);
}
END_TEST

/* Node c's model in the peer-to-peer state (dim 1). */
static float p2p_model(const fs_p2p *p, uint32_t c) {
  float x = NAN;
  ck_assert_int_eq(
      fs_dense_decode(fs_p2p_body(p, c), fs_dense_size(1), &x, 1, NULL), FS_OK);
  return x;
}

START_TEST(p2p_mix_by_hand) {
  /* 3 honest nodes from x = 0, lr 1, updates {-1, -2, 10}: half-steps
   * Y = {1, 2, -10}. nna, f = 1 keeps 2 around each node's own Y:
   * node 0 {1, 2} -> 1.5; node 1 {2, 1} -> 1.5; node 2 {-10, 1} -> -4.5;
   * the evaluated model is their mean -0.5. */
  fs_faults *none;
  ck_assert_int_eq(fs_faults_new(1, 3, 0.0, FS_FAULT_NONE, 1, 1, &none, NULL),
                   FS_OK);
  fs_robust_round *rr;
  ck_assert_int_eq(fs_robust_round_new(fs_robust_find("nna"), 1, 0,
                                       FS_PIVOT_PREVIOUS, 3, 1, &rr, NULL),
                   FS_OK);
  fs_p2p *p;
  ck_assert_int_eq(
      fs_p2p_new(fs_robust_find("nna"), 1, 1.0, 3, 1, none, &p, NULL), FS_OK);
  float x0 = 0;
  fs_p2p_start(p, &x0);
  ck_assert_float_eq(p2p_model(p, 2), 0.0f);
  float u[3] = {-1, -2, 10};
  fs_robust_round_begin(rr);
  for (size_t i = 0; i < 3; i++) {
    fs_payload pl = dense(&u[i], 1);
    fs_robust_round_put(rr, i, &pl);
  }
  float xbar = NAN;
  int skipped = -1;
  ck_assert_int_eq(fs_p2p_mix(p, rr, 0, &xbar, &skipped, NULL), FS_OK);
  ck_assert_int_eq(skipped, 0);
  ck_assert_float_eq(p2p_model(p, 0), 1.5f);
  ck_assert_float_eq(p2p_model(p, 1), 1.5f);
  ck_assert_float_eq(p2p_model(p, 2), -4.5f);
  ck_assert_float_eq(xbar, -0.5f);
  /* Next round only node 1 answers (k = 1 <= 2f): nobody mixes, node 1
   * takes its own step 1.5 - 1 = 0.5, the others keep their models. */
  float v = 1;
  fs_robust_round_begin(rr);
  fs_payload pl = dense(&v, 1);
  fs_robust_round_put(rr, 1, &pl);
  fs_err e = {0};
  ck_assert_int_eq(fs_p2p_mix(p, rr, 0, &xbar, &skipped, &e), FS_OK);
  ck_assert_int_eq(skipped, 1);
  ck_assert_uint_eq(fs_p2p_skipped(p), 1);
  ck_assert_ptr_nonnull(strstr(e.msg, "nna needs k > 2f"));
  ck_assert_float_eq(p2p_model(p, 1), 0.5f);
  ck_assert_float_eq(p2p_model(p, 0), 1.5f);
  ck_assert_float_eq(p2p_model(p, 2), -4.5f);
  fs_p2p_free(p);
  fs_p2p_free(NULL);
  fs_robust_round_free(rr);
  fs_faults_free(none);
}
END_TEST

START_TEST(p2p_faulty_node_restarts_from_honest_mean) {
  /* 4 nodes, one faulty; monna f = 1 keeps 2 around each own Y. The faulty
   * node sends a huge update, which no honest node keeps (its own Y and one
   * honest neighbour are nearer), and it restarts from the honest mean. */
  fs_faults *ft;
  ck_assert_int_eq(fs_faults_new(9, 4, 0.25, FS_FAULT_SCALE, 1, 1, &ft, NULL),
                   FS_OK);
  uint32_t b = 0;
  while (!fs_faults_is_faulty(ft, b))
    b++;
  fs_robust_round *rr;
  ck_assert_int_eq(fs_robust_round_new(fs_robust_find("monna"), 1, 0,
                                       FS_PIVOT_PREVIOUS, 4, 1, &rr, NULL),
                   FS_OK);
  fs_p2p *p;
  ck_assert_int_eq(
      fs_p2p_new(fs_robust_find("monna"), 1, 1.0, 4, 1, ft, &p, NULL), FS_OK);
  float x0 = 0;
  fs_p2p_start(p, &x0);
  float u[4] = {-1, -1, -1, -1};
  u[b] = 1000;
  fs_robust_round_begin(rr);
  for (size_t i = 0; i < 4; i++) {
    fs_payload pl = dense(&u[i], 1);
    fs_robust_round_put(rr, i, &pl);
  }
  float xbar;
  int skipped;
  ck_assert_int_eq(fs_p2p_mix(p, rr, 0, &xbar, &skipped, NULL), FS_OK);
  ck_assert_float_eq(xbar, 1.0f);
  for (uint32_t c = 0; c < 4; c++)
    ck_assert_float_eq(p2p_model(p, c), 1.0f);
  fs_p2p_free(p);
  fs_robust_round_free(rr);
  fs_faults_free(ft);
}
END_TEST

static Suite *robust_suite(void) {
  Suite *s = suite_create("robust");
  TCase *core = tcase_create("core");
  tcase_add_test(core, table_names);
  tcase_add_test(core, median_odd_even_ties);
  tcase_add_test(core, trimmed_mean_by_hand);
  tcase_add_test(core, krum_by_hand);
  tcase_add_test(core, krum_two_dims);
  tcase_add_test(core, nna_by_hand);
  tcase_add_test(core, nna_pivot_vector);
  tcase_add_test(core, mean_rule);
  tcase_add_test(core, round_reduces_f_by_rejected);
  tcase_add_test(core, round_pivot_previous_and_model);
  tcase_add_test(core, round_multikrum_m_shrinks);
  tcase_add_test(core, p2p_mix_by_hand);
  tcase_add_test(core, p2p_faulty_node_restarts_from_honest_mean);
  suite_add_tcase(s, core);
  TCase *lim = tcase_create("limits");
  tcase_add_test(lim, krum_limits);
  suite_add_tcase(s, lim);
  TCase *errs = tcase_create("errors");
  tcase_add_test(errs, rejects_nonfinite_and_empty);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(robust_suite)
