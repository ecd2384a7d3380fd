/*
 * frame.h — version 1 of the fedsim wire format.
 *
 * A frame is a fixed 28-byte header followed by a body of body_len bytes.
 * Every integer is little-endian, written byte by byte.
 *
 *   off size field
 *     0    4 magic "FSIM" (0x46 0x53 0x49 0x4d)
 *     4    1 version (1)
 *     5    1 type (fs_msg_type)
 *     6    1 encoding of the vector in the body (fs_payload_kind)
 *     7    1 flags (0 in version 1; other values are rejected)
 *     8    4 round
 *    12    4 client id
 *    16    4 model version the body refers to
 *    20    4 body length in bytes
 *    24    4 reserved (0)
 *
 * Bodies by type:
 *   TRAIN    (server -> client): vector (the model or a compressed model)
 *   UPDATE   (client -> server): u32 num_samples, f64 train_loss, vector
 *   SHUTDOWN (server -> worker): empty
 *   SA_KEYS ... SA_REVEAL: secure-aggregation messages (secagg_msg.h),
 *            encoding NONE
 * An UPDATE of encoding MASKED_U32 carries u32 dim, then dim u32 words
 * (secagg_msg.h).
 *   CHECKPOINT (server -> worker): u8 op (1 save, 2 restore), then the
 *            checkpoint folder's path (bytes, no NUL); `round` is the
 *            aggregation (sim/ckpt.h, server/server_ckpt.h)
 *   CHECKPOINT_DONE (worker -> server): u32 status, u32 crc32 and u64 length
 *            of the file written, then a message (bytes, no NUL)
 * SHUTDOWN, CHECKPOINT and CHECKPOINT_DONE use encoding NONE.
 * A vector in encoding DENSE_F32 is u32 count, then count IEEE-754 float32.
 * The other vector encodings (SPARSE ... BLOCK8) are compressed payloads,
 * written and read by payload.h; every one of them starts with u32 dim.
 *
 * Decoders never trust their input: every length is checked against the
 * bytes present, and any mismatch returns a status with a message.
 */
#ifndef FS_FRAME_H
#define FS_FRAME_H

#include "fs_payload.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_PROTO_VERSION 1
#define FS_FRAME_HEADER_BYTES 28
#define FS_UPDATE_META_BYTES 12

typedef enum {
  FS_MSG_TRAIN = 1,
  FS_MSG_UPDATE = 2,
  FS_MSG_SHUTDOWN = 3,
  FS_MSG_GC_TASK = 4,   /* gradient coding: a worker's tasks of a round */
  FS_MSG_GC_RESULT = 5, /* gradient coding: their coded gradients */
  /* Secure aggregation (secagg_msg.h has the bodies): encoding NONE. */
  FS_MSG_SA_KEYS = 6,         /* client -> server: its two public keys */
  FS_MSG_SA_ADVERTISE = 7,    /* server -> client: its neighbours' keys */
  FS_MSG_SA_SHARES = 8,       /* client -> server: encrypted shares */
  FS_MSG_SA_UNMASK = 9,       /* server -> client: shares to open */
  FS_MSG_SA_REVEAL = 10,      /* client -> server: the opened shares */
  FS_MSG_CHECKPOINT = 11,     /* server -> worker: save or restore state */
  FS_MSG_CHECKPOINT_DONE = 12 /* worker -> server: what came of it */
} fs_msg_type;

#define FS_MSG_MAX FS_MSG_CHECKPOINT_DONE

/* How the vector in a body is coded: the `encoding` byte is an
 * fs_payload_kind (include/fs_payload.h), one enum for compress/ and proto/:
 * NONE (no vector), DENSE (DENSE_F32 on the wire), SPARSE ... BLOCK8 (the
 * compressed payloads, payload.h) and MASKED_U32 (UPDATE only). */

typedef struct {
  uint8_t type;     /* fs_msg_type */
  uint8_t encoding; /* fs_payload_kind */
  uint8_t flags;
  uint32_t round;
  uint32_t client;
  uint32_t model_version;
  uint32_t body_len;
} fs_frame_header;

typedef struct {
  uint32_t num_samples;
  double train_loss;
} fs_update_meta;

/* Name of a message type or encoding ("TRAIN", "DENSE_F32", "SPARSE";
 * "unknown" for values version 1 does not define); never NULL. */
const char *fs_msg_type_name(unsigned type);
const char *fs_encoding_name(unsigned encoding);

/* Write h into out (FS_FRAME_HEADER_BYTES bytes, owned by the caller): the
 * magic, FS_PROTO_VERSION, h's fields and a zero reserved field. Does not
 * check h; a frame built from bad fields is rejected by the decoder. */
void fs_frame_header_encode(const fs_frame_header *h, uint8_t *out);

/* Parse and check a whole frame of len bytes: magic, version, known type and
 * encoding, zero flags and reserved, and body_len == len - header.
 * TRAIN must use a vector encoding (DENSE_F32 ... BLOCK8), UPDATE one of
 * those or MASKED_U32; GC_TASK and GC_RESULT DENSE_F32; SHUTDOWN must use
 * NONE with an empty body; the secure-aggregation and checkpoint types use
 * NONE. The body
 * itself (buf + FS_FRAME_HEADER_BYTES, body_len bytes) is checked by the body
 * decoders below. *h is written only on success. Errors: FS_ETRUNC (shorter
 * than the header, or body_len larger than the bytes that follow), FS_EVERSION
 * (version != FS_PROTO_VERSION), FS_EFORMAT (everything else, including bytes
 * beyond body_len). */
fs_status fs_frame_header_decode(const uint8_t *buf, size_t len,
                                 fs_frame_header *h, fs_err *err);

/* Bytes of a DENSE_F32 vector of n floats (4 + 4n). n > UINT32_MAX aborts. */
size_t fs_dense_size(size_t n);
/* Write v (n floats) as DENSE_F32 into out (fs_dense_size(n) bytes, owned by
 * the caller). Values are copied bit for bit, non-finite ones included (the
 * decoder rejects those). n > UINT32_MAX aborts. */
void fs_dense_encode(const float *v, size_t n, uint8_t *out);
/* Read a DENSE_F32 vector that must have exactly n entries and occupy exactly
 * len bytes into out. Non-finite values give FS_ENUMERIC (the message gives
 * the first index). out (n floats) is written only on success.
 * Errors: FS_ETRUNC (len < 4, or fewer bytes than the count needs),
 * FS_EFORMAT (count != n, or more bytes than the count needs), FS_ENUMERIC. */
fs_status fs_dense_decode(const uint8_t *buf, size_t len, float *out, size_t n,
                          fs_err *err);

/* Bytes of an UPDATE body carrying a vector of n floats
 * (FS_UPDATE_META_BYTES + fs_dense_size(n)). */
size_t fs_update_body_size(size_t n);
/* Write m into out (FS_UPDATE_META_BYTES bytes): u32 num_samples, then
 * train_loss as IEEE-754 binary64. */
void fs_update_meta_encode(const fs_update_meta *m, uint8_t *out);
/* Read the metadata at the head of an UPDATE body of len bytes (len may be
 * larger than FS_UPDATE_META_BYTES: the vector follows it). *m is written
 * only on success. Errors: FS_ETRUNC (len < FS_UPDATE_META_BYTES),
 * FS_ENUMERIC (train_loss NaN or +-Inf). */
fs_status fs_update_meta_decode(const uint8_t *buf, size_t len,
                                fs_update_meta *m, fs_err *err);

#endif
