/*
 * test_payload.c — the wire encodings of compressed vectors
 * (proto/payload.h): round trips of every payload kind (dim 1, nnz 0,
 * nnz = dim, large dims), exact sizes against the formulas of
 * docs/wire-format.md, the choice of the cheapest SPARSE index coding, golden
 * bytes of whole UPDATE frames (a SPARSE one in each index coding and a QSGD
 * one), every rejection with its status and message, and a corruption sweep
 * (every byte of small valid bodies changed to every other value, every
 * truncation, a few extensions, random multi-byte damage) in which decoding
 * must give a status or a payload that re-encodes to exactly the bytes it
 * came from.
 *
 * Payload arrays are freed here with free() on each (proto/ does not link
 * compress/). Encoded bodies are copied into exactly sized heap blocks
 * before decoding, so an overread shows under valgrind:
 *   CK_FORK=no valgrind --leak-check=full build/tests/test_payload
 */
#include "fs_test.h"

#include "frame.h"
#include "fs_payload.h"
#include "fs_rng.h"
#include "fs_status.h"
#include "payload.h"
#include "wire.h"

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

static void pl_free(fs_payload *p) {
  free(p->idx);
  free(p->val);
  free(p->codes);
  free(p->absmax);
  memset(p, 0, sizeof *p);
}

static fs_payload pl_new(fs_payload_kind kind, uint32_t dim) {
  fs_payload p;
  memset(&p, 0, sizeof p);
  p.kind = kind;
  p.dim = dim;
  return p;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static unsigned varint_len(uint32_t v) {
  unsigned n = 1;
  for (; v >= 0x80; v >>= 7)
    n++;
  return n;
}

/* Bits of a QSGD code, computed the other way round from payload.c. */
static unsigned qsgd_bits(uint32_t s) {
  return (unsigned)ceil(log2(2.0 * s + 1.0));
}

static void mem_eq(const void *a, const void *b, size_t n) {
  if (n > 0)
    ck_assert_mem_eq(a, b, n);
}

/* a and b stand for the same payload, bit for bit. */
static void expect_same(const fs_payload *a, const fs_payload *b) {
  ck_assert_int_eq(a->kind, b->kind);
  ck_assert_uint_eq(a->dim, b->dim);
  size_t d = a->dim;
  switch (a->kind) {
  case FS_PL_DENSE:
  case FS_PL_NATURAL:
    mem_eq(a->val, b->val, d * sizeof(float));
    break;
  case FS_PL_SPARSE:
    ck_assert_uint_eq(a->nnz, b->nnz);
    mem_eq(a->idx, b->idx, a->nnz * sizeof(uint32_t));
    mem_eq(a->val, b->val, a->nnz * sizeof(float));
    break;
  case FS_PL_RANDK:
    ck_assert_uint_eq(a->nnz, b->nnz);
    ck_assert(a->seed == b->seed);
    mem_eq(a->val, b->val, a->nnz * sizeof(float));
    break;
  case FS_PL_QSGD:
    ck_assert_uint_eq(a->levels, b->levels);
    ck_assert_uint_eq(bits_of(a->scale), bits_of(b->scale));
    mem_eq(a->codes, b->codes, d);
    break;
  case FS_PL_SIGN:
    ck_assert_uint_eq(bits_of(a->scale), bits_of(b->scale));
    mem_eq(a->codes, b->codes, d);
    break;
  case FS_PL_BLOCK8:
    ck_assert_uint_eq(a->block, b->block);
    mem_eq(a->absmax, b->absmax, ceil_div(d, a->block) * sizeof(float));
    mem_eq(a->codes, b->codes, d);
    break;
  default: /* NONE, MASKED_U32: not a compressed payload */
    break;
  }
}

/* Encode p twice into guarded buffers (different fill bytes): the encoder
 * must write exactly fs_payload_encoded_size bytes, all of them, the same
 * each time. Returns them in an exactly sized heap block. */
static uint8_t *encode_exact(const fs_payload *p, size_t *len) {
  size_t n = fs_payload_encoded_size(p, NULL);
  uint8_t *g1 = xmalloc(n + 16), *g2 = xmalloc(n + 16);
  memset(g1, 0xa5, n + 16);
  memset(g2, 0x5a, n + 16);
  ck_assert_uint_eq(fs_payload_encode(p, g1), n);
  ck_assert_uint_eq(fs_payload_encode(p, g2), n);
  mem_eq(g1, g2, n);
  for (size_t i = n; i < n + 16; i++)
    ck_assert(g1[i] == 0xa5 && g2[i] == 0x5a);
  uint8_t *b = xmalloc(n);
  memcpy(b, g1, n);
  free(g1);
  free(g2);
  *len = n;
  return b;
}

/* Same with a given SPARSE index coding. */
static uint8_t *encode_sparse_exact(const fs_payload *p, fs_index_coding c,
                                    size_t *len) {
  size_t n = fs_payload_sparse_size(p, c);
  uint8_t *g = xmalloc(n + 16);
  memset(g, 0xa5, n + 16);
  ck_assert_uint_eq(fs_payload_encode_sparse(p, c, g), n);
  for (size_t i = n; i < n + 16; i++)
    ck_assert(g[i] == 0xa5);
  ck_assert_uint_eq(g[8], c);
  uint8_t *b = xmalloc(n);
  memcpy(b, g, n);
  free(g);
  *len = n;
  return b;
}

static fs_status decode(const uint8_t *buf, size_t len, fs_payload_kind enc,
                        uint32_t dim, fs_payload *q, fs_err *err) {
  uint8_t *b = xmalloc(len);
  if (len > 0)
    memcpy(b, buf, len);
  fs_status st = fs_payload_decode(b, len, enc, dim, q, err);
  free(b);
  return st;
}

/* Encode p, decode it (into a fresh payload and into one that already
 * holds other data), compare, re-encode to the same bytes; SPARSE also in
 * each index coding. */
static void roundtrip(const fs_payload *p) {
  size_t len;
  uint8_t *b = encode_exact(p, &len);
  fs_payload_kind enc = fs_payload_encoding(p->kind);
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  fs_err err = {0};
  fs_status st = decode(b, len, enc, p->dim, &q, &err);
  ck_assert_msg(st == FS_OK, "%s", err.msg);
  expect_same(p, &q);
  size_t len2;
  uint8_t *b2 = encode_exact(&q, &len2);
  ck_assert_uint_eq(len2, len);
  mem_eq(b2, b, len);
  st = decode(b, len, enc, p->dim, &q, &err); /* reuse q's arrays */
  ck_assert_msg(st == FS_OK, "%s", err.msg);
  expect_same(p, &q);
  free(b);
  free(b2);

  if (p->kind == FS_PL_SPARSE) {
    for (unsigned c = FS_IDX_RAW32; c <= FS_IDX_DELTA_VARINT; c++) {
      if (c == FS_IDX_BITMAP && p->dim > (UINT32_C(1) << 24))
        continue; /* a 2 MB+ bitmap: skip for huge dims */
      b = encode_sparse_exact(p, (fs_index_coding)c, &len);
      st = decode(b, len, FS_PL_SPARSE, p->dim, &q, &err);
      ck_assert_msg(st == FS_OK, "%s", err.msg);
      expect_same(p, &q);
      free(b);
    }
  }
  pl_free(&q);
}

/* ---- random payloads --------------------------------------------------- */

static fs_payload rand_dense(uint32_t dim, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_DENSE, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 1, 0);
  p.val = xmalloc(dim * sizeof(float));
  for (uint32_t j = 0; j < dim; j++)
    p.val[j] = (float)fs_rng_normal(&r);
  return p;
}

/* nnz distinct increasing indices of [0, dim) (selection sampling, O(dim)). */
static fs_payload rand_sparse(uint32_t dim, uint32_t nnz, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_SPARSE, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 2, 0);
  p.nnz = nnz;
  p.idx = xmalloc(nnz * sizeof(uint32_t));
  p.val = xmalloc(nnz * sizeof(float));
  uint32_t k = 0;
  for (uint32_t j = 0; j < dim && k < nnz; j++)
    if (fs_rng_below(&r, dim - j) < nnz - k)
      p.idx[k++] = j;
  ck_assert_uint_eq(k, nnz);
  for (uint32_t i = 0; i < nnz; i++)
    p.val[i] = (float)fs_rng_normal(&r);
  return p;
}

static fs_payload sparse_of(uint32_t dim, const uint32_t *idx, uint32_t nnz) {
  fs_payload p = pl_new(FS_PL_SPARSE, dim);
  p.nnz = nnz;
  p.idx = xmalloc(nnz * sizeof(uint32_t));
  p.val = xmalloc(nnz * sizeof(float));
  for (uint32_t i = 0; i < nnz; i++) {
    p.idx[i] = idx[i];
    p.val[i] = (float)i - 0.5f;
  }
  return p;
}

static fs_payload rand_randk(uint32_t dim, uint32_t nnz, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_RANDK, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 3, 0);
  p.nnz = nnz;
  p.seed = fs_rng_u64(&r);
  p.val = xmalloc(nnz * sizeof(float));
  for (uint32_t i = 0; i < nnz; i++)
    p.val[i] = (float)fs_rng_normal(&r);
  return p;
}

static fs_payload rand_qsgd(uint32_t dim, uint32_t s, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_QSGD, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 4, s);
  p.levels = s;
  p.scale = (float)fs_rng_uniform(&r) * 100.0f;
  p.codes = xmalloc(dim);
  for (uint32_t j = 0; j < dim; j++)
    p.codes[j] = (int8_t)((int32_t)fs_rng_below(&r, 2 * s + 1) - (int32_t)s);
  if (dim >= 2) { /* both extremes */
    p.codes[0] = (int8_t) - (int32_t)s;
    p.codes[dim - 1] = (int8_t)s;
  }
  return p;
}

