/*
 * payload.c — wire encodings of compressed vectors (fs_payload): exact
 * sizes, encoders and decoders for the seven payload kinds (layouts in
 * payload.h, user documentation with the bit costs in docs/wire-format.md).
 *
 * The rules are those of frame.c. Encoders trust their caller: a payload
 * that breaks its own invariants (nnz > dim, indices not increasing, codes
 * out of range, levels or block out of range) is a programmer mistake and
 * aborts; values are copied bit for bit, NaN and Inf included (the decoder
 * rejects those). Decoders trust nothing: every section's length is computed
 * in 64-bit arithmetic from the fields before it and checked against the
 * bytes present before anything is allocated or read, so a claimed huge dim
 * or nnz costs nothing; then every field and entry is checked in wire order,
 * and the first failure returns a status with an fs_err message that names
 * the field and the offending value.
 *
 * Bit-packed sections (SPARSE bitmaps, QSGD codes, SIGN bits, NATURAL
 * fields) are LSB-first: stream bit k is bit k % 8 of byte k / 8, field j of
 * b bits occupies stream bits j*b .. j*b+b-1 with its least significant bit
 * first, and the bits after the last field up to the byte boundary are zero.
 * Integers and floats go through wire.h byte by byte, so the bytes are the
 * same on every host and there is no host-specific path to test.
 */
#include "payload.h"

#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS__F32_EXP_MASK 0x7f800000u
#define FS__F32_MANT_MASK 0x007fffffu
#define FS__F32_SIGN 0x80000000u

/* Fixed-size heads of the bodies (everything before the first array). */
#define FS__SPARSE_HEAD 9  /* u32 dim, u32 nnz, u8 index coding */
#define FS__RANDK_HEAD 16  /* u32 dim, u32 nnz, u64 seed */
#define FS__QSGD_HEAD 9    /* u32 dim, u8 levels, f32 scale */
#define FS__SIGN_HEAD 8    /* u32 dim, f32 scale */
#define FS__NATURAL_HEAD 4 /* u32 dim */
#define FS__BLOCK8_HEAD 8  /* u32 dim, u32 block */
#define FS__NATURAL_BITS 9 /* sign + 8-bit exponent */
#define FS__VARINT_MAX 5   /* LEB128 bytes of a u32 */

static void fs__misuse(const char *what) {
  fprintf(stderr, "fedsim: proto misuse: %s\n", what);
  abort();
}

static uint64_t fs__ceil_div(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0);
}

/* The encoder's sizes are size_t; on a host where they cannot hold a body
 * (32-bit size_t, dim near 2^32) that is the caller's mistake. */
static size_t fs__size(uint64_t n) {
  if (n > SIZE_MAX)
    fs__misuse("payload larger than SIZE_MAX bytes");
  return (size_t)n;
}

static int fs__f32_bad(uint32_t bits) {
  return (bits & FS__F32_EXP_MASK) == FS__F32_EXP_MASK;
}

static const char *fs__f32_kind(uint32_t bits) {
  if ((bits & FS__F32_MANT_MASK) != 0)
    return "NaN";
  return (bits & FS__F32_SIGN) ? "-Inf" : "+Inf";
}

static const char *fs__coding_name(unsigned c) {
  switch (c) {
  case FS_IDX_RAW32:
    return "RAW32";
  case FS_IDX_BITMAP:
    return "BITMAP";
  case FS_IDX_DELTA_VARINT:
    return "DELTA_VARINT";
  default:
    return "unknown";
  }
}

/* Bits of one QSGD code for s levels: ceil(log2(2s + 1)), 2 .. 8. */
static unsigned fs__qsgd_bits(uint32_t s) {
  unsigned b = 1;
  while ((UINT32_C(1) << b) < 2 * s + 1)
    b++;
  return b;
}

/* ---- bit packing ------------------------------------------------------- */

typedef struct {
  uint8_t *p;
  uint64_t acc;
  unsigned n; /* bits pending in acc, < 8 between calls */
} fs__bitw;

/* Append the low b (<= 16) bits of v. */
static void fs__bitw_put(fs__bitw *w, uint32_t v, unsigned b) {
  w->acc |= (uint64_t)v << w->n;
  w->n += b;
  while (w->n >= 8) {
    *w->p++ = (uint8_t)w->acc;
    w->acc >>= 8;
    w->n -= 8;
  }
}

/* Write the last partial byte (its high bits zero). */
static void fs__bitw_flush(fs__bitw *w) {
  if (w->n > 0)
    *w->p++ = (uint8_t)w->acc;
  w->acc = 0;
  w->n = 0;
}

