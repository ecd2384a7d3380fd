/*
 * fs_choice.h — the head of every row of an extension-point table
 * (docs/architecture.md, "Tables"): strategies, server optimisers,
 * compressors, local methods, partitioners... Each table is an array of its
 * own row struct whose first member is an fs_choice; the configuration
 * (sim/config.c) reads the names through an fs_choice_set, parses an
 * option's name once into the row's index, prints the names in --help and
 * calls each chosen row's check.
 */
#ifndef FS_CHOICE_H
#define FS_CHOICE_H

#include "fs_config.h"
#include "fs_status.h"

#include <stddef.h>

typedef struct fs_choice {
  const char *name; /* what the user writes: "fedprox" */
  const char *help; /* one line for --help and docs/options.md */
  /* This row's rules against the rest of the configuration (it is chosen):
   * FS_ECONFIG with a message naming both options, or FS_OK. NULL: none. */
  fs_status (*check)(const fs_config *cfg, fs_err *err);
} fs_choice;

/* A table as the configuration sees it: n rows of `stride` bytes, each
 * starting with an fs_choice, or (indirect) n pointers to such rows, for
 * tables whose rows live in files of their own. */
typedef struct fs_choice_set {
  const void *rows;
  size_t n, stride;
  int indirect;
} fs_choice_set;

/* The set of a table `rows` (an array of structs whose first member is an
 * fs_choice named `base`). */
#define FS_CHOICE_SET(rows)                                                    \
  ((fs_choice_set){(rows), sizeof(rows) / sizeof((rows)[0]),                   \
                   sizeof((rows)[0]), 0})
/* The set of an array of pointers to rows. */
#define FS_CHOICE_PTRS(ptrs)                                                   \
  ((fs_choice_set){(ptrs), sizeof(ptrs) / sizeof((ptrs)[0]),                   \
                   sizeof((ptrs)[0]), 1})

/* Row i's fs_choice. */
static inline const fs_choice *fs_choice_at(const fs_choice_set *s, size_t i) {
  const void *at = (const char *)s->rows + i * s->stride;
  return s->indirect ? *(const fs_choice *const *)at : (const fs_choice *)at;
}

#endif