static fs_payload rand_sign(uint32_t dim, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_SIGN, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 5, 0);
  p.scale = (float)fs_rng_uniform(&r);
  p.codes = xmalloc(dim);
  for (uint32_t j = 0; j < dim; j++)
    p.codes[j] = fs_rng_below(&r, 2) ? 1 : -1;
  return p;
}

/* Signed powers of two over the whole normal range, and zeros. */
static fs_payload rand_natural(uint32_t dim, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_NATURAL, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 6, 0);
  p.val = xmalloc(dim * sizeof(float));
  for (uint32_t j = 0; j < dim; j++) {
    uint32_t e = (uint32_t)fs_rng_below(&r, 255); /* 0 .. 254 */
    uint32_t sign = (uint32_t)fs_rng_below(&r, 2);
    p.val[j] = f32_from_bits(sign << 31 | e << 23);
  }
  return p;
}

static fs_payload rand_block8(uint32_t dim, uint32_t block, uint64_t seed) {
  fs_payload p = pl_new(FS_PL_BLOCK8, dim);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, 7, block);
  p.block = block;
  uint64_t nb = ceil_div(dim, block);
  p.absmax = xmalloc(nb * sizeof(float));
  p.codes = xmalloc(dim);
  for (uint64_t b = 0; b < nb; b++)
    p.absmax[b] = (float)fs_rng_uniform(&r) * 4.0f;
  for (uint32_t j = 0; j < dim; j++)
    p.codes[j] = (int8_t)((int32_t)fs_rng_below(&r, 255) - 127);
  return p;
}

static void roundtrip_free(fs_payload p) {
  roundtrip(&p);
  pl_free(&p);
}

/* ---- core: round trips ------------------------------------------------- */

START_TEST(encoding_of_kinds) {
  ck_assert_int_eq(fs_payload_encoding(FS_PL_DENSE), FS_PL_DENSE);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_SPARSE), FS_PL_SPARSE);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_RANDK), FS_PL_RANDK);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_QSGD), FS_PL_QSGD);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_SIGN), FS_PL_SIGN);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_NATURAL), FS_PL_NATURAL);
  ck_assert_int_eq(fs_payload_encoding(FS_PL_BLOCK8), FS_PL_BLOCK8);
}
END_TEST

START_TEST(roundtrip_dense) {
  const uint32_t dims[] = {0, 1, 2, 7, 1000, 235146};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    roundtrip_free(rand_dense(dims[i], 10 + i));
  /* Same bytes as fs_dense_encode. */
  fs_payload p = rand_dense(5, 1);
  size_t len;
  uint8_t *b = encode_exact(&p, &len), ref[4 + 4 * 5];
  fs_dense_encode(p.val, 5, ref);
  ck_assert_uint_eq(len, sizeof ref);
  ck_assert_mem_eq(b, ref, len);
  free(b);
  pl_free(&p);
}
END_TEST

START_TEST(roundtrip_sparse) {
  const struct {
    uint32_t dim, nnz;
  } c[] = {{0, 0},
           {1, 0},
           {1, 1},
           {2, 1},
           {8, 8},
           {9, 0},
           {9, 9},
           {100, 0},
           {100, 1},
           {100, 3},
           {100, 50},
           {100, 99},
           {100, 100},
           {1000, 10},
           {4096, 4096},
           {65537, 7},
           {235146, 2351},
           {1000000, 10000},
           {1000000, 1000000}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    roundtrip_free(rand_sparse(c[i].dim, c[i].nnz, 20 + i));
  /* Indices at the ends of the range, with 1- to 5-byte varints. */
  const uint32_t big[] = {
      0,       1,       127,       128,       16383,          16384,
      2097151, 2097152, 268435455, 268435456, UINT32_MAX - 2, UINT32_MAX - 1};
  roundtrip_free(sparse_of(UINT32_MAX, big, sizeof big / sizeof big[0]));
  const uint32_t last[] = {UINT32_MAX - 1};
  roundtrip_free(sparse_of(UINT32_MAX, last, 1));
  roundtrip_free(sparse_of(UINT32_MAX, NULL, 0));
  const uint32_t gaps[] = {0, 129, 16514, 16515}; /* gaps 128, 16384, 0 */
  roundtrip_free(sparse_of(20000, gaps, 4));
}
END_TEST

START_TEST(roundtrip_randk) {
  const struct {
    uint32_t dim, nnz;
  } c[] = {{0, 0}, {1, 0}, {1, 1}, {10, 3}, {100, 100}, {235146, 2351}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    roundtrip_free(rand_randk(c[i].dim, c[i].nnz, 30 + i));
  fs_payload p = rand_randk(5, 5, 3);
  p.seed = UINT64_MAX;
  roundtrip(&p);
  p.seed = 0;
  roundtrip(&p);
  pl_free(&p);
  /* dim large but nnz small: the body does not grow with dim. */
  p = rand_randk(UINT32_MAX, 4, 4);
  ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL), 16 + 16);
  roundtrip_free(p);
}
END_TEST

START_TEST(roundtrip_qsgd) {
  const uint32_t dims[] = {1, 2, 3, 13, 64, 1001};
  for (uint32_t s = 1; s <= 127; s++)
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
      roundtrip_free(rand_qsgd(dims[i], s, 40 + i));
  roundtrip_free(rand_qsgd(0, 3, 1));
  roundtrip_free(rand_qsgd(235146, 1, 2));
  roundtrip_free(rand_qsgd(235146, 127, 3));
  fs_payload p = rand_qsgd(10, 4, 5);
  const float scales[] = {0.0f, -0.0f, FLT_MIN, FLT_MAX, FLT_TRUE_MIN};
  for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
    p.scale = scales[i];
    roundtrip(&p);
  }
  pl_free(&p);
}
END_TEST

START_TEST(roundtrip_sign) {
  const uint32_t dims[] = {0, 1, 7, 8, 9, 15, 16, 17, 1000, 235146};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    roundtrip_free(rand_sign(dims[i], 50 + i));
  /* Bit 1 is +1, LSB first. */
  fs_payload p = pl_new(FS_PL_SIGN, 3);
  int8_t codes[3] = {1, -1, 1};
  p.codes = codes;
  p.scale = 1.0f;
  uint8_t b[9];
  ck_assert_uint_eq(fs_payload_encode(&p, b), 9);
  ck_assert_uint_eq(b[8], 0x05);
}
END_TEST

START_TEST(roundtrip_natural) {
  const uint32_t dims[] = {0, 1, 7, 8, 9, 1000, 235146};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    roundtrip_free(rand_natural(dims[i], 60 + i));
  /* Every exponent, both signs, in one payload. */
  fs_payload p = pl_new(FS_PL_NATURAL, 2 * 255);
  p.val = xmalloc(p.dim * sizeof(float));
  for (uint32_t e = 0; e < 255; e++) {
    p.val[2 * e] = f32_from_bits(e << 23);
    p.val[2 * e + 1] = f32_from_bits(0x80000000u | e << 23);
  }
  ck_assert(p.val[2 * 127] == 1.0f && p.val[2 * 1 + 1] == -FLT_MIN);
  roundtrip_free(p);
}
END_TEST

/* NATURAL keeps the sign and exponent field and drops the mantissa. */
START_TEST(natural_truncates) {
  const struct {
    float in, out;
  } c[] = {{3.0f, 2.0f},        {0.75f, 0.5f},        {-1.5f, -1.0f},
           {FLT_MAX, 0x1p127f}, {FLT_TRUE_MIN, 0.0f}, {1.0f, 1.0f}};
  size_t n = sizeof c / sizeof c[0];
  fs_payload p = pl_new(FS_PL_NATURAL, (uint32_t)n);
  p.val = xmalloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    p.val[i] = c[i].in;
  size_t len;
  uint8_t *b = encode_exact(&p, &len);
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  fs_err err = {0};
  ck_assert_int_eq(decode(b, len, FS_PL_NATURAL, (uint32_t)n, &q, &err), FS_OK);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(bits_of(q.val[i]), bits_of(c[i].out));
  /* A negative subnormal keeps its sign: -0. */
  p.val[0] = -FLT_TRUE_MIN;
  free(b);
  b = encode_exact(&p, &len);
  ck_assert_int_eq(decode(b, len, FS_PL_NATURAL, (uint32_t)n, &q, &err), FS_OK);
  ck_assert_uint_eq(bits_of(q.val[0]), 0x80000000u);
  /* NaN and Inf are sent as exponent 255, which the receiver rejects. */
  p.val[2] = NAN;
  free(b);
  b = encode_exact(&p, &len);
  ck_assert_int_eq(decode(b, len, FS_PL_NATURAL, (uint32_t)n, &q, &err),
                   FS_ENUMERIC);
  ck_assert_str_eq(err.msg,
                   "natural payload: entry 2 has exponent 255 (Inf or NaN)");
  free(b);
  pl_free(&p);
  pl_free(&q);
}
END_TEST

