/*
 * part_impl.h — what the partitioner rows (sim/part_<name>.c) share from
 * partition.c; not for use outside the partitioner files.
 */
#ifndef FS_PART_IMPL_H
#define FS_PART_IMPL_H

#include "partition.h"

/* Rows sorted by (label, row) into sorted (ds->n entries): a stable counting
 * sort by label. -1 when out of memory. */
int fs__part_rows_by_label(const fs_dataset *ds, uint32_t *sorted);

#endif
