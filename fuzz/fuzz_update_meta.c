/*
 * fuzz_update_meta.c — fs_update_meta_decode (the 12 bytes at the head of
 * an UPDATE body) on any bytes: a status with a message, or a finite loss
 * and a count that re-encode to the same 12 bytes.
 */
#include "fuzz.h"

#include "frame.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fs_update_meta m;
  fs_err e = {0};
  fs_status st = fs_update_meta_decode(data, size, &m, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_ENUMERIC);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    return 0;
  }
  FS_FUZZ_CHECK(size >= FS_UPDATE_META_BYTES && isfinite(m.train_loss));
  uint8_t again[FS_UPDATE_META_BYTES];
  fs_update_meta_encode(&m, again);
  FS_FUZZ_CHECK(memcmp(again, data, sizeof again) == 0);
  return 0;
}