START_TEST(roundtrip_block8) {
  const struct {
    uint32_t dim, block;
  } c[] = {{0, 1},    {0, 64},      {1, 1},         {1, 64},        {10, 1},
           {10, 3},   {10, 10},     {10, 11},       {1000, 64},     {1000, 999},
           {1001, 8}, {235146, 64}, {235146, 4096}, {7, UINT32_MAX}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    roundtrip_free(rand_block8(c[i].dim, c[i].block, 70 + i));
  fs_payload p = rand_block8(6, 4, 1);
  p.codes[0] = -127;
  p.codes[1] = 127;
  p.absmax[1] = 0.0f;
  roundtrip_free(p);
}
END_TEST

/* ---- core: sizes ------------------------------------------------------- */

START_TEST(sizes_exact) {
  for (uint32_t d = 0; d < 70; d++) {
    fs_payload p = rand_dense(d, d);
    ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL), 4 + 4 * (size_t)d);
    pl_free(&p);

    p = rand_randk(d, d / 3, d);
    ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL), 16 + 4 * (d / 3));
    pl_free(&p);

    for (uint32_t s = 1; s <= 127; s += 9) {
      p = rand_qsgd(d, s, d);
      ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL),
                        9 + ceil_div((uint64_t)d * qsgd_bits(s), 8));
      pl_free(&p);
    }
    p = rand_sign(d, d);
    ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL), 8 + ceil_div(d, 8));
    pl_free(&p);

    p = rand_natural(d, d);
    ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL),
                      4 + ceil_div(9 * (uint64_t)d, 8));
    pl_free(&p);

    for (uint32_t blk = 1; blk < 20; blk += 3) {
      p = rand_block8(d, blk, d);
      ck_assert_uint_eq(fs_payload_encoded_size(&p, NULL),
                        8 + 4 * ceil_div(d, blk) + d);
      pl_free(&p);
    }

    p = rand_sparse(d, d / 2, d);
    uint64_t raw = 4 * (uint64_t)p.nnz, bm = ceil_div(d, 8), vi = 0;
    for (uint32_t i = 0; i < p.nnz; i++)
      vi += varint_len(i == 0 ? p.idx[0] : p.idx[i] - p.idx[i - 1] - 1);
    ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_RAW32),
                      9 + raw + 4 * p.nnz);
    ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_BITMAP),
                      9 + bm + 4 * p.nnz);
    ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_DELTA_VARINT),
                      9 + vi + 4 * p.nnz);
    pl_free(&p);
  }
  /* The qsgd code widths: 2 bits for s = 1, 8 bits for s = 64 .. 127. */
  ck_assert_uint_eq(qsgd_bits(1), 2);
  ck_assert_uint_eq(qsgd_bits(2), 3);
  ck_assert_uint_eq(qsgd_bits(63), 7);
  ck_assert_uint_eq(qsgd_bits(64), 8);
  ck_assert_uint_eq(qsgd_bits(127), 8);
  /* *coding is left alone for kinds other than SPARSE. */
  fs_payload p = rand_sign(3, 1);
  fs_index_coding c = (fs_index_coding)77;
  fs_payload_encoded_size(&p, &c);
  ck_assert_int_eq(c, 77);
  pl_free(&p);
}
END_TEST

/* The coding fs_payload_encode picks is the cheapest, ties going to RAW32,
 * then BITMAP. */
static fs_index_coding expect_cheapest(const fs_payload *p) {
  size_t s[3];
  for (unsigned c = 0; c < 3; c++)
    s[c] = fs_payload_sparse_size(p, (fs_index_coding)c);
  unsigned best = 0;
  for (unsigned c = 1; c < 3; c++)
    if (s[c] < s[best])
      best = c;
  fs_index_coding got = (fs_index_coding)77;
  ck_assert_uint_eq(fs_payload_encoded_size(p, &got), s[best]);
  ck_assert_int_eq(got, (int)best);
  size_t len;
  uint8_t *b = encode_exact(p, &len);
  ck_assert_uint_eq(b[8], best);
  free(b);
  return got;
}

START_TEST(coding_choice) {
  /* Half of the entries: the bitmap wins. */
  fs_payload p = rand_sparse(1000, 500, 1);
  ck_assert_int_eq(expect_cheapest(&p), FS_IDX_BITMAP);
  pl_free(&p);
  /* A few clustered indices in a large vector: varints win. */
  uint32_t idx[100];
  for (uint32_t i = 0; i < 100; i++)
    idx[i] = 500000 + i;
  p = sparse_of(1000000, idx, 100);
  ck_assert_int_eq(expect_cheapest(&p), FS_IDX_DELTA_VARINT);
  ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_DELTA_VARINT),
                    9 + 3 + 99 + 400);
  pl_free(&p);
  /* A few indices 2^31 apart: gaps take 5-byte varints, raw wins. */
  const uint32_t spread[] = {0x10000000u, 0x90000000u, 0xfffffff0u};
  p = sparse_of(UINT32_MAX, spread, 3);
  ck_assert_int_eq(expect_cheapest(&p), FS_IDX_RAW32);
  pl_free(&p);
  /* Ties: RAW32 over DELTA_VARINT (one 4-byte varint), BITMAP over
   * DELTA_VARINT (2 bytes each). */
  const uint32_t four[] = {1u << 21};
  p = sparse_of(1u << 22, four, 1);
  ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_RAW32),
                    fs_payload_sparse_size(&p, FS_IDX_DELTA_VARINT));
  ck_assert_int_eq(expect_cheapest(&p), FS_IDX_RAW32);
  pl_free(&p);
  const uint32_t two[] = {3, 9};
  p = sparse_of(16, two, 2);
  ck_assert_uint_eq(fs_payload_sparse_size(&p, FS_IDX_BITMAP),
                    fs_payload_sparse_size(&p, FS_IDX_DELTA_VARINT));
  ck_assert_int_eq(expect_cheapest(&p), FS_IDX_BITMAP);
  pl_free(&p);
  /* Random sizes and densities, spread over huge dims too. */
  fs_rng r;
  fs_rng_init(&r, 5, FS_RNG_TEST, 99, 0);
  int seen[3] = {0, 0, 0};
  for (int it = 0; it < 300; it++) {
    uint32_t dim = 1 + (uint32_t)fs_rng_below(&r, 5000);
    uint32_t nnz = (uint32_t)fs_rng_below(&r, dim + 1);
    p = rand_sparse(dim, nnz, (uint64_t)it);
    if (it % 3 == 0) { /* stretch the indices over a huge dim */
      uint32_t mult = 1 + (uint32_t)fs_rng_below(&r, UINT32_MAX / dim - 1);
      for (uint32_t i = 0; i < nnz; i++)
        p.idx[i] *= mult;
      p.dim = dim * mult;
      if (p.dim > (1u << 26) && nnz > 0) {
        seen[expect_cheapest(&p)]++;
        pl_free(&p);
        continue;
      }
    }
    seen[expect_cheapest(&p)]++;
    roundtrip(&p);
    pl_free(&p);
  }
  ck_assert(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
}
END_TEST

/* ---- core: golden frames ----------------------------------------------- */

/* UPDATE frames from client 5 in round 3 against model version 2, 600
 * samples, train_loss 0.5, carrying the SPARSE payload dim 10, indices
 * {1, 2, 7}, values {1.0, -2.5, 0.5} in each index coding. */
static const uint8_t golden_sparse_raw32[] = {
    0x46, 0x53, 0x49, 0x4d, 0x01, 0x02, 0x02, 0x00, /* FSIM v1 UPDATE SPARSE */
    0x03, 0x00, 0x00, 0x00,                         /* round 3 */
    0x05, 0x00, 0x00, 0x00,                         /* client 5 */
    0x02, 0x00, 0x00, 0x00,                         /* model version 2 */
    0x2d, 0x00, 0x00, 0x00,                         /* body length 45 */
    0x00, 0x00, 0x00, 0x00,                         /* reserved */
    0x58, 0x02, 0x00, 0x00,                         /* num_samples 600 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, /* train_loss 0.5 */
    0x0a, 0x00, 0x00, 0x00,                         /* dim 10 */
    0x03, 0x00, 0x00, 0x00,                         /* nnz 3 */
    0x00,                                           /* coding RAW32 */
    0x01, 0x00, 0x00, 0x00,                         /* index 1 */
    0x02, 0x00, 0x00, 0x00,                         /* index 2 */
    0x07, 0x00, 0x00, 0x00,                         /* index 7 */
    0x00, 0x00, 0x80, 0x3f,                         /* 1.0f */
    0x00, 0x00, 0x20, 0xc0,                         /* -2.5f */
    0x00, 0x00, 0x00, 0x3f,                         /* 0.5f */
};

static const uint8_t golden_sparse_bitmap[] = {
    0x46, 0x53, 0x49, 0x4d, 0x01, 0x02, 0x02, 0x00, /* FSIM v1 UPDATE SPARSE */
    0x03, 0x00, 0x00, 0x00,                         /* round 3 */
    0x05, 0x00, 0x00, 0x00,                         /* client 5 */
    0x02, 0x00, 0x00, 0x00,                         /* model version 2 */
    0x23, 0x00, 0x00, 0x00,                         /* body length 35 */
    0x00, 0x00, 0x00, 0x00,                         /* reserved */
    0x58, 0x02, 0x00, 0x00,                         /* num_samples 600 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, /* train_loss 0.5 */
    0x0a, 0x00, 0x00, 0x00,                         /* dim 10 */
    0x03, 0x00, 0x00, 0x00,                         /* nnz 3 */
    0x01,                                           /* coding BITMAP */
    0x86, 0x00,             /* bits 1, 2, 7 (LSB first); bits 8, 9 clear */
    0x00, 0x00, 0x80, 0x3f, /* 1.0f */
    0x00, 0x00, 0x20, 0xc0, /* -2.5f */
    0x00, 0x00, 0x00, 0x3f, /* 0.5f */
};

static const uint8_t golden_sparse_varint[] = {
    0x46, 0x53, 0x49, 0x4d, 0x01, 0x02, 0x02, 0x00, /* FSIM v1 UPDATE SPARSE */
    0x03, 0x00, 0x00, 0x00,                         /* round 3 */
    0x05, 0x00, 0x00, 0x00,                         /* client 5 */
    0x02, 0x00, 0x00, 0x00,                         /* model version 2 */
    0x24, 0x00, 0x00, 0x00,                         /* body length 36 */
    0x00, 0x00, 0x00, 0x00,                         /* reserved */
    0x58, 0x02, 0x00, 0x00,                         /* num_samples 600 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, /* train_loss 0.5 */
    0x0a, 0x00, 0x00, 0x00,                         /* dim 10 */
    0x03, 0x00, 0x00, 0x00,                         /* nnz 3 */
    0x02,                                           /* coding DELTA_VARINT */
    0x01, 0x00, 0x04,       /* 1, then gaps 2-1-1 = 0, 7-2-1 = 4 */
    0x00, 0x00, 0x80, 0x3f, /* 1.0f */
    0x00, 0x00, 0x20, 0xc0, /* -2.5f */
    0x00, 0x00, 0x00, 0x3f, /* 0.5f */
};

