/*
 * part_natural.c — the data set's own groups (devices of the synthetic
 * data): group g goes to client g mod N (docs/architecture.md, "Adding a
 * partitioner"). Only synthetic data has groups, which its configuration
 * check says before any data is read.
 */
#include "partition.h"

static fs_status natural_check(const fs_config *cfg, fs_err *err) {
  if (cfg->data_source != FS_CFG_DATA_SYNTHETIC)
    return fs_err_set(err, FS_ECONFIG,
                      "partition.method: 'natural' needs data with natural "
                      "groups (data.source = synthetic); use iid, dirichlet, "
                      "shards or contiguous");
  return FS_OK;
}

static fs_status natural_fits(const fs_dataset *ds, size_t clients,
                              const fs_part_spec *spec, fs_err *err) {
  (void)clients;
  (void)spec;
  if (ds->group == NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "partition: natural split needs a data set with "
                      "groups");
  for (size_t i = 0; i < ds->n; i++)
    if (ds->group[i] < 0)
      return fs_err_set(err, FS_EINVAL, "partition: row %zu has group %d", i,
                        (int)ds->group[i]);
  return FS_OK;
}

static fs_status natural_owners(const fs_dataset *ds, size_t N,
                                const fs_part_spec *spec, uint32_t *owner) {
  (void)spec;
  for (size_t i = 0; i < ds->n; i++)
    owner[i] = (uint32_t)((size_t)ds->group[i] % N);
  return FS_OK;
}

const fs_partitioner fs_partitioner_natural = {
    .base = {.name = "natural",
             .help = "the data's own groups, group g to client g mod N",
             .check = natural_check},
    .fits = natural_fits,
    .owners = natural_owners,
};