typedef struct {
  const uint8_t *p;
  uint64_t acc;
  unsigned n; /* bits loaded but not yet taken */
} fs__bitr;

/* Take the next b (<= 16) bits. Loads a byte only when a field needs it,
 * so reading the fields of an exactly sized section never reads past it,
 * and what is left in acc afterwards is the section's padding. */
static uint32_t fs__bitr_get(fs__bitr *r, unsigned b) {
  while (r->n < b) {
    r->acc |= (uint64_t)*r->p++ << r->n;
    r->n += 8;
  }
  uint32_t v = (uint32_t)(r->acc & ((UINT64_C(1) << b) - 1));
  r->acc >>= b;
  r->n -= b;
  return v;
}

/* ---- varints ----------------------------------------------------------- */

static unsigned fs__varint_len(uint32_t v) {
  unsigned n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *fs__varint_put(uint8_t *p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* ---- sizes ------------------------------------------------------------- */

fs_payload_kind fs_payload_encoding(fs_payload_kind k) {
  if (k >= FS_PL_DENSE && k <= FS_PL_PAYLOAD_MAX)
    return k; /* the kind is the encoding byte */
  fs__misuse("unknown payload kind");
  return FS_PL_NONE;
}

/* Abort unless p is a SPARSE payload with nnz <= dim and indices strictly
 * increasing below dim. */
static void fs__sparse_check(const fs_payload *p) {
  if (p->kind != FS_PL_SPARSE)
    fs__misuse("sparse encoding of a payload that is not SPARSE");
  if (p->nnz > p->dim)
    fs__misuse("sparse payload with nnz > dim");
  for (uint32_t i = 0; i < p->nnz; i++) {
    if (p->idx[i] >= p->dim)
      fs__misuse("sparse payload with an index >= dim");
    if (i > 0 && p->idx[i] <= p->idx[i - 1])
      fs__misuse("sparse payload with indices not strictly increasing");
  }
}

/* Bytes of the index section in coding c (indices already checked). */
static uint64_t fs__sparse_idx_bytes(const fs_payload *p, fs_index_coding c) {
  switch (c) {
  case FS_IDX_RAW32:
    return 4 * (uint64_t)p->nnz;
  case FS_IDX_BITMAP:
    return fs__ceil_div(p->dim, 8);
  case FS_IDX_DELTA_VARINT: {
    uint64_t n = 0;
    for (uint32_t i = 0; i < p->nnz; i++)
      n += fs__varint_len(i == 0 ? p->idx[0] : p->idx[i] - p->idx[i - 1] - 1);
    return n;
  }
  }
  fs__misuse("unknown sparse index coding");
  return 0;
}

static uint64_t fs__sparse_total(const fs_payload *p, uint64_t idx_bytes) {
  return FS__SPARSE_HEAD + idx_bytes + 4 * (uint64_t)p->nnz;
}

size_t fs_payload_sparse_size(const fs_payload *p, fs_index_coding c) {
  fs__sparse_check(p);
  return fs__size(fs__sparse_total(p, fs__sparse_idx_bytes(p, c)));
}

/* The cheapest coding of p's indices (ties: RAW32, BITMAP, DELTA_VARINT)
 * and its section size. */
static fs_index_coding fs__sparse_pick(const fs_payload *p, uint64_t *bytes) {
  fs__sparse_check(p);
  fs_index_coding best = FS_IDX_RAW32;
  uint64_t best_n = fs__sparse_idx_bytes(p, FS_IDX_RAW32);
  uint64_t n = fs__sparse_idx_bytes(p, FS_IDX_BITMAP);
  if (n < best_n) {
    best = FS_IDX_BITMAP;
    best_n = n;
  }
  n = fs__sparse_idx_bytes(p, FS_IDX_DELTA_VARINT);
  if (n < best_n) {
    best = FS_IDX_DELTA_VARINT;
    best_n = n;
  }
  *bytes = best_n;
  return best;
}

size_t fs_payload_encoded_size(const fs_payload *p, fs_index_coding *coding) {
  uint64_t d = p->dim;
  switch (p->kind) {
  case FS_PL_DENSE:
    return fs_dense_size(p->dim);
  case FS_PL_SPARSE: {
    uint64_t idx_bytes;
    fs_index_coding c = fs__sparse_pick(p, &idx_bytes);
    if (coding != NULL)
      *coding = c;
    return fs__size(fs__sparse_total(p, idx_bytes));
  }
  case FS_PL_RANDK:
    if (p->nnz > p->dim)
      fs__misuse("randk payload with nnz > dim");
    return fs__size(FS__RANDK_HEAD + 4 * (uint64_t)p->nnz);
  case FS_PL_QSGD:
    if (p->levels < 1 || p->levels > 127)
      fs__misuse("qsgd payload with levels outside 1..127");
    return fs__size(FS__QSGD_HEAD +
                    fs__ceil_div(d * fs__qsgd_bits(p->levels), 8));
  case FS_PL_SIGN:
    return fs__size(FS__SIGN_HEAD + fs__ceil_div(d, 8));
  case FS_PL_NATURAL:
    return fs__size(FS__NATURAL_HEAD + fs__ceil_div(d * FS__NATURAL_BITS, 8));
  case FS_PL_BLOCK8:
    if (p->block < 1)
      fs__misuse("block8 payload with block length 0");
    return fs__size(FS__BLOCK8_HEAD + 4 * fs__ceil_div(d, p->block) + d);
  default: /* NONE, MASKED_U32 and unknown kinds */
    break;
  }
  fs__misuse("unknown payload kind");
  return 0;
}

/* ---- encoders ---------------------------------------------------------- */

static uint8_t *fs__put_f32s(uint8_t *o, const float *v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++, o += 4)
    fs_put_f32(o, v[i]);
  return o;
}

size_t fs_payload_encode_sparse(const fs_payload *p, fs_index_coding c,
                                uint8_t *out) {
  size_t total = fs_payload_sparse_size(p, c); /* checks p and c */
  fs_put_u32(out, p->dim);
  fs_put_u32(out + 4, p->nnz);
  out[8] = (uint8_t)c;
  uint8_t *o = out + FS__SPARSE_HEAD;
  switch (c) {
  case FS_IDX_RAW32:
    for (uint32_t i = 0; i < p->nnz; i++, o += 4)
      fs_put_u32(o, p->idx[i]);
    break;
  case FS_IDX_BITMAP: {
    size_t nb = (size_t)fs__ceil_div(p->dim, 8);
    memset(o, 0, nb);
    for (uint32_t i = 0; i < p->nnz; i++)
      o[p->idx[i] / 8] |= (uint8_t)(1u << (p->idx[i] % 8));
    o += nb;
    break;
  }
  case FS_IDX_DELTA_VARINT:
    for (uint32_t i = 0; i < p->nnz; i++)
      o = fs__varint_put(o, i == 0 ? p->idx[0] : p->idx[i] - p->idx[i - 1] - 1);
    break;
  }
  o = fs__put_f32s(o, p->val, p->nnz);
  if ((size_t)(o - out) != total)
    fs__misuse("sparse encoder wrote an unexpected size");
  return total;
}

static void fs__encode_qsgd(const fs_payload *p, uint8_t *out) {
  uint32_t s = p->levels;
  unsigned b = fs__qsgd_bits(s);
  fs_put_u32(out, p->dim);
  out[4] = (uint8_t)s;
  fs_put_f32(out + 5, p->scale);
  fs__bitw w = {out + FS__QSGD_HEAD, 0, 0};
  for (uint32_t j = 0; j < p->dim; j++) {
    int32_t c = p->codes[j];
    if (c < -(int32_t)s || c > (int32_t)s)
      fs__misuse("qsgd payload with a code outside [-levels, levels]");
    fs__bitw_put(&w, (uint32_t)(c + (int32_t)s), b);
  }
  fs__bitw_flush(&w);
}

static void fs__encode_sign(const fs_payload *p, uint8_t *out) {
  fs_put_u32(out, p->dim);
  fs_put_f32(out + 4, p->scale);
  uint8_t *o = out + FS__SIGN_HEAD;
  for (uint32_t j = 0; j < p->dim; j += 8) {
    unsigned byte = 0, bad = 0;
    for (uint32_t t = 0; t < 8 && t < p->dim - j; t++) {
      int8_t c = p->codes[j + t];
      bad |= (unsigned)(c != 1 && c != -1);
      byte |= (unsigned)(c == 1) << t;
    }
    if (bad)
      fs__misuse("sign payload with a code other than -1 or +1");
    *o++ = (uint8_t)byte;
  }
}

static void fs__encode_natural(const fs_payload *p, uint8_t *out) {
  fs_put_u32(out, p->dim);
  fs__bitw w = {out + FS__NATURAL_HEAD, 0, 0};
  for (uint32_t j = 0; j < p->dim; j++) {
    uint32_t u;
    memcpy(&u, &p->val[j], 4);
    fs__bitw_put(&w, u >> 23, FS__NATURAL_BITS); /* sign, exponent */
  }
  fs__bitw_flush(&w);
}

static void fs__encode_block8(const fs_payload *p, uint8_t *out) {
  uint32_t nblocks = (uint32_t)fs__ceil_div(p->dim, p->block);
  fs_put_u32(out, p->dim);
  fs_put_u32(out + 4, p->block);
  uint8_t *o = fs__put_f32s(out + FS__BLOCK8_HEAD, p->absmax, nblocks);
  for (uint32_t j = 0; j < p->dim; j++) {
    if (p->codes[j] == INT8_MIN)
      fs__misuse("block8 payload with code -128");
    o[j] = (uint8_t)p->codes[j];
  }
}

size_t fs_payload_encode(const fs_payload *p, uint8_t *out) {
  fs_index_coding c = FS_IDX_RAW32;
  size_t total = fs_payload_encoded_size(p, &c); /* checks the kind */
  switch (p->kind) {
  case FS_PL_DENSE:
    fs_dense_encode(p->val, p->dim, out);
    break;
  case FS_PL_SPARSE:
    fs_payload_encode_sparse(p, c, out);
    break;
  case FS_PL_RANDK:
    fs_put_u32(out, p->dim);
    fs_put_u32(out + 4, p->nnz);
    fs_put_u64(out + 8, p->seed);
    fs__put_f32s(out + FS__RANDK_HEAD, p->val, p->nnz);
    break;
  case FS_PL_QSGD:
    fs__encode_qsgd(p, out);
    break;
  case FS_PL_SIGN:
    fs__encode_sign(p, out);
    break;
  case FS_PL_NATURAL:
    fs__encode_natural(p, out);
    break;
  case FS_PL_BLOCK8:
    fs__encode_block8(p, out);
    break;
  default: /* rejected by fs_payload_encoded_size */
    break;
  }
  return total;
}

/* ---- decoders ---------------------------------------------------------- */

/* Make room for n elements of size elem in *arr (capacity *cap, in
 * elements). The old block stays owned by the payload if realloc fails. */
static fs_status fs__grow(void **arr, size_t *cap, uint64_t n, size_t elem,
                          const char *what, fs_err *err) {
  if (n <= *cap)
    return FS_OK;
  if (n > SIZE_MAX / elem)
    return fs_err_set(err, FS_ENOMEM, "payload: %llu %s do not fit in memory",
                      (unsigned long long)n, what);
  void *q = realloc(*arr, (size_t)n * elem);
  if (q == NULL)
    return fs_err_set(err, FS_ENOMEM, "payload: out of memory for %llu %s",
                      (unsigned long long)n, what);
  *arr = q;
  *cap = (size_t)n;
  return FS_OK;
}

static fs_status fs__grow_val(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->val;
  fs_status st = fs__grow(&a, &out->cap_val, n, sizeof(float), "values", err);
  out->val = a;
  return st;
}

static fs_status fs__grow_idx(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->idx;
  fs_status st =
      fs__grow(&a, &out->cap_idx, n, sizeof(uint32_t), "indices", err);
  out->idx = a;
  return st;
}

static fs_status fs__grow_codes(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->codes;
  fs_status st = fs__grow(&a, &out->cap_codes, n, 1, "codes", err);
  out->codes = a;
  return st;
}

static fs_status fs__grow_absmax(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->absmax;
  fs_status st =
      fs__grow(&a, &out->cap_absmax, n, sizeof(float), "block scales", err);
  out->absmax = a;
  return st;
}

/* Checks shared by every body: at least head bytes, and dim == expect. */
static fs_status fs__head(const char *what, const uint8_t *buf, size_t len,
                          size_t head, const char *fields, uint32_t expect,
                          fs_err *err) {
  if (len < head)
    return fs_err_set(err, FS_ETRUNC,
                      "%s payload: %zu bytes, too short for the %zu-byte "
                      "header (%s)",
                      what, len, head, fields);
  uint32_t dim = fs_get_u32(buf);
  if (dim != expect)
    return fs_err_set(err, FS_EFORMAT, "%s payload: dim %lu but expected %lu",
                      what, (unsigned long)dim, (unsigned long)expect);
  return FS_OK;
}

/* The body must be exactly need bytes. */
static fs_status fs__exact(const char *what, const char *fields, uint64_t need,
                           size_t len, fs_err *err) {
  if ((uint64_t)len == need)
    return FS_OK;
  return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                    "%s payload: %s needs %llu bytes but %zu are present", what,
                    fields, (unsigned long long)need, len);
}

