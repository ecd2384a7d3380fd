/*
 * fuzz_payload.c — fs_payload_decode for one encoding (FS_FUZZ_ENC, one
 * target per compressed encoding: payload_sparse, payload_randk, ...), on
 * any bytes, expecting the dim the body itself names: a status with a
 * message and the payload's scalars untouched, or a payload that keeps every
 * promise of fs_payload.h and re-encodes to exactly the same bytes (SPARSE
 * in the index coding the body names).
 */
#include "fuzz.h"

#include "payload.h"
#include "wire.h"

#include <math.h>
#include <string.h>

#ifndef FS_FUZZ_ENC
#error "FS_FUZZ_ENC: the encoding this target decodes"
#endif

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static void check_valid(const fs_payload *q, uint32_t dim) {
  FS_FUZZ_CHECK(fs_payload_encoding(q->kind) == FS_FUZZ_ENC);
  FS_FUZZ_CHECK(q->dim == dim);
  switch (q->kind) {
  case FS_PL_DENSE:
    for (uint32_t j = 0; j < dim; j++)
      FS_FUZZ_CHECK(isfinite(q->val[j]));
    break;
  case FS_PL_SPARSE:
    FS_FUZZ_CHECK(q->nnz <= dim);
    for (uint32_t i = 0; i < q->nnz; i++) {
      FS_FUZZ_CHECK(q->idx[i] < dim);
      FS_FUZZ_CHECK(i == 0 || q->idx[i] > q->idx[i - 1]);
      FS_FUZZ_CHECK(isfinite(q->val[i]));
    }
    break;
  case FS_PL_RANDK:
    FS_FUZZ_CHECK(q->nnz <= dim);
    for (uint32_t i = 0; i < q->nnz; i++)
      FS_FUZZ_CHECK(isfinite(q->val[i]));
    break;
  case FS_PL_QSGD:
    FS_FUZZ_CHECK(q->levels >= 1 && q->levels <= 127);
    FS_FUZZ_CHECK(isfinite(q->scale) && q->scale >= 0);
    for (uint32_t j = 0; j < dim; j++)
      FS_FUZZ_CHECK(abs(q->codes[j]) <= (int)q->levels);
    break;
  case FS_PL_SIGN:
    FS_FUZZ_CHECK(isfinite(q->scale) && q->scale >= 0);
    for (uint32_t j = 0; j < dim; j++)
      FS_FUZZ_CHECK(q->codes[j] == 1 || q->codes[j] == -1);
    break;
  case FS_PL_NATURAL:
    for (uint32_t j = 0; j < dim; j++)
      FS_FUZZ_CHECK(isfinite(q->val[j]) &&
                    (bits_of(q->val[j]) & 0x007fffffu) == 0);
    break;
  case FS_PL_BLOCK8:
    FS_FUZZ_CHECK(q->block >= 1);
    for (uint64_t b = 0; b < ((uint64_t)dim + q->block - 1) / q->block; b++)
      FS_FUZZ_CHECK(isfinite(q->absmax[b]) && q->absmax[b] >= 0);
    for (uint32_t j = 0; j < dim; j++)
      FS_FUZZ_CHECK(q->codes[j] != INT8_MIN);
    break;
  default:
    FS_FUZZ_CHECK(!"unknown kind");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint32_t dim = size >= 4 ? fs_get_u32(data) : 0;
  fs_payload q;
  memset(&q, 0, sizeof q);
  q.kind = (fs_payload_kind)99; /* sentinels: untouched on failure */
  q.dim = 12345;
  q.scale = -7.0f;
  fs_err e = {0};
  fs_status st =
      fs_payload_decode(data, size, (fs_payload_kind)FS_FUZZ_ENC, dim, &q, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_EFORMAT || st == FS_ETRUNC || st == FS_ENUMERIC ||
                  st == FS_ENOMEM);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    FS_FUZZ_CHECK(q.kind == (fs_payload_kind)99 && q.dim == 12345 &&
                  q.scale == -7.0f);
  } else {
    check_valid(&q, dim);
    int sparse = FS_FUZZ_ENC == FS_PL_SPARSE;
    size_t n = sparse ? fs_payload_sparse_size(&q, (fs_index_coding)data[8])
                      : fs_payload_encoded_size(&q, NULL);
    FS_FUZZ_CHECK(n == size);
    uint8_t *again = malloc(n ? n : 1);
    FS_FUZZ_CHECK(again != NULL);
    size_t w =
        sparse ? fs_payload_encode_sparse(&q, (fs_index_coding)data[8], again)
               : fs_payload_encode(&q, again);
    FS_FUZZ_CHECK(w == n && memcmp(again, data, n) == 0);
    free(again);
  }
  free(q.idx);
  free(q.val);
  free(q.codes);
  free(q.absmax);
  return 0;
}
