/*
 * secagg_msg.h — bodies of the secure-aggregation frames (frame types
 * SA_KEYS ... SA_REVEAL, encoding NONE) and of the MASKED_U32 vector of an
 * UPDATE frame. Bytes in, views out; no cryptography here (secure/secagg.h
 * does that). Integers little-endian.
 *
 *   SA_KEYS       c_pk[32] s_pk[32]                               64 bytes
 *   SA_ADVERTISE  u32 threshold, u32 count, count x
 *                 (u32 client, c_pk[32], s_pk[32])                68 each
 *   SA_SHARES     u32 count, count x (u32 to, ciphertext[96])      100 each
 *   SA_UNMASK     u32 count, count x
 *                 (u32 from, u8 secret (0: b, 1: s_sk), ct[96])   101 each
 *   SA_REVEAL     u32 count, count x
 *                 (u32 owner, u8 secret, share values[40])         45 each
 *   MASKED_U32    u32 dim, dim x u32
 *
 * Decoders check the exact length against the count and the secret bytes
 * (0 or 1); what the ids mean (in the cohort, a neighbour) is checked by the
 * caller, who knows the round.
 */
#ifndef FS_SECAGG_MSG_H
#define FS_SECAGG_MSG_H

#include "frame.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_SAM_KEY 32
#define FS_SAM_CT 96    /* = FS_SA_CT_BYTES */
#define FS_SAM_SHARE 40 /* = FS_SHAMIR_SHARE_BYTES */

/* A decoded list body: count records of rec bytes at recs. */
typedef struct {
  uint32_t threshold; /* SA_ADVERTISE only */
  uint32_t count;
  size_t rec;
  const uint8_t *recs;
} fs_sam_view;

/* Bytes of a body of type t with count records (SA_KEYS: count ignored).
 * t not a secure-aggregation type aborts. */
size_t fs_sam_size(fs_msg_type t, uint32_t count);

/* Write the head of a list body (count, and threshold for SA_ADVERTISE)
 * into out and return where the records start. SA_KEYS has no head. */
uint8_t *fs_sam_begin(fs_msg_type t, uint32_t count, uint32_t threshold,
                      uint8_t *out);
/* Write one record of a list body at rec (ids and secret bytes; data is
 * copied: 64 bytes of keys for ADVERTISE, the ciphertext or the share). */
void fs_sam_put_advertise(uint8_t *rec, uint32_t client, const uint8_t *c_pk,
                          const uint8_t *s_pk);
void fs_sam_put_share(uint8_t *rec, uint32_t to, const uint8_t *ct);
void fs_sam_put_unmask(uint8_t *rec, uint32_t from, uint8_t secret,
                       const uint8_t *ct);
void fs_sam_put_reveal(uint8_t *rec, uint32_t owner, uint8_t secret,
                       const uint8_t *share);

/* Check a body of type t (len bytes) and describe it in *v (pointing into
 * body). For SA_KEYS count is 1 and recs the 64 key bytes.
 * Errors: FS_ETRUNC (shorter than its head or its count needs), FS_EFORMAT
 * (longer, a secret byte other than 0 or 1, t not a secure-aggregation
 * type). */
fs_status fs_sam_decode(fs_msg_type t, const uint8_t *body, size_t len,
                        fs_sam_view *v, fs_err *err);

/* The id (first u32) and secret byte (SA_UNMASK, SA_REVEAL) of record i,
 * and its data (keys, ciphertext or share). i < v->count. */
uint32_t fs_sam_id(const fs_sam_view *v, uint32_t i);
uint8_t fs_sam_secret(const fs_sam_view *v, uint32_t i);
const uint8_t *fs_sam_data(const fs_sam_view *v, uint32_t i);

/* MASKED_U32 vectors. n > UINT32_MAX aborts. */
size_t fs_masked_size(size_t n);
void fs_masked_encode(const uint32_t *y, size_t n, uint8_t *out);
/* Read exactly n words from exactly len bytes into out (written only on
 * success). Errors: FS_ETRUNC, FS_EFORMAT (dim != n, extra bytes). */
fs_status fs_masked_decode(const uint8_t *buf, size_t len, uint32_t *out,
                           size_t n, fs_err *err);

#endif