/* The same frame header and meta with a QSGD payload: dim 5, s = 2 (3-bit
 * fields), scale 2.0, codes {-2, -1, 0, 1, 2} sent as {0, 1, 2, 3, 4}. */
static const uint8_t golden_qsgd[] = {
    0x46, 0x53, 0x49, 0x4d, 0x01, 0x02, 0x04, 0x00, /* FSIM v1 UPDATE QSGD */
    0x03, 0x00, 0x00, 0x00,                         /* round 3 */
    0x05, 0x00, 0x00, 0x00,                         /* client 5 */
    0x02, 0x00, 0x00, 0x00,                         /* model version 2 */
    0x17, 0x00, 0x00, 0x00,                         /* body length 23 */
    0x00, 0x00, 0x00, 0x00,                         /* reserved */
    0x58, 0x02, 0x00, 0x00,                         /* num_samples 600 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, /* train_loss 0.5 */
    0x05, 0x00, 0x00, 0x00,                         /* dim 5 */
    0x02,                                           /* levels 2 */
    0x00, 0x00, 0x00, 0x40,                         /* scale 2.0f */
    0x88, 0x46, /* 0x4688 = 0 100 011 010 001 000: fields 4..0, padding 0 */
};

static const uint32_t golden_idx[3] = {1, 2, 7};
static const float golden_val[3] = {1.0f, -2.5f, 0.5f};

static fs_payload golden_sparse(void) {
  fs_payload p = pl_new(FS_PL_SPARSE, 10);
  p.nnz = 3;
  p.idx = (uint32_t *)golden_idx;
  p.val = (float *)golden_val;
  return p;
}

static fs_payload golden_qsgd_payload(int8_t *codes) {
  fs_payload p = pl_new(FS_PL_QSGD, 5);
  p.levels = 2;
  p.scale = 2.0f;
  for (int j = 0; j < 5; j++)
    codes[j] = (int8_t)(j - 2);
  p.codes = codes;
  return p;
}

/* Build the UPDATE frame around a body written by write(p) and compare it
 * with want; then decode want the way a receiver does and compare the
 * payload with p. */
static void check_golden(const uint8_t *want, size_t want_len,
                         const fs_payload *p, fs_index_coding coding) {
  uint8_t out[128];
  size_t body = p->kind == FS_PL_SPARSE ? fs_payload_sparse_size(p, coding)
                                        : fs_payload_encoded_size(p, NULL);
  ck_assert_uint_eq(FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES + body,
                    want_len);
  fs_frame_header h = {FS_MSG_UPDATE,
                       (uint8_t)fs_payload_encoding(p->kind),
                       0,
                       3,
                       5,
                       2,
                       (uint32_t)(FS_UPDATE_META_BYTES + body)};
  fs_update_meta m = {600, 0.5};
  fs_frame_header_encode(&h, out);
  fs_update_meta_encode(&m, out + FS_FRAME_HEADER_BYTES);
  uint8_t *pb = out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES;
  if (p->kind == FS_PL_SPARSE)
    fs_payload_encode_sparse(p, coding, pb);
  else
    fs_payload_encode(p, pb);
  ck_assert_mem_eq(out, want, want_len);

  fs_frame_header hd;
  fs_update_meta md;
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  fs_err err = {0};
  ck_assert_int_eq(fs_frame_header_decode(want, want_len, &hd, &err), FS_OK);
  const uint8_t *b = want + FS_FRAME_HEADER_BYTES;
  ck_assert_int_eq(fs_update_meta_decode(b, hd.body_len, &md, &err), FS_OK);
  ck_assert_int_eq(decode(b + FS_UPDATE_META_BYTES,
                          hd.body_len - FS_UPDATE_META_BYTES,
                          (fs_payload_kind)hd.encoding, p->dim, &q, &err),
                   FS_OK);
  ck_assert_uint_eq(md.num_samples, 600);
  expect_same(p, &q);
  pl_free(&q);
}

START_TEST(golden_frames) {
  fs_payload p = golden_sparse();
  check_golden(golden_sparse_raw32, sizeof golden_sparse_raw32, &p,
               FS_IDX_RAW32);
  check_golden(golden_sparse_bitmap, sizeof golden_sparse_bitmap, &p,
               FS_IDX_BITMAP);
  check_golden(golden_sparse_varint, sizeof golden_sparse_varint, &p,
               FS_IDX_DELTA_VARINT);
  /* The encoder picks the bitmap here (2 bytes, against 3 and 12). */
  fs_index_coding c;
  ck_assert_uint_eq(fs_payload_encoded_size(&p, &c), 23);
  ck_assert_int_eq(c, FS_IDX_BITMAP);
  uint8_t body[23];
  ck_assert_uint_eq(fs_payload_encode(&p, body), 23);
  ck_assert_mem_eq(body, golden_sparse_bitmap + 40, 23);

  int8_t codes[5];
  fs_payload qp = golden_qsgd_payload(codes);
  check_golden(golden_qsgd, sizeof golden_qsgd, &qp, FS_IDX_RAW32);
}
END_TEST

/* Bodies the encoder writes in RAW32 and in DELTA_VARINT on its own. */
START_TEST(golden_auto_codings) {
  const uint32_t one[] = {0x30000000u}; /* a 5-byte varint: raw is cheaper */
  fs_payload p = sparse_of(0x40000000u, one, 1);
  p.val[0] = 1.0f;
  const uint8_t raw[] = {0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x80, 0x3f};
  size_t len;
  uint8_t *b = encode_exact(&p, &len);
  ck_assert_uint_eq(len, sizeof raw);
  ck_assert_mem_eq(b, raw, len);
  free(b);
  pl_free(&p);

  const uint32_t three[] = {500, 501, 502};
  p = sparse_of(1000, three, 3);
  p.val[0] = 1.0f;
  p.val[1] = -2.5f;
  p.val[2] = 0.5f;
  const uint8_t vi[] = {0xe8, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00,
                        0x00, 0x02, 0xf4, 0x03, 0x00, 0x00, /* 500, 0, 0 */
                        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20,
                        0xc0, 0x00, 0x00, 0x00, 0x3f};
  b = encode_exact(&p, &len);
  ck_assert_uint_eq(len, sizeof vi);
  ck_assert_mem_eq(b, vi, len);
  free(b);
  pl_free(&p);
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

/* A claimed huge dim or nnz with a few bytes: a status, no allocation. */
START_TEST(huge_claims_allocate_nothing) {
  const struct {
    fs_payload_kind enc;
    uint8_t body[24];
    size_t len;
    const char *msg;
  } c[] = {
      {FS_PL_DENSE,
       {0xff, 0xff, 0xff, 0xff},
       8,
       "dense vector: count 4294967295 needs 17179869184 bytes but 8 are "
       "present"},
      {FS_PL_SPARSE,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0},
       24,
       "sparse payload: nnz 4294967295 with RAW32 indices needs 34359738369 "
       "bytes but 24 are present"},
      {FS_PL_SPARSE,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1},
       24,
       "sparse payload: nnz 4294967295 with BITMAP indices needs "
       "17716740101 bytes but 24 are present"},
      {FS_PL_SPARSE,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2},
       24,
       "sparse payload: nnz 4294967295 with DELTA_VARINT indices needs at "
       "least 21474836484 bytes but 24 are present"},
      {FS_PL_RANDK,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
       24,
       "randk payload: nnz 4294967295 needs 17179869196 bytes but 24 are "
       "present"},
      {FS_PL_QSGD,
       {0xff, 0xff, 0xff, 0xff, 127},
       24,
       "qsgd payload: dim 4294967295 at 8 bits a code needs 4294967304 bytes "
       "but 24 are present"},
      {FS_PL_SIGN,
       {0xff, 0xff, 0xff, 0xff},
       24,
       "sign payload: dim 4294967295 needs 536870920 bytes but 24 are "
       "present"},
      {FS_PL_NATURAL,
       {0xff, 0xff, 0xff, 0xff},
       24,
       "natural payload: dim 4294967295 needs 4831838211 bytes but 24 are "
       "present"},
      {FS_PL_BLOCK8,
       {0xff, 0xff, 0xff, 0xff, 1},
       24,
       "block8 payload: dim 4294967295 in blocks of 1 needs 21474836483 "
       "bytes but 24 are present"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    fs_payload q = pl_new(FS_PL_DENSE, 0);
    fs_err err = {0};
    ck_assert_int_eq(
        decode(c[i].body, c[i].len, c[i].enc, UINT32_MAX, &q, &err), FS_ETRUNC);
    ck_assert_str_eq(err.msg, c[i].msg);
    ck_assert(q.idx == NULL && q.val == NULL && q.codes == NULL &&
              q.absmax == NULL);
    ck_assert(q.cap_idx == 0 && q.cap_val == 0 && q.cap_codes == 0 &&
              q.cap_absmax == 0);
  }
}
END_TEST

/* One payload decoded into again and again: arrays grow, never shrink, and
 * fields a kind does not use read 0. */
