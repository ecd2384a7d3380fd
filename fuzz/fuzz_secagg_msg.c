/*
 * fuzz_secagg_msg.c — fs_sam_decode (the SA_KEYS, SA_ADVERTISE, SA_SHARES,
 * SA_UNMASK and SA_REVEAL bodies) on any bytes after a first byte that is
 * the type to decode as: any of the 256 values, as a receiver passes the
 * type of a frame's header (client/secagg_client.c), so the check that it
 * is a secure-aggregation type is fuzzed too. A status with a message, or
 * a view whose records (ids, secret bytes 0 or 1, keys, ciphertexts,
 * shares) re-encode with fs_sam_begin and fs_sam_put_* to the same body.
 */
#include "fuzz.h"
#include "oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  fs_fuzz_sam(data[0], data + 1, size - 1);
  return 0;
}
