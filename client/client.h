/*
 * client.h — the client worker: hosts the virtual clients mapped to its rank
 * (client c lives on worker 1 + c mod (P-1)), keeps their data rows, and
 * answers each TRAIN frame with an UPDATE frame after the client's local
 * work. Clients that are not sampled cost only their stored rows.
 */
#ifndef FS_CLIENT_H
#define FS_CLIENT_H

#include "compress.h"
#include "config.h"
#include "setup.h"
#include "transport.h"

typedef struct fs_worker fs_worker;

/* Build the worker of this rank (copies its clients' rows out of w). */
fs_status fs_worker_new(const fs_config *cfg, const fs_world *w,
                        fs_transport *t, fs_worker **out, fs_err *err);
void fs_worker_free(fs_worker *k);

/* Handle one frame addressed to this worker; *stop = 1 after SHUTDOWN. */
fs_status fs_worker_handle(fs_worker *k, const uint8_t *frame, size_t len,
                           int *stop, fs_err *err);

/* MPI mode: receive and handle frames until SHUTDOWN. */
fs_status fs_worker_run(fs_worker *k, fs_err *err);

/* Local mode: handle every frame queued for the worker (an fs_pump_fn). */
fs_status fs_worker_pump(void *worker, fs_err *err);

/* Seconds this worker spent in local training. */
double fs_worker_busy_seconds(const fs_worker *k);

#endif
