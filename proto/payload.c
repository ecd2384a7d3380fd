/*
 * payload.c — wire encodings of compressed vectors (fs_payload): exact
 * sizes, encoders and decoders for the seven payload kinds (layouts in
 * payload.h, user documentation with the bit costs in docs/wire-format.md).
 * This file holds the sizes, the dispatch on the kind, the dense kind and
 * the checks shared by the decoders; the sparse kinds are in
 * payload_sparse.c, the quantised ones in payload_quant.c (payload_impl.h).
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
#include "payload_impl.h"

#include <string.h>

/* ---- sizes ------------------------------------------------------------- */

fs_payload_kind fs_payload_encoding(fs_payload_kind k) {
  if (k >= FS_PL_DENSE && k <= FS_PL_PAYLOAD_MAX)
    return k; /* the kind is the encoding byte */
  fs_payload__misuse("unknown payload kind");
  return FS_PL_NONE;
}

size_t fs_payload_encoded_size(const fs_payload *p, fs_index_coding *coding) {
  uint64_t d = p->dim;
  switch (p->kind) {
  case FS_PL_DENSE:
    return fs_dense_size(p->dim);
  case FS_PL_SPARSE: {
    uint64_t idx_bytes;
    fs_index_coding c = fs_payload__sparse_pick(p, &idx_bytes);
    if (coding != NULL)
      *coding = c;
    return fs_payload__size(fs_payload__sparse_total(p, idx_bytes));
  }
  case FS_PL_RANDK:
    if (p->nnz > p->dim)
      fs_payload__misuse("randk payload with nnz > dim");
    return fs_payload__size(FS__RANDK_HEAD + 4 * (uint64_t)p->nnz);
  case FS_PL_QSGD:
    if (p->levels < 1 || p->levels > 127)
      fs_payload__misuse("qsgd payload with levels outside 1..127");
    return fs_payload__size(
        FS__QSGD_HEAD +
        fs_payload__ceil_div(d * fs_payload__qsgd_bits(p->levels), 8));
  case FS_PL_SIGN:
    return fs_payload__size(FS__SIGN_HEAD + fs_payload__ceil_div(d, 8));
  case FS_PL_NATURAL:
    return fs_payload__size(FS__NATURAL_HEAD +
                            fs_payload__ceil_div(d * FS__NATURAL_BITS, 8));
  case FS_PL_BLOCK8:
    if (p->block < 1)
      fs_payload__misuse("block8 payload with block length 0");
    return fs_payload__size(FS__BLOCK8_HEAD +
                            4 * fs_payload__ceil_div(d, p->block) + d);
  default: /* NONE, MASKED_U32 and unknown kinds */
    break;
  }
  fs_payload__misuse("unknown payload kind");
  return 0;
}

/* ---- encoders ---------------------------------------------------------- */

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
    fs_payload__put_f32s(out + FS__RANDK_HEAD, p->val, p->nnz);
    break;
  case FS_PL_QSGD:
    fs_payload__encode_qsgd(p, out);
    break;
  case FS_PL_SIGN:
    fs_payload__encode_sign(p, out);
    break;
  case FS_PL_NATURAL:
    fs_payload__encode_natural(p, out);
    break;
  case FS_PL_BLOCK8:
    fs_payload__encode_block8(p, out);
    break;
  default: /* rejected by fs_payload_encoded_size */
    break;
  }
  return total;
}

/* ---- decoders ---------------------------------------------------------- */

/* Make room for n elements of size elem in *arr (capacity *cap, in
 * elements). The old block stays owned by the payload if realloc fails. */
static fs_status fs_payload__grow(void **arr, size_t *cap, uint64_t n,
                                  size_t elem, const char *what, fs_err *err) {
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

fs_status fs_payload__grow_val(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->val;
  fs_status st =
      fs_payload__grow(&a, &out->cap_val, n, sizeof(float), "values", err);
  out->val = a;
  return st;
}

fs_status fs_payload__grow_idx(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->idx;
  fs_status st =
      fs_payload__grow(&a, &out->cap_idx, n, sizeof(uint32_t), "indices", err);
  out->idx = a;
  return st;
}

fs_status fs_payload__grow_codes(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->codes;
  fs_status st = fs_payload__grow(&a, &out->cap_codes, n, 1, "codes", err);
  out->codes = a;
  return st;
}

fs_status fs_payload__grow_absmax(fs_payload *out, uint64_t n, fs_err *err) {
  void *a = out->absmax;
  fs_status st = fs_payload__grow(&a, &out->cap_absmax, n, sizeof(float),
                                  "block scales", err);
  out->absmax = a;
  return st;
}

/* Checks shared by every body: at least head bytes, and dim == expect. */
fs_status fs_payload__head(const char *what, const uint8_t *buf, size_t len,
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
fs_status fs_payload__exact(const char *what, const char *fields, uint64_t need,
                            size_t len, fs_err *err) {
  if ((uint64_t)len == need)
    return FS_OK;
  return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                    "%s payload: %s needs %llu bytes but %zu are present", what,
                    fields, (unsigned long long)need, len);
}

static fs_status fs_payload__decode_dense(const uint8_t *buf, size_t len,
                                          uint32_t expect, fs_payload *out,
                                          fs_err *err) {
  /* fs_dense_decode checks everything and writes only on success; grow the
   * values only once the bytes are known to be the right number. */
  if (len >= 4 && fs_get_u32(buf) == expect &&
      (uint64_t)len == 4 + 4 * (uint64_t)expect) {
    fs_status st = fs_payload__grow_val(out, expect, err);
    if (st != FS_OK)
      return st;
  }
  return fs_dense_decode(buf, len, out->val, expect, err);
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
    st = fs_payload__decode_dense(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_SPARSE:
    v.kind = FS_PL_SPARSE;
    st = fs_payload__decode_sparse(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_RANDK:
    v.kind = FS_PL_RANDK;
    st = fs_payload__decode_randk(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_QSGD:
    v.kind = FS_PL_QSGD;
    st = fs_payload__decode_qsgd(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_SIGN:
    v.kind = FS_PL_SIGN;
    st = fs_payload__decode_sign(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_NATURAL:
    v.kind = FS_PL_NATURAL;
    st = fs_payload__decode_natural(buf, len, expect_dim, &v, err);
    break;
  case FS_PL_BLOCK8:
    v.kind = FS_PL_BLOCK8;
    st = fs_payload__decode_block8(buf, len, expect_dim, &v, err);
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
