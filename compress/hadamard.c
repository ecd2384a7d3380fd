/*
 * hadamard.c — Hadamard-rotated stochastic 1-bit quantisation, in the
 * family of DRIVE/EDEN (Vargaftik et al. 2021, 2022) and of Suresh et al.
 * 2017's randomised-Hadamard stochastic binary quantiser (docs/compression.md,
 * "hadamard").
 *
 * v (dim floats) is padded with zeros to d' = the next power of two, rotated
 * y = H D v with D a random diagonal of +-1 and H the normalised
 * Walsh-Hadamard matrix (H = H^T = H^-1), then each y_j is sent as one bit:
 * +S with probability (1 + y_j/S)/2, else -S, where S = max_j |y_j| rounded
 * up to a float (so E[code_j S] = y_j: unbiased). The receiver computes
 * v^ = (D H (S codes))[0..dim), so E[v^] = v. The payload is an ordinary
 * SIGN payload over d' coordinates (u32 d', f32 S, d' bits): no new wire
 * encoding. D comes from the first ceil(d'/64) u64 of the caller's stream
 * (seed, FS_RNG_COMPRESS, client, round), the quantisation draws (one u32
 * per coordinate) follow; the receiver rebuilds the stream and draws D only
 * (fs_comp_receive). The sender keeps v^ in the payload's val (unused by
 * SIGN on the wire) for error feedback.
 */
#include "compress_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The largest dim: d' must fit in a uint32. */
#define MAX_DIM (UINT32_C(1) << 31)

/* d' = the smallest power of two >= dim (1 <= dim <= MAX_DIM). */
static uint32_t pad_dim(uint32_t dim) {
  uint32_t d = 1;
  while (d < dim)
    d <<= 1;
  return d;
}

/* In place x <- H x, H the normalised Walsh-Hadamard matrix of order n (a
 * power of two): butterflies (a, b) -> (a + b, a - b), then 1/sqrt(n).
 * Not static: tests/test_compress.c checks it. */
void fs__hadamard_fwht(double *x, uint32_t n);
void fs__hadamard_fwht(double *x, uint32_t n) {
  for (uint32_t h = 1; h < n; h <<= 1)
    for (uint32_t i = 0; i < n; i += 2 * h)
      for (uint32_t j = i; j < i + h; j++) {
        double a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
  double f = 1.0 / sqrt((double)n);
  for (uint32_t j = 0; j < n; j++)
    x[j] *= f;
}

/* D's signs, bit j of w set: -1. */
static void draw_diag(fs_rng *rng, uint64_t *w, uint32_t n) {
  for (uint32_t i = 0; i < (n + 63) / 64; i++)
    w[i] = fs_rng_u64(rng);
}

static inline double dsign(const uint64_t *w, uint32_t j) {
  return (w[j >> 6] >> (j & 63)) & 1 ? -1.0 : 1.0;
}

/* out[0..dim) = (D H (scale codes))[0..dim), y scratch of n doubles. The
 * sender and the receiver both decode here, so they agree bit for bit.
 * Returns 0 when a value is not finite. */
static int unrotate(const int8_t *codes, float scale, const uint64_t *w,
                    uint32_t n, uint32_t dim, double *y, float *out) {
  for (uint32_t j = 0; j < n; j++)
    y[j] = (double)scale * codes[j];
  fs__hadamard_fwht(y, n);
  int ok = 1;
  for (uint32_t j = 0; j < dim; j++) {
    out[j] = (float)(dsign(w, j) * y[j]);
    ok &= isfinite(out[j]) != 0;
  }
  return ok;
}

/* Scratch for one call: y (n doubles) and D's words. NULL if out of memory. */
static double *scratch(uint32_t n, uint64_t **w) {
  double *y = malloc((size_t)n * sizeof *y + ((size_t)n + 63) / 64 * 8);
  *w = y != NULL ? (uint64_t *)(y + n) : NULL;
  return y;
}

static fs_status hadamard_check(const fs_comp_spec *s, uint32_t dim,
                                fs_err *err) {
  (void)s;
  if (dim > MAX_DIM)
    return fs_err_set(err, FS_ECONFIG,
                      "compressor hadamard: dimension %u is above 2^31", dim);
  return FS_OK;
}

static fs_status hadamard_compress(const fs_comp_spec *s, const float *v,
                                   uint32_t dim, fs_rng *rng, fs_payload *p) {
  (void)s;
  uint32_t n = pad_dim(dim);
  uint64_t *w;
  double *y = scratch(n, &w);
  if (y == NULL || fs__payload_grow_codes(p, n) ||
      fs__payload_grow_val(p, dim)) {
    free(y);
    return FS_ENOMEM;
  }
  draw_diag(rng, w, n);
  for (uint32_t j = 0; j < n; j++)
    y[j] = j < dim ? dsign(w, j) * v[j] : 0.0;
  fs__hadamard_fwht(y, n);
  double smax = 0.0;
  for (uint32_t j = 0; j < n; j++)
    smax = fabs(y[j]) > smax || isnan(y[j]) ? fabs(y[j]) : smax;
  float scale = (float)smax;
  if ((double)scale < smax) /* round up: |y_j| <= scale */
    scale = nextafterf(scale, INFINITY);
  p->kind = FS_PL_SIGN;
  p->dim = n;
  p->scale = scale;
  int live = scale > 0.0f && isfinite(scale);
  for (uint32_t j = 0; j < n; j++) {
    /* +1 with probability (1 + y_j/S)/2, from a 32-bit uniform */
    double pr = live ? 0.5 * (1.0 + y[j] / scale) : 1.0;
    uint64_t thr = (uint64_t)(pr * 0x1p32);
    p->codes[j] = live && (uint64_t)fs_rng_u32(rng) >= thr ? -1 : 1;
  }
  /* a non-finite scale is kept (the decoder refuses it); 0 decodes to 0 */
  if (live)
    unrotate(p->codes, scale, w, n, dim, y, p->val);
  else
    memset(p->val, 0, (size_t)dim * sizeof *p->val);
  free(y);
  return FS_OK;
}

static double hadamard_bits(const fs_comp_spec *s, uint32_t dim) {
  (void)s;
  return 32.0 + pad_dim(dim);
}

static const float *hadamard_sent(const fs_payload *p) { return p->val; }

static fs_status hadamard_receive(fs_payload *p, uint32_t dim, fs_rng *stream) {
  uint32_t n = p->dim;
  if (dim == 0 || dim > MAX_DIM || n != pad_dim(dim))
    return FS_EFORMAT;
  uint64_t *w;
  double *y = scratch(n, &w);
  if (y == NULL || fs__payload_grow_val(p, dim)) {
    free(y);
    return FS_ENOMEM;
  }
  draw_diag(stream, w, n);
  int ok = unrotate(p->codes, p->scale, w, n, dim, y, p->val);
  free(y);
  if (!ok)
    return FS_ENUMERIC;
  p->kind = FS_PL_DENSE;
  p->dim = dim;
  p->nnz = 0;
  p->scale = 0.0f;
  return FS_OK;
}

const fs_compressor fs_compressor_hadamard = {
    .base = {.name = "hadamard",
             .help = "random Hadamard rotation + stochastic 1 bit (unbiased): "
                     "d' bits + a scale"},
    .payload = FS_PL_SIGN,
    .flags = FS_COMP_RANDOM | FS_COMP_UPLINK_ONLY,
    .check = hadamard_check,
    .compress = hadamard_compress,
    .ideal_bits = hadamard_bits,
    .wire_dim = pad_dim,
    .sent = hadamard_sent,
    .receive = hadamard_receive,
};
