/*
 * clip.c — the clipping table (built from clip_modes.def; each row is a file
 * of its own, compress/clip_<name>.c), the rules the clipping rows share,
 * and the clipping functions they are made of (clip.h; docs/privacy.md).
 * Norms in double.
 */
#include "clip.h"

#include "compress.h"
#include "ef.h"

#include <math.h>
#include <string.h>

static const fs_clip_mode *const table[] = {
#define FS_CLIP_MODE(name) &fs_clip_mode_##name,
#include "clip_modes.def"
#undef FS_CLIP_MODE
};
#define N_ROWS (sizeof table / sizeof table[0])

const fs_clip_mode *fs_clip_mode_at(size_t i) {
  return i < N_ROWS ? table[i] : NULL;
}

fs_choice_set fs_clip_mode_choices(void) { return FS_CHOICE_PTRS(table); }

double fs_clip_bound_factor(const fs_config *cfg) {
  const fs_clip_mode *m = fs_clip_mode_at((size_t)cfg->dp_clip);
  return m->bound_factor != NULL ? m->bound_factor(cfg) : 1.0;
}

fs_status fs__clip_check(const fs_config *cfg, fs_err *err) {
  const fs_compressor *up = fs_compressor_at((size_t)cfg->comp_up);
  const fs_ef_method *ef = fs_ef_method_at((size_t)cfg->ef_method);
  if (!(up->flags & FS_COMP_CLIPPABLE))
    return fs_err_set(err, FS_ECONFIG,
                      "dp.clip: with compress.up %s the message's norm cannot "
                      "be bounded yet (identity, topk or randk)",
                      up->base.name);
  if (cfg->strategy != FS_CFG_STRATEGY_FEDAVG || (ef->flags & FS_EF_21))
    return fs_err_set(err, FS_ECONFIG,
                      "dp.clip: differential privacy runs with synchronous "
                      "FedAvg (server.strategy fedavg, ef.method none or "
                      "ef14)");
  if (cfg->server_weighting != FS_CFG_WEIGHTING_UNIFORM)
    return fs_err_set(err, FS_ECONFIG,
                      "server.weighting: DP-FedAvg weights every client "
                      "equally (set server.weighting uniform with dp.clip)");
  return FS_OK;
}

double fs_clip_l2(float *x, size_t n, double bound) {
  double ss = 0.0;
  for (size_t j = 0; j < n; j++)
    ss += (double)x[j] * x[j];
  double nrm = sqrt(ss);
  if (nrm > bound && nrm > 0.0) {
    double f = bound / nrm;
    for (size_t j = 0; j < n; j++)
      x[j] = (float)(x[j] * f);
  }
  return nrm;
}

void fs_clip_per_layer(float *x, size_t dim, const size_t *off,
                       const size_t *len, size_t nlayers, double S) {
  for (size_t l = 0; l < nlayers; l++)
    fs_clip_l2(x + off[l], len[l], S * sqrt((double)len[l] / (double)dim));
}

void fs_dice_step(float *d, float *e, size_t dim, double C1, double C2,
                  float *tmp) {
  float *raw = tmp, *ce = tmp + dim;
  memcpy(raw, d, dim * sizeof(float));
  memcpy(ce, e, dim * sizeof(float));
  fs_clip_l2(d, dim, C1);
  fs_clip_l2(ce, dim, C2);
  for (size_t j = 0; j < dim; j++) {
    float v = d[j] + ce[j];
    e[j] = e[j] + raw[j] - v;
    d[j] = v;
  }
}
