/*
 * bench_seal.c — what sealing a frame costs (docs/sealed-frames.md): time to
 * derive a key pair and a session, and to seal and open a dense TRAIN frame
 * of d parameters (default 235,146, the MLP of the reference runs).
 * Usage: bench_seal [d] [repeats]
 */
#include "frame.h"
#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0)
    return 1;
  size_t d = argc > 1 ? strtoul(argv[1], NULL, 10) : 235146;
  int reps = argc > 2 ? atoi(argv[2]) : 50;
  if (d == 0 || reps <= 0) {
    fprintf(stderr, "usage: bench_seal [d > 0] [repeats > 0]\n");
    return 2;
  }
  size_t bl = fs_dense_size(d);
  uint8_t *f = calloc(1, FS_FRAME_HEADER_BYTES + bl);
  uint8_t *s = malloc(fs_seal_size(bl)),
          *o = malloc(FS_FRAME_HEADER_BYTES + bl);
  float *x = calloc(d, sizeof(float));
  if (!f || !s || !o || !x)
    return 1;
  fs_dense_encode(x, d, f + FS_FRAME_HEADER_BYTES);
  fs_frame_header h = {.type = FS_MSG_TRAIN,
                       .encoding = FS_PL_DENSE,
                       .round = 1,
                       .client = 3,
                       .body_len = (uint32_t)bl};
  fs_frame_header_encode(&h, f);
  uint8_t spk[32], ssk[32], cpk[32], csk[32];
  double t0 = now();
  for (int i = 0; i < reps; i++)
    fs_seal_keypair(1, FS_SEAL_SERVER_ID, spk, ssk);
  double tk = (now() - t0) / reps;
  fs_seal_keypair(1, 3, cpk, csk);
  fs_seal_session a, b;
  t0 = now();
  for (int i = 0; i < reps; i++)
    fs_seal_session_server(&a, spk, ssk, cpk, 3, NULL);
  double ts = (now() - t0) / reps;
  fs_seal_session_client(&b, cpk, csk, spk, 3, NULL);
  double tseal = 0, topen = 0;
  size_t sl = 0, ol = 0;
  for (int i = 0; i < reps; i++) {
    t0 = now();
    fs_seal(&a, f, f + FS_FRAME_HEADER_BYTES, bl, s, &sl, NULL);
    tseal += now() - t0;
    t0 = now();
    if (fs_seal_open(&b, s, sl, o, &ol, NULL) != FS_OK)
      return 3;
    topen += now() - t0;
  }
  tseal /= reps;
  topen /= reps;
  printf("d %zu: frame %zu bytes, sealed %zu; key pair %.0f us, session %.0f "
         "us; seal %.2f ms (%.2f GB/s), open %.2f ms (%.2f GB/s)\n",
         d, FS_FRAME_HEADER_BYTES + bl, sl, tk * 1e6, ts * 1e6, tseal * 1e3,
         (double)sl / tseal / 1e9, topen * 1e3, (double)sl / topen / 1e9);
  fs_seal_session_wipe(&a);
  fs_seal_session_wipe(&b);
  free(f);
  free(s);
  free(o);
  free(x);
  return 0;
}
