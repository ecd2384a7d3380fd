/*
 * randk.c — RandK: k uniform indices, values scaled by dim/k (unbiased),
 * sent as a RANDK payload whose indices are not sent: both sides regenerate
 * them from the payload's seed (compress/randk_indices.c).
 */
#include "compress_impl.h"

#include <string.h>

/* ---- the compressor ----------------------------------------------------- */

typedef struct {
  const float *v;
  float *val;
  double scale;
} randk_gather;

static void emit_gather(void *ctx, uint32_t pos, uint32_t j) {
  randk_gather *g = ctx;
  g->val[pos] = (float)((double)g->v[j] * g->scale);
}

static fs_status randk_compress(const fs_comp_spec *s, const float *v,
                                uint32_t dim, fs_rng *rng, fs_payload *p) {
  uint32_t k = fs_comp_k(s, dim);
  if (fs__payload_grow_val(p, k))
    return FS_ENOMEM;
  p->kind = FS_PL_RANDK;
  p->nnz = k;
  p->seed = fs_rng_u64(rng);
  randk_gather g = {v, p->val, (double)dim / k};
  fs__randk_sink sink = {emit_gather, &g, 0};
  fs__randk_visit(p->seed, dim, k, &sink);
  return FS_OK;
}

static double randk_bits(const fs_comp_spec *s, uint32_t dim) {
  return 32.0 * fs_comp_k(s, dim);
}

const fs_compressor fs_compressor_randk = {
    .base =
        {.name = "randk",
         .help =
             "k uniform entries scaled by dim/k (unbiased): seed + float32"},
    .payload = FS_PL_RANDK,
    .flags = FS_COMP_RANDOM | FS_COMP_USES_K | FS_COMP_CLIPPABLE,
    .check = fs__comp_check_k,
    .compress = randk_compress,
    .ideal_bits = randk_bits,
};
