/*
 * client_ckpt.h — the clients' persistent state in a checkpoint.
 *
 * Each worker writes the state of the clients it hosts into its own file of
 * the checkpoint folder (worker-RRRR.bin: one record per client and kind of
 * state, keyed by client id, never by rank). On resume every worker reads
 * every worker file named by the MANIFEST and keeps the clients it hosts
 * now, so a checkpoint taken with P ranks resumes with any other P.
 *
 * State covered: the error-feedback vector of each client (EF14 memory e_c
 * or EF21 estimate g_c), the DiceSGD error buffer, the momentum buffer
 * (clients.momentum), and the EF21-BC
 * downlink state (x, b and the round, the same on every worker). A client
 * that never took part has no record and starts from zero, as it would.
 */
#ifndef FS_CLIENT_CKPT_H
#define FS_CLIENT_CKPT_H

#include "ckpt.h"
#include "config.h"
#include "fs_status.h"
#include "sealer.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

/* A view of one worker's state (pointers into the worker). Local client i
 * is global client first + i * stride. */
typedef struct {
  int rank;
  size_t nclients, first, stride, nglobal;
  size_t dim;
  float **ef;   /* [nclients], entries NULL until used; NULL: no EF */
  float **dice; /* [nclients], likewise; NULL: no DiceSGD */
  float **mom;  /* [nclients], likewise; NULL: no clients.momentum */
  int bc;       /* EF21-BC state present */
  float *bc_x, *bc_b;
  uint32_t *bc_round;
  fs_sealer *seal;      /* secure.seal: the reply is sealed (NULL: off) */
  uint32_t ctrl_client; /* in the session the CHECKPOINT frame named */
} fs_client_state;

/* Handle a CHECKPOINT frame (header fields round = aggregation, body =
 * u8 op + folder): save (op 1) into DIR/worker-RRRR.bin or restore (op 2)
 * from every worker file of DIR's MANIFEST, then answer the server with a
 * CHECKPOINT_DONE frame carrying the outcome. A failure to save or load is
 * reported to the server (which stops the run), not returned; the return
 * value is FS_OK unless the frame is malformed or the reply cannot be sent. */
fs_status fs_client_ckpt_handle(fs_client_state *s, fs_transport *t,
                                const fs_config *cfg, uint32_t round,
                                const uint8_t *body, size_t len, fs_err *err);

#endif