/* Read n f32 at p into v (may be NULL when n == 0); the first NaN or Inf
 * gives FS_ENUMERIC naming "<what> payload: <name> <i> is NaN". */
static fs_status fs__get_f32s(const char *what, const char *name,
                              const uint8_t *p, uint64_t n, float *v,
                              fs_err *err) {
  for (uint64_t i = 0; i < n; i++) {
    uint32_t u = fs_get_u32(p + 4 * i);
    if (fs__f32_bad(u))
      return fs_err_set(err, FS_ENUMERIC, "%s payload: %s %llu is %s", what,
                        name, (unsigned long long)i, fs__f32_kind(u));
    memcpy(&v[i], &u, 4);
  }
  return FS_OK;
}

/* 1 if the float32 bits u are a valid scale: finite and >= 0 (-0.0 counts
 * as 0). */
static int fs__scale_ok(uint32_t u) {
  return !fs__f32_bad(u) && ((u & FS__F32_SIGN) == 0 || u == FS__F32_SIGN);
}

/* Check a scale field; the message names it. */
static fs_status fs__scale(const char *what, const char *name, uint32_t u,
                           fs_err *err) {
  if (fs__f32_bad(u))
    return fs_err_set(err, FS_ENUMERIC, "%s payload: %s is %s", what, name,
                      fs__f32_kind(u));
  float f;
  memcpy(&f, &u, 4);
  if (f < 0)
    return fs_err_set(err, FS_EFORMAT, "%s payload: %s is negative (%g)", what,
                      name, (double)f);
  return FS_OK;
}

