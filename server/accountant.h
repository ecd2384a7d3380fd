/*
 * accountant.h — the privacy accountant: Rényi differential privacy (RDP) of
 * the sampled Gaussian mechanism and its conversion to (epsilon, delta), for
 * DP-FedAvg (docs/privacy-accounting.md).
 *
 * One step of the mechanism samples each unit (here: each client) with
 * probability q, sums the sampled units' contributions, each of L2 norm at
 * most S, and adds N(0, (sigma S)^2) per coordinate; sigma is the noise
 * multiplier. Its RDP at order alpha is computed as Mironov, Talwar and Zhang
 * 2019 ("Rényi Differential Privacy of the Sampled Gaussian Mechanism",
 * section 3.3) derive it and TensorFlow Privacy's compute_rdp and Opacus's
 * analysis/rdp.py compute it: log A_alpha / (alpha - 1), in log space, per
 * step; steps compose by adding RDP order by order. The (epsilon, delta)
 * guarantee is the minimum over the orders of the classic conversion
 * (Mironov 2017) or the improved one (Balle et al. 2020, as Opacus).
 *
 * Pure arithmetic on doubles: no MPI, no files, no global state; the default
 * orders are a constant table.
 */
#ifndef FS_ACCOUNTANT_H
#define FS_ACCOUNTANT_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

/* The default orders: 1.1, 1.2, ..., 10.9 (1 + k/10, k = 1..99), then
 * 12, 13, ..., 63, then 128, 256, 512; 154 in all. */
#define FS_RDP_NORDERS 154

/* The largest order accepted (the sums have about alpha terms). */
#define FS_RDP_MAX_ORDER 10000.0

typedef enum {
  FS_DP_CLASSIC = 1, /* eps = r - ln(delta) / (alpha - 1) (Mironov 2017) */
  FS_DP_IMPROVED = 2 /* eps = r + ln((alpha - 1) / alpha)
                        - (ln delta + ln alpha) / (alpha - 1) (Balle et al.
                        2020, Theorem 21; Opacus's get_privacy_spent) */
} fs_dp_conversion;

/* The default orders in increasing order, through *orders (a constant table,
 * not to be freed); returns their number, FS_RDP_NORDERS. */
size_t fs_rdp_default_orders(const double **orders);

/* The RDP at order alpha of `steps` compositions of the sampled Gaussian
 * mechanism with sampling rate q and noise multiplier sigma, into *rdp:
 * steps * log A_alpha / (alpha - 1). Integer orders sum the binomial series,
 * other orders the two-sided series with erfc terms; where that series does
 * not converge within 1e5 terms (seen only for q = 1/2 with sigma >= 40, at
 * orders up to 1.4), the RDP at ceil(alpha) is returned, an upper bound
 * (RDP grows with the order). q = 0 or steps = 0 give 0; otherwise
 * sigma = 0 gives +inf (so does sigma below 1e-140, where the terms overflow
 * and the RDP exceeds 1e270), and q = 1 gives steps * alpha / (2 sigma^2).
 * Returns FS_EINVAL (and leaves *rdp alone) for q outside [0, 1], sigma
 * negative or not finite, alpha not in (1, FS_RDP_MAX_ORDER], steps negative
 * or not finite; FS_ENUMERIC if a result is NaN (not seen in practice). */
fs_status fs_rdp_sgm(double q, double sigma, double steps, double alpha,
                     double *rdp);

/* The smallest epsilon such that RDP values rdp[k] at orders[k]
 * (k < n) give (epsilon, delta)-DP under conversion conv, into *eps, and the
 * order that attains it into *order (may be NULL; the first one on ties).
 * eps is never negative (a negative bound is reported as 0). An rdp of +inf
 * certifies nothing at its order; if all are +inf, *eps = +inf and
 * *order = 0. An optimum at the first or last order means more orders could
 * give a smaller epsilon. FS_EINVAL for n = 0, delta not in (0, 1), an order
 * not above 1 or not finite, an rdp negative or NaN, an unknown conv. */
fs_status fs_rdp_to_dp(const double *orders, const double *rdp, size_t n,
                       double delta, fs_dp_conversion conv, double *eps,
                       double *order);

/* epsilon at delta, over the default orders, after `steps` steps of the
 * sampled Gaussian mechanism (q, sigma): fs_rdp_sgm then fs_rdp_to_dp.
 * *order may be NULL. With q = 0 or steps = 0 nothing is released: *eps = 0
 * and *order = 0 (the conversions alone would give their positive floor).
 * Errors as those two functions. */
