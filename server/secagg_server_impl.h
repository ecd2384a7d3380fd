/*
 * secagg_server_impl.h — what the two files of the server side of secure
 * aggregation share (not part of its interface, secagg_server.h): the
 * server's state, one round's state, receiving and posting a round's
 * frames (secagg_server.c), and steps 4 and 5 (secagg_reveal.c). See
 * docs/secure-aggregation.md.
 */
#ifndef FS_SECAGG_SERVER_IMPL_H
#define FS_SECAGG_SERVER_IMPL_H

#include "secagg_server.h"

#include "frame.h"
#include "secagg.h"
#include "secagg_msg.h"

#include <stddef.h>
#include <stdint.h>

struct fs_sa_server {
  const fs_config *cfg;
  size_t dim;
  uint32_t max_k;
  /* per sampled client (max_k) */
  uint8_t *survived;
  uint32_t *ns;
  double *loss;
  uint64_t *up, *down;
  int32_t *pos_of; /* sample index -> cohort position, -1 if skipped */
  /* per cohort position (max_k) */
  uint32_t *coh, *coh_sel;
  uint8_t (*cpk)[FS_SA_KEY_BYTES];
  uint8_t (*spk)[FS_SA_KEY_BYTES];
  uint8_t *got_keys, *got_shares, *got_update, *drop, *got_reveal;
  /* per cohort position x neighbour (n k, grown as needed) */
  uint32_t *nb;
  uint8_t (*ct)[FS_SA_CT_BYTES];
  fs_shamir_share *sh;
  uint8_t *have;
  size_t cap_nk;
  uint32_t *sum;
  double *sumd;
  uint8_t *fbuf; /* frames being posted */
  size_t fcap;
  uint64_t aborted, dropped;
  int warned;
  fs_sealer *seal;     /* secure.seal: frames sealed and opened (NULL: off) */
  uint8_t *lost;       /* per cohort position: LOST_* frames refused */
  uint64_t refused[4]; /* frames refused so far: keys, shares, update, reveal */
};

/* Frames of a client refused this round (sealed frames that failed to
 * open: altered, replayed or forged), by the protocol step they took the
 * place of. */
enum { LOST_KEYS = 1, LOST_SHARES = 2, LOST_UPDATE = 4, LOST_REVEAL = 8 };

static inline int fs_sa_server__cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* One round's state shared by its protocol steps. */
typedef struct {
  fs_transport *t;
  uint32_t round, version;
  uint32_t n;        /* cohort size (after step 1: clients with keys) */
  uint32_t k;        /* neighbours per client */
  uint64_t sa_bytes; /* protocol bytes on the wire */
} sa_round;

/* Receive one frame for this round; *pos gets the sender's cohort position
 * and *wire the bytes that crossed (sealed or not). With secure.seal, a
 * frame that fails to open is not an error: *refused is set, *pos is the
 * client its clear header names (it must be in the cohort), h and body are
 * not set, and the sealer has counted it (rejected_frames). */
fs_status fs_sa_server__recv_frame(fs_sa_server *s, fs_transport *t, uint32_t n,
                                   uint32_t round, uint32_t version,
                                   fs_frame_header *h, const uint8_t **body,
                                   uint32_t *pos, size_t *wire, int *refused,
                                   fs_err *err);

/* Post a frame to cohort position pos; returns its bytes on the wire
 * through *wire. The frame stays in s->fbuf until the flush (sealed frames
 * are copied). */
fs_status fs_sa_server__post(fs_sa_server *s, fs_transport *t, uint32_t pos,
                             uint8_t *frame, size_t len, size_t *wire,
                             fs_err *err);

/* Step 4: send each survivor SA_UNMASK, then collect the nsurv SA_REVEAL
 * answers (secagg_reveal.c). */
fs_status fs_sa_server__ask_reveal(fs_sa_server *s, sa_round *r, size_t unm_len,
                                   fs_err *err);
fs_status fs_sa_server__collect_reveals(fs_sa_server *s, sa_round *r,
                                        uint32_t nsurv, fs_err *err);

/* Step 5: rebuild the secrets, remove the masks. Returns FS_ERANGE with a
 * message when a secret has fewer than t shares (the round is aborted). */
fs_status fs_sa_server__unmask(fs_sa_server *s, const fs_sa_params *p,
                               uint32_t round, fs_err *err);

#endif
