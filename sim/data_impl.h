/*
 * data_impl.h — what the data loaders share (not part of the interface,
 * data.h): the row limit, array growth and reading gzip or plain files
 * through zlib (data.c). The loaders are one file each: data_idx.c
 * (IDX, Fashion-MNIST), data_libsvm.c (LIBSVM text) and data_synth.c
 * (LEAF's Synthetic(alpha, beta)); see docs/architecture.md.
 */
#ifndef FS_DATA_IMPL_H
#define FS_DATA_IMPL_H

#include "data.h"

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* Sane limits on what a file may claim (beyond them: FS_EFORMAT). */
#define FS__MAX_ROWS ((size_t)INT32_MAX) /* rows of any data set */

/* Grow *p (of *cap elements of size elem) to hold at least need elements,
 * doubling; returns 0 on success, -1 if out of memory (then *p is kept). */
int fs_data__grow(void **p, size_t *cap, size_t need, size_t elem);

/* Open a gzip or plain file for reading. */
fs_status fs_data__gz_open(const char *path, gzFile *out, fs_err *err);

/* At the end of the data: a gzip stream that stopped before its trailer
 * is truncated, not finished. */
fs_status fs_data__gz_at_end(gzFile f, const char *path, fs_err *err);

/* Read up to len bytes; *got is how many arrived (less only at the end of
 * the data). Errors of the stream are returned as a status. */
fs_status fs_data__gz_read(gzFile f, const char *path, void *buf, size_t len,
                           size_t *got, fs_err *err);

#endif
