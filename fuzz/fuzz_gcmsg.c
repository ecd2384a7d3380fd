/*
 * fuzz_gcmsg.c — fs_gcmsg_task_decode (the GC_TASK body) on any bytes after
 * a 6-byte prefix that picks the decoder's parameters the way a worker's
 * state would: u8 d (floats per model), u8 cap (at most cap tasks, terms
 * and models; 0: the worker's own caps, body bytes / 8 + 1), u32 max_row
 * (rows in the training set). A status with a message, or tasks, terms and
 * models that keep gcmsg.h's promises and re-encode to the same body.
 * (GC_RESULT bodies are the UPDATE metadata and a DENSE_F32 vector, read
 * by frame.h's decoders: targets update_meta, dense and frame.)
 */
#include "fuzz.h"
#include "oracle.h"

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6)
    return 0;
  fs_fuzz_gc_task(data + 6, size - 6, data[0], fs_get_u32(data + 2), data[1]);
  return 0;
}