/* Padding bits after the last field of a packed section must be zero. */
static fs_status fs__padding(const char *what, const fs__bitr *r, fs_err *err) {
  if (r->acc == 0)
    return FS_OK;
  return fs_err_set(err, FS_EFORMAT,
                    "%s payload: padding bits 0x%02x after the last field "
                    "(must be 0)",
                    what, (unsigned)r->acc);
}

static fs_status fs__decode_dense(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err) {
  /* fs_dense_decode checks everything and writes only on success; grow the
   * values only once the bytes are known to be the right number. */
  if (len >= 4 && fs_get_u32(buf) == expect &&
      (uint64_t)len == 4 + 4 * (uint64_t)expect) {
    fs_status st = fs__grow_val(out, expect, err);
    if (st != FS_OK)
      return st;
  }
  return fs_dense_decode(buf, len, out->val, expect, err);
}

/* DELTA_VARINT indices: nnz varints in [p, end); the first is idx[0], each
 * later one is idx[i] - idx[i-1] - 1. *used gets the bytes read. */
static fs_status fs__sparse_varints(const uint8_t *p, const uint8_t *end,
                                    uint32_t dim, uint32_t nnz, uint32_t *idx,
                                    size_t *used, fs_err *err) {
  const char *what = "sparse";
  const uint8_t *start = p;
  uint64_t prev = 0;
  for (uint32_t i = 0; i < nnz; i++) {
    uint64_t v = 0;
    for (unsigned k = 0;; k++) {
      if (p == end)
        return fs_err_set(err, FS_ETRUNC,
                          "%s payload: entry %lu: varint truncated", what,
                          (unsigned long)i);
      uint8_t byte = *p++;
      if (k == FS__VARINT_MAX - 1) {
        if (byte & 0x80)
          return fs_err_set(err, FS_EFORMAT,
                            "%s payload: entry %lu: varint longer than 5 "
                            "bytes",
                            what, (unsigned long)i);
        if (byte & 0x70)
          return fs_err_set(err, FS_EFORMAT,
                            "%s payload: entry %lu: varint overflows 32 bits",
                            what, (unsigned long)i);
      }
      if (k > 0 && byte == 0)
        return fs_err_set(err, FS_EFORMAT,
                          "%s payload: entry %lu: varint has a redundant "
                          "zero byte",
                          what, (unsigned long)i);
      v |= (uint64_t)(byte & 0x7f) << (7 * k);
      if (!(byte & 0x80))
        break;
    }
    uint64_t j = i == 0 ? v : prev + 1 + v;
    if (j >= dim)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: entry %lu has index %llu, not below dim "
                        "%lu",
                        what, (unsigned long)i, (unsigned long long)j,
                        (unsigned long)dim);
    idx[i] = (uint32_t)j;
    prev = j;
  }
  *used = (size_t)(p - start);
  return FS_OK;
}

