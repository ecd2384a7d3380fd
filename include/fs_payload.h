/*
 * fs_payload.h — a compressed vector as a plain struct: what compress/
 * produces and proto/ encodes, so that neither needs the other.
 *
 * A payload stands for a vector of `dim` floats. Its kinds:
 *   DENSE    val[dim]                                   (identity)
 *   SPARSE   nnz (index, value) pairs, idx increasing    (TopK, any sparse)
 *   RANDK    nnz values at indices drawn from `seed`     (RandK: indices are
 *            not sent; both sides regenerate them with fs_randk_indices)
 *   QSGD     scale = ||v||_2; codes[dim] signed levels in [-levels, levels];
 *            value_j = scale * code_j / levels           (stochastic rounding)
 *   SIGN     scale = ||v||_1 / dim; codes[dim] in {-1, +1} (0 maps to +1);
 *            value_j = scale * code_j                    (scaled sign)
 *   NATURAL  val[dim], each a signed power of two or 0   (natural compression:
 *            sign + 8-bit exponent on the wire)
 *   BLOCK8   dim split in blocks of `block`; absmax[nblocks] (f32) and
 *            codes[dim] in [-127, 127]; value_j = absmax_b * code_j / 127
 *
 * The arrays are owned by whoever filled the struct (fs_payload_free frees
 * them); capacity fields let a payload be reused without reallocating.
 */
#ifndef FS_PAYLOAD_H
#define FS_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The payload kind is also the frame's `encoding` byte on the wire
 * (docs/wire-format.md): the values never change. NONE and MASKED_U32 are
 * wire encodings only (no vector / a secure-aggregation masked vector in
 * Z_2^32); DENSE ... BLOCK8 are the kinds a compressor produces. */
typedef enum {
  FS_PL_NONE = 0,
  FS_PL_DENSE = 1, /* DENSE_F32 on the wire */
  FS_PL_SPARSE = 2,
  FS_PL_RANDK = 3,
  FS_PL_QSGD = 4,
  FS_PL_SIGN = 5,
  FS_PL_NATURAL = 6,
  FS_PL_BLOCK8 = 7,
  FS_PL_MASKED_U32 = 8 /* UPDATE only: a masked vector in Z_2^32 */
} fs_payload_kind;

/* The largest kind this build knows; larger encoding bytes are rejected. */
#define FS_PL_MAX FS_PL_MASKED_U32
/* The largest kind of a compressed payload (proto/payload.h). */
#define FS_PL_PAYLOAD_MAX FS_PL_BLOCK8

typedef struct {
  fs_payload_kind kind;
  uint32_t dim;
  uint32_t nnz;    /* SPARSE, RANDK: entries */
  uint32_t levels; /* QSGD: s */
  uint32_t block;  /* BLOCK8: block length */
  uint64_t seed;   /* RANDK: index seed */
  float scale;     /* QSGD, SIGN */
  uint32_t *idx;   /* SPARSE: nnz increasing indices */
  float *val;      /* DENSE, NATURAL: dim; SPARSE, RANDK: nnz */
  int8_t *codes;   /* QSGD, SIGN, BLOCK8: dim (QSGD levels <= 127) */
  float *absmax;   /* BLOCK8: ceil(dim / block) */
  size_t cap_idx, cap_val, cap_codes, cap_absmax; /* allocated lengths */
} fs_payload;

#endif
