/*
 * payload_quant.c — the quantised payload kinds (docs/wire-format.md):
 * QSGD (codes in [-s, s], ceil(log2(2s + 1)) bits each), SIGN (one bit a
 * coordinate and a scale), NATURAL (sign and exponent, 9 bits) and BLOCK8
 * (a scale per block, one byte a coordinate). Packed sections are
 * LSB-first with zero padding (payload.c). The rules of payload.c hold:
 * encoders abort on a payload that breaks its invariants, decoders check
 * every field in wire order.
 */
#include "payload_impl.h"

#include <string.h>

/* ---- bit packing ------------------------------------------------------- */

typedef struct {
  uint8_t *p;
  uint64_t acc;
  unsigned n; /* bits pending in acc, < 8 between calls */
} fs_payload__bitw;

/* Append the low b (<= 16) bits of v. */
static void fs_payload__bitw_put(fs_payload__bitw *w, uint32_t v, unsigned b) {
  w->acc |= (uint64_t)v << w->n;
  w->n += b;
  while (w->n >= 8) {
    *w->p++ = (uint8_t)w->acc;
    w->acc >>= 8;
    w->n -= 8;
  }
}

/* Write the last partial byte (its high bits zero). */
static void fs_payload__bitw_flush(fs_payload__bitw *w) {
  if (w->n > 0)
    *w->p++ = (uint8_t)w->acc;
  w->acc = 0;
  w->n = 0;
}

typedef struct {
  const uint8_t *p;
  uint64_t acc;
  unsigned n; /* bits loaded but not yet taken */
} fs_payload__bitr;

/* Take the next b (<= 16) bits. Loads a byte only when a field needs it,
 * so reading the fields of an exactly sized section never reads past it,
 * and what is left in acc afterwards is the section's padding. */
static uint32_t fs_payload__bitr_get(fs_payload__bitr *r, unsigned b) {
  while (r->n < b) {
    r->acc |= (uint64_t)*r->p++ << r->n;
    r->n += 8;
  }
  uint32_t v = (uint32_t)(r->acc & ((UINT64_C(1) << b) - 1));
  r->acc >>= b;
  r->n -= b;
  return v;
}

/* 1 if the float32 bits u are a valid scale: finite and >= 0 (-0.0 counts
 * as 0). */
static int fs_payload__scale_ok(uint32_t u) {
  return !fs_payload__f32_bad(u) &&
         ((u & FS__F32_SIGN) == 0 || u == FS__F32_SIGN);
}

/* Check a scale field; the message names it. */
static fs_status fs_payload__scale(const char *what, const char *name,
                                   uint32_t u, fs_err *err) {
  if (fs_payload__f32_bad(u))
    return fs_err_set(err, FS_ENUMERIC, "%s payload: %s is %s", what, name,
                      fs_payload__f32_kind(u));
  float f;
  memcpy(&f, &u, 4);
  if (f < 0)
    return fs_err_set(err, FS_EFORMAT, "%s payload: %s is negative (%g)", what,
                      name, (double)f);
  return FS_OK;
}

/* Padding bits after the last field of a packed section must be zero. */
static fs_status fs_payload__padding(const char *what,
                                     const fs_payload__bitr *r, fs_err *err) {
  if (r->acc == 0)
    return FS_OK;
  return fs_err_set(err, FS_EFORMAT,
                    "%s payload: padding bits 0x%02x after the last field "
                    "(must be 0)",
                    what, (unsigned)r->acc);
}

void fs_payload__encode_qsgd(const fs_payload *p, uint8_t *out) {
  uint32_t s = p->levels;
  unsigned b = fs_payload__qsgd_bits(s);
  fs_put_u32(out, p->dim);
  out[4] = (uint8_t)s;
  fs_put_f32(out + 5, p->scale);
  fs_payload__bitw w = {out + FS__QSGD_HEAD, 0, 0};
  for (uint32_t j = 0; j < p->dim; j++) {
    int32_t c = p->codes[j];
    if (c < -(int32_t)s || c > (int32_t)s)
      fs_payload__misuse("qsgd payload with a code outside [-levels, levels]");
    fs_payload__bitw_put(&w, (uint32_t)(c + (int32_t)s), b);
  }
  fs_payload__bitw_flush(&w);
}

