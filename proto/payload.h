/*
 * payload.h — wire encodings of compressed vectors (fs_payload), the bodies
 * whose exact bytes are the bits fedsim counts.
 *
 * The encoding is named by the frame header's `encoding` byte (fs_payload_kind
 * in frame.h; FS_PL_DENSE is a DENSE payload). Every encoding starts with u32
 * dim. SPARSE frames carry their indices in the cheapest of three codings,
 * chosen per frame and recorded in the body: raw u32, a bitmap of dim bits,
 * or delta + LEB128 varint of the gaps. Quantised encodings pack their codes
 * into the fewest bits. Decoders check everything (dim, counts, ranges,
 * strictly increasing indices, finite values, exact length).
 *
 * Bodies (u32/u64 little-endian, f32 IEEE-754 binary32; packed fields
 * LSB-first with zero padding to a byte; docs/wire-format.md has the bit
 * costs):
 *   DENSE    u32 dim, dim f32                         (= fs_dense_encode)
 *   SPARSE   u32 dim, u32 nnz, u8 fs_index_coding, indices, nnz f32
 *            RAW32: nnz u32; BITMAP: ceil(dim/8) bytes, bit j set iff j is
 *            an index; DELTA_VARINT: idx[0], then idx[i] - idx[i-1] - 1,
 *            each as minimal unsigned LEB128 (1..5 bytes)
 *   RANDK    u32 dim, u32 nnz, u64 seed, nnz f32
 *   QSGD     u32 dim, u8 levels s (1..127), f32 scale, dim fields of
 *            ceil(log2(2s+1)) bits holding code + s
 *   SIGN     u32 dim, f32 scale, dim bits (1: +1, 0: -1)
 *   NATURAL  u32 dim, dim 9-bit fields: the float's biased exponent in bits
 *            0-7, its sign in bit 8 (the top 9 bits of its binary32 form)
 *   BLOCK8   u32 dim, u32 block, ceil(dim/block) f32 absmax, dim int8 codes
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

/* The frame encoding byte of a payload kind: the kind itself, checked (a
 * kind that is not a compressed payload, DENSE ... BLOCK8, aborts). */
fs_payload_kind fs_payload_encoding(fs_payload_kind k);

/* Exact bytes fs_payload_encode will write (for SPARSE: with the cheapest
 * index coding, ties going to RAW32, then BITMAP, reported in *coding if not
 * NULL; *coding is left alone for other kinds). A payload that breaks its
 * invariants (unknown kind, nnz > dim, SPARSE indices not strictly
 * increasing below dim, QSGD levels outside 1..127, BLOCK8 block 0) aborts. */
size_t fs_payload_encoded_size(const fs_payload *p, fs_index_coding *coding);

/* Write p into out (fs_payload_encoded_size bytes, owned by the caller);
 * returns the bytes. Values and scales are copied bit for bit, NaN and Inf
 * included (the decoder rejects them). NATURAL writes the sign and exponent
 * field of each value and drops its mantissa, so NATURAL values must be 0 or
 * signed powers of two 2^-126 .. 2^127 to survive exactly (subnormals become
 * 0). Besides the checks of fs_payload_encoded_size, QSGD codes outside
 * [-levels, levels], SIGN codes other than -1 and +1 and BLOCK8 codes of
 * -128 abort. */
size_t fs_payload_encode(const fs_payload *p, uint8_t *out);

/* Bytes of the SPARSE payload p with its indices in coding c, and the
 * encoder for a given coding (fs_payload_encode uses the cheapest). For
 * tests, tools and cost comparisons. p not SPARSE, or broken as above, or
 * an unknown c aborts. */
size_t fs_payload_sparse_size(const fs_payload *p, fs_index_coding c);
size_t fs_payload_encode_sparse(const fs_payload *p, fs_index_coding c,
                                uint8_t *out);

/* Read a payload of encoding enc from exactly len bytes; its dim must be
 * expect_dim. out's arrays are grown as needed (caller frees with
 * fs_payload_free from compress.h, or its own free of each array). On
 * success out's kind and dim are set, and the scalar fields the kind does
 * not use are 0. On failure out's scalar fields are unchanged and its
 * arrays may hold partial data (still owned by out, nothing leaks). The
 * length of every section is checked before anything is allocated, so an
 * allocation is never much larger than len. DENSE_F32 bodies are checked by
 * fs_dense_decode (its messages).
 * Errors: FS_EFORMAT / FS_ETRUNC / FS_ENUMERIC / FS_ENOMEM with a message
 * (docs/wire-format.md lists them); enc NONE or unknown is FS_EFORMAT. */
fs_status fs_payload_decode(const uint8_t *buf, size_t len, fs_payload_kind enc,
                            uint32_t expect_dim, fs_payload *out, fs_err *err);

#endif
