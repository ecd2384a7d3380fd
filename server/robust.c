/*
 * robust.c — the robust aggregation rules of robust.h, and their table.
 *
 * Each rule is a function over k dense vectors plus one row of `rules[]`
 * (name, the smallest k it accepts for a given f, the function). Vectors are
 * compared in double precision; selections sort (key, index) pairs so that
 * ties go to the lower index, and every average sums in index order.
 *
 * References: Yin et al., "Byzantine-Robust Distributed Learning: Towards
 * Optimal Statistical Rates", ICML 2018 (coordinate-wise median and trimmed
 * mean); Blanchard et al., "Machine Learning with Adversaries: Byzantine
 * Tolerant Gradient Descent", NeurIPS 2017 (Krum, Multi-Krum); Farhadkhani
 * et al., "Robust Collaborative Learning with Linear Gradient Overhead",
 * ICML 2023 (MoNNA: nearest-neighbour averaging of n - 2f vectors).
 */
#include "robust.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef fs_status (*rule_fn)(const float *const *v, size_t k, size_t dim,
                             const fs_robust_params *p, size_t keep,
                             double *out);

/* How many vectors a selecting rule averages. */
enum { KEEP_ALL, KEEP_ONE, KEEP_M, KEEP_K_F, KEEP_K_2F };

struct fs_robust_rule {
  const char *name;
  int need; /* 0: k >= 1; 1: k > 2f; 2: k > 2f + 2 */
  int keep; /* KEEP_* */
  rule_fn fn;
};

/* A key and the index it belongs to; sorted by key, then index. */
typedef struct {
  double key;
  size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key < y->key)
    return -1;
  if (x->key > y->key)
    return 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static double sqdist(const float *a, const float *b, size_t dim) {
  double s = 0.0;
  for (size_t j = 0; j < dim; j++) {
    double d = (double)a[j] - (double)b[j];
    s += d * d;
  }
  return s;
}

/* out = mean of the vectors whose indices are sel[0..n), summed in
 * increasing index order (sel is sorted first). */
static void mean_of(const float *const *v, size_t *sel, size_t n, size_t dim,
                    double *out) {
  for (size_t a = 1; a < n; a++) /* insertion sort: n is small */
    for (size_t b = a; b > 0 && sel[b - 1] > sel[b]; b--) {
      size_t t = sel[b];
      sel[b] = sel[b - 1];
      sel[b - 1] = t;
    }
  memset(out, 0, dim * sizeof *out);
  for (size_t a = 0; a < n; a++)
    for (size_t j = 0; j < dim; j++)
      out[j] += (double)v[sel[a]][j];
  for (size_t j = 0; j < dim; j++)
    out[j] /= (double)n;
}

static fs_status rule_mean(const float *const *v, size_t k, size_t dim,
                           const fs_robust_params *p, size_t keep,
                           double *out) {
  (void)p;
  (void)keep;
  size_t *sel = malloc(k * sizeof *sel);
  if (sel == NULL)
    return FS_ENOMEM;
  for (size_t i = 0; i < k; i++)
    sel[i] = i;
  mean_of(v, sel, k, dim, out);
  free(sel);
  return FS_OK;
}

/* Per coordinate: sort the k values, then average ranks [lo, hi). */
static fs_status sorted_coords(const float *const *v, size_t k, size_t dim,
                               size_t lo, size_t hi, double *out) {
  float *col = malloc(k * sizeof *col);
  if (col == NULL)
    return FS_ENOMEM;
  for (size_t j = 0; j < dim; j++) {
    for (size_t i = 0; i < k; i++)
      col[i] = v[i][j];
    qsort(col, k, sizeof *col, cmp_float);
    double s = 0.0;
    for (size_t i = lo; i < hi; i++)
      s += (double)col[i];
    out[j] = s / (double)(hi - lo);
  }
  free(col);
  return FS_OK;
}

