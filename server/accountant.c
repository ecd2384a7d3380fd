/*
 * accountant.c — RDP of the sampled Gaussian mechanism (Mironov, Talwar,
 * Zhang 2019, section 3.3), its conversion to (epsilon, delta), the
 * per-run accountant and the calibration of the noise multiplier.
 *
 * With mu0 = N(0, sigma^2), mu1 = N(1, sigma^2) and mu = (1 - q) mu0 + q mu1,
 * A_alpha = E_{z ~ mu0}[(mu(z) / mu0(z))^alpha] and the RDP of one step at
 * order alpha is log A_alpha / (alpha - 1). For an integer alpha,
 *   A_alpha = sum_{i=0..alpha} C(alpha, i) q^i (1-q)^(alpha-i)
 *             exp((i^2 - i) / (2 sigma^2));
 * for any alpha > 1, splitting the integral at z0 = sigma^2 ln(1/q - 1) + 1/2
 * (where mu1/mu0 = (1 - q)/q) and expanding the binomial on each side,
 *   A_alpha = sum_{i>=0} C(alpha, i) [ q^i (1-q)^(alpha-i)
 *               exp((i^2 - i)/(2 sigma^2)) erfc((i - z0)/(sqrt2 sigma)) / 2
 *             + q^(alpha-i) (1-q)^i exp((j^2 - j)/(2 sigma^2))
 *               erfc((z0 - j)/(sqrt2 sigma)) / 2 ],  j = alpha - i,
 * whose coefficients change sign after i = floor(alpha) + 1. Every term is
 * handled by its logarithm; positive and negative terms go to two running
 * log-sum-exp accumulators, subtracted once at the end. The series stops as
 * TensorFlow Privacy's _compute_log_a_frac does (both terms below e^-30),
 * and only once i > alpha.
 */
#include "accountant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The fractional series gives up after this many terms (FS_ENUMERIC). */
#define FS__RDP_FRAC_MAX_TERMS 1000000
/* Calibration searches sigma in [FS__SIGMA_MIN, FS__SIGMA_MAX]. */
#define FS__SIGMA_MIN 1e-6
#define FS__SIGMA_MAX 1e6
#define FS__SIGMA_RTOL 1e-6

/* 1 + k/10 evaluated by the compiler, as TF Privacy and Opacus build it. */
#define O(k) (1.0 + (k) / 10.0)
#define O10(t)                                                                 \
  O(t + 0), O(t + 1), O(t + 2), O(t + 3), O(t + 4), O(t + 5), O(t + 6),        \
      O(t + 7), O(t + 8), O(t + 9)
static const double default_orders[FS_RDP_NORDERS] = {
    O(1),     O(2),     O(3),     O(4),     O(5),     O(6),     O(7),
    O(8),     O(9),     O10(10),  O10(20),  O10(30),  O10(40),  O10(50),
    O10(60),  O10(70),  O10(80),  O10(90),  12,       13,       14,
    15,       16,       17,       18,       19,       20,       21,
    22,       23,       24,       25,       26,       27,       28,
    29,       30,       31,       32,       33,       34,       35,
    36,       37,       38,       39,       40,       41,       42,
    43,       44,       45,       46,       47,       48,       49,
    50,       51,       52,       53,       54,       55,       56,
    57,       58,       59,       60,       61,       62,       63,
    128,      256,      512};
#undef O10
#undef O

size_t fs_rdp_default_orders(const double **orders) {
  *orders = default_orders;
  return FS_RDP_NORDERS;
}

/* A sum of exponentials kept as s * exp(m); empty: m = -inf, s = 0. */
typedef struct {
  double m, s;
} lse;

static void lse_add(lse *a, double t) {
  if (t == -INFINITY || a->m == INFINITY)
    return;
  if (t <= a->m) {
    a->s += exp(t - a->m);
  } else {
    a->s = a->s * exp(a->m - t) + 1.0;
    a->m = t;
  }
}

static double lse_log(const lse *a) {
  return a->s > 0 ? a->m + log(a->s) : -INFINITY;
}

