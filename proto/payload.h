/*
 * payload.h — wire encodings of compressed vectors (fs_payload), the bodies
 * whose exact bytes are the bits fedsim counts.
 *
 * The encoding is named by the frame header's `encoding` byte (fs_encoding in
 * frame.h; FS_ENC_DENSE_F32 is a DENSE payload). Every encoding starts with
 * u32 dim. SPARSE frames carry their indices in the cheapest of three codings,
 * chosen per frame and recorded in the body: raw u32, a bitmap of dim bits,
 * or delta + LEB128 varint of the gaps. Quantised encodings pack their codes
 * into the fewest bits. Decoders check everything (dim, counts, ranges,
 * strictly increasing indices, finite values, exact length).
 */
#ifndef FS_PAYLOAD_CODEC_H
#define FS_PAYLOAD_CODEC_H

#include "frame.h"
#include "fs_payload.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_IDX_RAW32 = 0,
  FS_IDX_BITMAP = 1,
  FS_IDX_DELTA_VARINT = 2
} fs_index_coding;

/* The frame encoding for a payload kind. */
fs_encoding fs_payload_encoding(fs_payload_kind k);

/* Exact bytes fs_payload_encode will write (for SPARSE: with the cheapest
 * index coding, reported in *coding if not NULL). */
size_t fs_payload_encoded_size(const fs_payload *p, fs_index_coding *coding);

/* Write p into out (fs_payload_encoded_size bytes); returns the bytes. */
size_t fs_payload_encode(const fs_payload *p, uint8_t *out);

/* Read a payload of encoding enc from exactly len bytes; its dim must be
 * expect_dim. out's arrays are grown as needed (caller frees with
 * fs_payload_free from compress.h, or its own free of each array).
 * Errors: FS_EFORMAT / FS_ETRUNC / FS_ENUMERIC / FS_ENOMEM with a message. */
fs_status fs_payload_decode(const uint8_t *buf, size_t len, fs_encoding enc,
                            uint32_t expect_dim, fs_payload *out, fs_err *err);

#endif