static fs_status rule_median(const float *const *v, size_t k, size_t dim,
                             const fs_robust_params *p, size_t keep,
                             double *out) {
  (void)p;
  (void)keep;
  /* Odd k: the middle value; even k: the mean of the two middle ones. */
  size_t lo = (k - 1) / 2, hi = k / 2 + 1;
  return sorted_coords(v, k, dim, lo, hi, out);
}

static fs_status rule_trimmed(const float *const *v, size_t k, size_t dim,
                              const fs_robust_params *p, size_t keep,
                              double *out) {
  (void)keep;
  return sorted_coords(v, k, dim, p->f, k - p->f, out);
}

/* Krum scores: s_i = sum of the k - f - 2 smallest ||v_i - v_j||^2, j != i,
 * written to sc[i] = (s_i, i). */
static fs_status krum_scores(const float *const *v, size_t k, size_t dim,
                             size_t f, keyed *sc) {
  double *d = malloc(k * k * sizeof *d);
  double *row = malloc(k * sizeof *row);
  if (d == NULL || row == NULL) {
    free(d);
    free(row);
    return FS_ENOMEM;
  }
  for (size_t i = 0; i < k; i++) {
    d[i * k + i] = 0.0;
    for (size_t j = i + 1; j < k; j++)
      d[i * k + j] = d[j * k + i] = sqdist(v[i], v[j], dim);
  }
  size_t nn = k - f - 2;
  for (size_t i = 0; i < k; i++) {
    size_t n = 0;
    for (size_t j = 0; j < k; j++)
      if (j != i)
        row[n++] = d[i * k + j];
    /* Partial selection sort of the nn smallest (k is small). */
    double s = 0.0;
    for (size_t a = 0; a < nn; a++) {
      size_t best = a;
      for (size_t b = a + 1; b < n; b++)
        if (row[b] < row[best])
          best = b;
      double t = row[a];
      row[a] = row[best];
      row[best] = t;
      s += row[a];
    }
    sc[i] = (keyed){s, i};
  }
  free(d);
  free(row);
  return FS_OK;
}

/* The `keep` vectors of lowest key in sc (ties: lower index), averaged. */
static fs_status mean_of_lowest(const float *const *v, size_t k, size_t dim,
                                keyed *sc, size_t keep, double *out) {
  qsort(sc, k, sizeof *sc, cmp_keyed);
  size_t *sel = malloc(keep * sizeof *sel);
  if (sel == NULL)
    return FS_ENOMEM;
  for (size_t a = 0; a < keep; a++)
    sel[a] = sc[a].i;
  mean_of(v, sel, keep, dim, out);
  free(sel);
  return FS_OK;
}

static fs_status rule_krum(const float *const *v, size_t k, size_t dim,
                           const fs_robust_params *p, size_t keep,
                           double *out) {
  keyed *sc = malloc(k * sizeof *sc);
  if (sc == NULL)
    return FS_ENOMEM;
  fs_status st = krum_scores(v, k, dim, p->f, sc);
  if (st == FS_OK)
    st = mean_of_lowest(v, k, dim, sc, keep, out);
  free(sc);
  return st;
}

static fs_status rule_nna(const float *const *v, size_t k, size_t dim,
                          const fs_robust_params *p, size_t keep, double *out) {
  keyed *sc = malloc(k * sizeof *sc);
  if (sc == NULL)
    return FS_ENOMEM;
  for (size_t i = 0; i < k; i++) {
    double s = 0.0;
    if (p->pivot != NULL) {
      s = sqdist(v[i], p->pivot, dim);
    } else {
      for (size_t j = 0; j < dim; j++)
        s += (double)v[i][j] * v[i][j];
    }
    sc[i] = (keyed){s, i};
  }
  fs_status st = mean_of_lowest(v, k, dim, sc, keep, out);
  free(sc);
  return st;
}

