/*
 * fuzz_frame.c — a whole frame decoded the way a receiver does it
 * (docs/wire-format.md, "Decoding a whole frame"): the header, then for
 * UPDATE and GC_RESULT the metadata, then the vector by its encoding
 * (MASKED_U32 included); a GC_TASK body with fs_gcmsg_task_decode, for the
 * d its first model names; the SA_* bodies with fs_sam_decode. Any bytes
 * give a status with a message, or a frame that re-encodes to the same
 * bytes (GC_TASK, SA_* and MASKED_U32 bodies through oracle.c, which
 * compares them itself).
 */
#include "fuzz.h"
#include "oracle.h"

#include "frame.h"
#include "payload.h"
#include "wire.h"

#include <string.h>

static void free_payload(fs_payload *q) {
  free(q->idx);
  free(q->val);
  free(q->codes);
  free(q->absmax);
}

/* Decode the vector of encoding enc in len bytes; on success write its
 * encoding to again (len bytes) and return FS_OK. */
static fs_status vector(const uint8_t *v, size_t len, unsigned enc,
                        uint8_t *again) {
  fs_err e = {0};
  fs_status st;
  if (enc == FS_PL_MASKED_U32) {
    st = fs_fuzz_masked(v, len, len >= 4 ? fs_get_u32(v) : 0);
    if (st == FS_OK)
      memcpy(again, v, len); /* fs_fuzz_masked compared them */
    return st;
  }
  if (enc == FS_PL_DENSE) {
    size_t n = len >= 4 ? (len - 4) / 4 : 0;
    float *x = malloc((n ? n : 1) * sizeof(float));
    FS_FUZZ_CHECK(x != NULL);
    st = fs_dense_decode(v, len, x, n, &e);
    if (st == FS_OK)
      fs_dense_encode(x, n, again);
    free(x);
  } else {
    fs_payload q;
    memset(&q, 0, sizeof q);
    uint32_t dim = len >= 4 ? fs_get_u32(v) : 0;
    st = fs_payload_decode(v, len, (fs_payload_kind)enc, dim, &q, &e);
    if (st == FS_OK) {
      if (enc == FS_PL_SPARSE)
        FS_FUZZ_CHECK(
            fs_payload_encode_sparse(&q, (fs_index_coding)v[8], again) == len);
      else
        FS_FUZZ_CHECK(fs_payload_encode(&q, again) == len);
    }
    free_payload(&q);
  }
  if (st != FS_OK)
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
  return st;
}

/* The d a GC_TASK body names: the count of its first model (0 if it has
 * none, or the body ends before). */
static size_t gc_named_dim(const uint8_t *b, size_t len) {
  if (len < 4)
    return 0;
  uint64_t pos = 4;
  for (uint32_t k = fs_get_u32(b); k > 0; k--) {
    if (pos + 8 > len)
      return 0;
    pos += 8 + 16 * (uint64_t)fs_get_u32(b + pos + 4);
  }
  if (pos + 8 > len || fs_get_u32(b + pos) == 0)
    return 0;
  return fs_get_u32(b + pos + 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fs_frame_header h;
  fs_err e = {0};
  fs_status st = fs_frame_header_decode(data, size, &h, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    return 0;
  }
  uint8_t *again = malloc(size);
  FS_FUZZ_CHECK(again != NULL);
  fs_frame_header_encode(&h, again);
  const uint8_t *body = data + FS_FRAME_HEADER_BYTES;
  uint8_t *abody = again + FS_FRAME_HEADER_BYTES;
  if (h.type == FS_MSG_TRAIN) {
    st = vector(body, h.body_len, h.encoding, abody);
  } else if (h.type == FS_MSG_GC_TASK) {
    /* rows up to 2^32 - 1 (the frame alone does not know the training
     * set; target gcmsg varies it), the worker's caps */
    st = fs_fuzz_gc_task(body, h.body_len, gc_named_dim(body, h.body_len),
                         UINT32_MAX, 0);
    if (st == FS_OK)
      memcpy(abody, body, h.body_len); /* fs_fuzz_gc_task compared them */
  } else if (h.type >= FS_MSG_SA_KEYS) {
    st = fs_fuzz_sam(h.type, body, h.body_len);
    if (st == FS_OK)
      memcpy(abody, body, h.body_len); /* fs_fuzz_sam compared them */
  } else if (h.type == FS_MSG_UPDATE || h.type == FS_MSG_GC_RESULT) {
    fs_update_meta m;
    st = fs_update_meta_decode(body, h.body_len, &m, &e);
    if (st == FS_OK) {
      fs_update_meta_encode(&m, abody);
      st =
          vector(body + FS_UPDATE_META_BYTES, h.body_len - FS_UPDATE_META_BYTES,
                 h.encoding, abody + FS_UPDATE_META_BYTES);
    }
  } else {
    FS_FUZZ_CHECK(h.type == FS_MSG_SHUTDOWN && h.body_len == 0);
  }
  FS_FUZZ_CHECK(st == FS_OK || st == FS_EFORMAT || st == FS_ETRUNC ||
                st == FS_ENUMERIC || st == FS_ENOMEM);
  if (st == FS_OK)
    FS_FUZZ_CHECK(memcmp(again, data, size) == 0);
  free(again);
  return 0;
}