static fs_status fs__decode_sparse(const uint8_t *buf, size_t len,
                                   uint32_t expect, fs_payload *out,
                                   fs_err *err) {
  const char *what = "sparse";
  fs_status st = fs__head(what, buf, len, FS__SPARSE_HEAD,
                          "dim, nnz, index coding", expect, err);
  if (st != FS_OK)
    return st;
  uint32_t dim = expect, nnz = fs_get_u32(buf + 4);
  unsigned coding = buf[8];
  if (nnz > dim)
    return fs_err_set(err, FS_EFORMAT, "%s payload: nnz %lu exceeds dim %lu",
                      what, (unsigned long)nnz, (unsigned long)dim);
  if (coding > FS_IDX_DELTA_VARINT)
    return fs_err_set(err, FS_EFORMAT, "%s payload: unknown index coding %u",
                      what, coding);

  char fields[64];
  snprintf(fields, sizeof fields, "nnz %lu with %s indices", (unsigned long)nnz,
           fs__coding_name(coding));
  uint64_t vals = 4 * (uint64_t)nnz;
  if (coding == FS_IDX_DELTA_VARINT) {
    /* Each index takes 1 to 5 bytes; the values fill the last 4*nnz. */
    uint64_t lo = FS__SPARSE_HEAD + (uint64_t)nnz + vals;
    uint64_t hi = FS__SPARSE_HEAD + FS__VARINT_MAX * (uint64_t)nnz + vals;
    if ((uint64_t)len < lo)
      return fs_err_set(err, FS_ETRUNC,
                        "%s payload: %s needs at least %llu bytes but %zu "
                        "are present",
                        what, fields, (unsigned long long)lo, len);
    if ((uint64_t)len > hi)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: %s needs at most %llu bytes but %zu "
                        "are present",
                        what, fields, (unsigned long long)hi, len);
  } else {
    uint64_t ib =
        coding == FS_IDX_RAW32 ? 4 * (uint64_t)nnz : fs__ceil_div(dim, 8);
    if ((st = fs__exact(what, fields, FS__SPARSE_HEAD + ib + vals, len, err)) !=
        FS_OK)
      return st;
  }
  if ((st = fs__grow_idx(out, nnz, err)) != FS_OK ||
      (st = fs__grow_val(out, nnz, err)) != FS_OK)
    return st;

  const uint8_t *p = buf + FS__SPARSE_HEAD;
  const uint8_t *values = buf + (len - (size_t)vals);
  uint32_t *idx = out->idx;
  if (coding == FS_IDX_RAW32) {
    for (uint32_t i = 0; i < nnz; i++) {
      uint32_t j = fs_get_u32(p + 4 * (size_t)i);
      if (j >= dim)
        return fs_err_set(err, FS_EFORMAT,
                          "%s payload: entry %lu has index %lu, not below "
                          "dim %lu",
                          what, (unsigned long)i, (unsigned long)j,
                          (unsigned long)dim);
      if (i > 0 && j <= idx[i - 1])
        return fs_err_set(err, FS_EFORMAT,
                          "%s payload: entry %lu has index %lu, not above "
                          "the previous %lu",
                          what, (unsigned long)i, (unsigned long)j,
                          (unsigned long)idx[i - 1]);
      idx[i] = j;
    }
  } else if (coding == FS_IDX_BITMAP) {
    size_t nb = (size_t)fs__ceil_div(dim, 8);
    if (dim % 8 != 0 && (p[nb - 1] >> (dim % 8)) != 0)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: bitmap bits set beyond dim %lu (last "
                        "byte 0x%02x)",
                        what, (unsigned long)dim, (unsigned)p[nb - 1]);
    uint64_t set = 0;
    for (size_t b = 0; b < nb; b++)
      set += (unsigned)__builtin_popcount(p[b]);
    if (set != nnz)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: bitmap has %llu bits set but nnz is %lu",
                        what, (unsigned long long)set, (unsigned long)nnz);
    uint32_t i = 0;
    for (size_t b = 0; b < nb; b++)
      for (unsigned bits = p[b]; bits != 0; bits &= bits - 1)
        idx[i++] = (uint32_t)(8 * b) + (unsigned)__builtin_ctz(bits);
  } else {
    size_t used = 0;
    st = fs__sparse_varints(p, values, dim, nnz, idx, &used, err);
    if (st != FS_OK)
      return st;
    uint64_t need = FS__SPARSE_HEAD + (uint64_t)used + vals;
    if ((uint64_t)len != need) {
      char f2[96];
      snprintf(f2, sizeof f2, "%s (%zu index bytes)", fields, used);
      return fs__exact(what, f2, need, len, err);
    }
  }
  if ((st = fs__get_f32s(what, "value", values, nnz, out->val, err)) != FS_OK)
    return st;
  out->nnz = nnz;
  return FS_OK;
}

