/*
 * test_accountant.c — the RDP accountant of the sampled Gaussian mechanism:
 * TensorFlow Privacy's published values, the MNIST tutorial's epsilon, an
 * independent direct summation in long double, the fractional series against
 * the integer one, the shape of the curves (monotone in steps, sigma and the
 * order; q = 1 in closed form), the two conversions, calibration, the
 * accountant object, and the error paths.
 */
#include "accountant.h"
#include "fs_test.h"

#include <math.h>
#include <string.h>

/* |x - want| within `tol` relative. */
#define ck_assert_rel(x, want, tol)                                            \
  do {                                                                         \
    double x_ = (x), w_ = (want);                                              \
    ck_assert_msg(fabs(x_ - w_) <= (tol)*fabs(w_),                             \
                  "%s = %.17g, want %.17g (rel %.3g)", #x, x_, w_,             \
                  fabs(x_ - w_) / fabs(w_));                                   \
  } while (0)

static double rdp_of(double q, double sigma, double steps, double alpha) {
  double r = -1;
  ck_assert_int_eq(fs_rdp_sgm(q, sigma, steps, alpha, &r), FS_OK);
  return r;
}

static double eps_of(double q, double sigma, double steps, double delta,
                     fs_dp_conversion conv, double *order) {
  double e = -1;
  ck_assert_int_eq(fs_dp_epsilon(q, sigma, steps, delta, conv, &e, order),
                   FS_OK);
  return e;
}

/* TF Privacy's rdp_accountant_test: compute_rdp(0.1, 2, 10, 5) = 0.07737 and
 * compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]). The printed digits are
 * rounded in some and cut in others (0.00218075 is 0.0021807566, 167.416307
 * is 167.4163075), so each must hold to one unit of its last digit. */
START_TEST(tf_privacy_values) {
  ck_assert_double_eq_tol(rdp_of(0.1, 2, 10, 5), 0.07737, 1e-5);
  const double orders[] = {1.5, 2.5, 5, 50, 100};
  const double want[] = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
  const double unit[] = {1e-5, 1e-6, 1e-8, 1e-6, 1e-6};
  for (int k = 0; k < 5; k++)
    ck_assert_double_eq_tol(rdp_of(0.01, 2.5, 50, orders[k]), want[k], unit[k]);
  /* The same values to 40 digits by numerical integration (mpmath quad of
   * the density ratio; docs/privacy-accounting.md): agreement to 1e-9. */
  const double quad[] = {0.00065007089718804, 0.00108541805691812,
                         0.00218075656230788, 0.0238460375387062,
                         167.416307548418};
  for (int k = 0; k < 5; k++)
    ck_assert_rel(rdp_of(0.01, 2.5, 50, orders[k]), quad[k], 1e-9);
  ck_assert_rel(rdp_of(0.1, 2, 10, 5), 0.0773696848979587, 1e-12);
}
END_TEST

/* TF Privacy's MNIST tutorial: N = 60000, batch 256, sigma = 1.1, 60 epochs,
 * delta = 1e-5, classic conversion: epsilon 3.01. The tutorial counts
 * 60 * 60000 // 256 = 14062 steps; 14062.5 and 14063 give the same to
 * 2 decimals. */
START_TEST(mnist_tutorial) {
  const double q = 256.0 / 60000;
  const double steps[] = {14062, 60 * 60000.0 / 256, 14063};
  for (int k = 0; k < 3; k++) {
    double order;
    double e = eps_of(q, 1.1, steps[k], 1e-5, FS_DP_CLASSIC, &order);
    ck_assert_double_eq_tol(e, 3.01, 0.005);
    ck_assert_double_eq_tol(order, 8.8, 1e-12);
    double ei = eps_of(q, 1.1, steps[k], 1e-5, FS_DP_IMPROVED, &order);
    ck_assert_double_eq_tol(ei, 2.60, 0.005);
    ck_assert_double_eq_tol(order, 8.1, 1e-12);
  }
  ck_assert_rel(eps_of(q, 1.1, 14062, 1e-5, FS_DP_CLASSIC, NULL), 3.0082720825,
                1e-9);
}
END_TEST

/* log A_alpha summed directly, not in log space: binomials by products,
 * powers and exponentials in long double. */
