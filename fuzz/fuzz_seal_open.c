/*
 * fuzz_seal_open.c — fs_seal_open (the sealed-frame decoder), three ways,
 * chosen by the first byte:
 *   0: open the rest as a sealed frame from client 3: a refusal with a
 *      message (it cannot forge a tag), or, for a genuine seed frame, the
 *      plain frame with the header that travelled in clear;
 *   1: seal the rest (as a frame of client 3) and open it: accepted, and the
 *      very same frame, exactly when its header is a valid frame header;
 *   2: the same, with one byte of the sealed frame changed (position and
 *      XOR mask from bytes 1-3): always refused, the session unchanged.
 */
#include "fuzz.h"

#include "frame.h"
#include "seal.h"
#include "wire.h"

#include <string.h>

static fs_seal_session srv0, cli0; /* fresh sessions, copied per input */
static int ready;

static void setup(void) {
  uint8_t spk[32], ssk[32], cpk[32], csk[32];
  fs_seal_keypair(1, FS_SEAL_SERVER_ID, spk, ssk);
  fs_seal_keypair(1, 3, cpk, csk);
  FS_FUZZ_CHECK(fs_seal_session_server(&srv0, spk, ssk, cpk, 3, NULL) == FS_OK);
  FS_FUZZ_CHECK(fs_seal_session_client(&cli0, cpk, csk, spk, 3, NULL) == FS_OK);
  ready = 1;
}

static int refusal(fs_status st) {
  return st == FS_EAUTH || st == FS_EREPLAY || st == FS_EFORMAT ||
         st == FS_ETRUNC || st == FS_EVERSION;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready)
    setup();
  if (size < 1)
    return 0;
  fs_seal_session srv = srv0, cli = cli0;
  unsigned mode = data[0] % 3;
  size_t skip = mode == 2 ? 4 : 1;
  if (size < skip)
    return 0;
  const uint8_t *in = data + skip;
  size_t n = size - skip;
  fs_err e = {0};
  size_t olen = 0;
  if (mode == 0) {
    uint8_t *out = malloc(n > FS_SEAL_OVERHEAD ? n - FS_SEAL_OVERHEAD : 1);
    FS_FUZZ_CHECK(out != NULL);
    fs_status st = fs_seal_open(&srv, in, n, out, &olen, &e);
    if (st != FS_OK) {
      FS_FUZZ_CHECK(refusal(st) && e.status == st && e.msg[0] != '\0');
      FS_FUZZ_CHECK(srv.rx_last == 0);
    } else {
      FS_FUZZ_CHECK(olen == n - FS_SEAL_OVERHEAD);
      FS_FUZZ_CHECK(
          memcmp(out, in + FS_SEAL_PREFIX_BYTES, FS_FRAME_HEADER_BYTES) == 0);
      FS_FUZZ_CHECK(srv.rx_last == fs_get_u64(in + 8));
    }
    free(out);
    return 0;
  }
  if (n < FS_FRAME_HEADER_BYTES)
    return 0;
  /* The frame: the input's bytes, with client 3 and the true body length
   * (fs_seal's preconditions). */
  uint8_t *f = malloc(n);
  uint8_t *sealed = malloc(fs_seal_size(n - FS_FRAME_HEADER_BYTES));
  uint8_t *out = malloc(n);
  FS_FUZZ_CHECK(f && sealed && out);
  memcpy(f, in, n);
  fs_put_u32(f + 12, 3);
  fs_put_u32(f + 20, (uint32_t)(n - FS_FRAME_HEADER_BYTES));
  size_t slen = 0;
  FS_FUZZ_CHECK(fs_seal(&cli, f, f + FS_FRAME_HEADER_BYTES,
                        n - FS_FRAME_HEADER_BYTES, sealed, &slen,
                        NULL) == FS_OK);
  FS_FUZZ_CHECK(slen == n + FS_SEAL_OVERHEAD);
  fs_frame_header h;
  int header_ok = fs_frame_header_decode(f, n, &h, NULL) == FS_OK;
  if (mode == 2) {
    size_t pos = (size_t)fs_get_u16(data + 1) % slen;
    uint8_t mask = data[3] ? data[3] : 1;
    sealed[pos] ^= mask;
    fs_status st = fs_seal_open(&srv, sealed, slen, out, &olen, &e);
    FS_FUZZ_CHECK(refusal(st) && e.msg[0] != '\0');
    FS_FUZZ_CHECK(srv.rx_last == 0);
  } else {
    fs_status st = fs_seal_open(&srv, sealed, slen, out, &olen, &e);
    if (header_ok) {
      FS_FUZZ_CHECK(st == FS_OK && olen == n && memcmp(out, f, n) == 0);
      FS_FUZZ_CHECK(srv.rx_last == 1);
      /* The same frame again is a replay. */
      st = fs_seal_open(&srv, sealed, slen, out, &olen, &e);
      FS_FUZZ_CHECK(st == FS_EREPLAY);
    } else {
      FS_FUZZ_CHECK(st == FS_EFORMAT && e.msg[0] != '\0');
    }
  }
  free(f);
  free(sealed);
  free(out);
  return 0;
}