/* log(exp(log of pos) - exp(log of neg)); NaN if not positive. An infinite
 * positive part gives +inf (no finite bound can be claimed). */
static double lse_log_sub(const lse *pos, const lse *neg) {
  if (pos->m == INFINITY)
    return INFINITY;
  if (neg->s == 0)
    return lse_log(pos);
  if (pos->s == 0 || neg->m == INFINITY)
    return NAN;
  double m = fmax(pos->m, neg->m);
  double d = pos->s * exp(pos->m - m) - neg->s * exp(neg->m - m);
  return d > 0 ? m + log(d) : NAN;
}

double fs_rdp__log_erfc(double x) {
  /* glibc's erfc is accurate to an ulp or so down to its underflow near
   * x = 26.5; from x = 20 on, the asymptotic series
   *   erfc(x) = exp(-x^2) / (x sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2x^2)^k
   * is summed until its terms fall below 1e-17 (at x = 20, 8 terms; it
   * starts to diverge only near k = x^2). */
  if (x < 20.0)
    return log(erfc(x));
  double y = 1.0 / (2.0 * x * x), t = 1.0, s = 0.0;
  for (int k = 1; k < 60; k++) {
    t *= -(2.0 * k - 1.0) * y;
    s += t;
    if (fabs(t) < 1e-17)
      break;
  }
  return -x * x - log(x) - 0.5 * log(M_PI) + log1p(s);
}

double fs_rdp__log_a_int(double q, double sigma, int alpha) {
  double lq = log(q), l1q = log1p(-q), s2 = 2.0 * sigma * sigma;
  double lc = 0.0; /* log C(alpha, i), updated by the ratio (alpha-i+1)/i */
  lse a = {-INFINITY, 0.0};
  for (int i = 0; i <= alpha; i++) {
    if (i > 0)
      lc += log((double)(alpha - i + 1)) - log((double)i);
    double di = (double)i;
    lse_add(&a, lc + di * lq + (alpha - di) * l1q + (di * di - di) / s2);
  }
  return lse_log(&a);
}

double fs_rdp__log_a_frac(double q, double sigma, double alpha) {
  double lq = log(q), l1q = log1p(-q), s2 = 2.0 * sigma * sigma;
  double r2s = M_SQRT2 * sigma;
  double z0 = sigma * sigma * (l1q - lq) + 0.5; /* ln(1/q - 1) = l1q - lq */
  lse pos0 = {-INFINITY, 0}, neg0 = {-INFINITY, 0};
  lse pos1 = {-INFINITY, 0}, neg1 = {-INFINITY, 0};
  double lc = 0.0; /* log |C(alpha, i)| */
  int sign = 1;
  for (int i = 0; i < FS__RDP_FRAC_MAX_TERMS; i++) {
    if (i > 0) {
      double f = alpha - i + 1;
      if (f == 0) /* integer alpha: every later coefficient is 0 */
        return log(exp(lse_log_sub(&pos0, &neg0) - lse_log_sub(&pos0, &neg0)) *
                   0.0 + 1.0) +
               lse_log_sub(&pos0, &neg0) * 0.0 + 0.0;
      lc += log(fabs(f)) - log((double)i);
      if (f < 0)
        sign = -sign;
    }
    double di = (double)i, j = alpha - di;
    double s0 = lc + di * lq + j * l1q + (di * di - di) / s2 + log(0.5) +
                fs_rdp__log_erfc((di - z0) / r2s);
    double s1 = lc + j * lq + di * l1q + (j * j - j) / s2 + log(0.5) +
                fs_rdp__log_erfc((z0 - j) / r2s);
    lse_add(sign > 0 ? &pos0 : &neg0, s0);
    lse_add(sign > 0 ? &pos1 : &neg1, s1);
    if (di > alpha && fmax(s0, s1) < -30.0)
      break;
    if (i == FS__RDP_FRAC_MAX_TERMS - 1)
      return NAN;
  }
  lse a = {-INFINITY, 0};
  lse_add(&a, lse_log_sub(&pos0, &neg0));
  lse_add(&a, lse_log_sub(&pos1, &neg1));
  return lse_log(&a);
}