static long double direct_log_a(double q, double sigma, int alpha) {
  long double a = 0, c = 1, ql = q, s2 = 2.0L * sigma * sigma;
  for (int i = 0; i <= alpha; i++) {
    if (i > 0)
      c = c * (alpha - i + 1) / i;
    a += c * powl(ql, i) * powl(1 - ql, alpha - i) *
         expl(((long double)i * i - i) / s2);
  }
  return logl(a);
}

START_TEST(integer_orders_match_direct_sum) {
  const double qs[] = {0.02, 0.1, 0.3, 0.7};
  const double sigmas[] = {0.7, 1, 2, 4};
  for (int a = 2; a <= 12; a++)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        double got = fs_rdp__log_a_int(qs[i], sigmas[j], a);
        double want = (double)direct_log_a(qs[i], sigmas[j], a);
        ck_assert_rel(got, want, 1e-10);
        ck_assert_rel(rdp_of(qs[i], sigmas[j], 7, a), 7 * want / (a - 1),
                      1e-10);
      }
}
END_TEST

START_TEST(fractional_series_at_integers) {
  const double qs[] = {1e-4, 256.0 / 60000, 0.05, 0.3, 0.9};
  const double sigmas[] = {0.6, 1.1, 3, 20};
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++)
      for (int a = 2; a <= 64; a += (a < 12 ? 1 : 13)) {
        double li = fs_rdp__log_a_int(qs[i], sigmas[j], a);
        double lf = fs_rdp__log_a_frac(qs[i], sigmas[j], a);
        /* both are near machine precision of A_alpha >= 1 */
        ck_assert_msg(fabs(li - lf) <= 1e-11 * fabs(li) + 1e-15,
                      "q %g sigma %g alpha %d: int %.17g frac %.17g", qs[i],
                      sigmas[j], a, li, lf);
      }
}
END_TEST

/* Around an integer order k, rdp(k - h) <= rdp(k) <= rdp(k + h) (Rényi
 * divergences grow with the order) and all three agree to O(h). */
START_TEST(continuity_at_integer_orders) {
  const double qs[] = {0.001, 256.0 / 60000, 0.1, 0.5};
  const double sigmas[] = {0.8, 1.1, 4};
  const double h = 1e-6;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 2; k <= 40; k += (k < 10 ? 1 : 10)) {
        double at = rdp_of(qs[i], sigmas[j], 1, k);
        double lo = rdp_of(qs[i], sigmas[j], 1, k - h);
        double hi = rdp_of(qs[i], sigmas[j], 1, k + h);
        ck_assert_rel(lo, at, 1e-4);
        ck_assert_rel(hi, at, 1e-4);
        ck_assert(lo <= at * (1 + 1e-9));
        ck_assert(at <= hi * (1 + 1e-9));
      }
}
END_TEST

START_TEST(monotone_in_order_steps_and_sigma) {
  const double *orders;
  size_t n = fs_rdp_default_orders(&orders);
  const double qs[] = {0.001, 0.02, 0.3};
  for (int i = 0; i < 3; i++) {
    double prev = 0;
    for (size_t k = 0; k < n; k++) {
      double r = rdp_of(qs[i], 1.3, 1, orders[k]);
      ck_assert(r >= prev * (1 - 1e-9));
      prev = r;
    }
    for (size_t k = 0; k < n; k += 7) {
      double a = orders[k];
      double r1 = rdp_of(qs[i], 1.3, 10, a), r2 = rdp_of(qs[i], 1.3, 20, a);
      ck_assert_rel(r2, 2 * r1, 1e-14);
      ck_assert(rdp_of(qs[i], 1.3, 21, a) > r2);
      double rs = rdp_of(qs[i], 1.0, 10, a);
      for (double s = 1.25; s < 40; s *= 1.25) {
        double r = rdp_of(qs[i], s, 10, a);
        ck_assert_msg(r < rs, "q %g alpha %g sigma %g", qs[i], a, s);
        rs = r;
      }
    }
    double e = INFINITY;
    for (double s = 0.5; s < 50; s *= 1.5) {
      double es = eps_of(qs[i], s, 100, 1e-5, FS_DP_IMPROVED, NULL);
      ck_assert(es < e);
      e = es;
    }
  }
}
END_TEST

