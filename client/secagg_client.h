/*
 * secagg_client.h — the client side of secure aggregation
 * (secure.aggregation = secagg): what a worker does for each of its hosted
 * clients in the three exchanges of a round (docs/secure-aggregation.md):
 *
 *   TRAIN        -> (local work) quantise, keep q; send SA_KEYS
 *   SA_ADVERTISE -> share b and s_sk among the neighbours (SA_SHARES), mask
 *                   q and send it as an UPDATE of encoding MASKED_U32 unless
 *                   the client drops after masking (secure.dropout)
 *   SA_UNMASK    -> open the requested shares, send them back (SA_REVEAL)
 *
 * The per-client state between those frames (q, the neighbour list) lives
 * here, on the worker that hosts the client.
 */
#ifndef FS_SECAGG_CLIENT_H
#define FS_SECAGG_CLIENT_H

#include "config.h"
#include "frame.h"
#include "sealer.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fs_sa_client fs_sa_client;

/* State for nclients hosted clients and a model of dim parameters. */
fs_status fs_sa_client_new(const fs_config *cfg, size_t nclients, size_t dim,
                           fs_sa_client **out, fs_err *err);
void fs_sa_client_free(fs_sa_client *c);
/* secure.seal: seal every frame this client side sends with seal (owned by
 * the caller; NULL, the default, sends frames plain). Frames received are
 * opened by the caller before fs_sa_client_handle. */
void fs_sa_client_set_sealer(fs_sa_client *c, fs_sealer *seal);

/* After the local work of hosted client li (id h->client) for the TRAIN
 * frame h: quantise scale * delta (dim floats), keep it with the metadata,
 * and send SA_KEYS to the server. */
fs_status fs_sa_client_trained(fs_sa_client *c, fs_transport *t, size_t li,
                               const fs_frame_header *h, const float *delta,
                               double scale, uint32_t num_samples,
                               double train_loss, fs_err *err);

/* Handle an SA_ADVERTISE or SA_UNMASK frame h (body of h->body_len bytes)
 * for hosted client li. Errors: FS_EFORMAT (a frame out of sequence, a bad
 * body, a neighbour list that names the client itself or is not
 * increasing, a request for a non-neighbour or twice for one, shares that
 * fail authentication), FS_ENOMEM, transport errors. */
fs_status fs_sa_client_handle(fs_sa_client *c, fs_transport *t, size_t li,
                              const fs_frame_header *h, const uint8_t *body,
                              fs_err *err);

#endif