static fs_status fs__decode_randk(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err) {
  const char *what = "randk";
  fs_status st =
      fs__head(what, buf, len, FS__RANDK_HEAD, "dim, nnz, seed", expect, err);
  if (st != FS_OK)
    return st;
  uint32_t nnz = fs_get_u32(buf + 4);
  if (nnz > expect)
    return fs_err_set(err, FS_EFORMAT, "%s payload: nnz %lu exceeds dim %lu",
                      what, (unsigned long)nnz, (unsigned long)expect);
  char fields[32];
  snprintf(fields, sizeof fields, "nnz %lu", (unsigned long)nnz);
  if ((st = fs__exact(what, fields, FS__RANDK_HEAD + 4 * (uint64_t)nnz, len,
                      err)) != FS_OK ||
      (st = fs__grow_val(out, nnz, err)) != FS_OK ||
      (st = fs__get_f32s(what, "value", buf + FS__RANDK_HEAD, nnz, out->val,
                         err)) != FS_OK)
    return st;
  out->nnz = nnz;
  out->seed = fs_get_u64(buf + 8);
  return FS_OK;
}

static fs_status fs__decode_qsgd(const uint8_t *buf, size_t len,
                                 uint32_t expect, fs_payload *out,
                                 fs_err *err) {
  const char *what = "qsgd";
  fs_status st = fs__head(what, buf, len, FS__QSGD_HEAD, "dim, levels, scale",
                          expect, err);
  if (st != FS_OK)
    return st;
  uint32_t s = buf[4];
  if (s < 1 || s > 127)
    return fs_err_set(err, FS_EFORMAT, "%s payload: levels %lu outside 1..127",
                      what, (unsigned long)s);
  if ((st = fs__scale(what, "scale", fs_get_u32(buf + 5), err)) != FS_OK)
    return st;
  unsigned b = fs__qsgd_bits(s);
  char fields[64];
  snprintf(fields, sizeof fields, "dim %lu at %u bits a code",
           (unsigned long)expect, b);
  if ((st = fs__exact(what, fields,
                      FS__QSGD_HEAD + fs__ceil_div((uint64_t)expect * b, 8),
                      len, err)) != FS_OK ||
      (st = fs__grow_codes(out, expect, err)) != FS_OK)
    return st;
  fs__bitr r = {buf + FS__QSGD_HEAD, 0, 0};
  for (uint32_t j = 0; j < expect; j++) {
    uint32_t u = fs__bitr_get(&r, b);
    if (u > 2 * s)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: entry %lu has code field %lu, above 2s "
                        "= %lu",
                        what, (unsigned long)j, (unsigned long)u,
                        (unsigned long)(2 * s));
    out->codes[j] = (int8_t)((int32_t)u - (int32_t)s);
  }
  if ((st = fs__padding(what, &r, err)) != FS_OK)
    return st;
  out->levels = s;
  out->scale = fs_get_f32(buf + 5);
  return FS_OK;
}