START_TEST(full_sampling_is_the_gaussian_mechanism) {
  const double *orders;
  size_t n = fs_rdp_default_orders(&orders);
  for (size_t k = 0; k < n; k++)
    for (double s = 0.5; s < 10; s *= 2) {
      ck_assert_double_eq(rdp_of(1, s, 1, orders[k]), orders[k] / (2 * s * s));
      ck_assert_rel(rdp_of(1, s, 30, orders[k]), 30 * orders[k] / (2 * s * s),
                    1e-15);
      /* q just below 1 approaches it */
      ck_assert_rel(rdp_of(1 - 1e-9, s, 1, orders[k]), orders[k] / (2 * s * s),
                    1e-6);
    }
}
END_TEST

START_TEST(improved_never_above_classic) {
  const double *orders;
  size_t n = fs_rdp_default_orders(&orders);
  const double qs[] = {1e-5, 0.004, 0.05, 0.5, 1};
  const double sigmas[] = {0.5, 1, 2, 10};
  const double deltas[] = {1e-12, 1e-5, 0.01, 0.3};
  double one[FS_RDP_NORDERS], rdp[FS_RDP_NORDERS];
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++) {
      for (size_t k = 0; k < n; k++)
        one[k] = rdp_of(qs[i], sigmas[j], 1, orders[k]);
      for (double st = 1; st <= 1e5; st *= 10) {
        for (size_t k = 0; k < n; k++)
          rdp[k] = st * one[k];
        for (int d = 0; d < 4; d++) {
          double c, m;
          ck_assert_int_eq(
              fs_rdp_to_dp(orders, rdp, n, deltas[d], FS_DP_CLASSIC, &c, NULL),
              FS_OK);
          ck_assert_int_eq(
              fs_rdp_to_dp(orders, rdp, n, deltas[d], FS_DP_IMPROVED, &m, NULL),
              FS_OK);
          ck_assert(m >= 0);
          ck_assert_msg(m <= c, "q %g sigma %g delta %g: %g > %g", qs[i],
                        sigmas[j], deltas[d], m, c);
        }
      }
    }
}
END_TEST

/* The conversions on one order by hand. */
START_TEST(conversion_formulas) {
  const double orders[] = {2, 8, 32};
  const double rdp[] = {0.5, 1.0, 4.0};
  double e, o, ld = log(1e-6);
  double c[3], m[3];
  for (int k = 0; k < 3; k++) {
    c[k] = rdp[k] - ld / (orders[k] - 1);
    m[k] = rdp[k] + log((orders[k] - 1) / orders[k]) -
           (ld + log(orders[k])) / (orders[k] - 1);
  }
  ck_assert_int_eq(fs_rdp_to_dp(orders, rdp, 3, 1e-6, FS_DP_CLASSIC, &e, &o),
                   FS_OK);
  ck_assert_rel(e, fmin(c[0], fmin(c[1], c[2])), 1e-15);
  ck_assert_double_eq(o, 8);
  ck_assert_int_eq(fs_rdp_to_dp(orders, rdp, 3, 1e-6, FS_DP_IMPROVED, &e, &o),
                   FS_OK);
  ck_assert_rel(e, fmin(m[0], fmin(m[1], m[2])), 1e-15);
  ck_assert_double_eq(o, 8);
  /* ties go to the first order; NULL order is fine */
  const double same_o[] = {3, 3};
  const double same_r[] = {1, 1};
  ck_assert_int_eq(
      fs_rdp_to_dp(same_o, same_r, 2, 1e-6, FS_DP_CLASSIC, &e, NULL), FS_OK);
  ck_assert_int_eq(fs_dp_conversion_parse("classic", &(fs_dp_conversion){0}),
                   FS_OK);
  fs_dp_conversion cv;
  ck_assert_int_eq(fs_dp_conversion_parse("improved", &cv), FS_OK);
  ck_assert_int_eq(cv, FS_DP_IMPROVED);
  ck_assert_str_eq(fs_dp_conversion_name(FS_DP_CLASSIC), "classic");
  ck_assert_str_eq(fs_dp_conversion_name(FS_DP_IMPROVED), "improved");
  ck_assert_str_eq(fs_dp_conversion_name((fs_dp_conversion)7), "?");
}
END_TEST

