/*
 * p2p.c — peer-to-peer NNA / MoNNA relayed by rank 0 (p2p.h).
 */
#include "p2p.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

struct fs_p2p {
  const fs_robust_rule *rule;
  const fs_faults *faulty;
  size_t f, n, dim, body;
  double lr;
  float *X, *Y;       /* n * dim: models, half-step models */
  const float **vecs; /* n: the half-step models that take part */
  double *tmp, *mix;  /* dim each */
  uint64_t skipped;
  uint8_t *bodies; /* n encoded models */
};

fs_status fs_p2p_new(const fs_robust_rule *r, size_t f, double lr, size_t n,
                     size_t dim, const fs_faults *faulty, fs_p2p **out,
                     fs_err *err) {
  *out = NULL;
  fs_p2p *p = calloc(1, sizeof *p);
  if (p == NULL)
    return fs_err_set(err, FS_ENOMEM, "p2p: out of memory");
  p->rule = r;
  p->faulty = faulty;
  p->f = f;
  p->n = n;
  p->dim = dim;
  p->lr = lr;
  p->body = fs_dense_size(dim);
  p->X = malloc(n * dim * sizeof(float));
  p->Y = malloc(n * dim * sizeof(float));
  p->vecs = malloc(n * sizeof *p->vecs);
  p->tmp = malloc(dim * sizeof *p->tmp);
  p->mix = malloc(dim * sizeof *p->mix);
  p->bodies = malloc(n * p->body);
  if (!p->X || !p->Y || !p->vecs || !p->tmp || !p->mix || !p->bodies) {
    fs_p2p_free(p);
    return fs_err_set(err, FS_ENOMEM,
                      "p2p: out of memory for %zu models of %zu parameters "
                      "on rank 0",
                      n, dim);
  }
  *out = p;
  return FS_OK;
}

void fs_p2p_free(fs_p2p *p) {
  if (p == NULL)
    return;
  free(p->X);
  free(p->Y);
  free(p->vecs);
  free(p->tmp);
  free(p->mix);
  free(p->bodies);
  free(p);
}

static void encode_all(fs_p2p *p) {
  for (size_t c = 0; c < p->n; c++)
    fs_dense_encode(p->X + c * p->dim, p->dim, p->bodies + c * p->body);
}

void fs_p2p_start(fs_p2p *p, const float *x0) {
  for (size_t c = 0; c < p->n; c++)
    memcpy(p->X + c * p->dim, x0, p->dim * sizeof(float));
  encode_all(p);
}

const uint8_t *fs_p2p_body(const fs_p2p *p, uint32_t c) {
  return p->bodies + (size_t)c * p->body;
}

fs_status fs_p2p_mix(fs_p2p *p, const fs_robust_round *rr, size_t rejected,
                     float *xbar, int *skipped, fs_err *err) {
  size_t d = p->dim, k = 0;
  *skipped = 0;
  for (size_t c = 0; c < p->n; c++) {
    float *x = p->X + c * d, *y = p->Y + c * d;
    const float *u = fs_robust_round_row(rr, c);
    if (u == NULL) {
      memcpy(y, x, d * sizeof(float));
      continue;
    }
    for (size_t j = 0; j < d; j++)
      y[j] = (float)((double)x[j] - p->lr * (double)u[j]);
    p->vecs[k++] = y;
  }
  fs_robust_params prm = {.f = rejected < p->f ? p->f - rejected : 0};
  fs_status st = fs_robust_check(p->rule, k, &prm, err);
  if (st != FS_OK) {
    *skipped = 1;
    p->skipped++;
  }
  size_t honest = 0;
  memset(p->tmp, 0, d * sizeof *p->tmp);
  for (size_t c = 0; c < p->n; c++) {
    if (fs_faults_is_faulty(p->faulty, (uint32_t)c))
      continue;
    float *x = p->X + c * d, *y = p->Y + c * d;
    if (*skipped || fs_robust_round_row(rr, c) == NULL) {
      memcpy(x, y, d * sizeof(float));
    } else {
      prm.pivot = y; /* its own half-step model */
      st = fs_robust_aggregate(p->rule, p->vecs, k, d, &prm, p->mix, err);
      if (st != FS_OK)
        return st;
      for (size_t j = 0; j < d; j++)
        x[j] = (float)p->mix[j];
    }
    for (size_t j = 0; j < d; j++)
      p->tmp[j] += (double)x[j];
    honest++;
  }
  for (size_t j = 0; j < d; j++)
    xbar[j] = honest ? (float)(p->tmp[j] / (double)honest) : 0.0f;
  for (size_t c = 0; c < p->n; c++)
    if (fs_faults_is_faulty(p->faulty, (uint32_t)c))
      memcpy(p->X + c * d, xbar, d * sizeof(float));
  encode_all(p);
  return FS_OK;
}

uint64_t fs_p2p_skipped(const fs_p2p *p) { return p->skipped; }

float *fs_p2p_models(fs_p2p *p, size_t *n) {
  *n = p->n * p->dim;
  return p->X;
}

uint64_t *fs_p2p_skipped_count(fs_p2p *p) { return &p->skipped; }

void fs_p2p_restored(fs_p2p *p) { encode_all(p); }
