/*
 * data.c — loading and generating data sets: IDX (Fashion-MNIST), LIBSVM
 * text and LEAF's Synthetic(alpha, beta), one file each (data_idx.c,
 * data_libsvm.c, data_synth.c); this file holds what they share: freeing a
 * data set, array growth and reading through zlib (data_impl.h).
 *
 * Everything read from a file is checked before it is trusted: IDX headers
 * (magic, dimension count, sizes) are compared with the bytes actually
 * present, and the arrays grow as data arrives rather than being sized from
 * a claimed count, so a corrupt header cannot ask for a huge allocation.
 * LIBSVM lines are parsed token by token with strtoul/strtod; each error
 * names the file and the line. Files are read through zlib, which takes
 * gzip and plain files alike. The generator draws every group from its own
 * random streams, so a group's rows do not depend on the order of work.
 * On any error nothing stays allocated and the output is zeroed.
 */
#include "data_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fs_dataset_free(fs_dataset *ds) {
  if (ds == NULL)
    return;
  free(ds->x);
  free(ds->y);
  free(ds->label_values);
  free(ds->group);
  memset(ds, 0, sizeof *ds);
}

/* Grow *p (of *cap elements of size elem) to hold at least need elements,
 * doubling; returns 0 on success, -1 if out of memory (then *p is kept). */
int fs_data__grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap < 64 ? 64 : *cap;
  while (c < need) {
    if (c > SIZE_MAX / 2)
      return -1;
    c *= 2;
  }
  if (c > SIZE_MAX / elem)
    return -1;
  void *q = realloc(*p, c * elem);
  if (q == NULL)
    return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* ---- gzip/plain reading ------------------------------------------------ */

fs_status fs_data__gz_open(const char *path, gzFile *out, fs_err *err) {
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (f == NULL)
    return fs_err_set(err, FS_EIO, "file %s: cannot open: %s", path,
                      errno != 0 ? strerror(errno) : "out of memory");
  gzbuffer(f, 1u << 17);
  *out = f;
  return FS_OK;
}

/* The status of a zlib stream after a short read: FS_OK if it simply ended
 * (the caller reports truncation), else the read error. */
static fs_status gz_check(gzFile f, const char *path, fs_err *err) {
  int errnum = Z_OK;
  const char *msg = gzerror(f, &errnum);
  if (errnum == Z_OK || errnum == Z_BUF_ERROR) /* Z_BUF_ERROR: cut short */
    return FS_OK;
  if (errnum == Z_ERRNO)
    return fs_err_set(err, FS_EIO, "file %s: read error: %s", path,
                      strerror(errno));
  if (errnum == Z_MEM_ERROR)
    return fs_err_set(err, FS_ENOMEM, "file %s: out of memory in zlib", path);
  return fs_err_set(err, FS_EFORMAT, "file %s: corrupt gzip data (%s)", path,
                    msg != NULL ? msg : "unknown zlib error");
}

/* At the end of the data: a gzip stream that stopped before its trailer
 * is truncated, not finished. */
fs_status fs_data__gz_at_end(gzFile f, const char *path, fs_err *err) {
  int errnum = Z_OK;
  gzerror(f, &errnum);
  if (errnum == Z_BUF_ERROR)
    return fs_err_set(err, FS_ETRUNC,
                      "file %s: gzip stream cut short (unexpected end of file)",
                      path);
  return FS_OK;
}

/* Read up to len bytes; *got is how many arrived (less only at the end of
 * the data). Errors of the stream are returned as a status. */
fs_status fs_data__gz_read(gzFile f, const char *path, void *buf, size_t len,
                           size_t *got, fs_err *err) {
  unsigned char *p = buf;
  size_t done = 0;
  while (done < len) {
    size_t want = len - done;
    if (want > (1u << 30))
      want = 1u << 30;
    int r = gzread(f, p + done, (unsigned)want);
    if (r < 0) {
      *got = done;
      fs_status st = gz_check(f, path, err);
      return st != FS_OK ? st
                         : fs_err_set(err, FS_EIO, "file %s: read error", path);
    }
    if (r == 0)
      break;
    done += (size_t)r;
  }
  *got = done;
  return done < len ? gz_check(f, path, err) : FS_OK;
}