START_TEST(calibration_meets_the_target) {
  struct {
    double q, steps, delta, target;
    fs_dp_conversion conv;
  } cases[] = {
      {256.0 / 60000, 14062, 1e-5, 3.0082720825, FS_DP_CLASSIC},
      {0.01, 1000, 1e-5, 1.0, FS_DP_IMPROVED},
      {0.1, 200, 1e-6, 8.0, FS_DP_CLASSIC},
      {0.5, 50, 1e-5, 0.5, FS_DP_IMPROVED},
      {1, 10, 1e-5, 2.0, FS_DP_CLASSIC},
      {0.001, 1e5, 1e-8, 0.3, FS_DP_IMPROVED},
      {0.02, 5000, 1e-5, 50, FS_DP_CLASSIC},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double s = -1;
    fs_err err = {0};
    ck_assert_int_eq(fs_dp_calibrate(cases[k].q, cases[k].steps, cases[k].delta,
                                     cases[k].target, cases[k].conv, &s, &err),
                     FS_OK);
    double e = eps_of(cases[k].q, s, cases[k].steps, cases[k].delta,
                      cases[k].conv, NULL);
    ck_assert_msg(e <= cases[k].target && e >= cases[k].target * (1 - 1e-4),
                  "case %zu: sigma %.10g gives %.10g for target %g", k, s, e,
                  cases[k].target);
    /* and it is the least such sigma, to the bisection's width */
    double below = eps_of(cases[k].q, s * (1 - 2e-6), cases[k].steps,
                          cases[k].delta, cases[k].conv, NULL);
    ck_assert(below > cases[k].target);
  }
  /* The MNIST epsilon calls for the MNIST sigma. */
  double s;
  ck_assert_int_eq(fs_dp_calibrate(256.0 / 60000, 14062, 1e-5, 3.0082720825,
                                   FS_DP_CLASSIC, &s, NULL),
                   FS_OK);
  ck_assert_rel(s, 1.1, 1e-5);
  /* Nothing released: no noise needed. */
  ck_assert_int_eq(fs_dp_calibrate(0, 100, 1e-5, 1, FS_DP_CLASSIC, &s, NULL),
                   FS_OK);
  ck_assert_double_eq(s, 0);
  ck_assert_int_eq(fs_dp_calibrate(0.1, 0, 1e-5, 1, FS_DP_IMPROVED, &s, NULL),
                   FS_OK);
  ck_assert_double_eq(s, 0);
  ck_assert_int_eq(fs_dp_calibrate(0, 10, 1e-5, 1e-3, FS_DP_CLASSIC, &s, NULL),
                   FS_OK);
  ck_assert_double_eq(s, 0);
}
END_TEST

START_TEST(accountant_composes) {
  const double q = 0.05, sigma = 1.2, delta = 1e-5;
  fs_dp_accountant *acc = NULL;
  ck_assert_int_eq(
      fs_dp_accountant_new(q, sigma, delta, FS_DP_IMPROVED, &acc, NULL), FS_OK);
  double e, o;
  fs_dp_accountant_epsilon(acc, &e, &o);
  ck_assert_double_eq(e, 0);
  ck_assert_double_eq(o, 0);
  double prev = 0;
  for (int r = 1; r <= 300; r++) {
    fs_dp_accountant_step(acc, 1);
    fs_dp_accountant_epsilon(acc, &e, NULL);
    ck_assert(e > prev);
    prev = e;
  }
  ck_assert_uint_eq(fs_dp_accountant_steps(acc), 300);
  double want_o;
  double want = eps_of(q, sigma, 300, delta, FS_DP_IMPROVED, &want_o);
  fs_dp_accountant_epsilon(acc, &e, &o);
  ck_assert_rel(e, want, 1e-12);
  ck_assert_double_eq(o, want_o);
  /* a second mechanism adds its RDP order by order */
  ck_assert_int_eq(fs_dp_accountant_add(acc, 0.2, 3.0, 40, NULL), FS_OK);
  ck_assert_uint_eq(fs_dp_accountant_steps(acc), 340);
  const double *orders;
  size_t n = fs_rdp_default_orders(&orders);
  double rdp[FS_RDP_NORDERS];
  for (size_t k = 0; k < n; k++)
    rdp[k] = rdp_of(q, sigma, 300, orders[k]) + rdp_of(0.2, 3.0, 40, orders[k]);
  ck_assert_int_eq(
      fs_rdp_to_dp(orders, rdp, n, delta, FS_DP_IMPROVED, &want, &want_o),
      FS_OK);
  fs_dp_accountant_epsilon(acc, &e, &o);
  ck_assert_rel(e, want, 1e-12);
  ck_assert_double_eq(o, want_o);
  /* steps of q = 0 count but release nothing */
  ck_assert_int_eq(fs_dp_accountant_add(acc, 0, 1, 1000, NULL), FS_OK);
  fs_dp_accountant_epsilon(acc, &o, NULL);
  ck_assert_double_eq(o, e);
  fs_dp_accountant_free(acc);

  /* one big step equals many small ones */
  fs_dp_accountant *a1 = NULL, *a2 = NULL;
  ck_assert_int_eq(
      fs_dp_accountant_new(q, sigma, delta, FS_DP_CLASSIC, &a1, NULL), FS_OK);
  ck_assert_int_eq(
      fs_dp_accountant_new(q, sigma, delta, FS_DP_CLASSIC, &a2, NULL), FS_OK);
  fs_dp_accountant_step(a1, 1000);
  for (int i = 0; i < 10; i++)
    fs_dp_accountant_step(a2, 100);
  fs_dp_accountant_step(a2, 0);
  double e1, e2;
  fs_dp_accountant_epsilon(a1, &e1, NULL);
  fs_dp_accountant_epsilon(a2, &e2, NULL);
  ck_assert_rel(e2, e1, 1e-13);
  fs_dp_accountant_free(a1);
  fs_dp_accountant_free(a2);
  fs_dp_accountant_free(NULL);
}
END_TEST

