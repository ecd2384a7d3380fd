/*
 * clip_per_layer.c — dp.clip per_layer: layer l of the model (weights and
 * biases are separate layers) to S_l = S sqrt(d_l/d), so that the whole
 * update stays within S (docs/privacy.md, "What happens to an update").
 */
#include "clip.h"

static void per_layer_clip(const fs_clip_args *a, float *d, float *mem) {
  (void)mem;
  fs_clip_per_layer(d, a->dim, a->lay_off, a->lay_len, a->nlayers, a->S);
}

const fs_clip_mode fs_clip_mode_per_layer = {
    .base = {.name = "per_layer",
             .help = "layer l to S sqrt(d_l/d), S = dp.clip_norm",
             .check = fs__clip_check},
    .clip = per_layer_clip,
};
