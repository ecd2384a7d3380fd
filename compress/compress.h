/*
 * compress.h — compression operators behind one small interface, usable
 * uplink and downlink. Pure functions on vectors: no MPI, no files, no clock.
 *
 * A compressor turns v (dim floats) into an fs_payload (include/fs_payload.h)
 * that stands for C(v). Randomised compressors draw from the fs_rng the
 * caller passes (by convention the stream (seed, FS_RNG_COMPRESS, client,
 * round)), so results are reproducible and independent of the rank.
 */
#ifndef FS_COMPRESS_H
#define FS_COMPRESS_H

#include "fs_payload.h"
#include "fs_rng.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_C_IDENTITY = 0,
  FS_C_TOPK,    /* k largest |v_j|, ties to the lower index */
  FS_C_RANDK,   /* k uniform indices (shared seed), values scaled by dim/k */
  FS_C_QSGD,    /* stochastic quantisation to `levels` levels of ||v||_2 */
  FS_C_SIGN,    /* scaled sign: (||v||_1/dim) sign(v) */
  FS_C_NATURAL, /* stochastic rounding to a signed power of two */
  FS_C_BLOCK8   /* block-wise absmax 8-bit quantisation */
} fs_comp_kind;

typedef struct {
  fs_comp_kind kind;
  uint32_t k;      /* TOPK, RANDK: entries kept; 0: use ratio */
  double ratio;    /* TOPK, RANDK: k = max(1, round(ratio * dim)) if k == 0 */
  uint32_t levels; /* QSGD: s in 1..127 */
  uint32_t block;  /* BLOCK8: block length >= 1 */
} fs_comp_spec;

/* Parse "identity", "topk", "randk", "qsgd", "sign", "natural", "block8". */
fs_status fs_comp_kind_parse(const char *s, fs_comp_kind *out);
const char *fs_comp_kind_name(fs_comp_kind k);

/* Check a spec against a dimension (k <= dim, levels in range, ...). */
fs_status fs_comp_check(const fs_comp_spec *s, uint32_t dim, fs_err *err);

/* The k of TOPK/RANDK for this dim (dim for other kinds). */
uint32_t fs_comp_k(const fs_comp_spec *s, uint32_t dim);

/* Compress v into p (p's arrays are grown as needed and reused). rng may be
 * NULL for deterministic kinds. FS_ENOMEM is the only failure. s must pass
 * fs_comp_check for dim and rng must be given for RANDK, QSGD and NATURAL:
 * anything else is a programmer mistake and aborts. A new p must be zeroed. */
fs_status fs_compress(const fs_comp_spec *s, const float *v, uint32_t dim,
                      fs_rng *rng, fs_payload *p);

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
 * SIGN 32 + dim; NATURAL 9*dim; BLOCK8 32*nblocks + 8*dim; IDENTITY 32*dim. */
double fs_comp_ideal_bits(const fs_comp_spec *s, uint32_t dim);

#endif
