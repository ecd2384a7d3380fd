/*
 * clip.h — client-level clipping for differential privacy: the clipping
 * modes as a table (compress/clip_modes.def, one file per row: dp.clip),
 * and the pure functions on vectors they are made of (docs/privacy.md,
 * "What happens to an update").
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

#include "fs_choice.h"

#include <stddef.h>

/* Row flags. */
#define FS_CLIP_MEMORY 1u /* keeps one vector per client (DiceSGD's e) */

/* What a clipping mode works with, for one client's update. */
typedef struct {
  size_t dim;
  double S;              /* dp.clip_norm (C1 for dice) */
  double ratio;          /* dp.dice_ratio (C2 / C1) */
  const size_t *lay_off; /* the model's layers: offsets and lengths */
  const size_t *lay_len;
  size_t nlayers;
  float *tmp; /* 2 dim floats of scratch */
} fs_clip_args;

/*
 * One row of the clipping table (compress/clip_modes.def lists the rows;
 * each lives in compress/clip_<name>.c). Row i is the value
 * FS_CFG_CLIP_* = i of fs_config.dp_clip (same order).
 */
typedef struct fs_clip_mode {
  fs_choice base; /* name (dp.clip <name>), help, the mode's rules against
                     the rest of the configuration */
  unsigned flags; /* FS_CLIP_* */
  /* Clip the update d (a->dim floats) in place; mem is the client's memory
   * (a->dim floats, zero before its first update; NULL for rows without
   * FS_CLIP_MEMORY). NULL for the row that does not clip (none). */
  void (*clip)(const fs_clip_args *a, float *d, float *mem);
  /* The norm bound of a clipped message over dp.clip_norm (NULL: 1); dice:
   * 1 + dp.dice_ratio (fs_clip_bound_factor). */
  double (*bound_factor)(const fs_config *cfg);
} fs_clip_mode;

/* The rows: fs_clip_mode_none, fs_clip_mode_flat, ... */
#define FS_CLIP_MODE(name) extern const fs_clip_mode fs_clip_mode_##name;
#include "clip_modes.def"
#undef FS_CLIP_MODE

/* Row i (fs_config.dp_clip), NULL beyond the table. */
const fs_clip_mode *fs_clip_mode_at(size_t i);
/* The table for the configuration (dp.clip, app/tables.c). */
fs_choice_set fs_clip_mode_choices(void);
/* The chosen row's bound factor (1 if it has none). */
double fs_clip_bound_factor(const fs_config *cfg);

/* The rules every clipping row checks: a compressor whose message norm can
 * be bounded, synchronous FedAvg without the EF21 family, uniform
 * weighting (docs/privacy.md). FS_ECONFIG with a message. */
fs_status fs__clip_check(const fs_config *cfg, fs_err *err);

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