START_TEST(decode_reuses_arrays) {
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  fs_err err = {0};
  fs_payload big = rand_sparse(5000, 4000, 1), small = rand_sparse(5000, 3, 2);
  size_t lb, ls;
  uint8_t *bb = encode_exact(&big, &lb), *bs = encode_exact(&small, &ls);
  ck_assert_int_eq(decode(bb, lb, FS_PL_SPARSE, 5000, &q, &err), FS_OK);
  uint32_t *idx = q.idx;
  ck_assert_uint_ge(q.cap_idx, 4000);
  ck_assert_int_eq(decode(bs, ls, FS_PL_SPARSE, 5000, &q, &err), FS_OK);
  expect_same(&small, &q);
  ck_assert_ptr_eq(q.idx, idx);
  ck_assert_uint_ge(q.cap_idx, 4000);
  ck_assert_int_eq(decode(bb, lb, FS_PL_SPARSE, 5000, &q, &err), FS_OK);
  expect_same(&big, &q);
  free(bb);
  free(bs);
  pl_free(&big);
  pl_free(&small);

  fs_payload r = rand_randk(100, 10, 3);
  size_t lr;
  uint8_t *br = encode_exact(&r, &lr);
  ck_assert_int_eq(decode(br, lr, FS_PL_RANDK, 100, &q, &err), FS_OK);
  expect_same(&r, &q);
  fs_payload s = rand_qsgd(100, 5, 4);
  size_t lq;
  uint8_t *bq = encode_exact(&s, &lq);
  ck_assert_int_eq(decode(bq, lq, FS_PL_QSGD, 100, &q, &err), FS_OK);
  expect_same(&s, &q);
  ck_assert(q.nnz == 0 && q.seed == 0 && q.block == 0);
  ck_assert_int_eq(decode(br, lr, FS_PL_RANDK, 100, &q, &err), FS_OK);
  ck_assert(q.levels == 0 && q.scale == 0.0f && q.nnz == 10);
  /* A failure leaves the scalars as they were. */
  ck_assert_int_eq(decode(bq, lq - 1, FS_PL_QSGD, 100, &q, &err), FS_ETRUNC);
  ck_assert_int_eq(q.kind, FS_PL_RANDK);
  ck_assert(q.nnz == 10 && q.seed == r.seed && q.levels == 0);
  free(br);
  free(bq);
  pl_free(&r);
  pl_free(&s);
  pl_free(&q);
}
END_TEST

/* Everything a decoded payload promises. */
static void expect_valid(const fs_payload *q, fs_payload_kind enc,
                         uint32_t dim) {
  ck_assert_int_eq(fs_payload_encoding(q->kind), enc);
  ck_assert_uint_eq(q->dim, dim);
  switch (q->kind) {
  case FS_PL_DENSE:
    for (uint32_t j = 0; j < dim; j++)
      ck_assert(isfinite(q->val[j]));
    break;
  case FS_PL_SPARSE:
    ck_assert_uint_le(q->nnz, dim);
    for (uint32_t i = 0; i < q->nnz; i++) {
      ck_assert_uint_lt(q->idx[i], dim);
      ck_assert(i == 0 || q->idx[i] > q->idx[i - 1]);
      ck_assert(isfinite(q->val[i]));
    }
    break;
  case FS_PL_RANDK:
    ck_assert_uint_le(q->nnz, dim);
    for (uint32_t i = 0; i < q->nnz; i++)
      ck_assert(isfinite(q->val[i]));
    break;
  case FS_PL_QSGD:
    ck_assert(q->levels >= 1 && q->levels <= 127);
    ck_assert(isfinite(q->scale) && q->scale >= 0);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert(abs(q->codes[j]) <= (int)q->levels);
    break;
  case FS_PL_SIGN:
    ck_assert(isfinite(q->scale) && q->scale >= 0);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert(q->codes[j] == 1 || q->codes[j] == -1);
    break;
  case FS_PL_NATURAL:
    for (uint32_t j = 0; j < dim; j++) {
      uint32_t u = bits_of(q->val[j]);
      ck_assert(isfinite(q->val[j]) && (u & 0x007fffffu) == 0);
    }
    break;
  case FS_PL_BLOCK8:
    ck_assert_uint_ge(q->block, 1);
    for (uint64_t b = 0; b < ceil_div(dim, q->block); b++)
      ck_assert(isfinite(q->absmax[b]) && q->absmax[b] >= 0);
    for (uint32_t j = 0; j < dim; j++)
      ck_assert(q->codes[j] != INT8_MIN);
    break;
  default: /* NONE, MASKED_U32: not a compressed payload */
    break;
  }
}

/* Decode len bytes of src into q (reused across calls): a status with a
 * message and q's scalars untouched, or a valid payload that re-encodes to
 * exactly src (SPARSE in the coding named by the body). */
static fs_status check_one(const uint8_t *src, size_t len, fs_payload_kind enc,
                           uint32_t dim, fs_payload *q) {
  fs_payload before = *q;
  fs_err err = {0};
  fs_status st = decode(src, len, enc, dim, q, &err);
  if (st != FS_OK) {
    ck_assert_msg(st == FS_EFORMAT || st == FS_ETRUNC || st == FS_ENUMERIC,
                  "status %d", (int)st);
    ck_assert_int_eq(err.status, st);
    ck_assert_uint_gt(strlen(err.msg), 0);
    ck_assert(q->kind == before.kind && q->dim == before.dim &&
              q->nnz == before.nnz && q->levels == before.levels &&
              q->block == before.block && q->seed == before.seed &&
              bits_of(q->scale) == bits_of(before.scale));
    return st;
  }
  expect_valid(q, enc, dim);
  size_t n = enc == FS_PL_SPARSE
                 ? fs_payload_sparse_size(q, (fs_index_coding)src[8])
                 : fs_payload_encoded_size(q, NULL);
  ck_assert_uint_eq(n, len);
  uint8_t *again = xmalloc(n);
  if (enc == FS_PL_SPARSE)
    fs_payload_encode_sparse(q, (fs_index_coding)src[8], again);
  else
    fs_payload_encode(q, again);
  mem_eq(again, src, len);
  free(again);
  return st;
}

typedef struct {
  fs_payload_kind enc;
  uint32_t dim;
  uint8_t *bytes;
  size_t len;
} sample;

/* Small valid bodies of every kind and index coding. */
static size_t make_samples(sample *s) {
  size_t n = 0;
  fs_payload p;
#define ADD(payload)                                                           \
  do {                                                                         \
    p = (payload);                                                             \
    s[n].enc = fs_payload_encoding(p.kind);                                    \
    s[n].dim = p.dim;                                                          \
    s[n].bytes = encode_exact(&p, &s[n].len);                                  \
    n++;                                                                       \
    pl_free(&p);                                                               \
  } while (0)
  ADD(rand_dense(3, 1));
  ADD(rand_randk(10, 3, 2));
  ADD(rand_qsgd(5, 2, 3));
  ADD(rand_qsgd(9, 1, 4));   /* 2-bit fields, padding */
  ADD(rand_qsgd(7, 127, 5)); /* 8-bit fields */
  ADD(rand_sign(11, 6));
  ADD(rand_natural(5, 7));
  ADD(rand_block8(7, 3, 8));
  ADD(rand_block8(5, 1, 9));
#undef ADD
  const uint32_t multi[] = {5, 300, 999}; /* 1- and 2-byte varints */
  fs_payload sp[] = {golden_sparse(), sparse_of(1000, multi, 3),
                     sparse_of(13, multi, 1)};
  for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++)
    for (unsigned c = 0; c < 3; c++) {
      s[n].enc = FS_PL_SPARSE;
      s[n].dim = sp[k].dim;
      s[n].bytes = encode_sparse_exact(&sp[k], (fs_index_coding)c, &s[n].len);
      n++;
    }
  pl_free(&sp[1]);
  pl_free(&sp[2]);
  return n;
}

/* Every single-byte change of each sample (all 255 other values), every
 * truncation and a few extensions. */
START_TEST(corrupt_sweep) {
  sample s[32];
  size_t ns = make_samples(s);
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  for (size_t k = 0; k < ns; k++) {
    size_t len = s[k].len;
    ck_assert_int_eq(check_one(s[k].bytes, len, s[k].enc, s[k].dim, &q), FS_OK);
    uint8_t *work = xmalloc(len + 8);
    size_t ok = 0;
    for (size_t i = 0; i < len; i++)
      for (unsigned x = 1; x < 256; x++) {
        memcpy(work, s[k].bytes, len);
        work[i] ^= (uint8_t)x;
        ok += check_one(work, len, s[k].enc, s[k].dim, &q) == FS_OK;
      }
    ck_assert_uint_gt(ok, 0); /* changed values decode */
    for (size_t cut = 0; cut < len; cut++)
      ck_assert_int_ne(check_one(s[k].bytes, cut, s[k].enc, s[k].dim, &q),
                       FS_OK);
    for (size_t extra = 1; extra <= 8; extra++) {
      memcpy(work, s[k].bytes, len);
      memset(work + len, 0, extra);
      ck_assert_int_eq(check_one(work, len + extra, s[k].enc, s[k].dim, &q),
                       FS_EFORMAT);
    }
    /* The body read as every other encoding, and with another dim. */
    for (unsigned e = 0; e < 10; e++)
      check_one(s[k].bytes, len, (fs_payload_kind)e, s[k].dim, &q);
    ck_assert_int_eq(check_one(s[k].bytes, len, s[k].enc, s[k].dim + 1, &q),
                     FS_EFORMAT);
    free(work);
    free(s[k].bytes);
  }
  pl_free(&q);
}
END_TEST

