/*
 * compress.h — compression operators behind one small interface, usable
 * uplink and downlink. Pure functions on vectors: no MPI, no files, no clock.
 *
 * A compressor turns v (dim floats) into an fs_payload (include/fs_payload.h)
 * that stands for C(v). Randomised compressors draw from the fs_rng the
 * caller passes (by convention the stream (seed, FS_RNG_COMPRESS, client,
 * round)), so results are reproducible and independent of the rank.
 *
 * The compressors form a table (compress/compressors.def, one file per row,
 * docs/compression.md): a spec names its row, and the functions below
 * dispatch through it.
 */
#ifndef FS_COMPRESS_H
#define FS_COMPRESS_H

#include "fs_choice.h"
#include "fs_payload.h"
#include "fs_rng.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fs_compressor fs_compressor;

typedef struct {
  const fs_compressor *kind; /* the row of the compressor table */
  uint32_t k;                /* TOPK, RANDK: entries kept; 0: use ratio */
  double ratio;    /* TOPK, RANDK: k = max(1, round(ratio * dim)) if k == 0 */
  uint32_t levels; /* QSGD: s in 1..127 */
  uint32_t block;  /* BLOCK8: block length >= 1 */
} fs_comp_spec;

/* Row flags. */
#define FS_COMP_RANDOM 1u      /* draws from the rng: fs_compress needs one */
#define FS_COMP_USES_K 2u      /* reads k / ratio (fs_comp_k) */
#define FS_COMP_UPLINK_ONLY 4u /* not offered for compress.down */
/* The payload's values are C(v)'s nonzeros: clipping them bounds the
 * message's norm (dp.clip; docs/privacy.md). */
#define FS_COMP_CLIPPABLE 8u

/*
 * One row of the compressor table (compress/compressors.def lists the rows;
 * each lives in its own file, compress/<name>.c). The generic functions
 * below dispatch through it; code outside compress/ keeps the row pointer
 * (fs_comp_spec.kind) and never compares names after start-up.
 */
struct fs_compressor {
  fs_choice base; /* name (compress.up <name>), help, no configuration check */
  fs_payload_kind payload; /* the kind (= wire encoding) of its payloads */
  unsigned flags;          /* FS_COMP_* */
  /* Extra checks of the parameters against dim (> 0, checked before); NULL:
   * none. Returns FS_ECONFIG with a message. */
  fs_status (*check)(const fs_comp_spec *s, uint32_t dim, fs_err *err);
  /* Fill p (kind, arrays grown with fs__payload_grow_*) with C(v); the
   * scalar fields are zeroed before. FS_ENOMEM is the only failure. */
  fs_status (*compress)(const fs_comp_spec *s, const float *v, uint32_t dim,
                        fs_rng *rng, fs_payload *p);
  /* Bits of an ideal encoding of C(v) (fs_comp_ideal_bits). */
  double (*ideal_bits)(const fs_comp_spec *s, uint32_t dim);
  /* Optional, for rows whose payload is not C(v) itself but a transform of
   * it (hadamard): the payload's dim on the wire (NULL: dim); the
   * sender's C(v), dim floats, kept by compress (NULL: the payload is C(v));
   * and the receiver's decoding (NULL: nothing to do), see fs_comp_receive. */
  uint32_t (*wire_dim)(uint32_t dim);
  const float *(*sent)(const fs_payload *p);
  fs_status (*receive)(fs_payload *p, uint32_t dim, fs_rng *stream);
};

/* The rows: fs_compressor_identity, fs_compressor_topk, ... */
#define FS_COMPRESSOR(name) extern const fs_compressor fs_compressor_##name;
#include "compressors.def"
#undef FS_COMPRESSOR

/* The row named name, NULL if none (or name is NULL). For the
 * configuration, once, at start-up. */
const fs_compressor *fs_compressor_find(const char *name);
/* The rows in table order, for --help and the configuration's choices:
 * fs_compressor_at(i) for i < fs_compressor_count(), NULL beyond. */
size_t fs_compressor_count(void);
const fs_compressor *fs_compressor_at(size_t i);
/* The table for the configuration (compress.up, compress.down). */
fs_choice_set fs_compressor_choices(void);

