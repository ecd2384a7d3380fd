/*
 * data.c — loading and generating data sets: IDX (Fashion-MNIST), LIBSVM
 * text and LEAF's Synthetic(alpha, beta).
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
#include "data.h"

#include "fs_rng.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Sane limits on what a file may claim (beyond them: FS_EFORMAT). */
#define FS__IDX_MAX_PIXELS (1u << 24)    /* pixels per image */
#define FS__MAX_ROWS ((size_t)INT32_MAX) /* rows of any data set */
#define FS__LIBSVM_MAX_DIM (1ul << 24)   /* feature index when dim is 0 */
#define FS__LIBSVM_MAX_LINE (1ul << 28)  /* bytes in one LIBSVM line */
#define FS__SYNTH_MIN_GROUP 10           /* rows per generated group */
#define FS__SYNTH_MAX_DIM (1ul << 20)
#define FS__SYNTH_MAX_CLASSES (1ul << 16)

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
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
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

static fs_status gz_open(const char *path, gzFile *out, fs_err *err) {
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
static fs_status gz_at_end(gzFile f, const char *path, fs_err *err) {
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
static fs_status gz_read(gzFile f, const char *path, void *buf, size_t len,
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

/* ---- IDX ----------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

/* Read the magic and the ndim sizes of an IDX file of unsigned bytes. */
static fs_status idx_header(gzFile f, const char *path, unsigned ndim,
                            uint32_t *dims, fs_err *err) {
  unsigned char h[16];
  size_t need = 4 + 4 * (size_t)ndim, got = 0;
  fs_status st = gz_read(f, path, h, 4, &got, err);
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
  st = gz_read(f, path, h + 4, need - 4, &got, err);
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
  fs_status st = gz_read(f, path, &b, 1, &got, err);
  if (st != FS_OK)
    return st;
  if (got != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "file %s: trailing bytes after the %zu items the "
                      "header declares",
                      path, items);
  return gz_at_end(f, path, err);
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
    st = gz_read(f, path, chunk, want, &got, err);
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

  if ((st = gz_open(images_path, &fi, err)) != FS_OK ||
      (st = gz_open(labels_path, &fl, err)) != FS_OK ||
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

/* ---- LIBSVM -------------------------------------------------------------- */

/* Lines of a gzip or plain file, of any length. */
typedef struct {
  gzFile f;
  const char *path;
  unsigned char buf[1u << 16];
  size_t len, pos;
  int eof;
  char *line;
  size_t cap;
} line_reader;

/* The next line (without '\n') in lr->line, NUL-terminated; *have = 0 at
 * the end of the file. */
static fs_status lr_next(line_reader *lr, size_t line_no, size_t *len_out,
                         int *have, fs_err *err) {
  size_t len = 0;
  int any = 0;
  for (;;) {
    if (lr->pos == lr->len) {
      if (lr->eof)
        break;
      size_t got = 0;
      fs_status st =
          gz_read(lr->f, lr->path, lr->buf, sizeof lr->buf, &got, err);
      if (st != FS_OK)
        return st;
      if (got < sizeof lr->buf)
        lr->eof = 1;
      lr->len = got;
      lr->pos = 0;
      if (got == 0)
        break;
    }
    any = 1;
    unsigned char *s = lr->buf + lr->pos;
    size_t avail = lr->len - lr->pos;
    unsigned char *nl = memchr(s, '\n', avail);
    size_t take = nl != NULL ? (size_t)(nl - s) : avail;
    if (len + take + 1 > FS__LIBSVM_MAX_LINE)
      return fs_err_set(err, FS_EFORMAT, "file %s line %zu: line too long",
                        lr->path, line_no);
    if (grow((void **)&lr->line, &lr->cap, len + take + 1, 1) != 0)
      return fs_err_set(err, FS_ENOMEM, "file %s line %zu: out of memory",
                        lr->path, line_no);
    memcpy(lr->line + len, s, take);
    len += take;
    lr->pos += take;
    if (nl != NULL) {
      lr->pos++;
      break;
    }
  }
  if (!any) {
    *have = 0;
    return FS_OK;
  }
  if (grow((void **)&lr->line, &lr->cap, len + 1, 1) != 0)
    return fs_err_set(err, FS_ENOMEM, "file %s line %zu: out of memory",
                      lr->path, line_no);
  lr->line[len] = '\0';
  if (memchr(lr->line, '\0', len) != NULL)
    return fs_err_set(err, FS_EFORMAT, "file %s line %zu: NUL byte (binary?)",
                      lr->path, line_no);
  *len_out = len;
  *have = 1;
  return FS_OK;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sparse rows as they are read. */
typedef struct {
  size_t n, cap_rows;
  double *label; /* n */
  size_t *start; /* n + 1 */
  size_t cap_start, nnz, cap_idx, cap_val;
  uint32_t *idx; /* nnz, 1-based */
  float *val;    /* nnz */
  size_t max_idx;
} sparse_rows;

static void sparse_free(sparse_rows *sp) {
  free(sp->label);
  free(sp->start);
  free(sp->idx);
  free(sp->val);
  memset(sp, 0, sizeof *sp);
}

/* Parse one non-blank line into sp. limit: the largest index allowed;
 * bounded says whether that is the data set's dimension. */
static fs_status parse_libsvm_line(char *s, const char *path, size_t line_no,
                                   size_t limit, int bounded,
                                   const fs_dataset *like, sparse_rows *sp,
                                   fs_err *err) {
  char *e;
  errno = 0;
  double label = strtod(s, &e);
  if (e == s || (*e != '\0' && !is_space(*e)))
    return fs_err_set(err, FS_EFORMAT, "file %s line %zu: bad label", path,
                      line_no);
  if (!isfinite(label))
    return fs_err_set(err, FS_EFORMAT,
                      "file %s line %zu: label is not a finite number", path,
                      line_no);
  if (like != NULL && bsearch(&label, like->label_values, like->classes,
                              sizeof(double), cmp_double) == NULL)
    return fs_err_set(err, FS_EFORMAT,
                      "file %s line %zu: label %g is not a label of the "
                      "training set",
                      path, line_no, label);
  if (sp->n >= FS__MAX_ROWS)
    return fs_err_set(err, FS_EFORMAT, "file %s line %zu: more than %zu rows",
                      path, line_no, FS__MAX_ROWS);
  if (grow((void **)&sp->label, &sp->cap_rows, sp->n + 1, sizeof(double)) ||
      grow((void **)&sp->start, &sp->cap_start, sp->n + 2, sizeof(size_t)))
    return fs_err_set(err, FS_ENOMEM, "file %s line %zu: out of memory", path,
                      line_no);
  size_t first = sp->nnz;
  unsigned long prev = 0;
  s = e;
  for (;;) {
    while (is_space(*s))
      s++;
    if (*s == '\0')
      break;
    if (*s < '0' || *s > '9')
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: bad feature index in \"%.40s\"",
                        path, line_no, s);
    errno = 0;
    unsigned long idx = strtoul(s, &e, 10);
    if (*e != ':')
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: expected idx:val, found \"%.40s\"",
                        path, line_no, s);
    if (idx == 0)
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: feature index 0 (indices start "
                        "at 1)",
                        path, line_no);
    if (errno == ERANGE || idx > limit) {
      int ilen = e - s > 40 ? 40 : (int)(e - s);
      if (bounded)
        return fs_err_set(err, FS_EFORMAT,
                          "file %s line %zu: feature index %.*s beyond "
                          "dimension %zu",
                          path, line_no, ilen, s, limit);
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: feature index %.*s too large "
                        "(limit %zu)",
                        path, line_no, ilen, s, limit);
    }
    if (idx <= prev)
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: feature index %lu after %lu "
                        "(indices must increase)",
                        path, line_no, idx, prev);
    char *v = e + 1;
    if (*v == '\0' || is_space(*v))
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: missing value for feature %lu", path,
                        line_no, idx);
    errno = 0;
    double val = strtod(v, &e);
    if (e == v || (*e != '\0' && !is_space(*e)))
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: bad value for feature %lu", path,
                        line_no, idx);
    if (!isfinite(val) || fabs(val) > FLT_MAX)
      return fs_err_set(err, FS_EFORMAT,
                        "file %s line %zu: value of feature %lu is NaN, "
                        "infinite or out of float range",
                        path, line_no, idx);
    if (grow((void **)&sp->idx, &sp->cap_idx, sp->nnz + 1, sizeof(uint32_t)) ||
        grow((void **)&sp->val, &sp->cap_val, sp->nnz + 1, sizeof(float)))
      return fs_err_set(err, FS_ENOMEM, "file %s line %zu: out of memory", path,
                        line_no);
    sp->idx[sp->nnz] = (uint32_t)idx;
    sp->val[sp->nnz] = (float)val;
    sp->nnz++;
    if (idx > sp->max_idx)
      sp->max_idx = idx;
    prev = idx;
    s = e;
  }
  sp->label[sp->n] = label;
  sp->start[sp->n] = first;
  sp->n++;
  sp->start[sp->n] = sp->nnz;
  return FS_OK;
}

