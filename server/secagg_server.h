/*
 * secagg_server.h — the server side of secure aggregation: after the TRAIN
 * frames of a synchronous round have gone out, run the key advertisement,
 * collect the encrypted shares and the masked updates, ask the survivors
 * for the shares that remove the masks, and return the dequantised sum.
 * The server never sees an update in the clear: only masked Z_2^32
 * vectors, encrypted shares, and the shares it asks for (of b for
 * survivors, of s_sk for clients that dropped after masking).
 */
#ifndef FS_SECAGG_SERVER_H
#define FS_SECAGG_SERVER_H

#include "config.h"
#include "sealer.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fs_sa_server fs_sa_server;

/* What one round gave. The arrays are indexed like the round's sample
 * (K entries) and owned by the fs_sa_server (valid until the next round). */
typedef struct {
  const double *sum;           /* dim: sum over survivors of p_i N delta_i */
  const uint8_t *survived;     /* 1: its masked update is in sum */
  const uint32_t *num_samples; /* survivors: rows reported */
  const double *train_loss;    /* survivors: loss reported */
  const uint64_t *up_bytes;    /* every frame it sent this round */
  const uint64_t *down_bytes;  /* SA_ADVERTISE and SA_UNMASK it received */
  uint32_t cohort, survivors;  /* clients in the protocol, and survivors */
  uint32_t degree, threshold;
  uint64_t sa_bits; /* bits of all SA_* frames, both directions */
  double ms;        /* wall ms from the last SA_KEYS to the sum */
  int aborted;      /* 1: too few shares (or clients): no sum this round */
} fs_sa_round_out;

/* For rounds of at most max_k sampled clients and a model of dim
 * parameters. */
fs_status fs_sa_server_new(const fs_config *cfg, size_t dim, uint32_t max_k,
                           fs_sa_server **out, fs_err *err);
void fs_sa_server_free(fs_sa_server *s);
/* secure.seal: seal the SA_ADVERTISE and SA_UNMASK frames and open every
 * frame received with seal (the server's, owned by the caller; NULL, the
 * default: plain frames). A frame that fails to open is counted by the
 * sealer and taken as its client dropping at that step
 * (docs/sealed-frames.md): SA_KEYS, left out of the round; SA_SHARES, the
 * round is aborted; the masked update, dropped after masking (its masks are
 * removed); SA_REVEAL, its shares are missing (the round aborts if a
 * secret then has fewer than t). */
void fs_sa_server_set_sealer(fs_sa_server *s, fs_sealer *seal);

/* Run the protocol for round (model version) with the K sampled clients
 * sel (increasing); skip[i] != 0 for those that got no TRAIN frame. Every
 * frame is checked: wrong type, round, client or length is FS_EFORMAT. */
fs_status fs_sa_server_round(fs_sa_server *s, fs_transport *t, uint32_t round,
                             uint32_t version, const uint32_t *sel, uint32_t K,
                             const uint8_t *skip, fs_sa_round_out *out,
                             fs_err *err);

/* Totals since the start: rounds aborted, clients that dropped after
 * masking. */
void fs_sa_server_totals(const fs_sa_server *s, uint64_t *aborted,
                         uint64_t *dropped);
/* Checkpoints: the running totals in place, which = 0 rounds aborted,
 * 1 clients dropped after masking, 2 the refused sealed frames by step (4
 * counts); NULL for another which. Keys are derived per round from the
 * seed, so nothing else lasts from one round to the next. */
uint64_t *fs_sa_server_counter(fs_sa_server *s, int which);

#endif