/* Random multi-byte corruption and lengths (deterministic stream). */
START_TEST(corrupt_random) {
  sample s[32];
  size_t ns = make_samples(s);
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  fs_rng r;
  fs_rng_init(&r, 2024, FS_RNG_TEST, 78, 0);
  for (size_t k = 0; k < ns; k++) {
    size_t len = s[k].len;
    uint8_t *work = xmalloc(len + 4);
    for (int it = 0; it < 4000; it++) {
      memcpy(work, s[k].bytes, len);
      memset(work + len, 0, 4);
      unsigned flips = 1 + (unsigned)fs_rng_below(&r, 6);
      for (unsigned f = 0; f < flips; f++)
        work[fs_rng_below(&r, len)] = (uint8_t)fs_rng_u32(&r);
      size_t cut = it % 2 ? len : (size_t)fs_rng_below(&r, len + 5);
      check_one(work, cut, s[k].enc, s[k].dim, &q);
    }
    free(work);
    free(s[k].bytes);
  }
  pl_free(&q);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

/* A little body builder. */
typedef struct {
  uint8_t b[256];
  size_t n;
} bytes;

static void put8(bytes *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put32(bytes *x, uint32_t v) {
  fs_put_u32(x->b + x->n, v);
  x->n += 4;
}
static void put64(bytes *x, uint64_t v) {
  fs_put_u64(x->b + x->n, v);
  x->n += 8;
}
static void putf(bytes *x, float f) { put32(x, bits_of(f)); }

/* Decode and expect st with message msg (exact unless NULL); on failure the
 * payload's scalar fields must be left alone. A NULL err gives the same
 * status. (Also used with FS_OK for the valid neighbours of bad bodies.) */
static void expect_error(const uint8_t *buf, size_t len, fs_payload_kind enc,
                         uint32_t dim, fs_status st, const char *msg) {
  fs_payload q = pl_new(FS_PL_SIGN, 77);
  q.nnz = q.levels = q.block = 77;
  q.seed = 77;
  q.scale = 7.0f;
  fs_err err = {0};
  ck_assert_int_eq(decode(buf, len, enc, dim, &q, &err), st);
  ck_assert_int_eq(err.status, st);
  if (msg != NULL)
    ck_assert_str_eq(err.msg, msg);
  if (st != FS_OK)
    ck_assert(q.kind == FS_PL_SIGN && q.dim == 77 && q.nnz == 77 &&
              q.levels == 77 && q.block == 77 && q.seed == 77 &&
              q.scale == 7.0f);
  ck_assert_int_eq(decode(buf, len, enc, dim, &q, NULL), st);
  pl_free(&q);
}

static void expect_error_b(const bytes *x, fs_payload_kind enc, uint32_t dim,
                           fs_status st, const char *msg) {
  expect_error(x->b, x->n, enc, dim, st, msg);
}

START_TEST(err_encoding) {
  uint8_t b[8] = {0};
  expect_error(b, 8, FS_PL_NONE, 0, FS_EFORMAT,
               "payload: encoding 0 (NONE) carries no vector");
  expect_error(b, 8, (fs_payload_kind)9, 0, FS_EFORMAT,
               "payload: encoding 9 (unknown) carries no vector");
  expect_error(b, 8, FS_PL_MASKED_U32, 0, FS_EFORMAT,
               "payload: encoding 8 (MASKED_U32) carries no vector");
  expect_error(b, 8, (fs_payload_kind)255, 0, FS_EFORMAT,
               "payload: encoding 255 (unknown) carries no vector");
}
END_TEST

/* Too short for the fixed head, and a dim other than the expected one. */
START_TEST(err_head) {
  const struct {
    fs_payload_kind enc;
    size_t head;
    const char *name, *fields;
  } c[] = {
      {FS_PL_SPARSE, 9, "sparse", "dim, nnz, index coding"},
      {FS_PL_RANDK, 16, "randk", "dim, nnz, seed"},
      {FS_PL_QSGD, 9, "qsgd", "dim, levels, scale"},
      {FS_PL_SIGN, 8, "sign", "dim, scale"},
      {FS_PL_NATURAL, 4, "natural", "dim"},
      {FS_PL_BLOCK8, 8, "block8", "dim, block"},
  };
  uint8_t b[16] = {12, 0, 0, 0};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    char want[128];
    for (size_t len = 0; len < c[i].head; len++) {
      snprintf(want, sizeof want,
               "%s payload: %zu bytes, too short for the %zu-byte header "
               "(%s)",
               c[i].name, len, c[i].head, c[i].fields);
      expect_error(b, len, c[i].enc, 12, FS_ETRUNC, want);
    }
    snprintf(want, sizeof want, "%s payload: dim 12 but expected 10",
             c[i].name);
    expect_error(b, c[i].head, c[i].enc, 10, FS_EFORMAT, want);
  }
  /* DENSE_F32 bodies give fs_dense_decode's messages. */
  expect_error(b, 2, FS_PL_DENSE, 12, FS_ETRUNC,
               "dense vector: 2 bytes, too short for the 4-byte count");
  expect_error(b, 4, FS_PL_DENSE, 10, FS_EFORMAT,
               "dense vector: count 12 but expected 10");
  expect_error(b, 16, FS_PL_DENSE, 12, FS_ETRUNC,
               "dense vector: count 12 needs 52 bytes but 16 are present");
}
END_TEST

START_TEST(err_dense_values) {
  bytes x = {{0}, 0};
  put32(&x, 3);
  putf(&x, 1.0f);
  put32(&x, 0x7fc00000u);
  putf(&x, 2.0f);
  expect_error_b(&x, FS_PL_DENSE, 3, FS_ENUMERIC,
                 "dense vector: entry 1 is NaN");
  x.n = 0;
  put32(&x, 1);
  putf(&x, 1.0f);
  put32(&x, 0);
  expect_error_b(&x, FS_PL_DENSE, 1, FS_EFORMAT,
                 "dense vector: count 1 needs 8 bytes but 12 are present");
}
END_TEST

/* A SPARSE head: dim, nnz, coding. */
static bytes sparse_head(uint32_t dim, uint32_t nnz, unsigned coding) {
  bytes x = {{0}, 0};
  put32(&x, dim);
  put32(&x, nnz);
  put8(&x, coding);
  return x;
}

static void put_values(bytes *x, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    putf(x, (float)i);
}

START_TEST(err_sparse_head) {
  bytes x = sparse_head(10, 11, 0);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: nnz 11 exceeds dim 10");
  x = sparse_head(10, 0, 3);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: unknown index coding 3");
  x = sparse_head(10, 0, 255);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: unknown index coding 255");
  /* nnz 0 in each coding: only the bitmap takes bytes. */
  x = sparse_head(10, 0, 0);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_OK, NULL);
  x = sparse_head(10, 0, 2);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_OK, NULL);
  x = sparse_head(10, 0, 1);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_ETRUNC,
                 "sparse payload: nnz 0 with BITMAP indices needs 11 bytes "
                 "but 9 are present");
}
END_TEST

START_TEST(err_sparse_lengths) {
  /* The golden bodies, one byte short and one byte long. */
  const struct {
    const uint8_t *frame;
    size_t len;
    const char *shortm, *longm;
  } c[] = {
      {golden_sparse_raw32, sizeof golden_sparse_raw32,
       "sparse payload: nnz 3 with RAW32 indices needs 33 bytes but 32 are "
       "present",
       "sparse payload: nnz 3 with RAW32 indices needs 33 bytes but 34 are "
       "present"},
      {golden_sparse_bitmap, sizeof golden_sparse_bitmap,
       "sparse payload: nnz 3 with BITMAP indices needs 23 bytes but 22 are "
       "present",
       "sparse payload: nnz 3 with BITMAP indices needs 23 bytes but 24 are "
       "present"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    uint8_t b[64] = {0};
    size_t n = c[i].len - 40;
    memcpy(b, c[i].frame + 40, n);
    expect_error(b, n - 1, FS_PL_SPARSE, 10, FS_ETRUNC, c[i].shortm);
    expect_error(b, n + 1, FS_PL_SPARSE, 10, FS_EFORMAT, c[i].longm);
  }
  /* DELTA_VARINT: between 1 and 5 bytes an index. */
  bytes x = sparse_head(10, 3, 2);
  put8(&x, 1);
  put8(&x, 0);
  put_values(&x, 3);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_ETRUNC,
                 "sparse payload: nnz 3 with DELTA_VARINT indices needs at "
                 "least 24 bytes but 23 are present");
  x = sparse_head(10, 1, 2);
  for (int i = 0; i < 6; i++)
    put8(&x, 0);
  put_values(&x, 1);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: nnz 1 with DELTA_VARINT indices needs at "
                 "most 18 bytes but 19 are present");
  /* Bytes left between the varints and the values. */
  x = sparse_head(10, 1, 2);
  put8(&x, 5);
  put8(&x, 0);
  put8(&x, 0);
  put_values(&x, 1);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: nnz 1 with DELTA_VARINT indices (1 index "
                 "bytes) needs 14 bytes but 16 are present");
}
END_TEST

START_TEST(err_sparse_raw32) {
  const struct {
    uint32_t idx[3];
    const char *msg;
  } c[] = {
      {{1, 2, 10}, "sparse payload: entry 2 has index 10, not below dim 10"},
      {{UINT32_MAX, 2, 3},
       "sparse payload: entry 0 has index 4294967295, not below dim 10"},
      {{1, 1, 7},
       "sparse payload: entry 1 has index 1, not above the previous 1"},
      {{5, 2, 7},
       "sparse payload: entry 1 has index 2, not above the previous 5"},
      {{1, 8, 7},
       "sparse payload: entry 2 has index 7, not above the previous 8"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    bytes x = sparse_head(10, 3, 0);
    for (int k = 0; k < 3; k++)
      put32(&x, c[i].idx[k]);
    put_values(&x, 3);
    expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT, c[i].msg);
  }
}
END_TEST

