/*
 * robust_round.c — one round's updates kept apart for a robust rule
 * (robust_round.h).
 */
#include "robust_round.h"

#include "compress.h"

#include <stdlib.h>
#include <string.h>

struct fs_robust_round {
  const fs_robust_rule *rule;
  size_t f, m, kmax, dim;
  fs_pivot_kind pivot;
  float *rows;        /* kmax * dim */
  uint8_t *ok;        /* kmax: slot holds an update this round */
  const float **vecs; /* kmax: the stored slots, in order */
  float *prev;        /* dim: last applied aggregate (pivot "previous") */
  uint64_t skipped;
};

fs_status fs_robust_round_new(const fs_robust_rule *r, size_t f, size_t m,
                              fs_pivot_kind pivot, size_t kmax, size_t dim,
                              fs_robust_round **out, fs_err *err) {
  *out = NULL;
  fs_robust_round *rr = calloc(1, sizeof *rr);
  if (rr == NULL)
    return fs_err_set(err, FS_ENOMEM, "robust aggregation: out of memory");
  rr->rule = r;
  rr->f = f;
  rr->m = m;
  rr->pivot = pivot;
  rr->kmax = kmax;
  rr->dim = dim;
  rr->rows = malloc((kmax ? kmax : 1) * (dim ? dim : 1) * sizeof(float));
  rr->ok = calloc(kmax ? kmax : 1, 1);
  rr->vecs = malloc((kmax ? kmax : 1) * sizeof *rr->vecs);
  rr->prev = calloc(dim ? dim : 1, sizeof(float));
  if (!rr->rows || !rr->ok || !rr->vecs || !rr->prev) {
    fs_robust_round_free(rr);
    return fs_err_set(err, FS_ENOMEM,
                      "robust aggregation: out of memory for %zu updates of "
                      "%zu parameters",
                      kmax, dim);
  }
  *out = rr;
  return FS_OK;
}

void fs_robust_round_free(fs_robust_round *rr) {
  if (rr == NULL)
    return;
  free(rr->rows);
  free(rr->ok);
  free(rr->vecs);
  free(rr->prev);
  free(rr);
}

void fs_robust_round_begin(fs_robust_round *rr) { memset(rr->ok, 0, rr->kmax); }

void fs_robust_round_put(fs_robust_round *rr, size_t i, const fs_payload *p) {
  if (i >= rr->kmax || p->dim != rr->dim)
    abort(); /* the server's own slots: a programmer mistake */
  fs_payload_to_dense(p, rr->rows + i * rr->dim);
  rr->ok[i] = 1;
}

fs_status fs_robust_round_aggregate(fs_robust_round *rr, size_t rejected,
                                    double *out, int *applied, fs_err *err) {
  *applied = 0;
  size_t k = 0;
  for (size_t i = 0; i < rr->kmax; i++)
    if (rr->ok[i])
      rr->vecs[k++] = rr->rows + i * rr->dim;
  fs_robust_params p = {.f = rejected < rr->f ? rr->f - rejected : 0,
                        .m = rr->m,
                        .pivot =
                            rr->pivot == FS_PIVOT_PREVIOUS ? rr->prev : NULL};
  if (p.m > 0 && k >= p.f && p.m > k - p.f)
    p.m = k - p.f; /* fewer updates than planned: average what is left */
  fs_status st = fs_robust_check(rr->rule, k, &p, err);
  if (st != FS_OK) {
    rr->skipped++;
    return FS_OK;
  }
  st = fs_robust_aggregate(rr->rule, rr->vecs, k, rr->dim, &p, out, err);
  if (st != FS_OK)
    return st;
  for (size_t j = 0; j < rr->dim; j++)
    rr->prev[j] = (float)out[j];
  *applied = 1;
  return FS_OK;
}

const float *fs_robust_round_row(const fs_robust_round *rr, size_t i) {
  return i < rr->kmax && rr->ok[i] ? rr->rows + i * rr->dim : NULL;
}

uint64_t fs_robust_round_skipped(const fs_robust_round *rr) {
  return rr->skipped;
}

float *fs_robust_round_prev(fs_robust_round *rr) { return rr->prev; }

uint64_t *fs_robust_round_skipped_count(fs_robust_round *rr) {
  return &rr->skipped;
}
