/*
 * natural.c — natural compression (Horvath et al. 2019): each entry rounded
 * stochastically to a signed power of two (unbiased), sent as a NATURAL
 * payload of 9 bits per entry (sign and exponent).
 */
#include "compress_impl.h"

#include <string.h>

#define KEY_MASK UINT32_C(0x7fffffff)

/*
 * Natural compression on the bits: |v_j| = 2^(E-127) (1 + m/2^23) with
 * exponent field E and mantissa m. It becomes 2^(E-127) or 2^(E-126) with
 * probability m/2^23 of the latter: unbiased, and a 32-bit uniform u decides
 * exactly (u < m * 2^9). Subnormals (E = 0) go the same way to 0 or FLT_MIN.
 * E = 254 with m > 0 rounds down to 2^127 (no 2^128 in float). Inf and NaN
 * pass through.
 */
static void comp_natural(const float *v, uint32_t dim, fs_rng *rng,
                         fs_payload *p) {
  for (uint32_t j = 0; j < dim; j++) {
    uint32_t u;
    memcpy(&u, v + j, 4);
    uint32_t sign = u & ~KEY_MASK, e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff) {
      p->val[j] = v[j];
      continue;
    }
    if (m != 0 && e < 254 && fs_rng_u32(rng) < m << 9)
      e++;
    uint32_t out = e == 0 ? 0 : sign | e << 23;
    memcpy(p->val + j, &out, 4);
  }
}

static fs_status natural_compress(const fs_comp_spec *s, const float *v,
                                  uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)s;
  if (fs__payload_grow_val(p, dim))
    return FS_ENOMEM;
  p->kind = FS_PL_NATURAL;
  comp_natural(v, dim, rng, p);
  return FS_OK;
}

static double natural_bits(const fs_comp_spec *s, uint32_t dim) {
  (void)s;
  return 9.0 * dim;
}

const fs_compressor fs_compressor_natural = {
    .base =
        {.name = "natural",
         .help =
             "stochastic rounding to a signed power of two: 9 bits per entry"},
    .payload = FS_PL_NATURAL,
    .flags = FS_COMP_RANDOM,
    .compress = natural_compress,
    .ideal_bits = natural_bits,
};
