/*
 * frame.c — version 1 of the fedsim wire format: the 28-byte frame header,
 * the DENSE_F32 vector encoding and the metadata at the head of an UPDATE
 * body (layout in frame.h, user documentation in docs/wire-format.md). The
 * compressed vector encodings live in payload.c.
 *
 * Encoders trust their caller (a wrong size is a programmer mistake and
 * aborts). Decoders trust nothing: every length is checked against the bytes
 * present before it is used, every field against the values version 1
 * allows, and each failure returns a status with an fs_err message naming
 * the field and the offending value. Decoders write their output only on
 * success.
 *
 * Dense vectors are the bulk of the traffic (hundreds of thousands of floats
 * per frame), so on a little-endian host with IEEE-754 floats the payload is
 * copied with one memcpy and checked for NaN/Inf with a branch-free loop
 * over the bit patterns; other hosts take a byte-by-byte path that gives
 * identical results.
 */
#include "frame.h"

#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the host stores floats exactly as the wire does (little-endian
 * IEEE-754), so vectors can be copied with memcpy. Defining it to 0 on the
 * command line forces the byte-by-byte path (used to test it). */
#ifndef FS__HOST_IS_WIRE
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&             \
    defined(__FLOAT_WORD_ORDER__) &&                                           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&                               \
    __FLOAT_WORD_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&                         \
    defined(__STDC_IEC_559__)
#define FS__HOST_IS_WIRE 1
#else
#define FS__HOST_IS_WIRE 0
#endif
#endif

_Static_assert(sizeof(float) == 4, "fedsim needs 32-bit float");
_Static_assert(sizeof(double) == 8, "fedsim needs 64-bit double");

static const uint8_t fs__magic[4] = {0x46, 0x53, 0x49, 0x4d}; /* "FSIM" */

#define FS__F32_EXP_MASK 0x7f800000u
#define FS__F32_MANT_MASK 0x007fffffu
#define FS__F32_SIGN 0x80000000u
#define FS__F64_EXP_MASK UINT64_C(0x7ff0000000000000)
#define FS__F64_MANT_MASK UINT64_C(0x000fffffffffffff)
#define FS__F64_SIGN UINT64_C(0x8000000000000000)

static void fs__misuse(const char *what) {
  fprintf(stderr, "fedsim: proto misuse: %s\n", what);
  abort();
}

const char *fs_msg_type_name(unsigned type) {
  switch (type) {
  case FS_MSG_TRAIN:
    return "TRAIN";
  case FS_MSG_UPDATE:
    return "UPDATE";
  case FS_MSG_SHUTDOWN:
    return "SHUTDOWN";
  case FS_MSG_GC_TASK:
    return "GC_TASK";
  case FS_MSG_GC_RESULT:
    return "GC_RESULT";
  case FS_MSG_SA_KEYS:
    return "SA_KEYS";
  case FS_MSG_SA_ADVERTISE:
    return "SA_ADVERTISE";
  case FS_MSG_SA_SHARES:
    return "SA_SHARES";
  case FS_MSG_SA_UNMASK:
    return "SA_UNMASK";
  case FS_MSG_SA_REVEAL:
    return "SA_REVEAL";
  case FS_MSG_CHECKPOINT:
    return "CHECKPOINT";
  case FS_MSG_CHECKPOINT_DONE:
    return "CHECKPOINT_DONE";
  default:
    return "unknown";
  }
}

const char *fs_encoding_name(unsigned encoding) {
  switch (encoding) {
  case FS_PL_NONE:
    return "NONE";
  case FS_PL_DENSE:
    return "DENSE_F32";
  case FS_PL_SPARSE:
    return "SPARSE";
  case FS_PL_RANDK:
    return "RANDK";
  case FS_PL_QSGD:
    return "QSGD";
  case FS_PL_SIGN:
    return "SIGN";
  case FS_PL_NATURAL:
    return "NATURAL";
  case FS_PL_BLOCK8:
    return "BLOCK8";
  case FS_PL_MASKED_U32:
    return "MASKED_U32";
  default:
    return "unknown";
  }
}

