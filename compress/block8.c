/*
 * block8.c — block-wise absmax 8-bit quantisation: dim split into blocks of
 * compress.block entries, each sent as its float32 absmax and one int8 code
 * per entry, value = absmax * code / 127 (round to nearest; biased).
 */
#include "compress_impl.h"

#include <math.h>
#include <string.h>

static void comp_block8(const float *v, uint32_t dim, uint32_t block,
                        fs_payload *p) {
  size_t nb = ((size_t)dim + block - 1) / block;
  for (size_t b = 0; b < nb; b++) {
    size_t lo = b * block, hi = lo + block < dim ? lo + block : dim;
    float amax = 0.0f;
    int bad = 0;
    for (size_t j = lo; j < hi; j++) {
      float a = fabsf(v[j]);
      bad |= !isfinite(a);
      amax = a > amax ? a : amax;
    }
    if (bad) /* decodes to NaN: 0 * non-finite */
      amax = NAN;
    p->absmax[b] = amax;
    if (bad || amax == 0.0f) {
      memset(p->codes + lo, 0, hi - lo);
      continue;
    }
    double f = 127.0 / amax;
    for (size_t j = lo; j < hi; j++)
      p->codes[j] = (int8_t)round((double)v[j] * f);
  }
}

static fs_status block8_check(const fs_comp_spec *s, uint32_t dim,
                              fs_err *err) {
  (void)dim;
  if (s->block == 0)
    return fs_err_set(err, FS_ECONFIG, "compressor block8: block is 0");
  return FS_OK;
}

static fs_status block8_compress(const fs_comp_spec *s, const float *v,
                                 uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)rng;
  if (fs__payload_grow_codes(p, dim) ||
      fs__payload_grow_absmax(p, ((size_t)dim + s->block - 1) / s->block))
    return FS_ENOMEM;
  p->kind = FS_PL_BLOCK8;
  p->block = s->block;
  comp_block8(v, dim, s->block, p);
  return FS_OK;
}

static double block8_bits(const fs_comp_spec *s, uint32_t dim) {
  uint64_t nb = s->block ? ((uint64_t)dim + s->block - 1) / s->block : 0;
  return 32.0 * (double)nb + 8.0 * dim;
}

const fs_compressor fs_compressor_block8 = {
    .base =
        {.name = "block8",
         .help =
             "block-wise absmax 8-bit quantisation (compress.block entries)"},
    .payload = FS_PL_BLOCK8,
    .check = block8_check,
    .compress = block8_compress,
    .ideal_bits = block8_bits,
};