/* Check a spec against a dimension (a row, dim > 0, then the row's check:
 * k <= dim, levels in range, ...). FS_ECONFIG with a message. */
fs_status fs_comp_check(const fs_comp_spec *s, uint32_t dim, fs_err *err);

/* The k of TOPK/RANDK for this dim (dim for other kinds). */
uint32_t fs_comp_k(const fs_comp_spec *s, uint32_t dim);

/* Compress v into p (p's arrays are grown as needed and reused). rng may be
 * NULL for deterministic rows. FS_ENOMEM is the only failure. s must pass
 * fs_comp_check for dim and rng must be given for rows flagged
 * FS_COMP_RANDOM (randk, qsgd, natural, hadamard): anything else is a
 * programmer mistake and aborts. A new p must be zeroed. */
fs_status fs_compress(const fs_comp_spec *s, const float *v, uint32_t dim,
                      fs_rng *rng, fs_payload *p);

/* The dim of s's payloads on the wire when the frame's encoding byte is enc
 * (the decoder's expect_dim): dim, except for a row with a wire_dim whose
 * payload kind is enc (hadamard: the next power of two). */
uint32_t fs_comp_wire_dim(const fs_comp_spec *s, unsigned enc, uint32_t dim);

/* The receiver's side: p was decoded from the wire (dim
 * fs_comp_wire_dim(s, kind, dim)); the sender compressed with the stream
 * (seed, FS_RNG_COMPRESS, client, round). Afterwards p stands for a vector
 * of dim floats for every expander below (a row with a receive hook, such
 * as hadamard, turns its payload into DENSE). Payloads of another kind than
 * the row's (EF21's first, uncompressed message) are left alone.
 * Errors: FS_ENOMEM; FS_ENUMERIC (the decoded vector is not finite). */
fs_status fs_comp_receive(const fs_comp_spec *s, fs_payload *p, uint32_t dim,
                          uint64_t seed, uint32_t client, uint32_t round);

/* The sender's side, for error feedback: y[j] += / -= C(v)[j], j < dim,
 * for p fresh from fs_compress(s, v, dim, ...): the payload's own expansion
 * (fs_payload_add_to / _sub_from), or the row's kept C(v). */
void fs_comp_add_to(const fs_comp_spec *s, const fs_payload *p, uint32_t dim,
                    float *y);
void fs_comp_sub_from(const fs_comp_spec *s, const fs_payload *p, uint32_t dim,
                      float *y);

/* out[0..dim) = the vector p stands for. The expanders never allocate; for
 * RANDK they regenerate the indices from p->seed (O(k) expected). */
void fs_payload_to_dense(const fs_payload *p, float *out);
/* acc[j] += w * (vector of p)[j]; O(nnz) for SPARSE and RANDK. */
void fs_payload_axpy(const fs_payload *p, double w, double *acc);
/* y[j] += (vector of p)[j] in float; O(nnz) for SPARSE and RANDK. */
void fs_payload_add_to(const fs_payload *p, float *y);
/* y[j] -= (vector of p)[j] in float (EF14's e <- u - c). */
void fs_payload_sub_from(const fs_payload *p, float *y);
/* Free p's arrays and zero it; NULL does nothing. */
void fs_payload_free(fs_payload *p);

/* RandK's indices from its seed: k distinct indices of [0, dim), increasing.
 * Sender and receiver call it with the same seed. */
fs_status fs_randk_indices(uint64_t seed, uint32_t dim, uint32_t k,
                           uint32_t *idx);

/* TopK selection in O(dim): the indices of the k largest |v_j| (ties: lower
 * index first), written increasing into idx. NaN counts as largest. */
fs_status fs_topk_select(const float *v, uint32_t dim, uint32_t k,
                         uint32_t *idx);

/* Bits an ideal encoding of C(v) needs (for summary.json): TOPK
 * k*(32 + ceil(log2 dim)); RANDK 32k; QSGD 32 + dim*ceil(log2(2s+1));
 * SIGN 32 + dim; NATURAL 9*dim; BLOCK8 32*nblocks + 8*dim; IDENTITY 32*dim;
 * HADAMARD 32 + d' (d' = dim rounded up to a power of two). */
double fs_comp_ideal_bits(const fs_comp_spec *s, uint32_t dim);

#endif