fs_status fs_dp_epsilon(double q, double sigma, double steps, double delta,
                        fs_dp_conversion conv, double *eps, double *order);

/* The noise multiplier that makes `steps` steps with sampling rate q end at
 * no more than target_eps at delta (default orders, conversion conv), into
 * *sigma: a bisection on log sigma to a relative width of 1e-6 that returns
 * the upper end, so fs_dp_epsilon(q, *sigma, ...) <= target_eps, within a
 * relative 1e-6 in sigma of the least such sigma (if even sigma = 1e-6
 * meets the target, that is returned). q = 0 or steps = 0 give sigma = 0
 * (nothing is released). FS_ECONFIG with a message in err for q not in
 * [0, 1], steps negative or not finite, delta not in (0, 1), target_eps not
 * positive and finite, an unknown conv, a target not above what the orders
 * can certify at this delta in the limit of unbounded noise (classic,
 * delta = 1e-5: 0.0225), or a target that needs sigma above 1e6;
 * FS_ENUMERIC as fs_rdp_sgm. */
fs_status fs_dp_calibrate(double q, double steps, double delta,
                          double target_eps, fs_dp_conversion conv,
                          double *sigma, fs_err *err);

/* "classic" or "improved" into *out; FS_EINVAL for anything else. */
fs_status fs_dp_conversion_parse(const char *s, fs_dp_conversion *out);

/* "classic", "improved", or "?" for an unknown value; never NULL. */
const char *fs_dp_conversion_name(fs_dp_conversion c);

/* The accountant of one run: RDP at the default orders, accumulated over the
 * steps (rounds) taken, and the (epsilon, delta) it certifies. */
typedef struct fs_dp_accountant fs_dp_accountant;

/* A new accountant at zero steps into *out (free with
 * fs_dp_accountant_free); (q, sigma) is the mechanism that
 * fs_dp_accountant_step counts (its per-step RDP is computed once here),
 * delta and conv fix the conversion. FS_ECONFIG with a message in err for q
 * not in [0, 1], sigma negative or not finite, delta not in (0, 1), an
 * unknown conv; FS_ENOMEM; FS_ENUMERIC as fs_rdp_sgm. */
fs_status fs_dp_accountant_new(double q, double sigma, double delta,
                               fs_dp_conversion conv, fs_dp_accountant **out,
                               fs_err *err);

/* Free acc; NULL does nothing. */
void fs_dp_accountant_free(fs_dp_accountant *acc);

/* Account n more steps of the accountant's own (q, sigma). */
void fs_dp_accountant_step(fs_dp_accountant *acc, uint64_t n);

/* Account `steps` more steps of another mechanism (q, sigma), e.g. a round
 * whose sampling rate or noise differs. On error acc is unchanged:
 * FS_ECONFIG with a message in err for q not in [0, 1], sigma negative or
 * not finite; FS_ENUMERIC as fs_rdp_sgm. */
fs_status fs_dp_accountant_add(fs_dp_accountant *acc, double q, double sigma,
                               uint64_t steps, fs_err *err);

/* The epsilon certified so far at the accountant's delta into *eps, and the
 * order that attains it into *order (may be NULL), as fs_rdp_to_dp; but 0
 * (order 0) until a step with q > 0 is accounted, and +inf (order 0) after a
 * step with q > 0 and sigma = 0. */
void fs_dp_accountant_epsilon(const fs_dp_accountant *acc, double *eps,
                              double *order);

/* The number of steps accounted so far (by _step and _add together). */
uint64_t fs_dp_accountant_steps(const fs_dp_accountant *acc);

/* Internal, exposed for tests: log A_alpha by the integer-order series
 * (alpha an integer >= 2) and by the fractional-order series (any alpha > 1;
 * at an integer alpha it must agree with the integer series), for
 * 0 < q < 1 and sigma > 0; NaN if the fractional series does not converge
 * within 1e5 terms or cancels to a non-positive sum. And
 * log(erfc(x)), accurate also where erfc(x) underflows. */
double fs_rdp__log_a_int(double q, double sigma, int alpha);
double fs_rdp__log_a_frac(double q, double sigma, double alpha);
double fs_rdp__log_erfc(double x);

#endif
