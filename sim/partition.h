/*
 * partition.h — splitting the rows of a data set over N virtual clients,
 * and the partitioner table (partition.method): one row per partitioner,
 * each in its own file sim/part_<name>.c, listed in sim/partitioners.def
 * (docs/architecture.md, "Adding a partitioner").
 *
 * iid (shuffled, equal sizes up to one row), Dirichlet(alpha) over labels,
 * k label-sorted shards per client, contiguous unshuffled blocks (floor(n/N)
 * rows each, the last client takes the remainder: the EF21 experiments'
 * split), and natural (the data set's own groups, group g -> client g mod N);
 * auto is natural for data with groups, else iid, resolved by the world
 * build (sim/setup.c) once the data is known.
 * Deterministic in the seed; independent of the MPI rank count.
 */
#ifndef FS_PARTITION_H
#define FS_PARTITION_H

#include "data.h"
#include "fs_choice.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fs_partitioner fs_partitioner;

typedef struct {
  const fs_partitioner *method; /* a row of the partitioner table */
  double alpha;                 /* Dirichlet concentration (> 0) */
  size_t shards_per_client;     /* shards (>= 1) */
  uint64_t seed;
} fs_part_spec;

typedef struct {
  size_t clients;
  size_t *offset; /* clients + 1 entries; client c owns rows[offset[c] ..
                     offset[c+1]) */
  uint32_t *rows; /* offset[clients] row indices into the data set; owned */
} fs_partition;

/*
 * One row of the partitioner table. A row splits either by `split` (it
 * writes p->rows and p->offset itself) or by `owners` (an owner per row,
 * which fs_partition_make gathers so that each client's rows are in
 * increasing order); a row with neither (auto) is resolved before.
 */
struct fs_partitioner {
  fs_choice base; /* name (partition.method <name>), help, config check */
  /* Rules on the data and the client count (ds->n, clients and the labels
   * are checked before): FS_ECONFIG or FS_EINVAL with a message. NULL:
   * none. */
  fs_status (*fits)(const fs_dataset *ds, size_t clients,
                    const fs_part_spec *spec, fs_err *err);
  /* p->clients, p->offset (clients + 1) and p->rows (ds->n) are allocated. */
  void (*split)(const fs_dataset *ds, const fs_part_spec *spec,
                fs_partition *p);
  /* owner[i] in 0..clients-1 for each row i; FS_ENOMEM is the only error. */
  fs_status (*owners)(const fs_dataset *ds, size_t clients,
                      const fs_part_spec *spec, uint32_t *owner);
};

/* The rows: fs_partitioner_auto, fs_partitioner_iid, ... */
#define FS_PARTITIONER(name) extern const fs_partitioner fs_partitioner_##name;
#include "partitioners.def"
#undef FS_PARTITIONER

/* The rows in table order (the FS_CFG_PART_* values): fs_partitioner_at(i)
 * for i < fs_partitioner_count(), NULL beyond; by name (NULL if none). */
size_t fs_partitioner_count(void);
const fs_partitioner *fs_partitioner_at(size_t i);
const fs_partitioner *fs_partitioner_find(const char *name);
/* The table for the configuration (partition.method, app/tables.c). */
fs_choice_set fs_partitioner_choices(void);

/* Split ds over `clients` clients by spec->method. Errors: clients == 0,
 * more clients than rows for contiguous/shards, natural without groups,
 * bad alpha, a method that cannot split (auto: resolve it first)
 * (FS_ECONFIG with a message). Clients may end up with no rows under
 * Dirichlet; the rows of each client are in increasing order except for iid,
 * where they are in shuffled order. */
fs_status fs_partition_make(const fs_dataset *ds, size_t clients,
                            const fs_part_spec *spec, fs_partition *out,
                            fs_err *err);

/* Free the arrays and zero p. NULL does nothing. */
void fs_partition_free(fs_partition *p);

#endif