static fs_status fs__decode_sign(const uint8_t *buf, size_t len,
                                 uint32_t expect, fs_payload *out,
                                 fs_err *err) {
  const char *what = "sign";
  fs_status st =
      fs__head(what, buf, len, FS__SIGN_HEAD, "dim, scale", expect, err);
  if (st != FS_OK)
    return st;
  if ((st = fs__scale(what, "scale", fs_get_u32(buf + 4), err)) != FS_OK)
    return st;
  char fields[32];
  snprintf(fields, sizeof fields, "dim %lu", (unsigned long)expect);
  if ((st = fs__exact(what, fields, FS__SIGN_HEAD + fs__ceil_div(expect, 8),
                      len, err)) != FS_OK ||
      (st = fs__grow_codes(out, expect, err)) != FS_OK)
    return st;
  /* One bit a code: read byte-wise rather than through fs__bitr. */
  const uint8_t *bits = buf + FS__SIGN_HEAD;
  for (uint32_t j = 0; j < expect; j++)
    out->codes[j] = (int8_t)(((bits[j / 8] >> (j % 8)) & 1) * 2 - 1);
  if (expect % 8 != 0) {
    fs__bitr r = {NULL, (uint64_t)(bits[expect / 8] >> (expect % 8)), 0};
    if ((st = fs__padding(what, &r, err)) != FS_OK)
      return st;
  }
  out->scale = fs_get_f32(buf + 4);
  return FS_OK;
}

