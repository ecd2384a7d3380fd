/*
 * smooth.h — smoothness constants of the logistic-regression objective of
 * the EF21 experiments, and the theoretical EF21 step size.
 *
 * For f(x) = (1/m) sum_j log(1 + exp(-y_j a_j^T x)) + lambda sum_l
 * x_l^2/(1 + x_l^2), L = lambda_max(A^T A)/(4m) + 2 lambda (docs/ef21.md,
 * section 1). lambda_max is found by power iteration on A^T A, formed in
 * double precision (cblas_dsyrk over blocks of rows).
 */
#ifndef FS_SMOOTH_H
#define FS_SMOOTH_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

/* lambda_max(A^T A) of the m x d float matrix A (row-major); with bias != 0
 * a column of ones is appended. Power iteration to a relative change below
 * 1e-13 (at most 100000 iterations). m == 0 gives 0. */
fs_status fs_gram_lambda_max(const float *A, size_t m, size_t d, int bias,
                             double *out, fs_err *err);

/* L of the logistic loss with the non-convex regulariser (see above). */
fs_status fs_logreg_smoothness(const float *A, size_t m, size_t d, int bias,
                               double lambda, double *L, fs_err *err);

typedef struct {
  double L;    /* of f = mean_i f_i, pooled rows */
  double L_qm; /* sqrt(mean_i L_i^2) */
  double L_am; /* mean_i L_i */
  double *Li;  /* clients entries; owned (free()) */
  size_t n;
} fs_smoothness;

/* Theoretical EF21 step size for a contractive compressor keeping a share
 * alpha = k/d: theta = 1 - sqrt(1 - alpha), beta = (1 - alpha)/(1 - sqrt(1 -
 * alpha)), gamma = 1/(L + Lt sqrt(beta/theta)); alpha = 1 gives 1/L. */
double fs_ef21_gamma(double L, double Lt, double alpha);

#endif