static const struct fs_robust_rule rules[] = {
    {"mean", 0, KEEP_ALL, rule_mean},
    {"median", 1, KEEP_ALL, rule_median},
    {"trimmed_mean", 1, KEEP_ALL, rule_trimmed},
    {"krum", 2, KEEP_ONE, rule_krum},
    {"multikrum", 2, KEEP_M, rule_krum},
    {"nna", 1, KEEP_K_F, rule_nna},
    {"monna", 1, KEEP_K_2F, rule_nna},
};
#define N_RULES (sizeof rules / sizeof rules[0])

const fs_robust_rule *fs_robust_at(size_t i) {
  return i < N_RULES ? &rules[i] : NULL;
}

const fs_robust_rule *fs_robust_find(const char *name) {
  for (size_t i = 0; i < N_RULES; i++)
    if (!strcmp(rules[i].name, name))
      return &rules[i];
  return NULL;
}

const char *fs_robust_name(const fs_robust_rule *r) { return r->name; }

/* How many vectors rule r keeps (averages) among k with parameters p. */
static size_t kept(const fs_robust_rule *r, size_t k,
                   const fs_robust_params *p) {
  switch (r->keep) {
  case KEEP_ONE:
    return 1;
  case KEEP_M:
    return p->m == 0 ? k - p->f : p->m;
  case KEEP_K_F:
    return k - p->f;
  case KEEP_K_2F:
    return k - 2 * p->f;
  default:
    return k;
  }
}

fs_status fs_robust_check(const fs_robust_rule *r, size_t k,
                          const fs_robust_params *p, fs_err *err) {
  if (k == 0)
    return fs_err_set(err, FS_EINVAL, "%s: no vectors to aggregate", r->name);
  if (r->need == 1 && !(p->f < k && k - p->f > p->f))
    return fs_err_set(err, FS_EINVAL,
                      "%s needs k > 2f (an honest majority), got k = %zu, "
                      "f = %zu",
                      r->name, k, p->f);
  if (r->need == 2 && !(p->f < k && k - p->f > p->f + 2))
    return fs_err_set(err, FS_EINVAL,
                      "%s needs k > 2f + 2, got k = %zu, f = %zu", r->name, k,
                      p->f);
  if (r->keep == KEEP_M && p->m > k - p->f)
    return fs_err_set(err, FS_EINVAL,
                      "multikrum averages m <= k - f vectors, got m = %zu, "
                      "k = %zu, f = %zu",
                      p->m, k, p->f);
  return FS_OK;
}

fs_status fs_robust_aggregate(const fs_robust_rule *r, const float *const *v,
                              size_t k, size_t dim, const fs_robust_params *p,
                              double *out, fs_err *err) {
  fs_status st = fs_robust_check(r, k, p, err);
  if (st != FS_OK)
    return st;
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < dim; j++)
      if (!isfinite(v[i][j]))
        return fs_err_set(err, FS_ENUMERIC,
                          "%s: input %zu, entry %zu is %s (reject non-finite "
                          "updates before aggregating)",
                          r->name, i, j, isnan(v[i][j]) ? "NaN" : "Inf");
  if (p->pivot != NULL)
    for (size_t j = 0; j < dim; j++)
      if (!isfinite(p->pivot[j]))
        return fs_err_set(err, FS_ENUMERIC, "%s: pivot entry %zu is %s",
                          r->name, j, isnan(p->pivot[j]) ? "NaN" : "Inf");
  double *tmp = malloc((dim ? dim : 1) * sizeof *tmp);
  if (tmp == NULL)
    return fs_err_set(err, FS_ENOMEM, "%s: out of memory", r->name);
  st = r->fn(v, k, dim, p, kept(r, k, p), tmp);
  if (st == FS_OK)
    memcpy(out, tmp, dim * sizeof *out);
  free(tmp);
  return st == FS_OK ? FS_OK
                     : fs_err_set(err, st,
                                  "%s: out of memory (k = %zu, dim "
                                  "= %zu)",
                                  r->name, k, dim);
}
