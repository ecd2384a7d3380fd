/*
 * payload_impl.h — what the files of the payload module share (not part of
 * its interface, payload.h): the header sizes of the encodings, small
 * helpers, the growth of a payload's arrays and the checks every decoder
 * makes, and the encoders and decoders of each family. The module is split
 * along its encodings: payload.c (sizes, dispatch, dense),
 * payload_sparse.c (SPARSE and its index codings, RANDK) and
 * payload_quant.c (QSGD, SIGN, NATURAL, BLOCK8); layouts in
 * docs/wire-format.md.
 */
#ifndef FS_PAYLOAD_IMPL_H
#define FS_PAYLOAD_IMPL_H

#include "payload.h"

#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

static inline void fs_payload__misuse(const char *what) {
  fprintf(stderr, "fedsim: proto misuse: %s\n", what);
  abort();
}

static inline uint64_t fs_payload__ceil_div(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0);
}

/* The encoder's sizes are size_t; on a host where they cannot hold a body
 * (32-bit size_t, dim near 2^32) that is the caller's mistake. */
static inline size_t fs_payload__size(uint64_t n) {
  if (n > SIZE_MAX)
    fs_payload__misuse("payload larger than SIZE_MAX bytes");
  return (size_t)n;
}

static inline int fs_payload__f32_bad(uint32_t bits) {
  return (bits & FS__F32_EXP_MASK) == FS__F32_EXP_MASK;
}

static inline const char *fs_payload__f32_kind(uint32_t bits) {
  if ((bits & FS__F32_MANT_MASK) != 0)
    return "NaN";
  return (bits & FS__F32_SIGN) ? "-Inf" : "+Inf";
}

/* Bits of one QSGD code for s levels: ceil(log2(2s + 1)), 2 .. 8. */
static inline unsigned fs_payload__qsgd_bits(uint32_t s) {
  unsigned b = 1;
  while ((UINT32_C(1) << b) < 2 * s + 1)
    b++;
  return b;
}

static inline uint8_t *fs_payload__put_f32s(uint8_t *o, const float *v,
                                            uint32_t n) {
  for (uint32_t i = 0; i < n; i++, o += 4)
    fs_put_f32(o, v[i]);
  return o;
}

/* ---- payload.c: shared by the decoders ---------------------------------- */

/* Make room for n values (indices, codes, block scales) in out. */
fs_status fs_payload__grow_val(fs_payload *out, uint64_t n, fs_err *err);
fs_status fs_payload__grow_idx(fs_payload *out, uint64_t n, fs_err *err);
fs_status fs_payload__grow_codes(fs_payload *out, uint64_t n, fs_err *err);
fs_status fs_payload__grow_absmax(fs_payload *out, uint64_t n, fs_err *err);

/* Checks shared by every body: at least head bytes, and dim == expect. */
fs_status fs_payload__head(const char *what, const uint8_t *buf, size_t len,
                           size_t head, const char *fields, uint32_t expect,
                           fs_err *err);

/* The body must be exactly need bytes. */
fs_status fs_payload__exact(const char *what, const char *fields, uint64_t need,
                            size_t len, fs_err *err);

/* ---- payload_sparse.c --------------------------------------------------- */

/* Bytes of a SPARSE body whose index section is idx_bytes. */
uint64_t fs_payload__sparse_total(const fs_payload *p, uint64_t idx_bytes);

/* The cheapest coding of p's indices (ties: RAW32, BITMAP, DELTA_VARINT)
 * and its section size; aborts on a payload that breaks its invariants. */
fs_index_coding fs_payload__sparse_pick(const fs_payload *p, uint64_t *bytes);

fs_status fs_payload__decode_sparse(const uint8_t *buf, size_t len,
                                    uint32_t expect, fs_payload *out,
                                    fs_err *err);
fs_status fs_payload__decode_randk(const uint8_t *buf, size_t len,
                                   uint32_t expect, fs_payload *out,
                                   fs_err *err);

/* ---- payload_quant.c ---------------------------------------------------- */

/* Encoders of the quantised kinds: out has fs_payload_encoded_size bytes;
 * a payload that breaks its invariants aborts. */
void fs_payload__encode_qsgd(const fs_payload *p, uint8_t *out);
void fs_payload__encode_sign(const fs_payload *p, uint8_t *out);
void fs_payload__encode_natural(const fs_payload *p, uint8_t *out);
void fs_payload__encode_block8(const fs_payload *p, uint8_t *out);

/* Decoders of the quantised kinds (the rules of fs_payload_decode). */
fs_status fs_payload__decode_qsgd(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err);
fs_status fs_payload__decode_sign(const uint8_t *buf, size_t len,
                                  uint32_t expect, fs_payload *out,
                                  fs_err *err);
fs_status fs_payload__decode_natural(const uint8_t *buf, size_t len,
                                     uint32_t expect, fs_payload *out,
                                     fs_err *err);
fs_status fs_payload__decode_block8(const uint8_t *buf, size_t len,
                                    uint32_t expect, fs_payload *out,
                                    fs_err *err);

#endif
