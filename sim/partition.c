/*
 * partition.c — the generic half of splitting rows over clients: the
 * partitioner table built from partitioners.def (one file per row,
 * sim/part_<name>.c), lookup, the checks every split shares, and the
 * gathering of rows by owner (docs/architecture.md, "Adding a
 * partitioner").
 *
 * Rows that decide an owner for each row are gathered with a counting sort,
 * which keeps each client's rows in increasing order. Randomness comes only
 * from FS_RNG_PARTITION streams of the spec's seed (each row's file says
 * which), so the result does not depend on the MPI rank count or on the
 * order of work.
 */
#include "part_impl.h"

#include "fs_config.h"

#include <stdlib.h>
#include <string.h>

static const fs_partitioner *const table[] = {
#define FS_PARTITIONER(name) &fs_partitioner_##name,
#include "partitioners.def"
#undef FS_PARTITIONER
};
#define N_ROWS (sizeof table / sizeof table[0])

/* The configuration keeps the row index in an FS_CFG_PART_* value. */
_Static_assert(N_ROWS == (size_t)FS_CFG_PART_NATURAL + 1,
               "partitioners.def and fs_cfg_part differ");

size_t fs_partitioner_count(void) { return N_ROWS; }

const fs_partitioner *fs_partitioner_at(size_t i) {
  return i < N_ROWS ? table[i] : NULL;
}

const fs_partitioner *fs_partitioner_find(const char *name) {
  for (size_t i = 0; name != NULL && i < N_ROWS; i++)
    if (strcmp(name, table[i]->base.name) == 0)
      return table[i];
  return NULL;
}

fs_choice_set fs_partitioner_choices(void) { return FS_CHOICE_PTRS(table); }

void fs_partition_free(fs_partition *p) {
  if (p == NULL)
    return;
  free(p->offset);
  free(p->rows);
  memset(p, 0, sizeof *p);
}

/* Gather rows 0..n-1 by owner (counting sort: increasing within a client). */
static void gather(const uint32_t *owner, size_t n, fs_partition *p) {
  memset(p->offset, 0, (p->clients + 1) * sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    p->offset[owner[i] + 1]++;
  for (size_t c = 0; c < p->clients; c++)
    p->offset[c + 1] += p->offset[c];
  for (size_t i = 0; i < n; i++)
    p->rows[p->offset[owner[i]]++] = (uint32_t)i;
  for (size_t c = p->clients; c > 0; c--)
    p->offset[c] = p->offset[c - 1];
  p->offset[0] = 0;
}

int fs__part_rows_by_label(const fs_dataset *ds, uint32_t *sorted) {
  size_t *start = calloc(ds->classes + 1, sizeof(size_t));
  if (start == NULL)
    return -1;
  for (size_t i = 0; i < ds->n; i++)
    start[(size_t)ds->y[i] + 1]++;
  for (size_t k = 0; k < ds->classes; k++)
    start[k + 1] += start[k];
  for (size_t i = 0; i < ds->n; i++)
    sorted[start[ds->y[i]]++] = (uint32_t)i;
  free(start);
  return 0;
}

/* What every split needs of its arguments. */
static fs_status check_common(const fs_dataset *ds, size_t clients,
                              const fs_part_spec *spec, fs_err *err) {
  if (clients == 0)
    return fs_err_set(err, FS_ECONFIG, "partition: no clients");
  if (clients > UINT32_MAX)
    return fs_err_set(err, FS_ECONFIG, "partition: %zu clients is too many",
                      clients);
  if (ds->n > UINT32_MAX)
    return fs_err_set(err, FS_ERANGE, "partition: %zu rows is too many", ds->n);
  for (size_t i = 0; i < ds->n; i++)
    if (ds->y[i] < 0 || (size_t)ds->y[i] >= ds->classes)
      return fs_err_set(err, FS_EINVAL,
                        "partition: row %zu has label %d, not in 0..%zu", i,
                        (int)ds->y[i], ds->classes - 1);
  const fs_partitioner *row = spec->method;
  if (row == NULL)
    return fs_err_set(err, FS_ECONFIG, "partition: unknown method (none)");
  if (row->split == NULL && row->owners == NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "partition: method %s does not split (the world build "
                      "resolves it)",
                      row->base.name);
  if (row->fits != NULL)
    return row->fits(ds, clients, spec, err);
  return FS_OK;
}

fs_status fs_partition_make(const fs_dataset *ds, size_t clients,
                            const fs_part_spec *spec, fs_partition *out,
                            fs_err *err) {
  fs_partition p = {0, NULL, NULL};
  uint32_t *owner = NULL;
  memset(out, 0, sizeof *out);
  fs_status st = check_common(ds, clients, spec, err);
  if (st != FS_OK)
    return st;

  p.clients = clients;
  p.offset = malloc((clients + 1) * sizeof(size_t));
  p.rows = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
  if (p.offset == NULL || p.rows == NULL)
    goto nomem;
  if (spec->method->split != NULL) {
    spec->method->split(ds, spec, &p);
  } else {
    owner = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
    if (owner == NULL ||
        spec->method->owners(ds, clients, spec, owner) != FS_OK)
      goto nomem;
    gather(owner, ds->n, &p);
  }
  free(owner);
  *out = p;
  return FS_OK;
nomem:
  free(owner);
  fs_partition_free(&p);
  return fs_err_set(err, FS_ENOMEM, "partition: out of memory");
}