START_TEST(log_erfc_is_accurate) {
  /* references: mpmath, 40 digits */
  ck_assert_rel(fs_rdp__log_erfc(-3), 0.69313613525044681032, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(0.5), -0.73501112983708440303, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(20), -403.56934333410423496, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(26), -679.83119976319423026, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(30), -903.97411711064387808, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(100), -10005.177585122664333, 1e-15);
  ck_assert_rel(fs_rdp__log_erfc(1e4), -100000009.7827053199, 1e-15);
  /* both branches agree where glibc's erfc is still a normal number */
  for (double x = 20; x < 26.5; x += 0.5)
    ck_assert_rel(fs_rdp__log_erfc(x), log(erfc(x)), 1e-14);
}
END_TEST

START_TEST(default_orders) {
  const double *o;
  ck_assert_uint_eq(fs_rdp_default_orders(&o), FS_RDP_NORDERS);
  ck_assert_uint_eq(FS_RDP_NORDERS, 99 + 52 + 3);
  ck_assert_double_eq(o[0], 1.1);
  ck_assert_double_eq(o[98], 10.9);
  ck_assert_double_eq(o[9], 2.0);
  ck_assert_double_eq(o[99], 12);
  ck_assert_double_eq(o[150], 63);
  ck_assert_double_eq(o[153], 512);
  for (int k = 1; k < FS_RDP_NORDERS; k++)
    ck_assert(o[k] > o[k - 1]);
  for (int k = 1; k < 100; k++)
    ck_assert_double_eq(o[k - 1], 1.0 + k / 10.0);
}
END_TEST

START_TEST(edge_parameters) {
  double r = -1;
  /* nothing sampled, or no steps: 0, even without noise */
  ck_assert_double_eq(rdp_of(0, 0, 10, 2.5), 0);
  ck_assert_double_eq(rdp_of(0.3, 0, 0, 2.5), 0);
  ck_assert_double_eq(rdp_of(0.3, 2, 0, 2.5), 0);
  /* no noise: infinite */
  ck_assert(isinf(rdp_of(0.3, 0, 1, 2)) && rdp_of(0.3, 0, 1, 2) > 0);
  double e, o;
  ck_assert(isinf(eps_of(0.3, 0, 1, 1e-5, FS_DP_CLASSIC, &o)));
  ck_assert_double_eq(o, 0);
  ck_assert_double_eq(eps_of(0, 1, 100, 1e-5, FS_DP_CLASSIC, &o), 0);
  ck_assert_double_eq(o, 0);
  fs_dp_accountant *acc;
  ck_assert_int_eq(
      fs_dp_accountant_new(0.3, 0, 1e-5, FS_DP_CLASSIC, &acc, NULL), FS_OK);
  fs_dp_accountant_step(acc, 1);
  fs_dp_accountant_epsilon(acc, &e, &o);
  ck_assert(isinf(e));
  ck_assert_double_eq(o, 0);
  fs_dp_accountant_free(acc);
  /* large noise: RDP ~ steps q^2 alpha / (2 sigma^2) for small q */
  ck_assert_rel(rdp_of(1e-3, 1e3, 1, 4), 1e-6 * 4 / (2 * 1e6), 1e-2);
  ck_assert(rdp_of(1e-3, 1e6, 1, 4) >= 0);
  /* tiny q, tiny or huge sigma, extreme orders: finite or +inf, never NaN */
  const double qs[] = {1e-300, 1e-12, 0.5, 1 - 1e-12};
  const double ss[] = {1e-300, 1e-3, 0.1, 1e3, 1e300};
  const double as[] = {1.0000001, 1.5, 2, 63, 512, 700.5, FS_RDP_MAX_ORDER};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 5; j++)
      for (int k = 0; k < 7; k++) {
        ck_assert_int_eq(fs_rdp_sgm(qs[i], ss[j], 1, as[k], &r), FS_OK);
        ck_assert_msg(r >= 0 && !isnan(r), "q %g sigma %g alpha %g: %g", qs[i],
                      ss[j], as[k], r);
      }
  /* all orders infinite: epsilon +inf at order 0 */
  const double oo[] = {2, 3};
  const double inf2[] = {INFINITY, INFINITY};
  ck_assert_int_eq(fs_rdp_to_dp(oo, inf2, 2, 1e-5, FS_DP_IMPROVED, &e, &o),
                   FS_OK);
  ck_assert(isinf(e));
  ck_assert_double_eq(o, 0);
  /* a large delta makes the improved bound negative: reported as 0 */
  const double z[] = {0, 0};
  ck_assert_int_eq(fs_rdp_to_dp(oo, z, 2, 0.9, FS_DP_IMPROVED, &e, &o), FS_OK);
  ck_assert_double_eq(e, 0);
  /* tiny delta */
  ck_assert(eps_of(0.01, 1, 100, 1e-300, FS_DP_CLASSIC, NULL) > 0);
}
END_TEST

