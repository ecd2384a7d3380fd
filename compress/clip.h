/*
 * clip.h — client-level clipping for differential privacy: pure functions on
 * vectors (ALGORITHMS.md section 3).
 *
 *   flat:      x <- x min(1, S/||x||)
 *   per layer: layer l (offset off[l], length len[l]) to S_l = S sqrt(len_l/d),
 *              so that sum_l S_l^2 = S^2 (the bound of the whole vector)
 *   DiceSGD (Zhang et al., "Differentially Private SGD Without Clipping
 *   Bias: An Error-Feedback Approach"), in federated form, on an update d
 *   with the client's error buffer e:
 *              v = clip(d, C1) + clip(e, C2);  e <- e + d - v;  send v
 */
#ifndef FS_CLIP_H
#define FS_CLIP_H

#include <stddef.h>

/* Clip x (n entries) to L2 norm <= bound; returns the norm before. */
double fs_clip_l2(float *x, size_t n, double bound);

/* Per-layer clipping of x (dim entries) with total bound S. */
void fs_clip_per_layer(float *x, size_t dim, const size_t *off,
                       const size_t *len, size_t nlayers, double S);

/* One DiceSGD step: d (dim) becomes v; e is updated; tmp is scratch of
 * 2*dim floats. ||v|| <= C1 + C2. */
void fs_dice_step(float *d, float *e, size_t dim, double C1, double C2,
                  float *tmp);

#endif
