/*
 * clip_none.c — dp.clip none: updates are sent unclipped, and nothing is
 * private (docs/privacy.md). dp.noise needs another mode (sim/config.c).
 */
#include "clip.h"

const fs_clip_mode fs_clip_mode_none = {
    .base = {.name = "none", .help = "no clipping (no differential privacy)"},
};
