/*
 * ef.c — one error-feedback step around a compressor, on one client's state
 * (ef.h). Both steps build the compressor's input in tmp and touch the
 * state only after fs_compress succeeded, so on FS_ENOMEM the state is as
 * it was.
 */
#include "ef.h"

#include <string.h>

fs_status fs_ef14_step(const fs_comp_spec *s, float *e, const float *d,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp) {
  for (uint32_t j = 0; j < dim; j++)
    tmp[j] = e[j] + d[j]; /* u */
  fs_status st = fs_compress(s, tmp, dim, rng, out);
  if (st != FS_OK)
    return st;
  memcpy(e, tmp, (size_t)dim * sizeof *e);
  fs_comp_sub_from(s, out, dim, e); /* e = u - C(u) */
  return FS_OK;
}

fs_status fs_ef21_step(const fs_comp_spec *s, float *g, const float *t,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp) {
  for (uint32_t j = 0; j < dim; j++)
    tmp[j] = t[j] - g[j];
  fs_status st = fs_compress(s, tmp, dim, rng, out);
  if (st != FS_OK)
    return st;
  fs_comp_add_to(s, out, dim, g); /* g = g + C(t - g) */
  return FS_OK;
}
