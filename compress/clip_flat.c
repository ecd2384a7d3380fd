/*
 * clip_flat.c — dp.clip flat: the whole update to L2 norm S = dp.clip_norm,
 * x <- x min(1, S/||x||) (docs/privacy.md, "What happens to an update").
 */
#include "clip.h"

static void flat_clip(const fs_clip_args *a, float *d, float *mem) {
  (void)mem;
  fs_clip_l2(d, a->dim, a->S);
}

const fs_clip_mode fs_clip_mode_flat = {
    .base = {.name = "flat",
             .help = "the update to L2 norm dp.clip_norm",
             .check = fs__clip_check},
    .clip = flat_clip,
};
