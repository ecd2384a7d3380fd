/*
 * part_shards.c — label-sorted shards: the rows sorted by (label, row) are
 * cut into N k shards of n / (N k) rows (the last n mod (N k) shards take
 * one row more), the shards shuffled by the stream (seed, FS_RNG_PARTITION,
 * 0, 0) and dealt k to each client (docs/architecture.md, "Adding a
 * partitioner").
 */
#include "part_impl.h"

#include "fs_rng.h"

#include <stdlib.h>

static fs_status shards_fits(const fs_dataset *ds, size_t clients,
                             const fs_part_spec *spec, fs_err *err) {
  if (spec->shards_per_client == 0)
    return fs_err_set(err, FS_ECONFIG,
                      "partition: shards per client must be >= 1");
  if (spec->shards_per_client > ds->n / clients)
    return fs_err_set(err, FS_ECONFIG,
                      "partition: %zu clients x %zu shards is more shards "
                      "than the %zu rows",
                      clients, spec->shards_per_client, ds->n);
  return FS_OK;
}

static fs_status shards_owners(const fs_dataset *ds, size_t N,
                               const fs_part_spec *spec, uint32_t *owner) {
  size_t n = ds->n, k = spec->shards_per_client, S = N * k;
  size_t q = n / S, r = n % S;
  uint32_t *sorted = malloc(n * sizeof(uint32_t));
  uint32_t *perm = malloc(S * sizeof(uint32_t));
  if (sorted == NULL || perm == NULL ||
      fs__part_rows_by_label(ds, sorted) != 0) {
    free(sorted);
    free(perm);
    return FS_ENOMEM;
  }
  for (size_t s = 0; s < S; s++)
    perm[s] = (uint32_t)s;
  fs_rng rng;
  fs_rng_init(&rng, spec->seed, FS_RNG_PARTITION, 0, 0);
  fs_rng_shuffle_u32(&rng, perm, S);
  /* perm[j] is the shard dealt in position j; client j / k owns it. */
  for (size_t j = 0; j < S; j++) {
    size_t s = perm[j];
    size_t begin = s * q + (s > S - r ? s - (S - r) : 0);
    size_t len = q + (s >= S - r ? 1 : 0);
    for (size_t i = begin; i < begin + len; i++)
      owner[sorted[i]] = (uint32_t)(j / k);
  }
  free(sorted);
  free(perm);
  return FS_OK;
}

const fs_partitioner fs_partitioner_shards = {
    .base = {.name = "shards",
             .help = "partition.shards label-sorted shards per client"},
    .fits = shards_fits,
    .owners = shards_owners,
};
