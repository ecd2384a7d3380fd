/*
 * data_idx.c — IDX files of unsigned bytes (Fashion-MNIST's images and
 * labels, gzip or plain). The header (magic, dimension count, sizes) is
 * compared with the bytes actually present before anything is trusted, and
 * the arrays are sized from limits, not from a claimed count (data.c).
 */
#include "data_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS__IDX_MAX_PIXELS (1u << 24) /* pixels per image */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

/* Read the magic and the ndim sizes of an IDX file of unsigned bytes. */
static fs_status idx_header(gzFile f, const char *path, unsigned ndim,
                            uint32_t *dims, fs_err *err) {
  unsigned char h[16];
  size_t need = 4 + 4 * (size_t)ndim, got = 0;
  fs_status st = fs_data__gz_read(f, path, h, 4, &got, err);
  if (st != FS_OK)
    return st;
  if (got < 4)
    return fs_err_set(err, FS_ETRUNC,
                      "file %s: truncated IDX header: expected %zu bytes, "
                      "found %zu",
                      path, need, got);
  uint32_t magic = be32(h), want = 0x00000800u | ndim;
  if ((magic & 0xFFFFFF00u) == 0x00000800u && magic != want)
    return fs_err_set(err, FS_EFORMAT,
                      "file %s: IDX file has %u dimensions, expected %u", path,
                      (unsigned)(magic & 0xFFu), ndim);
  if (magic != want)
    return fs_err_set(err, FS_EFORMAT,
                      "file %s: bad IDX magic 0x%08x (expected 0x%08x: "
                      "unsigned bytes, %u dimensions)",
                      path, (unsigned)magic, (unsigned)want, ndim);
  st = fs_data__gz_read(f, path, h + 4, need - 4, &got, err);
  if (st != FS_OK)
    return st;
  if (got < need - 4)
    return fs_err_set(err, FS_ETRUNC,
                      "file %s: truncated IDX header: expected %zu bytes, "
                      "found %zu",
                      path, need, 4 + got);
  for (unsigned i = 0; i < ndim; i++)
    dims[i] = be32(h + 4 + 4 * i);
  return FS_OK;
}

/* After the payload: the file must end here. */
static fs_status idx_expect_end(gzFile f, const char *path, size_t items,
                                fs_err *err) {
  unsigned char b;
  size_t got = 0;
  fs_status st = fs_data__gz_read(f, path, &b, 1, &got, err);
  if (st != FS_OK)
    return st;
  if (got != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "file %s: trailing bytes after the %zu items the "
                      "header declares",
                      path, items);
  return fs_data__gz_at_end(f, path, err);
}

/* Read count items of item_bytes bytes each into a growing float array
 * (scaled by 1/255) or int32 array; the array is only as large as the data
 * actually present, so a lying header costs no memory. */
static fs_status idx_payload(gzFile f, const char *path, size_t count,
                             size_t item_bytes, float **xf, int32_t **yi,
                             fs_err *err) {
  size_t total = count * item_bytes, cap = 0, done = 0;
  void *arr = NULL;
  size_t elem = xf != NULL ? sizeof(float) : sizeof(int32_t);
  unsigned char chunk[1u << 16];
  fs_status st = FS_OK;
  while (done < total) {
    size_t want = total - done < sizeof chunk ? total - done : sizeof chunk;
    size_t got = 0;
    st = fs_data__gz_read(f, path, chunk, want, &got, err);
    if (st != FS_OK)
      goto fail;
    if (done + got > cap) {
      size_t need = done + got;
      size_t c = cap == 0 ? (total < (1u << 20) ? total : (1u << 20)) : cap;
      while (c < need)
        c = c > total / 2 ? total : 2 * c;
      void *q = realloc(arr, c * elem);
      if (q == NULL) {
        st = fs_err_set(err, FS_ENOMEM, "file %s: out of memory for %zu items",
                        path, count);
        goto fail;
      }
      arr = q;
      cap = c;
    }
    if (xf != NULL) {
      float *x = (float *)arr + done;
      for (size_t i = 0; i < got; i++)
        x[i] = (float)chunk[i] / 255.0f;
    } else {
      int32_t *y = (int32_t *)arr + done;
      for (size_t i = 0; i < got; i++)
        y[i] = chunk[i];
    }
    done += got;
    if (got < want) {
      st = fs_err_set(err, FS_ETRUNC,
                      "file %s: truncated: expected %zu items (%zu bytes), "
                      "found %zu complete items (%zu bytes)",
                      path, count, total, done / item_bytes, done);
      goto fail;
    }
  }
  st = idx_expect_end(f, path, count, err);
  if (st != FS_OK)
    goto fail;
  if (xf != NULL)
    *xf = arr;
  else
    *yi = arr;
  return FS_OK;
fail:
  free(arr);
  return st;
}

