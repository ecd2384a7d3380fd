/*
 * payload_sparse.c — the sparse payload kinds (docs/wire-format.md): SPARSE
 * with its three index codings (RAW32, BITMAP, DELTA_VARINT; the encoder
 * picks the cheapest) and RANDK (values only: the indices follow from the
 * seed). The rules of payload.c hold: encoders abort on a payload that
 * breaks its invariants, decoders check every field in wire order.
 */
#include "payload_impl.h"

#include <string.h>

static const char *fs_payload__coding_name(unsigned c) {
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

/* ---- varints ----------------------------------------------------------- */

static unsigned fs_payload__varint_len(uint32_t v) {
  unsigned n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *fs_payload__varint_put(uint8_t *p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Abort unless p is a SPARSE payload with nnz <= dim and indices strictly
 * increasing below dim. */
static void fs_payload__sparse_check(const fs_payload *p) {
  if (p->kind != FS_PL_SPARSE)
    fs_payload__misuse("sparse encoding of a payload that is not SPARSE");
  if (p->nnz > p->dim)
    fs_payload__misuse("sparse payload with nnz > dim");
  for (uint32_t i = 0; i < p->nnz; i++) {
    if (p->idx[i] >= p->dim)
      fs_payload__misuse("sparse payload with an index >= dim");
    if (i > 0 && p->idx[i] <= p->idx[i - 1])
      fs_payload__misuse("sparse payload with indices not strictly increasing");
  }
}

/* Bytes of the index section in coding c (indices already checked). */
static uint64_t fs_payload__sparse_idx_bytes(const fs_payload *p,
                                             fs_index_coding c) {
  switch (c) {
  case FS_IDX_RAW32:
    return 4 * (uint64_t)p->nnz;
  case FS_IDX_BITMAP:
    return fs_payload__ceil_div(p->dim, 8);
  case FS_IDX_DELTA_VARINT: {
    uint64_t n = 0;
    for (uint32_t i = 0; i < p->nnz; i++)
      n += fs_payload__varint_len(i == 0 ? p->idx[0]
                                         : p->idx[i] - p->idx[i - 1] - 1);
    return n;
  }
  }
  fs_payload__misuse("unknown sparse index coding");
  return 0;
}

uint64_t fs_payload__sparse_total(const fs_payload *p, uint64_t idx_bytes) {
  return FS__SPARSE_HEAD + idx_bytes + 4 * (uint64_t)p->nnz;
}

size_t fs_payload_sparse_size(const fs_payload *p, fs_index_coding c) {
  fs_payload__sparse_check(p);
  return fs_payload__size(
      fs_payload__sparse_total(p, fs_payload__sparse_idx_bytes(p, c)));
}

/* The cheapest coding of p's indices (ties: RAW32, BITMAP, DELTA_VARINT)
 * and its section size. */
fs_index_coding fs_payload__sparse_pick(const fs_payload *p, uint64_t *bytes) {
  fs_payload__sparse_check(p);
  fs_index_coding best = FS_IDX_RAW32;
  uint64_t best_n = fs_payload__sparse_idx_bytes(p, FS_IDX_RAW32);
  uint64_t n = fs_payload__sparse_idx_bytes(p, FS_IDX_BITMAP);
  if (n < best_n) {
    best = FS_IDX_BITMAP;
    best_n = n;
  }
  n = fs_payload__sparse_idx_bytes(p, FS_IDX_DELTA_VARINT);
  if (n < best_n) {
    best = FS_IDX_DELTA_VARINT;
    best_n = n;
  }
  *bytes = best_n;
  return best;
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
    size_t nb = (size_t)fs_payload__ceil_div(p->dim, 8);
    memset(o, 0, nb);
    for (uint32_t i = 0; i < p->nnz; i++)
      o[p->idx[i] / 8] |= (uint8_t)(1u << (p->idx[i] % 8));
    o += nb;
    break;
  }
  case FS_IDX_DELTA_VARINT:
    for (uint32_t i = 0; i < p->nnz; i++)
      o = fs_payload__varint_put(o, i == 0 ? p->idx[0]
                                           : p->idx[i] - p->idx[i - 1] - 1);
    break;
  }
  o = fs_payload__put_f32s(o, p->val, p->nnz);
  if ((size_t)(o - out) != total)
    fs_payload__misuse("sparse encoder wrote an unexpected size");
  return total;
}

/* Read n f32 at p into v (may be NULL when n == 0); the first NaN or Inf
 * gives FS_ENUMERIC naming "<what> payload: <name> <i> is NaN". */
static fs_status fs_payload__get_f32s(const char *what, const char *name,
                                      const uint8_t *p, uint64_t n, float *v,
                                      fs_err *err) {
  for (uint64_t i = 0; i < n; i++) {
    uint32_t u = fs_get_u32(p + 4 * i);
    if (fs_payload__f32_bad(u))
      return fs_err_set(err, FS_ENUMERIC, "%s payload: %s %llu is %s", what,
                        name, (unsigned long long)i, fs_payload__f32_kind(u));
    memcpy(&v[i], &u, 4);
  }
  return FS_OK;
}

/* DELTA_VARINT indices: nnz varints in [p, end); the first is idx[0], each
 * later one is idx[i] - idx[i-1] - 1. *used gets the bytes read. */
static fs_status fs_payload__sparse_varints(const uint8_t *p,
                                            const uint8_t *end, uint32_t dim,
                                            uint32_t nnz, uint32_t *idx,
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

fs_status fs_payload__decode_sparse(const uint8_t *buf, size_t len,
                                    uint32_t expect, fs_payload *out,
                                    fs_err *err) {
  const char *what = "sparse";
  fs_status st = fs_payload__head(what, buf, len, FS__SPARSE_HEAD,
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
           fs_payload__coding_name(coding));
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
    uint64_t ib = coding == FS_IDX_RAW32 ? 4 * (uint64_t)nnz
                                         : fs_payload__ceil_div(dim, 8);
    if ((st = fs_payload__exact(what, fields, FS__SPARSE_HEAD + ib + vals, len,
                                err)) != FS_OK)
      return st;
  }
  if ((st = fs_payload__grow_idx(out, nnz, err)) != FS_OK ||
      (st = fs_payload__grow_val(out, nnz, err)) != FS_OK)
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
    size_t nb = (size_t)fs_payload__ceil_div(dim, 8);
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
    st = fs_payload__sparse_varints(p, values, dim, nnz, idx, &used, err);
    if (st != FS_OK)
      return st;
    uint64_t need = FS__SPARSE_HEAD + (uint64_t)used + vals;
    if ((uint64_t)len != need) {
      char f2[96];
      snprintf(f2, sizeof f2, "%s (%zu index bytes)", fields, used);
      return fs_payload__exact(what, f2, need, len, err);
    }
  }
  if ((st = fs_payload__get_f32s(what, "value", values, nnz, out->val, err)) !=
      FS_OK)
    return st;
  out->nnz = nnz;
  return FS_OK;
}

fs_status fs_payload__decode_randk(const uint8_t *buf, size_t len,
                                   uint32_t expect, fs_payload *out,
                                   fs_err *err) {
  const char *what = "randk";
  fs_status st = fs_payload__head(what, buf, len, FS__RANDK_HEAD,
                                  "dim, nnz, seed", expect, err);
  if (st != FS_OK)
    return st;
  uint32_t nnz = fs_get_u32(buf + 4);
  if (nnz > expect)
    return fs_err_set(err, FS_EFORMAT, "%s payload: nnz %lu exceeds dim %lu",
                      what, (unsigned long)nnz, (unsigned long)expect);
  char fields[32];
  snprintf(fields, sizeof fields, "nnz %lu", (unsigned long)nnz);
  if ((st = fs_payload__exact(what, fields, FS__RANDK_HEAD + 4 * (uint64_t)nnz,
                              len, err)) != FS_OK ||
      (st = fs_payload__grow_val(out, nnz, err)) != FS_OK ||
      (st = fs_payload__get_f32s(what, "value", buf + FS__RANDK_HEAD, nnz,
                                 out->val, err)) != FS_OK)
    return st;
  out->nnz = nnz;
  out->seed = fs_get_u64(buf + 8);
  return FS_OK;
}
