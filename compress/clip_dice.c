/*
 * clip_dice.c — dp.clip dice: DiceSGD-style clipping with error feedback
 * (Zhang, Bu, Wu, Hong, ICLR 2024, in federated form): v = clip(d, C1) +
 * clip(e, C2), e <- e + d - v with the client's error buffer e, so a
 * message's norm is at most C1 + C2 = dp.clip_norm (1 + dp.dice_ratio)
 * (docs/privacy.md, "What happens to an update").
 */
#include "clip.h"

static void dice_clip(const fs_clip_args *a, float *d, float *e) {
  fs_dice_step(d, e, a->dim, a->S, a->S * a->ratio, a->tmp);
}

static double dice_bound(const fs_config *cfg) {
  return 1.0 + cfg->dp_dice_ratio;
}

const fs_clip_mode fs_clip_mode_dice = {
    .base = {.name = "dice",
             .help = "DiceSGD: clip(update, C1) + clip(error buffer, C2)",
             .check = fs__clip_check},
    .flags = FS_CLIP_MEMORY,
    .clip = dice_clip,
    .bound_factor = dice_bound,
};
