/*
 * model_io.c — what the server role writes and sends at its end, whatever
 * the strategy: the trained model into RUN/model.bin (docs/user-guide.md),
 * and a SHUTDOWN frame to every worker (sealed with secure.seal).
 */
#include "server.h"

#include "frame.h"
#include "metrics.h"
#include "sealer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fs_status fs_server_write_model(const char *dir, const float *x, size_t dim,
                                fs_err *err) {
  size_t len = 20 + 4 * dim;
  uint8_t *b = malloc(len);
  if (b == NULL)
    return fs_err_set(err, FS_ENOMEM, "model.bin: out of memory");
  memcpy(b, "FSMODEL1", 8);
  for (int i = 0; i < 4; i++)
    b[8 + i] = (uint8_t)(1u >> (8 * i));
  for (int i = 0; i < 8; i++)
    b[12 + i] = (uint8_t)((uint64_t)dim >> (8 * i));
  for (size_t j = 0; j < dim; j++) {
    uint32_t u;
    memcpy(&u, &x[j], 4);
    for (int i = 0; i < 4; i++)
      b[20 + 4 * j + (size_t)i] = (uint8_t)(u >> (8 * i));
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/model.bin", dir);
  fs_status st = fs_write_file_atomic(path, b, len, err);
  free(b);
  return st;
}

fs_status fs_server_shutdown_workers(fs_sealer *sl, fs_transport *t,
                                     fs_err *err) {
  uint8_t hdr[FS_FRAME_HEADER_BYTES];
  int W = fs_transport_workers(t);
  for (int k = 0; k < W; k++) {
    int dest = fs_transport_is_local(t) ? 0 : k + 1;
    fs_frame_header h = {.type = FS_MSG_SHUTDOWN,
                         .encoding = FS_PL_NONE,
                         .client = sl != NULL ? (uint32_t)k : 0};
    fs_frame_header_encode(&h, hdr);
    fs_iov iov = {hdr, sizeof hdr};
    fs_status st = fs_sealer_post(sl, t, FS_ROLE_SERVER, dest, &iov, 1, 1, err);
    if (st != FS_OK)
      return st;
  }
  fs_status st = fs_transport_flush(t, err);
  if (st == FS_OK && fs_transport_is_local(t)) {
    /* Let the local worker see its SHUTDOWN. */
    int src;
    const uint8_t *b;
    size_t l;
    fs_transport_try_recv(t, FS_ROLE_WORKER, &src, &b, &l, NULL);
  }
  return st;
}
