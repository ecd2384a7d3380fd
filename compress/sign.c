/*
 * sign.c — scaled sign: C(v) = (||v||_1 / dim) sign(v), 0 counted as +1
 * (biased; use it with error feedback), sent as a SIGN payload: one bit per
 * entry and a float32 scale (docs/compression.md).
 */
#include "compress_impl.h"

#include <math.h>

static void comp_sign(const float *v, uint32_t dim, fs_payload *p) {
  double l1 = 0.0;
  for (uint32_t j = 0; j < dim; j++)
    l1 += fabs((double)v[j]);
  p->scale = (float)(l1 / dim);
  for (uint32_t j = 0; j < dim; j++)
    p->codes[j] = v[j] >= 0.0f ? 1 : -1;
}

static fs_status sign_compress(const fs_comp_spec *s, const float *v,
                               uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)s;
  (void)rng;
  if (fs__payload_grow_codes(p, dim))
    return FS_ENOMEM;
  p->kind = FS_PL_SIGN;
  comp_sign(v, dim, p);
  return FS_OK;
}

static double sign_bits(const fs_comp_spec *s, uint32_t dim) {
  (void)s;
  return 32.0 + dim;
}

const fs_compressor fs_compressor_sign = {
    .base =
        {.name = "sign",
         .help =
             "scaled sign (||v||_1/dim) sign(v): 1 bit per entry + a scale"},
    .payload = FS_PL_SIGN,
    .compress = sign_compress,
    .ideal_bits = sign_bits,
};
