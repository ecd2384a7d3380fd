/*
 * ef_ef21.c — ef.method ef21 (Richtarik, Sokolov, Fatkhullin 2021): the
 * client keeps g, the server's picture of its target, and sends the
 * compressed difference C(t - g); the first message is t itself
 * (docs/ef21.md, "The recursions as fedsim implements them"). Its rules
 * against the strategy, the server optimiser and compress.down read the
 * FS_EF_21 flag (sim/config.c), since their messages name those options'
 * values.
 */
#include "ef.h"

const fs_ef_method fs_ef_method_ef21 = {
    .base = {.name = "ef21",
             .help = "EF21: send C(target - g), g <- g + C(target - g)"},
    .flags = FS_EF_MEMORY | FS_EF_21,
    .message = fs_ef21_message,
};
