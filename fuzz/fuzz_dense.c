/*
 * fuzz_dense.c — fs_dense_decode (the DENSE_F32 vector of TRAIN and UPDATE
 * bodies) on any bytes, expecting the count the bytes fit ((size - 4) / 4)
 * and, when it differs, the count field itself if small: a status with a
 * message, or finite values that re-encode to the same bytes.
 */
#include "fuzz.h"

#include "frame.h"
#include "wire.h"

#include <math.h>
#include <string.h>

static void one(const uint8_t *data, size_t size, size_t n) {
  float *out = malloc((n ? n : 1) * sizeof(float));
  FS_FUZZ_CHECK(out != NULL);
  fs_err e = {0};
  fs_status st = fs_dense_decode(data, size, out, n, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_EFORMAT || st == FS_ENUMERIC);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
  } else {
    FS_FUZZ_CHECK(size == fs_dense_size(n));
    for (size_t j = 0; j < n; j++)
      FS_FUZZ_CHECK(isfinite(out[j]));
    uint8_t *again = malloc(size);
    FS_FUZZ_CHECK(again != NULL);
    fs_dense_encode(out, n, again);
    FS_FUZZ_CHECK(memcmp(again, data, size) == 0);
    free(again);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t fit = size >= 4 ? (size - 4) / 4 : 0;
  one(data, size, fit);
  if (size >= 4) {
    uint32_t count = fs_get_u32(data);
    if (count != fit && count <= 4096)
      one(data, size, count);
  }
  return 0;
}