START_TEST(err_sparse_bitmap) {
  bytes x = sparse_head(10, 3, 1);
  put8(&x, 0x86);
  put8(&x, 0x04); /* bit 10 */
  put_values(&x, 3);
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: bitmap bits set beyond dim 10 (last byte "
                 "0x04)");
  x.b[10] = 0x80; /* bit 15 */
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: bitmap bits set beyond dim 10 (last byte "
                 "0x80)");
  x.b[10] = 0x02; /* bit 9: four bits set */
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: bitmap has 4 bits set but nnz is 3");
  x.b[9] = 0x00;
  expect_error_b(&x, FS_PL_SPARSE, 10, FS_EFORMAT,
                 "sparse payload: bitmap has 1 bits set but nnz is 3");
  /* dim a multiple of 8: no padding bits to check. */
  x = sparse_head(16, 16, 1);
  put8(&x, 0xff);
  put8(&x, 0xff);
  put_values(&x, 16);
  expect_error_b(&x, FS_PL_SPARSE, 16, FS_OK, NULL);
}
END_TEST

START_TEST(err_sparse_varint) {
  const struct {
    uint8_t v[8];
    size_t n;
    uint32_t nnz;
    fs_status st;
    const char *msg;
  } c[] = {
      {{0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00},
       7,
       2,
       FS_EFORMAT,
       "sparse payload: entry 0: varint longer than 5 bytes"},
      {{0xff, 0xff, 0xff, 0xff, 0x10},
       5,
       1,
       FS_EFORMAT,
       "sparse payload: entry 0: varint overflows 32 bits"},
      {{0x01, 0xff, 0xff, 0xff, 0xff, 0x7f},
       6,
       2,
       FS_EFORMAT,
       "sparse payload: entry 1: varint overflows 32 bits"},
      {{0x80, 0x00},
       2,
       1,
       FS_EFORMAT,
       "sparse payload: entry 0: varint has a redundant zero byte"},
      {{0x01, 0x85, 0x80, 0x00},
       4,
       2,
       FS_EFORMAT,
       "sparse payload: entry 1: varint has a redundant zero byte"},
      {{0x81, 0x81},
       2,
       2,
       FS_ETRUNC,
       "sparse payload: entry 0: varint truncated"},
      {{0x01, 0x81},
       2,
       2,
       FS_ETRUNC,
       "sparse payload: entry 1: varint truncated"},
      {{0x01, 0x00, 0x07},
       3,
       3,
       FS_EFORMAT,
       "sparse payload: entry 2 has index 10, not below dim 10"},
      {{0x0a},
       1,
       1,
       FS_EFORMAT,
       "sparse payload: entry 0 has index 10, not below dim 10"},
      {{0xff, 0xff, 0xff, 0xff, 0x0f},
       5,
       1,
       FS_EFORMAT,
       "sparse payload: entry 0 has index 4294967295, not below dim 10"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    bytes x = sparse_head(10, c[i].nnz, 2);
    for (size_t k = 0; k < c[i].n; k++)
      put8(&x, c[i].v[k]);
    put_values(&x, c[i].nnz);
    expect_error_b(&x, FS_PL_SPARSE, 10, c[i].st, c[i].msg);
  }
  /* The largest gap with a 5-byte varint after index 0 runs past dim. */
  bytes x = sparse_head(UINT32_MAX, 2, 2);
  put8(&x, 0);
  const uint8_t max[] = {0xfe, 0xff, 0xff, 0xff, 0x0f}; /* 2^32 - 2 */
  for (size_t k = 0; k < 5; k++)
    put8(&x, max[k]);
  put_values(&x, 2);
  expect_error_b(&x, FS_PL_SPARSE, UINT32_MAX, FS_EFORMAT,
                 "sparse payload: entry 1 has index 4294967295, not below "
                 "dim 4294967295");
  x.b[10] = 0xfd; /* gap 2^32 - 3: index 2^32 - 2, the last one */
  expect_error_b(&x, FS_PL_SPARSE, UINT32_MAX, FS_OK, NULL);
}
END_TEST

START_TEST(err_sparse_values) {
  const struct {
    uint32_t bits;
    const char *msg;
  } c[] = {
      {0x7fc00000u, "sparse payload: value 2 is NaN"},
      {0x7f800000u, "sparse payload: value 2 is +Inf"},
      {0xff800000u, "sparse payload: value 2 is -Inf"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    for (size_t k = 0; k < 2; k++) {
      const uint8_t *g = k ? golden_sparse_varint : golden_sparse_raw32;
      size_t n =
          (k ? sizeof golden_sparse_varint : sizeof golden_sparse_raw32) - 40;
      uint8_t b[64];
      memcpy(b, g + 40, n);
      fs_put_u32(b + n - 4, c[i].bits);
      expect_error(b, n, FS_PL_SPARSE, 10, FS_ENUMERIC, c[i].msg);
    }
}
END_TEST

START_TEST(err_randk) {
  bytes x = {{0}, 0};
  put32(&x, 10);
  put32(&x, 11);
  put64(&x, 1);
  expect_error_b(&x, FS_PL_RANDK, 10, FS_EFORMAT,
                 "randk payload: nnz 11 exceeds dim 10");
  x.n = 0;
  put32(&x, 10);
  put32(&x, 2);
  put64(&x, 1);
  putf(&x, 1.0f);
  expect_error_b(&x, FS_PL_RANDK, 10, FS_ETRUNC,
                 "randk payload: nnz 2 needs 24 bytes but 20 are present");
  put32(&x, 0xff800000u);
  expect_error_b(&x, FS_PL_RANDK, 10, FS_ENUMERIC,
                 "randk payload: value 1 is -Inf");
  putf(&x, 1.0f);
  expect_error_b(&x, FS_PL_RANDK, 10, FS_EFORMAT,
                 "randk payload: nnz 2 needs 24 bytes but 28 are present");
}
END_TEST

static bytes qsgd_head(uint32_t dim, unsigned s, uint32_t scale_bits) {
  bytes x = {{0}, 0};
  put32(&x, dim);
  put8(&x, s);
  put32(&x, scale_bits);
  return x;
}

START_TEST(err_qsgd) {
  const unsigned bad_s[] = {0, 128, 255};
  for (size_t i = 0; i < 3; i++) {
    bytes x = qsgd_head(5, bad_s[i], 0);
    char want[64];
    snprintf(want, sizeof want, "qsgd payload: levels %u outside 1..127",
             bad_s[i]);
    expect_error_b(&x, FS_PL_QSGD, 5, FS_EFORMAT, want);
  }
  const struct {
    uint32_t bits;
    fs_status st;
    const char *msg;
  } sc[] = {
      {0x7fc00000u, FS_ENUMERIC, "qsgd payload: scale is NaN"},
      {0x7f800000u, FS_ENUMERIC, "qsgd payload: scale is +Inf"},
      {0xff800000u, FS_ENUMERIC, "qsgd payload: scale is -Inf"},
      {0xbf800000u, FS_EFORMAT, "qsgd payload: scale is negative (-1)"},
      {0x80000001u, FS_EFORMAT,
       "qsgd payload: scale is negative (-1.4013e-45)"},
  };
  for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
    bytes x = qsgd_head(5, 2, sc[i].bits);
    put8(&x, 0);
    put8(&x, 0);
    expect_error_b(&x, FS_PL_QSGD, 5, sc[i].st, sc[i].msg);
  }
  /* -0.0 is a scale of 0. */
  bytes x = qsgd_head(5, 2, 0x80000000u);
  put8(&x, 0x88);
  put8(&x, 0x46);
  expect_error_b(&x, FS_PL_QSGD, 5, FS_OK, NULL);
  /* Lengths. */
  x.n = 10;
  expect_error_b(&x, FS_PL_QSGD, 5, FS_ETRUNC,
                 "qsgd payload: dim 5 at 3 bits a code needs 11 bytes but 10 "
                 "are present");
  x.n = 11;
  put8(&x, 0);
  expect_error_b(&x, FS_PL_QSGD, 5, FS_EFORMAT,
                 "qsgd payload: dim 5 at 3 bits a code needs 11 bytes but 12 "
                 "are present");
  /* Codes above 2s = 4: fields 5, 6, 7. */
  for (uint32_t f = 5; f < 8; f++) {
    x = qsgd_head(5, 2, 0x40000000u);
    uint32_t stream = 0x4688u & ~(7u << 6); /* clear field 2 */
    stream |= f << 6;
    put8(&x, stream & 0xff);
    put8(&x, stream >> 8);
    char want[80];
    snprintf(want, sizeof want,
             "qsgd payload: entry 2 has code field %u, above 2s = 4", f);
    expect_error_b(&x, FS_PL_QSGD, 5, FS_EFORMAT, want);
  }
  /* The padding bit (bit 15). */
  x = qsgd_head(5, 2, 0x40000000u);
  put8(&x, 0x88);
  put8(&x, 0xc6);
  expect_error_b(&x, FS_PL_QSGD, 5, FS_EFORMAT,
                 "qsgd payload: padding bits 0x01 after the last field (must "
                 "be 0)");
  /* s = 127: 8-bit fields, 255 is above 254. */
  x = qsgd_head(2, 127, 0);
  put8(&x, 254);
  put8(&x, 255);
  expect_error_b(&x, FS_PL_QSGD, 2, FS_EFORMAT,
                 "qsgd payload: entry 1 has code field 255, above 2s = 254");
  /* s = 1: 2-bit fields, 3 is above 2; dim 3 leaves 2 padding bits. */
  x = qsgd_head(3, 1, 0);
  put8(&x, 0x3 << 2);
  expect_error_b(&x, FS_PL_QSGD, 3, FS_EFORMAT,
                 "qsgd payload: entry 1 has code field 3, above 2s = 2");
  x.b[9] = 0x40;
  expect_error_b(&x, FS_PL_QSGD, 3, FS_EFORMAT,
                 "qsgd payload: padding bits 0x01 after the last field (must "
                 "be 0)");
  x.b[9] = 0x80;
  expect_error_b(&x, FS_PL_QSGD, 3, FS_EFORMAT,
                 "qsgd payload: padding bits 0x02 after the last field (must "
                 "be 0)");
}
END_TEST

START_TEST(err_sign) {
  bytes x = {{0}, 0};
  put32(&x, 11);
  put32(&x, 0x7fc00000u);
  put8(&x, 0);
  put8(&x, 0);
  expect_error_b(&x, FS_PL_SIGN, 11, FS_ENUMERIC, "sign payload: scale is NaN");
  fs_put_u32(x.b + 4, 0xc0000000u);
  expect_error_b(&x, FS_PL_SIGN, 11, FS_EFORMAT,
                 "sign payload: scale is negative (-2)");
  fs_put_u32(x.b + 4, 0x3f800000u);
  expect_error_b(&x, FS_PL_SIGN, 11, FS_OK, NULL);
  x.b[9] = 0x08; /* bit 11 */
  expect_error_b(&x, FS_PL_SIGN, 11, FS_EFORMAT,
                 "sign payload: padding bits 0x01 after the last field (must "
                 "be 0)");
  x.b[9] = 0xf8;
  expect_error_b(&x, FS_PL_SIGN, 11, FS_EFORMAT,
                 "sign payload: padding bits 0x1f after the last field (must "
                 "be 0)");
  x.n = 9;
  expect_error_b(&x, FS_PL_SIGN, 11, FS_ETRUNC,
                 "sign payload: dim 11 needs 10 bytes but 9 are present");
  x.n = 11;
  expect_error_b(&x, FS_PL_SIGN, 11, FS_EFORMAT,
                 "sign payload: dim 11 needs 10 bytes but 11 are present");
}
END_TEST

START_TEST(err_natural) {
  /* dim 3: 27 bits in 4 bytes, 5 padding bits. Field 1 = exponent 255. */
  bytes x = {{0}, 0};
  put32(&x, 3);
  uint32_t stream = (127u) | (0xffu << 9) | (0x17fu << 18);
  put32(&x, stream);
  expect_error_b(&x, FS_PL_NATURAL, 3, FS_ENUMERIC,
                 "natural payload: entry 1 has exponent 255 (Inf or NaN)");
  fs_put_u32(x.b + 4, stream | 0x100u << 9); /* with the sign set */
  expect_error_b(&x, FS_PL_NATURAL, 3, FS_ENUMERIC,
                 "natural payload: entry 1 has exponent 255 (Inf or NaN)");
  stream = (127u) | (0x180u << 9) | (0x17fu << 18); /* 1, -2, -1 */
  fs_put_u32(x.b + 4, stream);
  expect_error_b(&x, FS_PL_NATURAL, 3, FS_OK, NULL);
  fs_payload q = pl_new(FS_PL_DENSE, 0);
  ck_assert_int_eq(decode(x.b, x.n, FS_PL_NATURAL, 3, &q, NULL), FS_OK);
  ck_assert(q.val[0] == 1.0f && q.val[1] == -2.0f && q.val[2] == -1.0f);
  pl_free(&q);
  fs_put_u32(x.b + 4, stream | 1u << 27);
  expect_error_b(&x, FS_PL_NATURAL, 3, FS_EFORMAT,
                 "natural payload: padding bits 0x01 after the last field "
                 "(must be 0)");
  x.n = 7;
  expect_error_b(&x, FS_PL_NATURAL, 3, FS_ETRUNC,
                 "natural payload: dim 3 needs 8 bytes but 7 are present");
}
END_TEST

START_TEST(err_block8) {
  bytes x = {{0}, 0};
  put32(&x, 5);
  put32(&x, 0);
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_EFORMAT,
                 "block8 payload: block length 0 (must be at least 1)");
  x.n = 0;
  put32(&x, 5);
  put32(&x, 2); /* 3 blocks */
  putf(&x, 1.0f);
  putf(&x, 0.0f);
  putf(&x, 2.0f);
  for (int j = 0; j < 5; j++)
    put8(&x, (uint8_t)(j * 60 - 127));
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_OK, NULL);
  x.n--;
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_ETRUNC,
                 "block8 payload: dim 5 in blocks of 2 needs 25 bytes but 24 "
                 "are present");
  x.n += 2;
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_EFORMAT,
                 "block8 payload: dim 5 in blocks of 2 needs 25 bytes but 26 "
                 "are present");
  x.n--;
  fs_put_u32(x.b + 12, 0x7fc00000u);
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_ENUMERIC,
                 "block8 payload: absmax of block 1 is NaN");
  fs_put_u32(x.b + 12, 0xbf000000u);
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_EFORMAT,
                 "block8 payload: absmax of block 1 is negative (-0.5)");
  fs_put_u32(x.b + 12, 0x80000000u); /* -0.0 counts as 0 */
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_OK, NULL);
  x.b[20 + 3] = 0x80;
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_EFORMAT,
                 "block8 payload: entry 3 has code -128 (must be in "
                 "-127..127)");
  x.b[20 + 3] = 0x81; /* -127 */
  expect_error_b(&x, FS_PL_BLOCK8, 5, FS_OK, NULL);
}
END_TEST