void fs_frame_header_encode(const fs_frame_header *h, uint8_t *out) {
  memcpy(out, fs__magic, 4);
  out[4] = FS_PROTO_VERSION;
  out[5] = h->type;
  out[6] = h->encoding;
  out[7] = h->flags;
  fs_put_u32(out + 8, h->round);
  fs_put_u32(out + 12, h->client);
  fs_put_u32(out + 16, h->model_version);
  fs_put_u32(out + 20, h->body_len);
  fs_put_u32(out + 24, 0);
}

fs_status fs_frame_header_decode(const uint8_t *buf, size_t len,
                                 fs_frame_header *h, fs_err *err) {
  if (len < FS_FRAME_HEADER_BYTES)
    return fs_err_set(err, FS_ETRUNC,
                      "frame: %zu bytes, shorter than the %d-byte header", len,
                      FS_FRAME_HEADER_BYTES);
  if (memcmp(buf, fs__magic, 4) != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: bad magic 0x%02x%02x%02x%02x (expected "
                      "0x4653494d, \"FSIM\")",
                      buf[0], buf[1], buf[2], buf[3]);
  if (buf[4] != FS_PROTO_VERSION)
    return fs_err_set(err, FS_EVERSION,
                      "frame: version %u not supported (this build reads %d)",
                      (unsigned)buf[4], FS_PROTO_VERSION);

  fs_frame_header v;
  v.type = buf[5];
  v.encoding = buf[6];
  v.flags = buf[7];
  v.round = fs_get_u32(buf + 8);
  v.client = fs_get_u32(buf + 12);
  v.model_version = fs_get_u32(buf + 16);
  v.body_len = fs_get_u32(buf + 20);
  uint32_t reserved = fs_get_u32(buf + 24);

  if (v.type < FS_MSG_TRAIN || v.type > FS_MSG_MAX)
    return fs_err_set(err, FS_EFORMAT, "frame: unknown message type %u",
                      (unsigned)v.type);
  if (v.encoding > FS_PL_MAX)
    return fs_err_set(err, FS_EFORMAT, "frame: unknown encoding %u",
                      (unsigned)v.encoding);
  if (v.flags != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: flags 0x%02x set (must be 0 in version %d)",
                      (unsigned)v.flags, FS_PROTO_VERSION);
  if (reserved != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: reserved field 0x%08lx (must be 0)",
                      (unsigned long)reserved);

  if (v.type == FS_MSG_SHUTDOWN && v.encoding != FS_PL_NONE)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: SHUTDOWN needs encoding NONE, got %s",
                      fs_encoding_name(v.encoding));
  /* The secure-aggregation and checkpoint types carry records, not vectors. */
  int sa = v.type >= FS_MSG_SA_KEYS;
  if (sa && v.encoding != FS_PL_NONE)
    return fs_err_set(err, FS_EFORMAT, "frame: %s needs encoding NONE, got %s",
                      fs_msg_type_name(v.type), fs_encoding_name(v.encoding));
  if (v.type == FS_MSG_TRAIN && v.encoding == FS_PL_MASKED_U32)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: TRAIN cannot carry a MASKED_U32 vector");
  /* GC_TASK and GC_RESULT bodies hold DENSE_F32 vectors only (gcmsg.h),
   * and their receivers read them as such without looking at the encoding:
   * any other encoding number is refused here rather than misread there
   * (found by the fuzz_header oracle; regressions/header/gc-*). */
  if ((v.type == FS_MSG_GC_TASK || v.type == FS_MSG_GC_RESULT) &&
      v.encoding != FS_PL_DENSE)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: %s needs encoding DENSE_F32, got %s",
                      fs_msg_type_name(v.type), fs_encoding_name(v.encoding));
  if (v.type != FS_MSG_SHUTDOWN && !sa && v.encoding == FS_PL_NONE)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: %s needs a vector encoding, got NONE",
                      fs_msg_type_name(v.type));
  if (v.type == FS_MSG_SHUTDOWN && v.body_len != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "frame: SHUTDOWN body length %lu (must be 0)",
                      (unsigned long)v.body_len);

  size_t follow = len - FS_FRAME_HEADER_BYTES;
  if ((uint64_t)v.body_len != (uint64_t)follow)
    return fs_err_set(
        err, (uint64_t)v.body_len > (uint64_t)follow ? FS_ETRUNC : FS_EFORMAT,
        "frame: body length %lu but %zu bytes follow the header",
        (unsigned long)v.body_len, follow);

  *h = v;
  return FS_OK;
}