START_TEST(bad_arguments) {
  double r = 42;
  ck_assert_int_eq(fs_rdp_sgm(-0.1, 1, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(1.1, 1, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(NAN, 1, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, -1, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, INFINITY, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, NAN, 1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, -1, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, INFINITY, 2, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, 1, 1, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, 1, 0.5, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, 1, NAN, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, 1, INFINITY, &r), FS_EINVAL);
  ck_assert_int_eq(fs_rdp_sgm(0.1, 1, 1, FS_RDP_MAX_ORDER + 1, &r), FS_EINVAL);
  ck_assert_double_eq(r, 42);

  const double o[] = {2, 3}, rd[] = {0.1, 0.2};
  const double bad_o[] = {1, 3}, nan_r[] = {NAN, 0.2}, neg_r[] = {-1, 0.2};
  double e = 42;
  ck_assert_int_eq(fs_rdp_to_dp(o, rd, 0, 1e-5, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(o, rd, 2, 0, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(o, rd, 2, 1, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(o, rd, 2, 1e-5, (fs_dp_conversion)0, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(bad_o, rd, 2, 1e-5, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(o, nan_r, 2, 1e-5, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_rdp_to_dp(o, neg_r, 2, 1e-5, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_int_eq(fs_dp_epsilon(0, 1, 1, 2, FS_DP_CLASSIC, &e, NULL),
                   FS_EINVAL);
  ck_assert_double_eq(e, 42);

  fs_dp_conversion cv = FS_DP_CLASSIC;
  ck_assert_int_eq(fs_dp_conversion_parse("balle", &cv), FS_EINVAL);
  ck_assert_int_eq(fs_dp_conversion_parse("", &cv), FS_EINVAL);
  ck_assert_int_eq(cv, FS_DP_CLASSIC);
}
END_TEST

START_TEST(calibration_errors) {
  double s = 42;
  fs_err err;
  struct {
    double q, steps, delta, target;
    const char *names;
  } cases[] = {
      {0.01, 100, 1e-5, 0, "dp.target_epsilon"},
      {0.01, 100, 1e-5, -1, "dp.target_epsilon"},
      {0.01, 100, 1e-5, INFINITY, "dp.target_epsilon"},
      {0.01, 100, 1e-5, NAN, "dp.target_epsilon"},
      {0.01, 100, 0, 1, "dp.delta"},
      {0.01, 100, 1, 1, "dp.delta"},
      {-0.01, 100, 1e-5, 1, "sampling rate"},
      {1.5, 100, 1e-5, 1, "sampling rate"},
      {0.01, -1, 1e-5, 1, "steps"},
      {0.01, NAN, 1e-5, 1, "steps"},
      /* below what unbounded noise reaches: -ln(1e-5)/511 = 0.0225 */
      {0.01, 100, 1e-5, 0.02, "unbounded noise"},
      /* just above it, but only for sigma beyond 1e6 */
      {0.1, 1e6, 1e-5, 0.022530197, "above 1e+06"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(fs_dp_calibrate(cases[k].q, cases[k].steps, cases[k].delta,
                                     cases[k].target, FS_DP_CLASSIC, &s, &err),
                     FS_ECONFIG);
    ck_assert_int_eq(err.status, FS_ECONFIG);
    ck_assert_msg(strstr(err.msg, cases[k].names) != NULL,
                  "case %zu: '%s' lacks '%s'", k, err.msg, cases[k].names);
  }
  ck_assert_int_eq(
      fs_dp_calibrate(0.01, 100, 1e-5, 1, (fs_dp_conversion)9, &s, &err),
      FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dp.conversion"));
  ck_assert_int_eq(fs_dp_calibrate(0.01, 100, 1e-5, 0, FS_DP_CLASSIC, &s, NULL),
                   FS_ECONFIG);
  ck_assert_double_eq(s, 42);
}
END_TEST

START_TEST(accountant_errors) {
  fs_dp_accountant *acc = NULL;
  fs_err err;
  ck_assert_int_eq(fs_dp_accountant_new(0.1, 1, 0, FS_DP_CLASSIC, &acc, &err),
                   FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dp.delta"));
  ck_assert_int_eq(fs_dp_accountant_new(0.1, 1, 1.5, FS_DP_CLASSIC, &acc, &err),
                   FS_ECONFIG);
  ck_assert_int_eq(
      fs_dp_accountant_new(1.1, 1, 1e-5, FS_DP_CLASSIC, &acc, &err),
      FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "sampling rate"));
  ck_assert_int_eq(
      fs_dp_accountant_new(0.1, -1, 1e-5, FS_DP_CLASSIC, &acc, &err),
      FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dp.noise_multiplier"));
  ck_assert_int_eq(
      fs_dp_accountant_new(0.1, NAN, 1e-5, FS_DP_CLASSIC, &acc, NULL),
      FS_ECONFIG);
  ck_assert_int_eq(
      fs_dp_accountant_new(0.1, 1, 1e-5, (fs_dp_conversion)0, &acc, &err),
      FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dp.conversion"));
  ck_assert_ptr_null(acc);

  ck_assert_int_eq(
      fs_dp_accountant_new(0.1, 1, 1e-5, FS_DP_CLASSIC, &acc, &err), FS_OK);
  fs_dp_accountant_step(acc, 10);
  double before, after;
  fs_dp_accountant_epsilon(acc, &before, NULL);
  ck_assert_int_eq(fs_dp_accountant_add(acc, -0.5, 1, 10, &err), FS_ECONFIG);
  ck_assert_int_eq(fs_dp_accountant_add(acc, 0.5, INFINITY, 10, &err),
                   FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "dp.noise_multiplier"));
  fs_dp_accountant_epsilon(acc, &after, NULL);
  ck_assert_double_eq(before, after);
  ck_assert_uint_eq(fs_dp_accountant_steps(acc), 10);
  fs_dp_accountant_free(acc);
}
END_TEST

static Suite *accountant_suite(void) {
  Suite *s = suite_create("accountant");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 300);
  tcase_add_test(core, tf_privacy_values);
  tcase_add_test(core, mnist_tutorial);
  tcase_add_test(core, integer_orders_match_direct_sum);
  tcase_add_test(core, fractional_series_at_integers);
  tcase_add_test(core, continuity_at_integer_orders);
  tcase_add_test(core, monotone_in_order_steps_and_sigma);
  tcase_add_test(core, full_sampling_is_the_gaussian_mechanism);
  tcase_add_test(core, improved_never_above_classic);
  tcase_add_test(core, conversion_formulas);
  tcase_add_test(core, calibration_meets_the_target);
  tcase_add_test(core, accountant_composes);
  tcase_add_test(core, log_erfc_is_accurate);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 300);
  tcase_add_test(limits, default_orders);
  tcase_add_test(limits, edge_parameters);
  suite_add_tcase(s, limits);
  TCase *errs = tcase_create("errors");
  tcase_set_timeout(errs, 300);
  tcase_add_test(errs, bad_arguments);
  tcase_add_test(errs, calibration_errors);
  tcase_add_test(errs, accountant_errors);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(accountant_suite)