/* ---- errors: programmer mistakes abort (fork mode only) ---------------- */

static const int bad_idx_cases = 8;

START_TEST(encoder_misuse_aborts) {
  uint32_t idx[3] = {1, 2, 7};
  float val[3] = {0};
  int8_t codes[4] = {0, 0, 0, 0};
  float absmax[4] = {0};
  fs_payload p = pl_new(FS_PL_SPARSE, 10);
  p.nnz = 3;
  p.idx = idx;
  p.val = val;
  p.codes = codes;
  p.absmax = absmax;
  uint8_t out[256];
  switch (_i) {
  case 0:
    idx[1] = 1; /* duplicate */
    fs_payload_encode(&p, out);
    break;
  case 1:
    idx[2] = 10; /* >= dim */
    fs_payload_encoded_size(&p, NULL);
    break;
  case 2:
    p.nnz = 11;
    fs_payload_encode(&p, out);
    break;
  case 3:
    fs_payload_sparse_size(&p, (fs_index_coding)3);
    break;
  case 4:
    p.kind = FS_PL_QSGD;
    p.dim = 4;
    p.levels = 2;
    codes[3] = 3;
    fs_payload_encode(&p, out);
    break;
  case 5:
    p.kind = FS_PL_SIGN;
    p.dim = 4;
    fs_payload_encode(&p, out); /* code 0 */
    break;
  case 6:
    p.kind = FS_PL_BLOCK8;
    p.dim = 4;
    p.block = 0;
    fs_payload_encoded_size(&p, NULL);
    break;
  case 7:
    p.kind = (fs_payload_kind)99;
    fs_payload_encoding(p.kind);
    break;
  }
}
END_TEST

START_TEST(encoder_misuse_aborts_more) {
  int8_t codes[4] = {1, 1, INT8_MIN, 1};
  float absmax[1] = {1.0f};
  fs_payload p = pl_new(FS_PL_BLOCK8, 4);
  p.block = 4;
  p.codes = codes;
  p.absmax = absmax;
  uint8_t out[64];
  if (_i == 0) {
    fs_payload_encode(&p, out); /* code -128 */
  } else if (_i == 1) {
    p.kind = FS_PL_QSGD;
    p.levels = 0;
    fs_payload_encoded_size(&p, NULL);
  } else {
    p.kind = FS_PL_DENSE;
    fs_payload_encode_sparse(&p, FS_IDX_RAW32, out); /* not SPARSE */
  }
}
END_TEST

static Suite *payload_suite(void) {
  Suite *s = suite_create("payload");

  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 120);
  tcase_add_test(core, encoding_of_kinds);
  tcase_add_test(core, roundtrip_dense);
  tcase_add_test(core, roundtrip_sparse);
  tcase_add_test(core, roundtrip_randk);
  tcase_add_test(core, roundtrip_qsgd);
  tcase_add_test(core, roundtrip_sign);
  tcase_add_test(core, roundtrip_natural);
  tcase_add_test(core, natural_truncates);
  tcase_add_test(core, roundtrip_block8);
  tcase_add_test(core, sizes_exact);
  tcase_add_test(core, coding_choice);
  tcase_add_test(core, golden_frames);
  tcase_add_test(core, golden_auto_codings);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 300);
  tcase_add_test(limits, huge_claims_allocate_nothing);
  tcase_add_test(limits, decode_reuses_arrays);
  tcase_add_test(limits, corrupt_sweep);
  tcase_add_test(limits, corrupt_random);
  suite_add_tcase(s, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, err_encoding);
  tcase_add_test(errors, err_head);
  tcase_add_test(errors, err_dense_values);
  tcase_add_test(errors, err_sparse_head);
  tcase_add_test(errors, err_sparse_lengths);
  tcase_add_test(errors, err_sparse_raw32);
  tcase_add_test(errors, err_sparse_bitmap);
  tcase_add_test(errors, err_sparse_varint);
  tcase_add_test(errors, err_sparse_values);
  tcase_add_test(errors, err_randk);
  tcase_add_test(errors, err_qsgd);
  tcase_add_test(errors, err_sign);
  tcase_add_test(errors, err_natural);
  tcase_add_test(errors, err_block8);
  const char *fork = getenv("CK_FORK");
  if (fork == NULL || strcmp(fork, "no") != 0) {
    tcase_add_loop_test_raise_signal(errors, encoder_misuse_aborts, SIGABRT, 0,
                                     bad_idx_cases);
    tcase_add_loop_test_raise_signal(errors, encoder_misuse_aborts_more,
                                     SIGABRT, 0, 3);
  }
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(payload_suite)
