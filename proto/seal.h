/*
 * seal.h — sealed frames: a proto frame authenticated and encrypted for one
 * (server, client) pair with XChaCha20-Poly1305 (libsodium's
 * crypto_aead_xchacha20poly1305_ietf), under session keys agreed with
 * crypto_kx. Bytes in, bytes out: no MPI, no files, no clock.
 *
 * A sealed frame (every integer little-endian):
 *
 *   off        size field
 *     0           4 magic "FSSL" (0x46 0x53 0x53 0x4c)
 *     4           1 seal version (1)
 *     5           1 direction: 1 server -> client, 2 client -> server
 *     6           2 reserved (0)
 *     8           8 counter: the sender's message number in this direction
 *                   for this client, 1, 2, 3, ... (never reused)
 *    16          28 the frame header (frame.h), in clear; its body_len is
 *                   the length n of the plaintext body
 *    44           n the body, encrypted
 *  44+n          16 Poly1305 tag
 *
 * The 44 bytes in clear are the associated data: authenticated, not
 * encrypted. The 24-byte nonce is not sent; both ends build it from the
 * direction, the counter and the client id (direction, 7 zero bytes,
 * counter, client id, 4 zero bytes). Each direction of each pair has its
 * own key (crypto_kx gives a receive and a transmit key), and a session
 * refuses to seal once its counter would wrap, so a (key, nonce) pair is
 * never used twice within a session.
 *
 * fs_seal_open rejects a frame that was altered or forged (FS_EAUTH), a
 * genuine frame seen before or older than the last one accepted (replay,
 * FS_EREPLAY), and bytes that are not a sealed frame at all (FS_ETRUNC,
 * FS_EFORMAT, FS_EVERSION), each with a message; it never aborts on its
 * input. docs/sealed-frames.md gives the threat model.
 */
#ifndef FS_SEAL_H
#define FS_SEAL_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_SEAL_VERSION 1
#define FS_SEAL_PREFIX_BYTES 16 /* magic, version, direction, counter */
#define FS_SEAL_AD_BYTES 44     /* prefix + the frame header */
#define FS_SEAL_TAG_BYTES 16
/* Bytes a sealed frame adds to the plain one. */
#define FS_SEAL_OVERHEAD (FS_SEAL_PREFIX_BYTES + FS_SEAL_TAG_BYTES)
#define FS_SEAL_KEY_BYTES 32

typedef enum { FS_SEAL_DOWN = 1, FS_SEAL_UP = 2 } fs_seal_dir;

/* One end of the secure channel between the server and one client: a plain
 * value (no allocation) holding secret keys; wipe it with
 * fs_seal_session_wipe when done. */
typedef struct {
  uint32_t client;
  uint8_t tx_dir, rx_dir; /* fs_seal_dir this end sends and receives */
  uint8_t tx_key[FS_SEAL_KEY_BYTES], rx_key[FS_SEAL_KEY_BYTES];
  uint64_t tx_next; /* counter of the next frame sealed (from 1) */
  uint64_t rx_last; /* highest counter accepted (0: none yet) */
} fs_seal_session;

/* What the clear part of a sealed frame says (fs_seal_peek). */
typedef struct {
  uint8_t dir;
  uint64_t counter;
  uint32_t client; /* the frame header's client id field, as it stands */
} fs_seal_info;

/* The X25519 key pair of party `id` (a client id, or FS_SEAL_SERVER_ID for
 * the server) in a run with this seed: crypto_kx_seed_keypair on 32 bytes of
 * the stream (seed, FS_RNG_SEAL, id, 0). Deterministic, so any rank can
 * rebuild it and a run is the same on any number of ranks; see
 * docs/sealed-frames.md for what that does and does not model. pk and sk
 * are 32 bytes each, owned by the caller (wipe sk after use). */
#define FS_SEAL_SERVER_ID UINT64_MAX
void fs_seal_keypair(uint64_t seed, uint64_t id, uint8_t pk[32],
                     uint8_t sk[32]);
/* The same in key epoch `epoch` (the stream (seed, FS_RNG_SEAL, id,
 * epoch)): fs_seal_keypair is epoch 0. A resumed run uses a fresh epoch so
 * its sessions never reuse a (key, nonce) pair of an earlier run. */
void fs_seal_keypair_epoch(uint64_t seed, uint64_t id, uint64_t epoch,
                           uint8_t pk[32], uint8_t sk[32]);

/* The server's end of its session with client `client` (server key pair,
 * that client's public key), or the client's end (its key pair, the
 * server's public key), through crypto_kx_server_session_keys /
 * crypto_kx_client_session_keys. Counters start fresh. Errors: FS_EAUTH if
 * the peer's public key is unacceptable (libsodium refuses it). */
fs_status fs_seal_session_server(fs_seal_session *s,
                                 const uint8_t server_pk[32],
                                 const uint8_t server_sk[32],
                                 const uint8_t client_pk[32], uint32_t client,
                                 fs_err *err);
fs_status fs_seal_session_client(fs_seal_session *s,
                                 const uint8_t client_pk[32],
                                 const uint8_t client_sk[32],
                                 const uint8_t server_pk[32], uint32_t client,
                                 fs_err *err);
/* Zero a session's keys and counters (sodium_memzero). NULL does nothing. */
void fs_seal_session_wipe(fs_seal_session *s);

/* Bytes of the sealed form of a frame with a body of body_len bytes:
 * FS_SEAL_AD_BYTES + body_len + FS_SEAL_TAG_BYTES. */
size_t fs_seal_size(size_t body_len);

/* Seal the frame made of its header hdr (FS_FRAME_HEADER_BYTES, as written
 * by fs_frame_header_encode) and its body (body_len bytes, the header's
 * body_len) into out (fs_seal_size(body_len) bytes, owned by the caller,
 * not overlapping the input), with the session's next counter; returns the
 * bytes written through *out_len. The header must name the session's
 * client and carry body_len (programmer mistakes: abort). Errors: FS_ERANGE
 * when the counter is exhausted (2^64 - 1 frames). */
fs_status fs_seal(fs_seal_session *s, const uint8_t *hdr, const uint8_t *body,
                  size_t body_len, uint8_t *out, size_t *out_len, fs_err *err);

/* Read the clear part of a sealed frame of len bytes without checking its
 * authenticity (to find the session it belongs to). Errors: FS_EFORMAT
 * (wrong magic, checked first; unknown direction, nonzero reserved bytes),
 * FS_ETRUNC (shorter than FS_SEAL_AD_BYTES + FS_SEAL_TAG_BYTES),
 * FS_EVERSION. */
fs_status fs_seal_peek(const uint8_t *in, size_t len, fs_seal_info *info,
                       fs_err *err);

/* Check and decrypt a sealed frame of len bytes into out (len -
 * FS_SEAL_OVERHEAD bytes, owned by the caller, not overlapping in): the
 * plain frame, header then body, ready for fs_frame_header_decode. On
 * success *out_len is set and the session's rx_last moves to the frame's
 * counter; on failure the session is unchanged and out holds zeros.
 * Errors, in the order they are checked: those of fs_seal_peek; FS_EFORMAT
 * if the frame header in clear is malformed or its body_len disagrees with
 * len; FS_EAUTH if the frame travels the wrong way for this end, names
 * another client, or fails authentication (altered or forged); FS_EREPLAY
 * if it is authentic but its counter is not above the last accepted one. */
fs_status fs_seal_open(fs_seal_session *s, const uint8_t *in, size_t len,
                       uint8_t *out, size_t *out_len, fs_err *err);

#endif
