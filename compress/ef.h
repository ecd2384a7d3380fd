/*
 * ef.h — error feedback around a compressor: pure functions on one client's
 * state vectors (the caller stores them; docs/compression.md, "Error
 * feedback").
 *
 *   EF14 (Seide et al. 2014; Stich et al. 2018), on an update d:
 *       u = e + d;  send c = C(u);  e <- u - c
 *   EF21 (Richtarik, Sokolov, Fatkhullin 2021), on a target t (the gradient,
 *   the update, or for EF21-W the scaled gradient t = grad_i / (n w_i)):
 *       send c = C(t - g);  g <- g + c
 *
 * tmp is caller-owned scratch of dim floats. On failure (FS_ENOMEM from
 * fs_compress) e or g is left unchanged.
 */
#ifndef FS_EF_H
#define FS_EF_H

#include "compress.h"

fs_status fs_ef14_step(const fs_comp_spec *s, float *e, const float *d,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp);

fs_status fs_ef21_step(const fs_comp_spec *s, float *g, const float *t,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp);

#endif
