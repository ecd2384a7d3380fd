/*
 * sealer.h — the hook that seals every frame the server and the clients
 * exchange (secure.seal: true) right before the transport posts it, and
 * opens it right after it is received. One per role and rank; it holds the
 * sessions (proto/seal.h) of the clients it talks to, created on first use,
 * and the test hook secure.tamper_rate that alters uplink frames in flight.
 *
 * With sealing off every function passes frames through unchanged (a NULL
 * sealer), so the server and client code is the same either way.
 *
 * Keys are derived from the run seed (fs_seal_keypair), so every rank can
 * build them and the run is the same on any number of ranks; sealing
 * changes the bytes on the wire (and the bits counted: FS_SEAL_OVERHEAD
 * more per frame) but never the training. docs/sealed-frames.md.
 */
#ifndef FS_SEALER_H
#define FS_SEALER_H

#include "config.h"
#include "fs_status.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fs_sealer fs_sealer;

/* A sealer for `role` (FS_ROLE_SERVER or FS_ROLE_WORKER) able to talk to
 * clients 0 .. nclients-1, or *out = NULL when cfg->secure_seal is off.
 * Errors: FS_ENOMEM. */
fs_status fs_sealer_new(const fs_config *cfg, fs_role role, uint32_t nclients,
                        fs_sealer **out, fs_err *err);
/* Wipe every key and free. NULL does nothing. */
void fs_sealer_free(fs_sealer *s);

/* Bytes on the wire of a frame with a body of body_len bytes: the sealed
 * size, or FS_FRAME_HEADER_BYTES + body_len with sealing off. */
size_t fs_sealer_wire_bytes(const fs_sealer *s, size_t body_len);

/* Post the frame made of iov[0..n) (a whole proto frame, header first) to
 * rank dest. Sealing off: fs_transport_post_copy if copy, else
 * fs_transport_post (whose rules on buffers apply). Sealing on: the frame
 * is sealed for the client its header names and the sealed bytes are
 * posted as a copy (the caller's buffers are free at once); on a worker,
 * secure.tamper_rate may alter them first. Errors: those of the transport,
 * FS_EFORMAT if the frame names a client outside 0 .. nclients-1 or its
 * header does not match its length, FS_ENOMEM, FS_ERANGE (counter
 * exhausted). */
fs_status fs_sealer_post(fs_sealer *s, fs_transport *t, fs_role from, int dest,
                         const fs_iov *iov, int n, int copy, fs_err *err);
/* The sealing step of fs_sealer_post, without the transport (s not NULL):
 * *out and *out_len are the bytes to send (the sealer's own buffer, valid
 * until the next call; possibly tampered with on a worker). Same errors. */
fs_status fs_sealer_seal(fs_sealer *s, const fs_iov *iov, int n,
                         const uint8_t **out, size_t *out_len, fs_err *err);
/* Post, then wait until the frame has left (fs_transport_flush). */
fs_status fs_sealer_send(fs_sealer *s, fs_transport *t, fs_role from, int dest,
                         const fs_iov *iov, int n, fs_err *err);

/* Open a frame just received: with sealing off *frame and *len are left as
 * they are; on, they are replaced by the plain frame, in the sealer's own
 * buffer (valid until the next open). On a frame that fails to open, the
 * status of fs_seal_open (FS_EAUTH, FS_EREPLAY, FS_EFORMAT, FS_ETRUNC,
 * FS_EVERSION) with a message, *frame and *len unchanged, and *client set to
 * the client id the frame's clear header names (what a receiver can
 * attribute it to), or UINT32_MAX if the bytes are too short to hold one.
 * Also FS_ENOMEM. */
fs_status fs_sealer_open(fs_sealer *s, const uint8_t **frame, size_t *len,
                         uint32_t *client, fs_err *err);

/* One frame received by fs_sealer_recv. */
typedef struct {
  int src;              /* the sender's rank */
  const uint8_t *frame; /* the plain frame; NULL: nothing there (no wait) */
  size_t len;           /* its length */
  size_t wire;          /* bytes that crossed, sealed or not */
  fs_status refused;    /* FS_OK, or why it failed to open (counted) */
  uint32_t named;       /* refused: the client its clear header names */
  int first_refusal;    /* refused, and the first frame s refused: warn */
  fs_err why;           /* refused: the message */
} fs_sealed_frame;

/* Receive the next frame for `to` from the transport (wait: block until
 * one is there; else return at once with f->frame = NULL if none is) and
 * open it (fs_sealer_open). A frame that fails to open is not an error:
 * f->refused, f->named and f->why say why and whom it names, the sealer has
 * counted it, and f->frame is the bytes as received. Errors: those of the
 * transport, FS_ENOMEM. */
fs_status fs_sealer_recv(fs_sealer *s, fs_transport *t, fs_role to, int wait,
                         fs_sealed_frame *f, fs_err *err);

/* Frames this sealer refused to open, and frames it tampered with. */
uint64_t fs_sealer_rejected(const fs_sealer *s);
uint64_t fs_sealer_tampered(const fs_sealer *s);
/* Frames refused with status st (FS_EAUTH, FS_EREPLAY, ...). */
uint64_t fs_sealer_rejected_by(const fs_sealer *s, fs_status st);
/* The counts above as one array of *n entries, for a checkpoint to save and
 * restore (NULL when s is NULL; *n is set either way). */
uint64_t *fs_sealer_counts(fs_sealer *s, size_t *n);

#endif