fs_status fs_data_load_libsvm(const char *path, size_t dim,
                              const fs_dataset *like, fs_dataset *out,
                              fs_err *err) {
  sparse_rows sp;
  line_reader *lr = NULL;
  fs_dataset ds;
  double *uniq = NULL;
  fs_status st = FS_OK;
  memset(&sp, 0, sizeof sp);
  memset(&ds, 0, sizeof ds);

  if (like != NULL) {
    if (like->label_values == NULL || like->classes == 0 || like->dim == 0) {
      st = fs_err_set(err, FS_EINVAL,
                      "file %s: the reference data set has no label map", path);
      goto done;
    }
    if (dim != 0 && dim != like->dim) {
      st = fs_err_set(err, FS_EINVAL,
                      "file %s: dimension %zu differs from the reference "
                      "data set's %zu",
                      path, dim, like->dim);
      goto done;
    }
    dim = like->dim;
  }
  lr = calloc(1, sizeof *lr);
  if (lr == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "file %s: out of memory", path);
    goto done;
  }
  lr->path = path;
  if ((st = gz_open(path, &lr->f, err)) != FS_OK)
    goto done;

  size_t limit = dim != 0 ? dim : FS__LIBSVM_MAX_DIM;
  for (size_t line_no = 1;; line_no++) {
    size_t len = 0;
    int have = 0;
    if ((st = lr_next(lr, line_no, &len, &have, err)) != FS_OK)
      goto done;
    if (!have) {
      if ((st = gz_at_end(lr->f, path, err)) != FS_OK)
        goto done;
      break;
    }
    char *s = lr->line;
    while (is_space(*s))
      s++;
    if (*s == '\0')
      continue;
    st = parse_libsvm_line(s, path, line_no, limit, dim != 0, like, &sp, err);
    if (st != FS_OK)
      goto done;
  }
  if (sp.n == 0) {
    st = fs_err_set(err, FS_EFORMAT, "file %s: no data rows", path);
    goto done;
  }
  ds.n = sp.n;
  ds.dim = dim != 0 ? dim : sp.max_idx;
  if (ds.dim == 0) {
    st = fs_err_set(err, FS_EFORMAT, "file %s: no features in any row", path);
    goto done;
  }

  /* Label map: sorted distinct values, or the reference set's. */
  if (like != NULL) {
    ds.classes = like->classes;
    uniq = malloc(ds.classes * sizeof(double));
    if (uniq == NULL)
      goto nomem;
    memcpy(uniq, like->label_values, ds.classes * sizeof(double));
  } else {
    uniq = malloc(ds.n * sizeof(double));
    if (uniq == NULL)
      goto nomem;
    memcpy(uniq, sp.label, ds.n * sizeof(double));
    qsort(uniq, ds.n, sizeof(double), cmp_double);
    size_t c = 1;
    for (size_t i = 1; i < ds.n; i++)
      if (uniq[i] != uniq[c - 1])
        uniq[c++] = uniq[i];
    ds.classes = c;
    double *q = realloc(uniq, c * sizeof(double));
    if (q != NULL)
      uniq = q;
  }
  ds.label_values = uniq;
  uniq = NULL;

  if (ds.n > SIZE_MAX / sizeof(float) / ds.dim) {
    st = fs_err_set(err, FS_ERANGE, "file %s: %zu x %zu is too large", path,
                    ds.n, ds.dim);
    goto done;
  }
  ds.x = calloc(ds.n * ds.dim, sizeof(float));
  ds.y = malloc(ds.n * sizeof(int32_t));
  if (ds.x == NULL || ds.y == NULL)
    goto nomem;
  for (size_t i = 0; i < ds.n; i++) {
    const double *hit = bsearch(&sp.label[i], ds.label_values, ds.classes,
                                sizeof(double), cmp_double);
    ds.y[i] = (int32_t)(hit - ds.label_values);
    float *row = ds.x + i * ds.dim;
    for (size_t k = sp.start[i]; k < sp.start[i + 1]; k++)
      row[sp.idx[k] - 1] = sp.val[k];
  }
  *out = ds;
  memset(&ds, 0, sizeof ds);
  goto done;
