/*
 * clip.c — see clip.h. Norms in double.
 */
#include "clip.h"

#include <math.h>
#include <string.h>

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
