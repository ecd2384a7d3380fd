/*
 * gcode.c — fractional and cyclic repetition gradient codes (Tandon et al.
 * 2017) and their decoding.
 *
 * Fractional repetition: workers form n/(s+1) groups of s+1; every worker of
 * group g computes the sum of the same s+1 parts g(s+1)..g(s+1)+s. Cyclic
 * repetition (the paper's Algorithm 2): draw H (s x n) with H 1 = 0; row i of
 * B is supported on {i, ..., i+s} mod n, has B_ii = 1, and lies in the null
 * space of H (an s x s solve). That null space has dimension n - s and holds
 * 1; with probability one any n - s rows of B span it, so 1^T is in the row
 * span of every B_F with |F| = n - s. Decoding solves B_F^T a = 1 with
 * LAPACK's dgelsy and checks the residual.
 */
#include "gcode.h"

#include "fs_rng.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fs_gcode {
  fs_gcode_kind kind;
  int n, s;
  double *B;    /* n x n row-major */
  int *sup;     /* n rows of up to n parts */
  int *sup_len; /* n */
};

/* Residual above which a survivor set is declared undecodable. */
#define FS__GCODE_TOL 1e-8

static fs_status gcode_alloc(fs_gcode_kind kind, int n, int s, fs_gcode **out,
                             fs_err *err) {
  fs_gcode *c = calloc(1, sizeof *c);
  if (c) {
    c->B = calloc((size_t)n * n, sizeof *c->B);
    c->sup = malloc((size_t)n * n * sizeof *c->sup);
    c->sup_len = calloc((size_t)n, sizeof *c->sup_len);
  }
  if (!c || !c->B || !c->sup || !c->sup_len) {
    fs_gcode_free(c);
    return fs_err_set(err, FS_ENOMEM, "gradient code: no memory for n = %d", n);
  }
  c->kind = kind;
  c->n = n;
  c->s = s;
  *out = c;
  return FS_OK;
}

static void gcode_fill_support(fs_gcode *c) {
  int n = c->n;
  for (int i = 0; i < n; i++) {
    int k = 0;
    for (int j = 0; j < n; j++)
      if (c->B[(size_t)i * n + j] != 0.0)
        c->sup[(size_t)i * n + k++] = j;
    c->sup_len[i] = k;
  }
}

static fs_status check_ns(int n, int s, fs_err *err) {
  if (n < 1)
    return fs_err_set(err, FS_EINVAL,
                      "gradient code: n = %d workers, need at least 1", n);
  if (s < 0 || s >= n)
    return fs_err_set(err, FS_EINVAL,
                      "gradient code: tolerance s = %d must be in [0, n-1] "
                      "for n = %d workers",
                      s, n);
  return FS_OK;
}

static fs_status build_cr(fs_gcode *c, uint64_t seed, fs_err *err) {
  int n = c->n, s = c->s;
  for (int i = 0; i < n; i++)
    c->B[(size_t)i * n + i] = 1.0;
  if (s == 0)
    return FS_OK;
  double *H = malloc((size_t)s * n * sizeof *H);
  double *M = malloc((size_t)s * s * sizeof *M);
  double *rhs = malloc((size_t)s * sizeof *rhs);
  lapack_int *piv = malloc((size_t)s * sizeof *piv);
  fs_status st = FS_OK;
  if (!H || !M || !rhs || !piv) {
    st = fs_err_set(err, FS_ENOMEM, "gradient code: no memory for H");
    goto out;
  }
  fs_rng r;
  /* id above any worker id: the straggler models use (worker, round). */
  fs_rng_init(&r, seed, FS_RNG_STRAGGLER, (1ull << 48) | (uint64_t)n,
              (uint64_t)s);
  for (int k = 0; k < s; k++) {
    double sum = 0;
    for (int j = 0; j < n - 1; j++) {
      H[(size_t)k * n + j] = fs_rng_normal(&r);
      sum += H[(size_t)k * n + j];
    }
    H[(size_t)k * n + n - 1] = -sum; /* H 1 = 0 */
  }
  for (int i = 0; i < n; i++) {
    /* H[:, S_i \ {i}] x = -H[:, i], S_i = {i+1, ..., i+s} mod n. */
    for (int k = 0; k < s; k++) {
      rhs[k] = -H[(size_t)k * n + i];
      for (int q = 0; q < s; q++)
        M[(size_t)k * s + q] = H[(size_t)k * n + (i + 1 + q) % n];
    }
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, s, 1, M, s, piv, rhs, 1);
    if (info != 0) {
      st = fs_err_set(err, FS_ENUMERIC,
                      "gradient code: cyclic repetition n = %d, s = %d: "
                      "singular block for row %d (LAPACK info %d)",
                      n, s, i, (int)info);
      goto out;
    }
    for (int q = 0; q < s; q++)
      c->B[(size_t)i * n + (i + 1 + q) % n] = rhs[q];
  }
out:
  free(H);
  free(M);
  free(rhs);
  free(piv);
  return st;
}

fs_status fs_gcode_new(fs_gcode_kind kind, int n, int s, uint64_t seed,
                       fs_gcode **out, fs_err *err) {
  *out = NULL;
  fs_status st = check_ns(n, s, err);
  if (st != FS_OK)
    return st;
  if (kind == FS_GCODE_FR && n % (s + 1) != 0)
    return fs_err_set(err, FS_EINVAL,
                      "gradient code: fractional repetition needs (s + 1) to "
                      "divide n; s + 1 = %d, n = %d",
                      s + 1, n);
  if (kind != FS_GCODE_FR && kind != FS_GCODE_CR)
    return fs_err_set(err, FS_EINVAL, "gradient code: unknown kind %d",
                      (int)kind);
  fs_gcode *c;
  st = gcode_alloc(kind, n, s, &c, err);
  if (st != FS_OK)
    return st;
  if (kind == FS_GCODE_FR) {
    for (int i = 0; i < n; i++) {
      int g = i / (s + 1);
      for (int j = g * (s + 1); j < (g + 1) * (s + 1); j++)
        c->B[(size_t)i * n + j] = 1.0;
    }
  } else {
    st = build_cr(c, seed, err);
    if (st != FS_OK) {
      fs_gcode_free(c);
      return st;
    }
  }
  gcode_fill_support(c);
  *out = c;
  return FS_OK;
}

