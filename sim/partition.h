/*
 * partition.h — splitting the rows of a data set over N virtual clients.
 *
 * iid (shuffled, equal sizes up to one row), Dirichlet(alpha) over labels,
 * k label-sorted shards per client, contiguous unshuffled blocks (floor(n/N)
 * rows each, the last client takes the remainder: the EF21 experiments'
 * split), and natural (the data set's own groups, group g -> client g mod N).
 * Deterministic in the seed; independent of the MPI rank count.
 */
#ifndef FS_PARTITION_H
#define FS_PARTITION_H

#include "data.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_PART_IID = 0,
  FS_PART_DIRICHLET,
  FS_PART_SHARDS,
  FS_PART_CONTIGUOUS,
  FS_PART_NATURAL
} fs_part_method;

typedef struct {
  fs_part_method method;
  double alpha;             /* Dirichlet concentration (> 0) */
  size_t shards_per_client; /* for FS_PART_SHARDS (>= 1) */
  uint64_t seed;
} fs_part_spec;

typedef struct {
  size_t clients;
  size_t *offset; /* clients + 1 entries; client c owns rows[offset[c] ..
                     offset[c+1]) */
  uint32_t *rows; /* offset[clients] row indices into the data set; owned */
} fs_partition;

/* Split ds over `clients` clients. Errors: clients == 0, more clients than
 * rows for contiguous/shards, natural without groups, bad alpha
 * (FS_ECONFIG with a message). Clients may end up with no rows under
 * Dirichlet; the rows of each client are in increasing order except for iid,
 * where they are in shuffled order. */
fs_status fs_partition_make(const fs_dataset *ds, size_t clients,
                            const fs_part_spec *spec, fs_partition *out,
                            fs_err *err);

/* Free the arrays and zero p. NULL does nothing. */
void fs_partition_free(fs_partition *p);

/* Parse "iid", "dirichlet", "shards", "contiguous", "natural". */
fs_status fs_part_method_parse(const char *s, fs_part_method *out);
const char *fs_part_method_name(fs_part_method m);

#endif