fs_status fs_data_load_idx(const char *images_path, const char *labels_path,
                           fs_dataset *out, fs_err *err) {
  gzFile fi = NULL, fl = NULL;
  float *x = NULL;
  int32_t *y = NULL;
  uint32_t idim[3] = {0, 0, 0}, ldim[1] = {0};
  fs_status st;
  memset(out, 0, sizeof *out);

  if ((st = fs_data__gz_open(images_path, &fi, err)) != FS_OK ||
      (st = fs_data__gz_open(labels_path, &fl, err)) != FS_OK ||
      (st = idx_header(fi, images_path, 3, idim, err)) != FS_OK ||
      (st = idx_header(fl, labels_path, 1, ldim, err)) != FS_OK)
    goto done;
  if (idim[0] != ldim[0]) {
    st = fs_err_set(err, FS_EFORMAT, "files %s and %s: %u images but %u labels",
                    images_path, labels_path, (unsigned)idim[0],
                    (unsigned)ldim[0]);
    goto done;
  }
  if (idim[0] == 0 || idim[0] > FS__MAX_ROWS) {
    st = fs_err_set(err, FS_EFORMAT, "file %s: bad image count %u", images_path,
                    (unsigned)idim[0]);
    goto done;
  }
  if (idim[1] == 0 || idim[2] == 0 ||
      (uint64_t)idim[1] * idim[2] > FS__IDX_MAX_PIXELS) {
    st = fs_err_set(err, FS_EFORMAT, "file %s: bad image size %u x %u",
                    images_path, (unsigned)idim[1], (unsigned)idim[2]);
    goto done;
  }
  size_t n = idim[0], dim = (size_t)idim[1] * idim[2];
  if ((st = idx_payload(fl, labels_path, n, 1, NULL, &y, err)) != FS_OK ||
      (st = idx_payload(fi, images_path, n, dim, &x, NULL, err)) != FS_OK)
    goto done;
  int32_t maxlab = 0;
  for (size_t i = 0; i < n; i++)
    if (y[i] > maxlab)
      maxlab = y[i];
  out->n = n;
  out->dim = dim;
  out->classes = (size_t)maxlab + 1;
  out->x = x;
  out->y = y;
  x = NULL;
  y = NULL;
done:
  if (fi != NULL)
    gzclose(fi);
  if (fl != NULL)
    gzclose(fl);
  free(x);
  free(y);
  return st;
}

fs_status fs_data_load_fashion_mnist(const char *dir, int train,
                                     fs_dataset *out, fs_err *err) {
  const char *pre = train ? "train" : "t10k";
  char ipath[4096], lpath[4096];
  int a = snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, pre);
  int b = snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
  if (a < 0 || b < 0 || (size_t)a >= sizeof ipath ||
      (size_t)b >= sizeof lpath) {
    memset(out, 0, sizeof *out);
    return fs_err_set(err, FS_EINVAL, "data directory name too long: %s", dir);
  }
  return fs_data_load_idx(ipath, lpath, out, err);
}
