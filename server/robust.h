/*
 * robust.h — robust aggregation rules: pure functions that turn k dense
 * vectors (one per client update of a round, in client-id order) into one
 * vector, while tolerating up to f arbitrary (faulty or malicious) inputs.
 *
 * The rules (docs/robust.md has the formulas and citations):
 *   mean          plain average (FedAvg with equal weights), for comparison
 *   median        coordinate-wise median (even k: mean of the two middle
 *                 values)                                 needs k > 2f
 *   trimmed_mean  per coordinate, drop the f largest and f smallest values,
 *                 average the k - 2f others               needs k > 2f
 *   krum          the vector whose summed squared distance to its k - f - 2
 *                 nearest others is smallest              needs k > 2f + 2
 *   multikrum     the mean of the m vectors of lowest Krum score (m = 0:
 *                 k - f)                 needs k > 2f + 2 and m <= k - f
 *   nna           the mean of the k - f vectors nearest to a pivot
 *                                                         needs k > 2f
 *   monna         the mean of the k - 2f vectors nearest to a pivot (the
 *                 mixing step of MoNNA)                   needs k > 2f
 * Ties (equal values, scores or distances) go to the lower index, so every
 * result is a deterministic function of the inputs and their order; sums run
 * in index order, in double precision.
 *
 * A new rule is one function and one line in the table of robust.c.
 */
#ifndef FS_ROBUST_H
#define FS_ROBUST_H

#include "fs_status.h"

#include <stddef.h>

/* The parameters of one aggregation. */
typedef struct {
  size_t f;           /* inputs assumed faulty (at most) */
  size_t m;           /* multikrum: vectors averaged; 0 means k - f */
  const float *pivot; /* nna, monna: dim floats; NULL is the zero vector */
} fs_robust_params;

typedef struct fs_robust_rule fs_robust_rule;

/* The rule called name ("median", ...), or NULL if there is none. */
const fs_robust_rule *fs_robust_find(const char *name);

/* The i-th rule of the table (mean, median, trimmed_mean, krum, multikrum,
 * nna, monna: the order of server.aggregator's names after fedavg), or NULL
 * past the end. */
const fs_robust_rule *fs_robust_at(size_t i);

/* The rule's name; never NULL. */
const char *fs_robust_name(const fs_robust_rule *r);

/* Can rule r aggregate k inputs with these parameters? FS_OK, or FS_EINVAL
 * with a message naming the condition that fails (for instance "krum needs
 * k > 2f + 2, got k = 6, f = 2"). */
fs_status fs_robust_check(const fs_robust_rule *r, size_t k,
                          const fs_robust_params *p, fs_err *err);

/* out[0..dim) = rule r applied to the k vectors v[0..k) of dim floats each
 * (the caller owns every buffer; v's vectors are not changed). Allocates and
 * frees its own scratch (O(k + dim) numbers, and O(k^2) doubles for krum and
 * multikrum). Errors: FS_EINVAL (fs_robust_check fails, or k = 0),
 * FS_ENUMERIC (an input or the pivot holds NaN or Inf: the caller must
 * reject such updates first), FS_ENOMEM. out is unchanged on error. */
fs_status fs_robust_aggregate(const fs_robust_rule *r, const float *const *v,
                              size_t k, size_t dim, const fs_robust_params *p,
                              double *out, fs_err *err);

#endif
