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
 * log-sum-exp accumulators, subtracted once at the end. The series stops
 * once i > alpha and both terms are below e^-36 (2.3e-16; A_alpha >= 1, so
 * that is its rounding level). TensorFlow Privacy's _compute_log_a_frac stops
 * at e^-30 without the i > alpha guard; past z0 the terms decay only like
 * i^-(alpha+2), so that leaves up to ~1e-13 of A_alpha out (at alpha = 1.1,
 * q = 256/60000, sigma = 1.1: 3e-8 relative in the RDP, against 5e-10 here,
 * both measured against a 40-digit quadrature), for about a quarter of the
 * terms (an epsilon over the default orders takes under 30 ms here).
 */
#include "accountant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The fractional series gives up after this many terms; the order is then
 * rounded up to an integer (see fs_rdp_sgm). */
#define FS__RDP_FRAC_MAX_TERMS 100000
/* Calibration searches sigma in [FS__SIGMA_MIN, FS__SIGMA_MAX]. */
#define FS__SIGMA_MIN 1e-6
#define FS__SIGMA_MAX 1e6
#define FS__SIGMA_RTOL 1e-6
/* Below this noise multiplier (sigma = 0 included) the RDP is reported as
 * +inf: alpha^2 / sigma^2 would overflow, and the true value exceeds 1e270. */
#define FS__SIGMA_TINY 1e-140

/* 1 + k/10 evaluated by the compiler, as TF Privacy and Opacus build it. */
#define O(k) (1.0 + (k) / 10.0)
#define O10(t)                                                                 \
  O(t + 0), O(t + 1), O(t + 2), O(t + 3), O(t + 4), O(t + 5), O(t + 6),        \
      O(t + 7), O(t + 8), O(t + 9)
static const double default_orders[FS_RDP_NORDERS] = {
    O(1),    O(2),    O(3),    O(4),    O(5),    O(6),    O(7),    O(8),
    O(9),    O10(10), O10(20), O10(30), O10(40), O10(50), O10(60), O10(70),
    O10(80), O10(90), 12,      13,      14,      15,      16,      17,
    18,      19,      20,      21,      22,      23,      24,      25,
    26,      27,      28,      29,      30,      31,      32,      33,
    34,      35,      36,      37,      38,      39,      40,      41,
    42,      43,      44,      45,      46,      47,      48,      49,
    50,      51,      52,      53,      54,      55,      56,      57,
    58,      59,      60,      61,      62,      63,      128,     256,
    512};
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
  int sign = 1, done = 0;
  for (int i = 0; i < FS__RDP_FRAC_MAX_TERMS && !done; i++) {
    if (i > 0) {
      double f = alpha - i + 1;
      if (f == 0) /* integer alpha: every later coefficient is 0 */
        break;
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
    done = di > alpha && fmax(s0, s1) < -36.0;
    if (!done && i == FS__RDP_FRAC_MAX_TERMS - 1)
      return NAN;
  }
  lse a = {-INFINITY, 0};
  lse_add(&a, lse_log_sub(&pos0, &neg0));
  lse_add(&a, lse_log_sub(&pos1, &neg1));
  return lse_log(&a);
}

static int sgm_args_ok(double q, double sigma) {
  return q >= 0 && q <= 1 && sigma >= 0 && isfinite(sigma);
}