nomem:
  st = fs_err_set(err, FS_ENOMEM, "file %s: out of memory", path);
done:
  if (lr != NULL) {
    if (lr->f != NULL)
      gzclose(lr->f);
    free(lr->line);
    free(lr);
  }
  sparse_free(&sp);
  free(uniq);
  fs_dataset_free(&ds);
  if (st != FS_OK)
    memset(out, 0, sizeof *out);
  return st;
}

/* ---- Synthetic(alpha, beta) ---------------------------------------------- */

typedef struct {
  double frac;
  size_t g;
} frac_item;

static int cmp_frac_desc(const void *a, const void *b) {
  const frac_item *x = a, *y = b;
  if (x->frac != y->frac)
    return x->frac < y->frac ? 1 : -1;
  return (x->g > y->g) - (x->g < y->g);
}

/* Group sizes: FS__SYNTH_MIN_GROUP each plus the rest split in proportion
 * to lognormal(0, 1) weights (largest remainders get the leftover rows,
 * ties to the lower group). Weight g comes from stream (seed, g, round 0). */
static int synth_sizes(const fs_synth_spec *spec, size_t *size) {
  size_t G = spec->groups;
  double *w = malloc(G * sizeof(double));
  frac_item *fr = malloc(G * sizeof(frac_item));
  if (w == NULL || fr == NULL) {
    free(w);
    free(fr);
    return -1;
  }
  double wsum = 0.0;
  for (size_t g = 0; g < G; g++) {
    fs_rng r;
    fs_rng_init(&r, spec->seed, FS_RNG_SYNTH_DATA, g, 0);
    w[g] = exp(fs_rng_normal(&r));
    wsum += w[g];
  }
  size_t extra = spec->samples - FS__SYNTH_MIN_GROUP * G, given = 0;
  for (size_t g = 0; g < G; g++) {
    double share = (double)extra * (w[g] / wsum);
    size_t base = (size_t)floor(share);
    if (base > extra - given)
      base = extra - given;
    size[g] = FS__SYNTH_MIN_GROUP + base;
    given += base;
    fr[g].frac = share - (double)base;
    fr[g].g = g;
  }
  qsort(fr, G, sizeof *fr, cmp_frac_desc);
  for (size_t i = 0; given < extra; i = (i + 1) % G, given++)
    size[fr[i].g]++;
  free(w);
  free(fr);
  return 0;
}

