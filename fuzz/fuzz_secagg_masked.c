/*
 * fuzz_secagg_masked.c — fs_masked_decode (the MASKED_U32 vector of a
 * secure-aggregation UPDATE) on any bytes, expecting the count the bytes
 * fit ((size - 4) / 4) and, when it differs, the count the vector names
 * (any u32: the output holds only what the bytes fit, so a decoder that
 * wrote more would be caught): a status with a message and the output
 * untouched, or words that re-encode to the same bytes.
 */
#include "fuzz.h"
#include "oracle.h"

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t fit = size >= 4 ? (size - 4) / 4 : 0;
  fs_fuzz_masked(data, size, fit);
  if (size >= 4 && fs_get_u32(data) != fit)
    fs_fuzz_masked(data, size, fs_get_u32(data));
  return 0;
}