fs_status fs_rdp_sgm(double q, double sigma, double steps, double alpha,
                     double *rdp) {
  if (!sgm_args_ok(q, sigma) || !(alpha > 1 && alpha <= FS_RDP_MAX_ORDER) ||
      !(steps >= 0 && isfinite(steps)))
    return FS_EINVAL;
  if (q == 0 || steps == 0) {
    *rdp = 0;
    return FS_OK;
  }
  if (sigma < FS__SIGMA_TINY) { /* beyond, the terms overflow */
    *rdp = INFINITY;
    return FS_OK;
  }
  if (q == 1) {
    *rdp = steps * (alpha / (2.0 * sigma * sigma));
    return FS_OK;
  }
  double la = NAN;
  if (alpha != floor(alpha))
    la = fs_rdp__log_a_frac(q, sigma, alpha);
  if (isnan(la)) {
    /* An integer order, or a fractional series that did not converge: past
     * z0 its terms fall off only like i^-(alpha+2), and with q = 1/2 there
     * is no geometric factor either (z0 = 1/2, q^i (1-q)^-i = 1), so at
     * small alpha and large sigma 1e5 terms are not enough (sigma >= 40,
     * alpha <= 1.4 on the default orders). Renyi divergences grow with the
     * order, so the RDP at ceil(alpha) bounds the RDP at alpha. */
    alpha = ceil(alpha);
    la = fs_rdp__log_a_int(q, sigma, (int)alpha);
  }
  if (isnan(la))
    return FS_ENUMERIC;
  if (la < 0) /* A_alpha >= 1; only rounding makes it smaller */
    la = 0;
  *rdp = steps * (la / (alpha - 1));
  return FS_OK;
}

fs_status fs_rdp_to_dp(const double *orders, const double *rdp, size_t n,
                       double delta, fs_dp_conversion conv, double *eps,
                       double *order) {
  if (n == 0 || !(delta > 0 && delta < 1) ||
      (conv != FS_DP_CLASSIC && conv != FS_DP_IMPROVED))
    return FS_EINVAL;
  for (size_t k = 0; k < n; k++)
    if (!(orders[k] > 1 && isfinite(orders[k])) || !(rdp[k] >= 0))
      return FS_EINVAL;
  double ld = log(delta), best = INFINITY, best_order = 0;
  for (size_t k = 0; k < n; k++) {
    double a = orders[k], e;
    if (isinf(rdp[k]))
      continue;
    if (conv == FS_DP_CLASSIC)
      e = rdp[k] - ld / (a - 1);
    else
      e = rdp[k] + log1p(-1 / a) - (ld + log(a)) / (a - 1);
    if (e < best) {
      best = e;
      best_order = a;
    }
  }
  *eps = best < 0 ? 0 : best;
  if (order)
    *order = best_order;
  return FS_OK;
}

fs_status fs_dp_epsilon(double q, double sigma, double steps, double delta,
                        fs_dp_conversion conv, double *eps, double *order) {
  double rdp[FS_RDP_NORDERS];
  for (size_t k = 0; k < FS_RDP_NORDERS; k++) {
    fs_status st = fs_rdp_sgm(q, sigma, steps, default_orders[k], &rdp[k]);
    if (st != FS_OK)
      return st;
  }
  if (q == 0 || steps == 0) {
    /* Still check delta and conv, then report that nothing was released. */
    fs_status st = fs_rdp_to_dp(default_orders, rdp, FS_RDP_NORDERS, delta,
                                conv, eps, order);
    if (st != FS_OK)
      return st;
    *eps = 0;
    if (order)
      *order = 0;
    return FS_OK;
  }
  return fs_rdp_to_dp(default_orders, rdp, FS_RDP_NORDERS, delta, conv, eps,
                      order);
}

