/*
 * part_iid.c — the iid split: the rows shuffled by the stream
 * (seed, FS_RNG_PARTITION, 0, 0), then dealt in order, client c taking
 * floor(n/N) rows plus one for the first n mod N clients. Each client's rows
 * stay in shuffled order (docs/architecture.md, "Adding a partitioner").
 */
#include "partition.h"

#include "fs_rng.h"

static void iid_split(const fs_dataset *ds, const fs_part_spec *spec,
                      fs_partition *p) {
  size_t n = ds->n, N = p->clients, q = n / N, r = n % N;
  for (size_t i = 0; i < n; i++)
    p->rows[i] = (uint32_t)i;
  fs_rng rng;
  fs_rng_init(&rng, spec->seed, FS_RNG_PARTITION, 0, 0);
  fs_rng_shuffle_u32(&rng, p->rows, n);
  p->offset[0] = 0;
  for (size_t c = 0; c < N; c++)
    p->offset[c + 1] = p->offset[c] + q + (c < r ? 1 : 0);
}

const fs_partitioner fs_partitioner_iid = {
    .base = {.name = "iid", .help = "shuffled rows, equal shares"},
    .split = iid_split,
};
