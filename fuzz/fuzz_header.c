/*
 * fuzz_header.c — fs_frame_header_decode on any bytes: a status with a
 * message, or a header that re-encodes to the first 28 bytes.
 */
#include "fuzz.h"

#include "frame.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fs_frame_header h;
  fs_err e = {0};
  fs_status st = fs_frame_header_decode(data, size, &h, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_EFORMAT || st == FS_EVERSION);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    return 0;
  }
  FS_FUZZ_CHECK(size == FS_FRAME_HEADER_BYTES + (size_t)h.body_len);
  FS_FUZZ_CHECK(h.flags == 0);
  switch (h.type) {
  case FS_MSG_TRAIN:
    FS_FUZZ_CHECK(h.encoding >= FS_PL_DENSE && h.encoding <= FS_PL_PAYLOAD_MAX);
    break;
  case FS_MSG_UPDATE:
    FS_FUZZ_CHECK(h.encoding >= FS_PL_DENSE && h.encoding <= FS_PL_MAX);
    break;
  case FS_MSG_SHUTDOWN:
    FS_FUZZ_CHECK(h.encoding == FS_PL_NONE && h.body_len == 0);
    break;
  case FS_MSG_GC_TASK:
  case FS_MSG_GC_RESULT:
    FS_FUZZ_CHECK(h.encoding == FS_PL_DENSE);
    break;
  default:
    FS_FUZZ_CHECK(h.type >= FS_MSG_SA_KEYS && h.type <= FS_MSG_MAX);
    FS_FUZZ_CHECK(h.encoding == FS_PL_NONE);
  }
  uint8_t again[FS_FRAME_HEADER_BYTES];
  fs_frame_header_encode(&h, again);
  FS_FUZZ_CHECK(memcmp(again, data, sizeof again) == 0);
  return 0;
}