void fs_payload__encode_sign(const fs_payload *p, uint8_t *out) {
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
      fs_payload__misuse("sign payload with a code other than -1 or +1");
    *o++ = (uint8_t)byte;
  }
}

void fs_payload__encode_natural(const fs_payload *p, uint8_t *out) {
  fs_put_u32(out, p->dim);
  fs_payload__bitw w = {out + FS__NATURAL_HEAD, 0, 0};
  for (uint32_t j = 0; j < p->dim; j++) {
    uint32_t u;
    memcpy(&u, &p->val[j], 4);
    fs_payload__bitw_put(&w, u >> 23, FS__NATURAL_BITS); /* sign, exponent */
  }
  fs_payload__bitw_flush(&w);
}

void fs_payload__encode_block8(const fs_payload *p, uint8_t *out) {
  uint32_t nblocks = (uint32_t)fs_payload__ceil_div(p->dim, p->block);
  fs_put_u32(out, p->dim);
  fs_put_u32(out + 4, p->block);
  uint8_t *o = fs_payload__put_f32s(out + FS__BLOCK8_HEAD, p->absmax, nblocks);
  for (uint32_t j = 0; j < p->dim; j++) {
    if (p->codes[j] == INT8_MIN)
      fs_payload__misuse("block8 payload with code -128");
    o[j] = (uint8_t)p->codes[j];
  }
}

fs_status fs_payload__decode_qsgd(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err) {
  const char *what = "qsgd";
  fs_status st = fs_payload__head(what, buf, len, FS__QSGD_HEAD,
                                  "dim, levels, scale", expect, err);
  if (st != FS_OK)
    return st;
  uint32_t s = buf[4];
  if (s < 1 || s > 127)
    return fs_err_set(err, FS_EFORMAT, "%s payload: levels %lu outside 1..127",
                      what, (unsigned long)s);
  if ((st = fs_payload__scale(what, "scale", fs_get_u32(buf + 5), err)) !=
      FS_OK)
    return st;
  unsigned b = fs_payload__qsgd_bits(s);
  char fields[64];
  snprintf(fields, sizeof fields, "dim %lu at %u bits a code",
           (unsigned long)expect, b);
  if ((st = fs_payload__exact(what, fields,
                              FS__QSGD_HEAD +
                                  fs_payload__ceil_div((uint64_t)expect * b, 8),
                              len, err)) != FS_OK ||
      (st = fs_payload__grow_codes(out, expect, err)) != FS_OK)
    return st;
  fs_payload__bitr r = {buf + FS__QSGD_HEAD, 0, 0};
  for (uint32_t j = 0; j < expect; j++) {
    uint32_t u = fs_payload__bitr_get(&r, b);
    if (u > 2 * s)
      return fs_err_set(err, FS_EFORMAT,
                        "%s payload: entry %lu has code field %lu, above 2s "
                        "= %lu",
                        what, (unsigned long)j, (unsigned long)u,
                        (unsigned long)(2 * s));
    out->codes[j] = (int8_t)((int32_t)u - (int32_t)s);
  }
  if ((st = fs_payload__padding(what, &r, err)) != FS_OK)
    return st;
  out->levels = s;
  out->scale = fs_get_f32(buf + 5);
  return FS_OK;
}