fs_status fs_dp_calibrate(double q, double steps, double delta,
                          double target_eps, fs_dp_conversion conv,
                          double *sigma, fs_err *err) {
  if (!(q >= 0 && q <= 1))
    return fs_err_set(err, FS_ECONFIG,
                      "dp: sampling rate q = %g is not in [0, 1]", q);
  if (!(steps >= 0 && isfinite(steps)))
    return fs_err_set(err, FS_ECONFIG,
                      "dp: %g steps (rounds) is not a finite count", steps);
  if (!(delta > 0 && delta < 1))
    return fs_err_set(err, FS_ECONFIG, "dp.delta: %g is not in (0, 1)", delta);
  if (!(target_eps > 0 && isfinite(target_eps)))
    return fs_err_set(err, FS_ECONFIG,
                      "dp.target_epsilon: %g is not a positive finite number",
                      target_eps);
  if (conv != FS_DP_CLASSIC && conv != FS_DP_IMPROVED)
    return fs_err_set(err, FS_ECONFIG, "dp.conversion: unknown conversion %d",
                      (int)conv);
  if (q == 0 || steps == 0) {
    *sigma = 0;
    return FS_OK;
  }
  /* With unbounded noise the RDP tends to 0 at every order, and epsilon to
   * the conversion's own floor: no finite sigma reaches a target below it. */
  double zero[FS_RDP_NORDERS] = {0}, floor_eps, floor_order;
  fs_rdp_to_dp(default_orders, zero, FS_RDP_NORDERS, delta, conv, &floor_eps,
               &floor_order);
  if (target_eps <= floor_eps)
    return fs_err_set(
        err, FS_ECONFIG,
        "dp.target_epsilon: %g is not above %.6g, the least epsilon the RDP "
        "orders (up to %g) certify at delta = %g with the %s conversion even "
        "with unbounded noise; raise the target or dp.delta",
        target_eps, floor_eps, floor_order, delta, fs_dp_conversion_name(conv));

  double lo = 0, hi = 1, e;
  fs_status st;
  for (;;) { /* grow hi until it meets the target */
    if ((st = fs_dp_epsilon(q, hi, steps, delta, conv, &e, NULL)) != FS_OK)
      return fs_err_set(err, st, "dp: RDP at sigma = %g: %s", hi,
                        fs_strerror(st));
    if (e <= target_eps)
      break;
    if (hi >= FS__SIGMA_MAX)
      return fs_err_set(
          err, FS_ECONFIG,
          "dp.target_epsilon: %g needs a noise multiplier above %g (q = %g, "
          "%g steps, delta = %g give epsilon %g there); raise the target, "
          "dp.delta, or sample fewer clients per round",
          target_eps, FS__SIGMA_MAX, q, steps, delta, e);
    lo = hi;
    hi = fmin(2 * hi, FS__SIGMA_MAX);
  }
  while (lo == 0) { /* shrink lo until it misses the target */
    double t = hi / 2;
    if (t < FS__SIGMA_MIN) {
      *sigma = hi; /* so little is sampled that hardly any noise is needed */
      return FS_OK;
    }
    if ((st = fs_dp_epsilon(q, t, steps, delta, conv, &e, NULL)) != FS_OK)
      return fs_err_set(err, st, "dp: RDP at sigma = %g: %s", t,
                        fs_strerror(st));
    if (e <= target_eps)
      hi = t;
    else
      lo = t;
  }
  while (hi / lo > 1 + FS__SIGMA_RTOL) {
    double mid = sqrt(lo * hi);
    if ((st = fs_dp_epsilon(q, mid, steps, delta, conv, &e, NULL)) != FS_OK)
      return fs_err_set(err, st, "dp: RDP at sigma = %g: %s", mid,
                        fs_strerror(st));
    if (e <= target_eps)
      hi = mid;
    else
      lo = mid;
  }
  *sigma = hi;
  return FS_OK;
}

fs_status fs_dp_conversion_parse(const char *s, fs_dp_conversion *out) {
  if (!strcmp(s, "classic"))
    *out = FS_DP_CLASSIC;
  else if (!strcmp(s, "improved"))
    *out = FS_DP_IMPROVED;
  else
    return FS_EINVAL;
  return FS_OK;
}

const char *fs_dp_conversion_name(fs_dp_conversion c) {
  switch (c) {
  case FS_DP_CLASSIC:
    return "classic";
  case FS_DP_IMPROVED:
    return "improved";
  }
  return "?";
}