fs_status fs_gcode_from_matrix(int n, int s, const double *B, fs_gcode **out,
                               fs_err *err) {
  *out = NULL;
  fs_status st = check_ns(n, s, err);
  if (st != FS_OK)
    return st;
  for (size_t k = 0; k < (size_t)n * n; k++)
    if (!isfinite(B[k]))
      return fs_err_set(err, FS_ENUMERIC,
                        "gradient code: B[%zu][%zu] is not finite", k / n,
                        k % n);
  fs_gcode *c;
  st = gcode_alloc(FS_GCODE_MATRIX, n, s, &c, err);
  if (st != FS_OK)
    return st;
  memcpy(c->B, B, (size_t)n * n * sizeof *B);
  gcode_fill_support(c);
  *out = c;
  return FS_OK;
}

void fs_gcode_free(fs_gcode *c) {
  if (!c)
    return;
  free(c->B);
  free(c->sup);
  free(c->sup_len);
  free(c);
}

int fs_gcode_n(const fs_gcode *c) { return c->n; }
int fs_gcode_s(const fs_gcode *c) { return c->s; }
fs_gcode_kind fs_gcode_kind_of(const fs_gcode *c) { return c->kind; }
const double *fs_gcode_matrix(const fs_gcode *c) { return c->B; }

const int *fs_gcode_support(const fs_gcode *c, int i, int *count) {
  if (i < 0 || i >= c->n)
    abort();
  *count = c->sup_len[i];
  return c->sup + (size_t)i * c->n;
}

double fs_gcode_residual(const fs_gcode *c, const double *a) {
  int n = c->n;
  double worst = 0;
  for (int j = 0; j < n; j++) {
    double sum = 0;
    for (int i = 0; i < n; i++)
      sum += a[i] * c->B[(size_t)i * n + j];
    double r = fabs(sum - 1.0);
    if (!(r <= worst)) /* also catches NaN */
      worst = isnan(r) ? INFINITY : r;
  }
  return worst;
}

/* Fractional repetition: the lowest-id survivor of each group, a = 1. */
static fs_status decode_fr(const fs_gcode *c, const unsigned char *alive,
                           double *a, fs_err *err) {
  int n = c->n, g = c->s + 1;
  for (int i = 0; i < n; i++)
    a[i] = 0;
  for (int start = 0; start < n; start += g) {
    int pick = -1;
    for (int i = start; i < start + g && pick < 0; i++)
      if (alive[i])
        pick = i;
    if (pick < 0)
      return fs_err_set(err, FS_ERANGE,
                        "gradient code: every worker of group %d..%d "
                        "straggled; fractional repetition cannot decode",
                        start, start + g - 1);
    a[pick] = 1.0;
  }
  return FS_OK;
}

fs_status fs_gcode_decode(const fs_gcode *c, const unsigned char *alive,
                          double *a, fs_err *err) {
  if (c->kind == FS_GCODE_FR)
    return decode_fr(c, alive, a, err);
  int n = c->n, m = 0;
  for (int i = 0; i < n; i++) {
    a[i] = 0;
    m += alive[i] != 0;
  }
  if (m == 0)
    return fs_err_set(err, FS_ERANGE, "gradient code: no survivors");
  /* A = B_F^T (n x m, row-major), b = 1 (n). */
  double *A = malloc((size_t)n * m * sizeof *A);
  double *b = malloc((size_t)n * sizeof *b);
  lapack_int *jpvt = calloc((size_t)m, sizeof *jpvt);
  int *idx = malloc((size_t)m * sizeof *idx);
  fs_status st = FS_OK;
  if (!A || !b || !jpvt || !idx) {
    st = fs_err_set(err, FS_ENOMEM, "gradient code: no memory to decode");
    goto out;
  }
  for (int i = 0, k = 0; i < n; i++)
    if (alive[i])
      idx[k++] = i;
  for (int j = 0; j < n; j++) {
    b[j] = 1.0;
    for (int k = 0; k < m; k++)
      A[(size_t)j * m + k] = c->B[(size_t)idx[k] * n + j];
  }
  lapack_int rank = 0;
  lapack_int info =
      LAPACKE_dgelsy(LAPACK_ROW_MAJOR, n, m, 1, A, m, b, 1, jpvt, 1e-12, &rank);
  if (info != 0) {
    st = fs_err_set(err, FS_ENUMERIC,
                    "gradient code: LAPACK dgelsy failed (info %d)", (int)info);
    goto out;
  }
  for (int k = 0; k < m; k++)
    a[idx[k]] = b[k];
  double res = fs_gcode_residual(c, a);
  if (!(res <= FS__GCODE_TOL)) {
    for (int i = 0; i < n; i++)
      a[i] = 0;
    st = fs_err_set(err, FS_ERANGE,
                    "gradient code: %d survivors of n = %d (s = %d) cannot "
                    "decode: best residual %.3g",
                    m, n, c->s, res);
  }
out:
  free(A);
  free(b);
  free(jpvt);
  free(idx);
  return st;
}
