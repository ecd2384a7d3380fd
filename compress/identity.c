/*
 * identity.c — the identity compressor: C(v) = v, sent as a DENSE payload
 * of dim float32 (docs/compression.md). The default of compress.up and
 * compress.down.
 */
#include "compress_impl.h"

#include <string.h>

static fs_status identity_compress(const fs_comp_spec *s, const float *v,
                                   uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)s;
  (void)rng;
  if (fs__payload_grow_val(p, dim))
    return FS_ENOMEM;
  p->kind = FS_PL_DENSE;
  memcpy(p->val, v, (size_t)dim * sizeof *v);
  return FS_OK;
}

static double identity_bits(const fs_comp_spec *s, uint32_t dim) {
  (void)s;
  return 32.0 * dim;
}

const fs_compressor fs_compressor_identity = {
    .base = {.name = "identity", .help = "no compression: dim float32"},
    .payload = FS_PL_DENSE,
    .flags = FS_COMP_CLIPPABLE,
    .compress = identity_compress,
    .ideal_bits = identity_bits,
};
