/*
 * transport.h — the one door to MPI. Everything else hands it proto frames as
 * bytes and gets bytes back.
 *
 * Rank 0 is the server, ranks 1..P-1 are client workers. Started as a single
 * process (no mpirun, or mpirun -n 1), the transport runs in local mode: rank
 * 0 plays both roles, frames between them go through two in-memory queues,
 * and the worker role runs (through a pump callback) whenever the server
 * waits for a frame. The server and client code is the same in both modes.
 *
 * Waiting never spins: receives poll with MPI_Iprobe and sleep with a short
 * back-off, so a waiting server leaves its core to the workers.
 */
#ifndef FS_TRANSPORT_H
#define FS_TRANSPORT_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { FS_ROLE_SERVER = 0, FS_ROLE_WORKER = 1 } fs_role;

typedef struct {
  const void *base;
  size_t len;
} fs_iov;

typedef struct fs_transport fs_transport;

/* Local mode: make the worker role handle the frames queued for it. */
typedef fs_status (*fs_pump_fn)(void *ctx, fs_err *err);

/* MPI_Init (thread level single) and set up; errors become FS_EMPI. */
fs_status fs_transport_init(int *argc, char ***argv, fs_transport **out,
                            fs_err *err);
/* MPI_Finalize and free. NULL does nothing. */
void fs_transport_finalize(fs_transport *t);
/* Abort every rank (after an error on one of them). */
void fs_transport_abort(fs_transport *t, int code);

int fs_transport_rank(const fs_transport *t);
int fs_transport_size(const fs_transport *t);
int fs_transport_is_local(const fs_transport *t);
/* Rank of the worker that hosts client c: 1 + c mod (P-1); 0 in local mode. */
int fs_transport_worker_of(const fs_transport *t, uint64_t client);
/* Number of worker ranks (P-1, or 1 in local mode). */
int fs_transport_workers(const fs_transport *t);
void fs_transport_set_pump(fs_transport *t, fs_pump_fn fn, void *ctx);

/* Start sending the frame made of iov[0..n) to rank dest, from role `from`.
 * The buffers must stay unchanged until fs_transport_flush returns (the same
 * buffer may back several posts). */
fs_status fs_transport_post(fs_transport *t, fs_role from, int dest,
                            const fs_iov *iov, int n, fs_err *err);
/* Like post, but the transport copies the frame first: the caller may
 * change or free its buffers at once. The copy is freed when MPI is done
 * with it. */
fs_status fs_transport_post_copy(fs_transport *t, fs_role from, int dest,
                                 const fs_iov *iov, int n, fs_err *err);

/* Wait (sleeping) until every posted frame has left. */
fs_status fs_transport_flush(fs_transport *t, fs_err *err);
/* Post and flush. */
fs_status fs_transport_send(fs_transport *t, fs_role from, int dest,
                            const fs_iov *iov, int n, fs_err *err);

/* Wait for the next frame for role `to`; *buf stays valid until the next
 * receive for that role. In local mode a server that would wait forever
 * gets FS_EINVAL ("no frame will come"). */
fs_status fs_transport_recv(fs_transport *t, fs_role to, int *src,
                            const uint8_t **buf, size_t *len, fs_err *err);
/* Like recv, but returns at once with *buf = NULL if nothing is there. */
fs_status fs_transport_try_recv(fs_transport *t, fs_role to, int *src,
                                const uint8_t **buf, size_t *len, fs_err *err);

/* Seconds since an arbitrary start (MPI_Wtime). */
double fs_transport_wtime(void);
/* The MPI library's version string. */
void fs_transport_mpi_version(char *buf, size_t len);
/* Collective: every rank gets rank 0's *v (no-op on one rank or in local
 * mode). */
fs_status fs_transport_bcast_u64(fs_transport *t, uint64_t *v, fs_err *err);
/* Reduce a value over all ranks to min, mean and max at rank 0 (collective). */
fs_status fs_transport_reduce_stats(fs_transport *t, double v, double out[3],
                                    fs_err *err);

#endif
