/*
 * compress.c — the generic half of compress/: the compressor table (built
 * from compressors.def; each row is a file of its own), lookup by name, the
 * checks and dispatch of fs_compress, the receiver's and sender's views of a
 * row's payload, the payload arrays, and the three ways to expand a payload
 * (to a dense vector, into a double accumulator, into a float vector), which
 * depend on the payload kind alone.
 */
#include "compress_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fs_compressor *const table[] = {
#define FS_COMPRESSOR(name) &fs_compressor_##name,
#include "compressors.def"
#undef FS_COMPRESSOR
};
#define N_ROWS (sizeof table / sizeof table[0])

_Noreturn void fs__comp_misuse(const char *what) {
  fprintf(stderr, "fedsim: compress: %s\n", what);
  abort();
}

const fs_compressor *fs_compressor_find(const char *name) {
  for (size_t i = 0; name != NULL && i < N_ROWS; i++)
    if (strcmp(name, table[i]->base.name) == 0)
      return table[i];
  return NULL;
}

size_t fs_compressor_count(void) { return N_ROWS; }

fs_choice_set fs_compressor_choices(void) { return FS_CHOICE_PTRS(table); }

const fs_compressor *fs_compressor_at(size_t i) {
  return i < N_ROWS ? table[i] : NULL;
}

fs_status fs__comp_check_k(const fs_comp_spec *s, uint32_t dim, fs_err *err) {
  const char *name = s->kind->base.name;
  if (s->k > dim)
    return fs_err_set(err, FS_ECONFIG,
                      "compressor %s: k = %u exceeds the dimension %u", name,
                      s->k, dim);
  if (s->k == 0 && !(s->ratio > 0.0 && s->ratio <= 1.0))
    return fs_err_set(err, FS_ECONFIG,
                      "compressor %s: k is 0 and ratio = %g is not in (0, 1]",
                      name, s->ratio);
  return FS_OK;
}

fs_status fs_comp_check(const fs_comp_spec *s, uint32_t dim, fs_err *err) {
  if (s->kind == NULL)
    return fs_err_set(err, FS_ECONFIG, "compressor: none given");
  if (dim == 0)
    return fs_err_set(err, FS_ECONFIG, "compressor %s: dimension is 0",
                      s->kind->base.name);
  return s->kind->check != NULL ? s->kind->check(s, dim, err) : FS_OK;
}

uint32_t fs_comp_k(const fs_comp_spec *s, uint32_t dim) {
  if (!(s->kind->flags & FS_COMP_USES_K))
    return dim;
  if (s->k != 0)
    return s->k < dim ? s->k : dim;
  double k = round(s->ratio * (double)dim);
  if (!(k >= 1.0))
    return dim > 0 ? 1 : 0;
  return k < (double)dim ? (uint32_t)k : dim;
}

double fs_comp_ideal_bits(const fs_comp_spec *s, uint32_t dim) {
  return s->kind->ideal_bits(s, dim);
}

fs_status fs_compress(const fs_comp_spec *s, const float *v, uint32_t dim,
                      fs_rng *rng, fs_payload *p) {
  fs_err err;
  if (fs_comp_check(s, dim, &err) != FS_OK)
    fs__comp_misuse(err.msg);
  if (rng == NULL && (s->kind->flags & FS_COMP_RANDOM)) {
    snprintf(err.msg, sizeof err.msg, "%s needs an rng", s->kind->base.name);
    fs__comp_misuse(err.msg);
  }
  p->dim = dim;
  p->nnz = 0;
  p->levels = 0;
  p->block = 0;
  p->seed = 0;
  p->scale = 0.0f;
  return s->kind->compress(s, v, dim, rng, p);
}

uint32_t fs_comp_wire_dim(const fs_comp_spec *s, unsigned enc, uint32_t dim) {
  const fs_compressor *c = s->kind;
  return c->wire_dim != NULL && enc == (unsigned)c->payload ? c->wire_dim(dim)
                                                            : dim;
}

fs_status fs_comp_receive(const fs_comp_spec *s, fs_payload *p, uint32_t dim,
                          uint64_t seed, uint32_t client, uint32_t round) {
  const fs_compressor *c = s->kind;
  if (c->receive == NULL || p->kind != c->payload)
    return FS_OK;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_COMPRESS, client, round);
  return c->receive(p, dim, &r);
}

void fs_comp_add_to(const fs_comp_spec *s, const fs_payload *p, uint32_t dim,
                    float *y) {
  const float *x = s->kind->sent != NULL ? s->kind->sent(p) : NULL;
  if (x == NULL) {
    fs_payload_add_to(p, y);
    return;
  }
  for (uint32_t j = 0; j < dim; j++)
    y[j] += x[j];
}

void fs_comp_sub_from(const fs_comp_spec *s, const fs_payload *p, uint32_t dim,
                      float *y) {
  const float *x = s->kind->sent != NULL ? s->kind->sent(p) : NULL;
  if (x == NULL) {
    fs_payload_sub_from(p, y);
    return;
  }
  for (uint32_t j = 0; j < dim; j++)
    y[j] -= x[j];
}

