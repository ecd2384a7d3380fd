/*
 * part_contiguous.c — unshuffled blocks: client c owns rows
 * [c floor(n/N), (c+1) floor(n/N)), the last client also the remainder (the
 * EF21 experiments' split; docs/architecture.md, "Adding a partitioner").
 */
#include "partition.h"

static fs_status contiguous_fits(const fs_dataset *ds, size_t clients,
                                 const fs_part_spec *spec, fs_err *err) {
  (void)spec;
  if (clients > ds->n)
    return fs_err_set(err, FS_ECONFIG,
                      "partition: %zu clients but only %zu rows", clients,
                      ds->n);
  return FS_OK;
}

static fs_status contiguous_owners(const fs_dataset *ds, size_t N,
                                   const fs_part_spec *spec, uint32_t *owner) {
  (void)spec;
  size_t q = ds->n / N;
  for (size_t i = 0; i < ds->n; i++) {
    size_t c = i / q;
    owner[i] = (uint32_t)(c < N ? c : N - 1);
  }
  return FS_OK;
}

const fs_partitioner fs_partitioner_contiguous = {
    .base = {.name = "contiguous",
             .help = "unshuffled blocks, the last client takes the rest"},
    .fits = contiguous_fits,
    .owners = contiguous_owners,
};