static fs_status synth_alloc(fs_dataset *ds, size_t n, size_t dim,
                             size_t classes, size_t groups) {
  ds->n = n;
  ds->dim = dim;
  ds->classes = classes;
  ds->groups = groups;
  size_t m = n > 0 ? n : 1;
  ds->x = malloc(m * dim * sizeof(float));
  ds->y = malloc(m * sizeof(int32_t));
  ds->group = malloc(m * sizeof(int32_t));
  return ds->x != NULL && ds->y != NULL && ds->group != NULL ? FS_OK
                                                             : FS_ENOMEM;
}

fs_status fs_data_synthetic(const fs_synth_spec *spec, fs_dataset *train,
                            fs_dataset *test, fs_err *err) {
  fs_dataset tr, te;
  size_t *size = NULL;
  double *W = NULL, *b = NULL, *v = NULL, *sd = NULL, *xd = NULL;
  fs_status st = FS_OK;
  memset(&tr, 0, sizeof tr);
  memset(&te, 0, sizeof te);
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);

  size_t G = spec->groups, D = spec->dim, C = spec->classes;
  if (G == 0 || G > (size_t)INT32_MAX)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad group count %zu",
                      G);
  if (D == 0 || D > FS__SYNTH_MAX_DIM)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad dimension %zu", D);
  if (C < 2 || C > FS__SYNTH_MAX_CLASSES)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad class count %zu",
                      C);
  if (spec->samples / FS__SYNTH_MIN_GROUP < G)
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: %zu samples for %zu groups (need at "
                      "least %d per group)",
                      spec->samples, G, FS__SYNTH_MIN_GROUP);
  if (spec->samples > FS__MAX_ROWS ||
      spec->samples > SIZE_MAX / sizeof(float) / D)
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: %zu samples is too "
                      "many",
                      spec->samples);
  if (!(spec->test_fraction >= 0.0 && spec->test_fraction < 1.0))
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: test fraction %g not in [0, 1)",
                      spec->test_fraction);
  if (!(spec->alpha >= 0.0 && isfinite(spec->alpha)) ||
      !(spec->beta >= 0.0 && isfinite(spec->beta)))
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: alpha %g and beta %g must be finite "
                      "and >= 0",
                      spec->alpha, spec->beta);

  size = malloc(G * sizeof(size_t));
  W = malloc(D * C * sizeof(double));
  b = malloc(C * sizeof(double));
  v = malloc(D * sizeof(double));
  sd = malloc(D * sizeof(double));
  xd = malloc(D * sizeof(double));
  if (size == NULL || W == NULL || b == NULL || v == NULL || sd == NULL ||
      xd == NULL || synth_sizes(spec, size) != 0)
    goto nomem;

  size_t ntrain = 0, ntest = 0;
  for (size_t g = 0; g < G; g++) {
    size_t t = (size_t)floor(spec->test_fraction * (double)size[g] + 0.5);
    ntest += t;
    ntrain += size[g] - t;
  }
  if (synth_alloc(&tr, ntrain, D, C, G) != FS_OK ||
      synth_alloc(&te, ntest, D, C, G) != FS_OK)
    goto nomem;
  for (size_t j = 0; j < D; j++)
    sd[j] = pow((double)(j + 1), -0.6); /* sqrt of j^-1.2 */

  size_t itr = 0, ite = 0;
  for (size_t g = 0; g < G; g++) {
    fs_rng r;
    fs_rng_init(&r, spec->seed, FS_RNG_SYNTH_DATA, g, 1);
    double u = spec->alpha * fs_rng_normal(&r);
    double B = spec->beta * fs_rng_normal(&r);
    for (size_t k = 0; k < D * C; k++)
      W[k] = u + fs_rng_normal(&r);
    for (size_t c = 0; c < C; c++)
      b[c] = u + fs_rng_normal(&r);
    for (size_t j = 0; j < D; j++)
      v[j] = B + fs_rng_normal(&r);
    size_t t = (size_t)floor(spec->test_fraction * (double)size[g] + 0.5);
    size_t keep = size[g] - t;
    for (size_t i = 0; i < size[g]; i++) {
      fs_dataset *ds = i < keep ? &tr : &te;
      size_t row = i < keep ? itr++ : ite++;
      float *x = ds->x + row * D;
      for (size_t j = 0; j < D; j++) {
        x[j] = (float)(v[j] + sd[j] * fs_rng_normal(&r));
        xd[j] = x[j];
      }
      /* argmax of W^T x + b (softmax keeps the order); first on ties. */
      size_t best = 0;
      double best_z = -INFINITY;
      for (size_t c = 0; c < C; c++) {
        double z = b[c];
        for (size_t j = 0; j < D; j++)
          z += W[j * C + c] * xd[j];
        if (z > best_z) {
          best_z = z;
          best = c;
        }
      }
      ds->y[row] = (int32_t)best;
      ds->group[row] = (int32_t)g;
    }
  }
  *train = tr;
  *test = te;
  memset(&tr, 0, sizeof tr);
  memset(&te, 0, sizeof te);
  goto done;
nomem:
  st = fs_err_set(err, FS_ENOMEM, "synthetic data: out of memory");
done:
  fs_dataset_free(&tr);
  fs_dataset_free(&te);
  free(size);
  free(W);
  free(b);
  free(v);
  free(sd);
  free(xd);
  return st;
}