/* ---- payload arrays ---------------------------------------------------- */

/* Make *arr hold at least n elements of size bytes (old contents dropped). */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n == 0)
    n = 1;
  if (*arr != NULL && *cap >= n)
    return 0;
  if (n > SIZE_MAX / size)
    return -1;
  void *q = malloc(n * size);
  if (q == NULL)
    return -1;
  free(*arr);
  *arr = q;
  *cap = n;
  return 0;
}

int fs__payload_grow_idx(fs_payload *p, size_t n) {
  void *a = p->idx;
  int rc = grow(&a, &p->cap_idx, n, sizeof *p->idx);
  p->idx = a;
  return rc;
}

int fs__payload_grow_val(fs_payload *p, size_t n) {
  void *a = p->val;
  int rc = grow(&a, &p->cap_val, n, sizeof *p->val);
  p->val = a;
  return rc;
}

int fs__payload_grow_codes(fs_payload *p, size_t n) {
  void *a = p->codes;
  int rc = grow(&a, &p->cap_codes, n, sizeof *p->codes);
  p->codes = a;
  return rc;
}

int fs__payload_grow_absmax(fs_payload *p, size_t n) {
  void *a = p->absmax;
  int rc = grow(&a, &p->cap_absmax, n, sizeof *p->absmax);
  p->absmax = a;
  return rc;
}

void fs_payload_free(fs_payload *p) {
  if (p == NULL)
    return;
  free(p->idx);
  free(p->val);
  free(p->codes);
  free(p->absmax);
  memset(p, 0, sizeof *p);
}

/* ---- expanding a payload ------------------------------------------------- */

/*
 * One walk over the entries of a payload for the public expanders: DENSE
 * writes, ADD adds in float, SUB subtracts in float, AXPY adds w times in
 * double. Every value is first computed as the same float, so they agree
 * exactly. expand() is inlined with a constant op, so its loops carry no
 * switch.
 */
typedef enum { OP_DENSE, OP_ADD, OP_SUB, OP_AXPY } expand_op;

typedef struct {
  expand_op op;
  float *y;
  double *acc;
  double w;
  const float *val;
} expand_ctx;

static inline __attribute__((always_inline)) void
put(expand_op op, float *y, double *acc, double w, uint32_t j, float x) {
  switch (op) {
  case OP_DENSE:
    y[j] = x;
    break;
  case OP_ADD:
    y[j] += x;
    break;
  case OP_SUB:
    y[j] -= x;
    break;
  case OP_AXPY:
    acc[j] += w * (double)x;
    break;
  }
}

static void emit_expand(void *ctx, uint32_t pos, uint32_t j) {
  const expand_ctx *c = ctx;
  put(c->op, c->y, c->acc, c->w, j, c->val[pos]);
}

static inline __attribute__((always_inline)) void
expand(const fs_payload *p, expand_op op, float *y, double *acc, double w) {
  uint32_t dim = p->dim;
  if (op == OP_DENSE && (p->kind == FS_PL_SPARSE || p->kind == FS_PL_RANDK))
    memset(y, 0, (size_t)dim * sizeof *y);
  switch (p->kind) {
  case FS_PL_DENSE:
  case FS_PL_NATURAL:
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, p->val[j]);
    break;
  case FS_PL_SPARSE:
    for (uint32_t i = 0; i < p->nnz; i++)
      put(op, y, acc, w, p->idx[i], p->val[i]);
    break;
  case FS_PL_RANDK: {
    expand_ctx c = {op, y, acc, w, p->val};
    fs__randk_sink sink = {emit_expand, &c, 0};
    fs__randk_visit(p->seed, dim, p->nnz, &sink);
    break;
  }
  case FS_PL_QSGD: {
    double f = (double)p->scale / p->levels;
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, (float)(f * p->codes[j]));
    break;
  }
  case FS_PL_SIGN:
    for (uint32_t j = 0; j < dim; j++)
      put(op, y, acc, w, j, p->scale * (float)p->codes[j]);
    break;
  case FS_PL_BLOCK8: {
    size_t nb = ((size_t)dim + p->block - 1) / p->block;
    for (size_t b = 0; b < nb; b++) {
      size_t lo = b * p->block, hi = lo + p->block < dim ? lo + p->block : dim;
      double f = (double)p->absmax[b] / 127.0;
      for (size_t j = lo; j < hi; j++)
        put(op, y, acc, w, (uint32_t)j, (float)(f * p->codes[j]));
    }
    break;
  }
  default:
    fs__comp_misuse("payload of unknown kind");
  }
}

void fs_payload_to_dense(const fs_payload *p, float *out) {
  expand(p, OP_DENSE, out, NULL, 0.0);
}

void fs_payload_axpy(const fs_payload *p, double w, double *acc) {
  expand(p, OP_AXPY, NULL, acc, w);
}

void fs_payload_add_to(const fs_payload *p, float *y) {
  expand(p, OP_ADD, y, NULL, 0.0);
}

void fs_payload_sub_from(const fs_payload *p, float *y) {
  expand(p, OP_SUB, y, NULL, 0.0);
}
