/*
 * qsgd.c — QSGD-style stochastic quantisation (Alistarh et al. 2017):
 * scale = ||v||_2, code_j in [-s, s] rounded stochastically so that
 * scale * code_j / s is unbiased; sent as a QSGD payload of
 * ceil(log2(2s+1)) bits per entry (docs/compression.md). The draws come
 * from the caller's fs_rng in index order.
 */
#include "compress_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

static void comp_qsgd(const float *v, uint32_t dim, uint32_t s, fs_rng *rng,
                      fs_payload *p) {
  double ss = 0.0;
  for (uint32_t j = 0; j < dim; j++)
    ss += (double)v[j] * v[j];
  double norm = sqrt(ss);
  float scale = (float)norm;
  if (isinf(scale) && isfinite(norm)) /* finite v, norm beyond float */
    scale = FLT_MAX;
  p->scale = scale;
  if (!(scale > 0.0f) || !isfinite(scale)) {
    /* 0 stands for 0; a non-finite norm stays in scale (decodes to NaN) */
    memset(p->codes, 0, dim);
    return;
  }
  double f = (double)s / scale;
  for (uint32_t j = 0; j < dim; j++) {
    double l = fabs((double)v[j]) * f;
    if (l > s) /* rounding at |v_j| = ||v|| */
      l = s;
    double fl = floor(l);
    /* Bernoulli(l - fl) from a 32-bit uniform: off by less than 2^-32 */
    uint64_t thr = (uint64_t)((l - fl) * 0x1p32);
    int c = (int)fl + ((uint64_t)fs_rng_u32(rng) < thr);
    p->codes[j] = (int8_t)(v[j] < 0.0f ? -c : c);
  }
}

static fs_status qsgd_check(const fs_comp_spec *s, uint32_t dim, fs_err *err) {
  (void)dim;
  if (s->levels < 1 || s->levels > 127)
    return fs_err_set(err, FS_ECONFIG,
                      "compressor qsgd: levels = %u is not in 1..127",
                      s->levels);
  return FS_OK;
}

static fs_status qsgd_compress(const fs_comp_spec *s, const float *v,
                               uint32_t dim, fs_rng *rng, fs_payload *p) {
  if (fs__payload_grow_codes(p, dim))
    return FS_ENOMEM;
  p->kind = FS_PL_QSGD;
  p->levels = s->levels;
  comp_qsgd(v, dim, s->levels, rng, p);
  return FS_OK;
}

static double qsgd_bits(const fs_comp_spec *s, uint32_t dim) {
  return 32.0 + (double)dim * fs__ceil_log2(2 * (uint64_t)s->levels + 1);
}

const fs_compressor fs_compressor_qsgd = {
    .base =
        {.name = "qsgd",
         .help =
             "stochastic quantisation to compress.levels levels of ||v||_2"},
    .payload = FS_PL_QSGD,
    .flags = FS_COMP_RANDOM,
    .check = qsgd_check,
    .compress = qsgd_compress,
    .ideal_bits = qsgd_bits,
};