static fs_status fs__decode_natural(const uint8_t *buf, size_t len,
                                    uint32_t expect, fs_payload *out,
                                    fs_err *err) {
  const char *what = "natural";
  fs_status st = fs__head(what, buf, len, FS__NATURAL_HEAD, "dim", expect, err);
  if (st != FS_OK)
    return st;
  char fields[32];
  snprintf(fields, sizeof fields, "dim %lu", (unsigned long)expect);
  uint64_t bits = (uint64_t)expect * FS__NATURAL_BITS;
  if ((st = fs__exact(what, fields, FS__NATURAL_HEAD + fs__ceil_div(bits, 8),
                      len, err)) != FS_OK ||
      (st = fs__grow_val(out, expect, err)) != FS_OK)
    return st;
  fs__bitr r = {buf + FS__NATURAL_HEAD, 0, 0};
  for (uint32_t j = 0; j < expect; j++) {
    uint32_t f = fs__bitr_get(&r, FS__NATURAL_BITS);
    if ((f & 0xff) == 0xff)
      return fs_err_set(err, FS_ENUMERIC,
                        "%s payload: entry %lu has exponent 255 (Inf or NaN)",
                        what, (unsigned long)j);
    uint32_t u = f << 23; /* sign, exponent; mantissa 0 */
    memcpy(&out->val[j], &u, 4);
  }
  return fs__padding(what, &r, err);
}

static fs_status fs__decode_block8(const uint8_t *buf, size_t len,
                                   uint32_t expect, fs_payload *out,
                                   fs_err *err) {
  const char *what = "block8";
  fs_status st =
      fs__head(what, buf, len, FS__BLOCK8_HEAD, "dim, block", expect, err);
  if (st != FS_OK)
    return st;
  uint32_t block = fs_get_u32(buf + 4);
  if (block < 1)
    return fs_err_set(err, FS_EFORMAT,
                      "%s payload: block length 0 (must be at least 1)", what);
  uint64_t nblocks = fs__ceil_div(expect, block);
  char fields[64];
  snprintf(fields, sizeof fields, "dim %lu in blocks of %lu",
           (unsigned long)expect, (unsigned long)block);
  if ((st = fs__exact(what, fields, FS__BLOCK8_HEAD + 4 * nblocks + expect, len,
                      err)) != FS_OK ||
      (st = fs__grow_absmax(out, nblocks, err)) != FS_OK ||
      (st = fs__grow_codes(out, expect, err)) != FS_OK)
    return st;
  const uint8_t *p = buf + FS__BLOCK8_HEAD;
  for (uint64_t b = 0; b < nblocks; b++) {
    uint32_t u = fs_get_u32(p + 4 * b);
    if (!fs__scale_ok(u)) {
      char name[48];
      snprintf(name, sizeof name, "absmax of block %llu",
               (unsigned long long)b);
      return fs__scale(what, name, u, err);
    }
    memcpy(&out->absmax[b], &u, 4);
  }
  p += 4 * nblocks;
  for (uint32_t j = 0; j < expect; j++) {
    if (p[j] == 0x80)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: entry %lu has code -128 (must be in "
                        "-127..127)",
                        what, (unsigned long)j);
    out->codes[j] = (int8_t)(p[j] < 0x80 ? (int)p[j] : (int)p[j] - 256);
  }
  out->block = block;
  return FS_OK;
}

fs_status fs_payload_decode(const uint8_t *buf, size_t len, fs_payload_kind enc,
                            uint32_t expect_dim, fs_payload *out, fs_err *err) {
  /* Decode into a copy whose scalar fields start at 0 (so the fields a kind
   * does not use read 0 afterwards); the arrays it grows are handed back to
   * out whatever happens, the scalars only on success. */
  fs_payload v = *out;
  v.nnz = v.levels = v.block = 0;
  v.seed = 0;
  v.scale = 0;
  fs_status st;
  switch ((unsigned)enc) {
  case FS_PL_DENSE:
    v.kind = FS_PL_DENSE;
    st = fs__decode_dense(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_SPARSE:
    v.kind = FS_PL_SPARSE;
    st = fs__decode_sparse(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_RANDK:
    v.kind = FS_PL_RANDK;
    st = fs__decode_randk(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_QSGD:
    v.kind = FS_PL_QSGD;
    st = fs__decode_qsgd(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_SIGN:
    v.kind = FS_PL_SIGN;
    st = fs__decode_sign(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_NATURAL:
    v.kind = FS_PL_NATURAL;
    st = fs__decode_natural(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_BLOCK8:
    v.kind = FS_PL_BLOCK8;
    st = fs__decode_block8(buf, len, expect_dim, &v, err);
    break;
  default:
    st = fs_err_set(err, FS_EFORMAT,
                    "payload: encoding %u (%s) carries no vector",
                    (unsigned)enc, fs_encoding_name((unsigned)enc));
    break;
  }
  if (st == FS_OK) {
    v.dim = expect_dim;
    *out = v;
    return FS_OK;
  }
  out->idx = v.idx;
  out->val = v.val;
  out->codes = v.codes;
  out->absmax = v.absmax;
  out->cap_idx = v.cap_idx;
  out->cap_val = v.cap_val;
  out->cap_codes = v.cap_codes;
  out->cap_absmax = v.cap_absmax;
  return st;
}
