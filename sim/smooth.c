/*
 * smooth.c — lambda_max(A^T A) by power iteration on the Gram matrix, and the
 * EF21 step size. Double precision throughout: these constants set step
 * sizes and are compared with published values to six digits.
 */
#include "smooth.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

fs_status fs_gram_lambda_max(const float *A, size_t m, size_t d, int bias,
                             double *out, fs_err *err) {
  size_t dd = d + (bias ? 1 : 0);
  *out = 0.0;
  if (m == 0 || dd == 0)
    return FS_OK;
  const size_t chunk = 512;
  double *G = calloc(dd * dd, sizeof *G);
  double *B = malloc(chunk * dd * sizeof *B);
  double *v = malloc(dd * sizeof *v), *w = malloc(dd * sizeof *w);
  if (!G || !B || !v || !w) {
    free(G);
    free(B);
    free(v);
    free(w);
    return fs_err_set(err, FS_ENOMEM, "smoothness: out of memory (d = %zu)",
                      dd);
  }
  for (size_t r0 = 0; r0 < m; r0 += chunk) {
    size_t rows = m - r0 < chunk ? m - r0 : chunk;
    for (size_t i = 0; i < rows; i++) {
      const float *a = A + (r0 + i) * d;
      double *b = B + i * dd;
      for (size_t j = 0; j < d; j++)
        b[j] = a[j];
      if (bias)
        b[d] = 1.0;
    }
    /* Upper triangle of G += B^T B. */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dd, (int)rows, 1.0,
                B, (int)dd, 1.0, G, (int)dd);
  }
  for (size_t i = 0; i < dd; i++)
    for (size_t j = 0; j < i; j++)
      G[i * dd + j] = G[j * dd + i];
  for (size_t j = 0; j < dd; j++)
    v[j] = 1.0 / sqrt((double)dd);
  double lam = 0.0;
  for (int it = 0; it < 100000; it++) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)dd, (int)dd, 1.0, G, (int)dd,
                v, 1, 0.0, w, 1);
    double nrm = cblas_dnrm2((int)dd, w, 1);
    if (nrm == 0.0) {
      lam = 0.0;
      break;
    }
    double next = cblas_ddot((int)dd, v, 1, w, 1); /* Rayleigh quotient */
    for (size_t j = 0; j < dd; j++)
      v[j] = w[j] / nrm;
    if (it > 0 && fabs(next - lam) <= 1e-13 * fabs(next)) {
      lam = next;
      break;
    }
    lam = next;
  }
  free(G);
  free(B);
  free(v);
  free(w);
  *out = lam;
  return FS_OK;
}

fs_status fs_logreg_smoothness(const float *A, size_t m, size_t d, int bias,
                               double lambda, double *L, fs_err *err) {
  double lmax = 0.0;
  fs_status st = fs_gram_lambda_max(A, m, d, bias, &lmax, err);
  if (st != FS_OK)
    return st;
  *L = (m ? lmax / (4.0 * (double)m) : 0.0) + 2.0 * lambda;
  return FS_OK;
}

double fs_ef21_gamma(double L, double Lt, double alpha) {
  if (alpha >= 1.0)
    return 1.0 / L;
  double s = sqrt(1.0 - alpha);
  double theta = 1.0 - s;
  double beta = (1.0 - alpha) / (1.0 - s);
  return 1.0 / (L + Lt * sqrt(beta / theta));
}