size_t fs_dense_size(size_t n) {
  if ((uint64_t)n > UINT32_MAX)
    fs__misuse("dense vector longer than 2^32-1 entries");
  return 4 + 4 * n;
}

size_t fs_update_body_size(size_t n) {
  return FS_UPDATE_META_BYTES + fs_dense_size(n);
}

void fs_dense_encode(const float *v, size_t n, uint8_t *out) {
  if ((uint64_t)n > UINT32_MAX)
    fs__misuse("dense vector longer than 2^32-1 entries");
  fs_put_u32(out, (uint32_t)n);
  if (n == 0)
    return;
#if FS__HOST_IS_WIRE
  memcpy(out + 4, v, 4 * n);
#else
  for (size_t i = 0; i < n; i++)
    fs_put_f32(out + 4 + 4 * i, v[i]);
#endif
}

static const char *fs__f32_kind(uint32_t bits) {
  if ((bits & FS__F32_MANT_MASK) != 0)
    return "NaN";
  return (bits & FS__F32_SIGN) ? "-Inf" : "+Inf";
}

/* 1 if any of the n little-endian float32 at p is NaN or +-Inf. Branch-free
 * so the compiler can vectorise it; the caller looks for the index only
 * when this says there is one. */
static int fs__f32_any_nonfinite(const uint8_t *p, size_t n) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; i++) {
#if FS__HOST_IS_WIRE
    uint32_t u;
    memcpy(&u, p + 4 * i, 4);
#else
    uint32_t u = fs_get_u32(p + 4 * i);
#endif
    bad |= (uint32_t)((u & FS__F32_EXP_MASK) == FS__F32_EXP_MASK);
  }
  return bad != 0;
}

fs_status fs_dense_decode(const uint8_t *buf, size_t len, float *out, size_t n,
                          fs_err *err) {
  if (len < 4)
    return fs_err_set(err, FS_ETRUNC,
                      "dense vector: %zu bytes, too short for the 4-byte count",
                      len);
  uint32_t count = fs_get_u32(buf);
  if ((uint64_t)count != (uint64_t)n)
    return fs_err_set(err, FS_EFORMAT,
                      "dense vector: count %lu but expected %zu",
                      (unsigned long)count, n);
  uint64_t need = 4 + 4 * (uint64_t)count;
  if ((uint64_t)len != need)
    return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                      "dense vector: count %lu needs %llu bytes but %zu are "
                      "present",
                      (unsigned long)count, (unsigned long long)need, len);

  const uint8_t *p = buf + 4;
  if (fs__f32_any_nonfinite(p, n)) {
    for (size_t i = 0; i < n; i++) {
      uint32_t u = fs_get_u32(p + 4 * i);
      if ((u & FS__F32_EXP_MASK) == FS__F32_EXP_MASK)
        return fs_err_set(err, FS_ENUMERIC, "dense vector: entry %zu is %s", i,
                          fs__f32_kind(u));
    }
  }
  if (n == 0)
    return FS_OK;
#if FS__HOST_IS_WIRE
  memcpy(out, p, 4 * n);
#else
  for (size_t i = 0; i < n; i++)
    out[i] = fs_get_f32(p + 4 * i);
#endif
  return FS_OK;
}

void fs_update_meta_encode(const fs_update_meta *m, uint8_t *out) {
  fs_put_u32(out, m->num_samples);
  fs_put_f64(out + 4, m->train_loss);
}

fs_status fs_update_meta_decode(const uint8_t *buf, size_t len,
                                fs_update_meta *m, fs_err *err) {
  if (len < FS_UPDATE_META_BYTES)
    return fs_err_set(err, FS_ETRUNC,
                      "update meta: %zu bytes, needs %d (num_samples, "
                      "train_loss)",
                      len, FS_UPDATE_META_BYTES);
  uint64_t bits = fs_get_u64(buf + 4);
  if ((bits & FS__F64_EXP_MASK) == FS__F64_EXP_MASK)
    return fs_err_set(err, FS_ENUMERIC, "update meta: train_loss is %s",
                      (bits & FS__F64_MANT_MASK) != 0 ? "NaN"
                      : (bits & FS__F64_SIGN)         ? "-Inf"
                                                      : "+Inf");
  m->num_samples = fs_get_u32(buf);
  m->train_loss = fs_get_f64(buf + 4);
  return FS_OK;
}
