/*
 * faulty.c — which clients are faulty, and what they send (faulty.h).
 *
 * The set is drawn with Floyd's algorithm (k draws for k of n, no O(n)
 * shuffle) into a bitset of n bits.
 */
#include "faulty.h"
#include "fs_config.h"

/* faults.kind's enum (fs_config.h) is cast to this module's: same order. */
_Static_assert((int)FS_CFG_FAULT_NONE == (int)FS_FAULT_NONE &&
                   (int)FS_CFG_FAULT_LABEL_FLIP == (int)FS_FAULT_LABEL_FLIP &&
                   (int)FS_CFG_FAULT_INF == (int)FS_FAULT_INF,
               "faults.kind order");

#include "fs_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fs_faults {
  uint32_t n, count;
  fs_fault_kind kind;
  double scale, noise_std;
  uint64_t seed;
  uint8_t *bits; /* n bits: client is faulty */
};

#define FS__FAULT_SET_ID (1ull << 41)   /* stream of the faulty set */
#define FS__FAULT_NOISE_ID (1ull << 42) /* + client: its noise stream */

static const char *const kind_names[] = {
    "none", "sign_flip", "scale", "noise", "label_flip", "nan", "inf"};

fs_status fs_fault_kind_parse(const char *s, fs_fault_kind *out) {
  for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
    if (!strcmp(s, kind_names[i])) {
      *out = (fs_fault_kind)i;
      return FS_OK;
    }
  return FS_EINVAL;
}

fs_status fs_faults_new(uint64_t seed, uint32_t n, double fraction,
                        fs_fault_kind kind, double scale, double noise_std,
                        fs_faults **out, fs_err *err) {
  *out = NULL;
  if (!(fraction >= 0.0 && fraction <= 1.0))
    return fs_err_set(err, FS_EINVAL, "faults.fraction: %g is not in [0, 1]",
                      fraction);
  if (!isfinite(scale))
    return fs_err_set(err, FS_EINVAL, "faults.scale: %g is not finite", scale);
  if (!(noise_std >= 0.0) || !isfinite(noise_std))
    return fs_err_set(err, FS_EINVAL,
                      "faults.noise_std: %g is not a finite number >= 0",
                      noise_std);
  if ((unsigned)kind > FS_FAULT_INF)
    return fs_err_set(err, FS_EINVAL, "faults.kind: unknown kind %d",
                      (int)kind);
  fs_faults *f = calloc(1, sizeof *f);
  if (f == NULL)
    return fs_err_set(err, FS_ENOMEM, "faults: out of memory");
  f->n = n;
  f->kind = kind;
  f->scale = scale;
  f->noise_std = noise_std;
  f->seed = seed;
  f->bits = calloc(((size_t)n + 7) / 8 + 1, 1);
  if (f->bits == NULL) {
    free(f);
    return fs_err_set(err, FS_ENOMEM, "faults: out of memory for %u clients",
                      n);
  }
  uint32_t k = kind == FS_FAULT_NONE ? 0 : (uint32_t)llround(fraction * n);
  if (k > n)
    k = n;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_FAULT, FS__FAULT_SET_ID, 0);
  /* Floyd: for j = n-k .. n-1, take t uniform in [0, j], or j if t is
   * taken already. */
  for (uint64_t j = (uint64_t)n - k; j < n; j++) {
    uint32_t t = (uint32_t)fs_rng_below(&r, j + 1);
    if (f->bits[t >> 3] & (1u << (t & 7)))
      t = (uint32_t)j;
    f->bits[t >> 3] |= (uint8_t)(1u << (t & 7));
  }
  f->count = k;
  *out = f;
  return FS_OK;
}

void fs_faults_free(fs_faults *f) {
  if (f == NULL)
    return;
  free(f->bits);
  free(f);
}

int fs_faults_is_faulty(const fs_faults *f, uint32_t c) {
  return c < f->n && (f->bits[c >> 3] >> (c & 7)) & 1u;
}

uint32_t fs_faults_count(const fs_faults *f) { return f->count; }

fs_fault_kind fs_faults_kind(const fs_faults *f) { return f->kind; }

void fs_faults_attack_update(const fs_faults *f, uint32_t c, uint32_t round,
                             float *u, size_t dim) {
  if (!fs_faults_is_faulty(f, c))
    return;
  switch (f->kind) {
  case FS_FAULT_SIGN_FLIP:
    for (size_t j = 0; j < dim; j++)
      u[j] = -u[j];
    break;
  case FS_FAULT_SCALE:
    for (size_t j = 0; j < dim; j++)
      u[j] = (float)(f->scale * (double)u[j]);
    break;
  case FS_FAULT_NOISE: {
    fs_rng r;
    fs_rng_init(&r, f->seed, FS_RNG_FAULT, FS__FAULT_NOISE_ID + c, round);
    for (size_t j = 0; j < dim; j++)
      u[j] = (float)(f->noise_std * fs_rng_normal(&r));
    break;
  }
  default:
    break;
  }
}

void fs_faults_attack_payload(const fs_faults *f, uint32_t c, fs_payload *p) {
  if (!fs_faults_is_faulty(f, c) ||
      (f->kind != FS_FAULT_NAN && f->kind != FS_FAULT_INF))
    return;
  float bad = f->kind == FS_FAULT_NAN ? NAN : INFINITY;
  switch (p->kind) {
  case FS_PL_DENSE:
  case FS_PL_NATURAL:
    for (uint32_t j = 0; j < p->dim; j++)
      p->val[j] = bad;
    break;
  case FS_PL_SPARSE:
  case FS_PL_RANDK:
    for (uint32_t j = 0; j < p->nnz; j++)
      p->val[j] = bad;
    break;
  case FS_PL_QSGD:
  case FS_PL_SIGN:
    p->scale = bad;
    break;
  case FS_PL_BLOCK8:
    for (uint32_t b = 0; b < (p->dim + p->block - 1) / p->block; b++)
      p->absmax[b] = bad;
    break;
  default: /* NONE, MASKED_U32: not a compressed payload */
    break;
  }
}

void fs_faults_flip_labels(const fs_faults *f, uint32_t c, int32_t *y, size_t n,
                           size_t classes) {
  if (f->kind != FS_FAULT_LABEL_FLIP || !fs_faults_is_faulty(f, c))
    return;
  for (size_t i = 0; i < n; i++)
    if (y[i] >= 0 && (size_t)y[i] < classes)
      y[i] = (int32_t)(classes - 1 - (size_t)y[i]);
}
