/*
 * ef.c — the error-feedback table (built from ef_methods.def; each row is a
 * file of its own, compress/ef_<name>.c) and the steps the rows are made
 * of (ef.h; docs/compression.md, "Error feedback"). Every step builds the
 * compressor's input in tmp and touches the state only after fs_compress
 * succeeded, so on FS_ENOMEM the state is as it was.
 */
#include "ef.h"

#include <string.h>

static const fs_ef_method *const table[] = {
#define FS_EF_METHOD(name) &fs_ef_method_##name,
#include "ef_methods.def"
#undef FS_EF_METHOD
};
#define N_ROWS (sizeof table / sizeof table[0])

const fs_ef_method *fs_ef_method_at(size_t i) {
  return i < N_ROWS ? table[i] : NULL;
}

fs_choice_set fs_ef_method_choices(void) { return FS_CHOICE_PTRS(table); }

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

fs_status fs_ef21_message(const fs_comp_spec *s, float *g, int first,
                          const float *t, uint32_t dim, fs_rng *rng,
                          fs_payload *out, float *tmp) {
  if (first) {
    /* EF21 starts from g_i^0 = the first target, sent uncompressed. */
    fs_comp_spec id = {.kind = &fs_compressor_identity};
    memcpy(g, t, (size_t)dim * sizeof *g);
    return fs_compress(&id, t, dim, rng, out);
  }
  return fs_ef21_step(s, g, t, dim, rng, out, tmp);
}
