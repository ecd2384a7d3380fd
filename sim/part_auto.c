/*
 * part_auto.c — the default of partition.method: natural for data with
 * natural groups (synthetic data), iid otherwise. It does not split by
 * itself: the world build (sim/setup.c) picks one of the two rows once the
 * data is loaded (docs/architecture.md, "Adding a partitioner").
 */
#include "partition.h"

const fs_partitioner fs_partitioner_auto = {
    .base = {.name = "auto",
             .help = "natural for data with groups (synthetic), else iid"},
};