fs_status fs_payload__decode_sign(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err) {
  const char *what = "sign";
  fs_status st = fs_payload__head(what, buf, len, FS__SIGN_HEAD, "dim, scale",
                                  expect, err);
  if (st != FS_OK)
    return st;
  if ((st = fs_payload__scale(what, "scale", fs_get_u32(buf + 4), err)) !=
      FS_OK)
    return st;
  char fields[32];
  snprintf(fields, sizeof fields, "dim %lu", (unsigned long)expect);
  if ((st = fs_payload__exact(what, fields,
                              FS__SIGN_HEAD + fs_payload__ceil_div(expect, 8),
                              len, err)) != FS_OK ||
      (st = fs_payload__grow_codes(out, expect, err)) != FS_OK)
    return st;
  /* One bit a code: read byte-wise rather than through fs_payload__bitr. */
  const uint8_t *bits = buf + FS__SIGN_HEAD;
  for (uint32_t j = 0; j < expect; j++)
    out->codes[j] = (int8_t)(((bits[j / 8] >> (j % 8)) & 1) * 2 - 1);
  if (expect % 8 != 0) {
    fs_payload__bitr r = {NULL, (uint64_t)(bits[expect / 8] >> (expect % 8)),
                          0};
    if ((st = fs_payload__padding(what, &r, err)) != FS_OK)
      return st;
  }
  out->scale = fs_get_f32(buf + 4);
  return FS_OK;
}

fs_status fs_payload__decode_natural(const uint8_t *buf, size_t len,
                                     uint32_t expect, fs_payload *out,
                                     fs_err *err) {
  const char *what = "natural";
  fs_status st =
      fs_payload__head(what, buf, len, FS__NATURAL_HEAD, "dim", expect, err);
  if (st != FS_OK)
    return st;
  char fields[32];
  snprintf(fields, sizeof fields, "dim %lu", (unsigned long)expect);
  uint64_t bits = (uint64_t)expect * FS__NATURAL_BITS;
  if ((st = fs_payload__exact(what, fields,
                              FS__NATURAL_HEAD + fs_payload__ceil_div(bits, 8),
                              len, err)) != FS_OK ||
      (st = fs_payload__grow_val(out, expect, err)) != FS_OK)
    return st;
  fs_payload__bitr r = {buf + FS__NATURAL_HEAD, 0, 0};
  for (uint32_t j = 0; j < expect; j++) {
    uint32_t f = fs_payload__bitr_get(&r, FS__NATURAL_BITS);
    if ((f & 0xff) == 0xff)
      return fs_err_set(err, FS_ENUMERIC,
                        "%s payload: entry %lu has exponent 255 (Inf or NaN)",
                        what, (unsigned long)j);
    uint32_t u = f << 23; /* sign, exponent; mantissa 0 */
    memcpy(&out->val[j], &u, 4);
  }
  return fs_payload__padding(what, &r, err);
}

fs_status fs_payload__decode_block8(const uint8_t *buf, size_t len,
                                    uint32_t expect, fs_payload *out,
                                    fs_err *err) {
  const char *what = "block8";
  fs_status st = fs_payload__head(what, buf, len, FS__BLOCK8_HEAD, "dim, block",
                                  expect, err);
  if (st != FS_OK)
    return st;
  uint32_t block = fs_get_u32(buf + 4);
  if (block < 1)
    return fs_err_set(err, FS_EFORMAT,
                      "%s payload: block length 0 (must be at least 1)", what);
  uint64_t nblocks = fs_payload__ceil_div(expect, block);
  char fields[64];
  snprintf(fields, sizeof fields, "dim %lu in blocks of %lu",
           (unsigned long)expect, (unsigned long)block);
  if ((st = fs_payload__exact(what, fields,
                              FS__BLOCK8_HEAD + 4 * nblocks + expect, len,
                              err)) != FS_OK ||
      (st = fs_payload__grow_absmax(out, nblocks, err)) != FS_OK ||
      (st = fs_payload__grow_codes(out, expect, err)) != FS_OK)
    return st;
  const uint8_t *p = buf + FS__BLOCK8_HEAD;
  for (uint64_t b = 0; b < nblocks; b++) {
    uint32_t u = fs_get_u32(p + 4 * b);
    if (!fs_payload__scale_ok(u)) {
      char name[48];
      snprintf(name, sizeof name, "absmax of block %llu",
               (unsigned long long)b);
      return fs_payload__scale(what, name, u, err);
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