struct fs_dp_accountant {
  double q, sigma, delta;
  fs_dp_conversion conv;
  uint64_t steps;
  int released;                    /* a step with q > 0 was accounted */
  double step_rdp[FS_RDP_NORDERS]; /* one step of (q, sigma) */
  double rdp[FS_RDP_NORDERS];      /* accumulated */
};

/* RDP of one step of (q, sigma) at the default orders into rdp; config
 * errors name the mechanism's parameters. */
static fs_status step_rdp(double q, double sigma, double steps, double *rdp,
                          fs_err *err) {
  if (!(q >= 0 && q <= 1))
    return fs_err_set(err, FS_ECONFIG,
                      "dp: sampling rate q = %g is not in [0, 1]", q);
  if (!(sigma >= 0 && isfinite(sigma)))
    return fs_err_set(err, FS_ECONFIG,
                      "dp.noise_multiplier: %g is not a finite number >= 0",
                      sigma);
  for (size_t k = 0; k < FS_RDP_NORDERS; k++) {
    fs_status st = fs_rdp_sgm(q, sigma, steps, default_orders[k], &rdp[k]);
    if (st != FS_OK)
      return fs_err_set(err, st,
                        "dp: RDP of q = %g, sigma = %g at order %g: %s", q,
                        sigma, default_orders[k], fs_strerror(st));
  }
  return FS_OK;
}

fs_status fs_dp_accountant_new(double q, double sigma, double delta,
                               fs_dp_conversion conv, fs_dp_accountant **out,
                               fs_err *err) {
  if (!(delta > 0 && delta < 1))
    return fs_err_set(err, FS_ECONFIG, "dp.delta: %g is not in (0, 1)", delta);
  if (conv != FS_DP_CLASSIC && conv != FS_DP_IMPROVED)
    return fs_err_set(err, FS_ECONFIG, "dp.conversion: unknown conversion %d",
                      (int)conv);
  double one[FS_RDP_NORDERS];
  fs_status st = step_rdp(q, sigma, 1, one, err);
  if (st != FS_OK)
    return st;
  fs_dp_accountant *acc = calloc(1, sizeof *acc);
  if (!acc)
    return fs_err_set(err, FS_ENOMEM, "dp: accountant: out of memory");
  acc->q = q;
  acc->sigma = sigma;
  acc->delta = delta;
  acc->conv = conv;
  memcpy(acc->step_rdp, one, sizeof one);
  *out = acc;
  return FS_OK;
}

void fs_dp_accountant_free(fs_dp_accountant *acc) { free(acc); }

void fs_dp_accountant_step(fs_dp_accountant *acc, uint64_t n) {
  if (n == 0)
    return;
  acc->steps += n;
  if (acc->q == 0)
    return;
  acc->released = 1;
  for (size_t k = 0; k < FS_RDP_NORDERS; k++)
    acc->rdp[k] += (double)n * acc->step_rdp[k];
}

fs_status fs_dp_accountant_add(fs_dp_accountant *acc, double q, double sigma,
                               uint64_t steps, fs_err *err) {
  double r[FS_RDP_NORDERS];
  fs_status st = step_rdp(q, sigma, (double)steps, r, err);
  if (st != FS_OK)
    return st;
  acc->steps += steps;
  if (q == 0 || steps == 0)
    return FS_OK;
  acc->released = 1;
  for (size_t k = 0; k < FS_RDP_NORDERS; k++)
    acc->rdp[k] += r[k];
  return FS_OK;
}

void fs_dp_accountant_epsilon(const fs_dp_accountant *acc, double *eps,
                              double *order) {
  double e = 0, o = 0;
  if (acc->released)
    fs_rdp_to_dp(default_orders, acc->rdp, FS_RDP_NORDERS, acc->delta,
                 acc->conv, &e, &o);
  *eps = e;
  if (order)
    *order = o;
}

uint64_t fs_dp_accountant_steps(const fs_dp_accountant *acc) {
  return acc->steps;
}
