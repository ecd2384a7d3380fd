/*
 * data_libsvm.c — LIBSVM text files ("label index:value ..."; gzip or
 * plain). Lines are parsed token by token with strtoul/strtod and each
 * error names the file and the line; rows grow as they arrive. Labels map
 * to classes through their sorted distinct values, or through a reference
 * data set's map (a test file read like its training file).
 */
#include "data_impl.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS__LIBSVM_MAX_DIM (1ul << 24)  /* feature index when dim is 0 */
#define FS__LIBSVM_MAX_LINE (1ul << 28) /* bytes in one LIBSVM line */

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
          fs_data__gz_read(lr->f, lr->path, lr->buf, sizeof lr->buf, &got, err);
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
    if (fs_data__grow((void **)&lr->line, &lr->cap, len + take + 1, 1) != 0)
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
  if (fs_data__grow((void **)&lr->line, &lr->cap, len + 1, 1) != 0)
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
  if (fs_data__grow((void **)&sp->label, &sp->cap_rows, sp->n + 1,
                    sizeof(double)) ||
      fs_data__grow((void **)&sp->start, &sp->cap_start, sp->n + 2,
                    sizeof(size_t)))
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
    if (fs_data__grow((void **)&sp->idx, &sp->cap_idx, sp->nnz + 1,
                      sizeof(uint32_t)) ||
        fs_data__grow((void **)&sp->val, &sp->cap_val, sp->nnz + 1,
                      sizeof(float)))
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

/* With a reference data set: its dimension and label map are used; check
 * that it has them and that dim (if given) agrees. */
static fs_status check_like(const char *path, size_t dim,
                            const fs_dataset *like, fs_err *err) {
  if (like->label_values == NULL || like->classes == 0 || like->dim == 0)
    return fs_err_set(err, FS_EINVAL,
                      "file %s: the reference data set has no label map", path);
  if (dim != 0 && dim != like->dim)
    return fs_err_set(err, FS_EINVAL,
                      "file %s: dimension %zu differs from the reference "
                      "data set's %zu",
                      path, dim, like->dim);
  return FS_OK;
}

/* Read every line of the file into sp (dim 0: the widest row decides). */
static fs_status read_rows(const char *path, size_t dim, const fs_dataset *like,
                           sparse_rows *sp, fs_err *err) {
  fs_status st = FS_OK;
  line_reader *lr = calloc(1, sizeof *lr);
  if (lr == NULL)
    return fs_err_set(err, FS_ENOMEM, "file %s: out of memory", path);
  lr->path = path;
  if ((st = fs_data__gz_open(path, &lr->f, err)) != FS_OK)
    goto done;

  size_t limit = dim != 0 ? dim : FS__LIBSVM_MAX_DIM;
  for (size_t line_no = 1;; line_no++) {
    size_t len = 0;
    int have = 0;
    if ((st = lr_next(lr, line_no, &len, &have, err)) != FS_OK)
      goto done;
    if (!have) {
      if ((st = fs_data__gz_at_end(lr->f, path, err)) != FS_OK)
        goto done;
      break;
    }
    char *s = lr->line;
    while (is_space(*s))
      s++;
    if (*s == '\0')
      continue;
    st = parse_libsvm_line(s, path, line_no, limit, dim != 0, like, sp, err);
    if (st != FS_OK)
      goto done;
  }
done:
  if (lr->f != NULL)
    gzclose(lr->f);
  free(lr->line);
  free(lr);
  return st;
}

/* Label map: sorted distinct values, or the reference set's; sets
 * ds->classes and ds->label_values. Returns -1 if out of memory. */
static int label_map(fs_dataset *ds, const fs_dataset *like,
                     const sparse_rows *sp) {
  double *uniq;
  if (like != NULL) {
    ds->classes = like->classes;
    uniq = malloc(ds->classes * sizeof(double));
    if (uniq == NULL)
      return -1;
    memcpy(uniq, like->label_values, ds->classes * sizeof(double));
  } else {
    uniq = malloc(ds->n * sizeof(double));
    if (uniq == NULL)
      return -1;
    memcpy(uniq, sp->label, ds->n * sizeof(double));
    qsort(uniq, ds->n, sizeof(double), cmp_double);
    size_t c = 1;
    for (size_t i = 1; i < ds->n; i++)
      if (uniq[i] != uniq[c - 1])
        uniq[c++] = uniq[i];
    ds->classes = c;
    double *q = realloc(uniq, c * sizeof(double));
    if (q != NULL)
      uniq = q;
  }
  ds->label_values = uniq;
  return 0;
}

fs_status fs_data_load_libsvm(const char *path, size_t dim,
                              const fs_dataset *like, fs_dataset *out,
                              fs_err *err) {
  sparse_rows sp;
  fs_dataset ds;
  fs_status st = FS_OK;
  memset(&sp, 0, sizeof sp);
  memset(&ds, 0, sizeof ds);

  if (like != NULL) {
    if ((st = check_like(path, dim, like, err)) != FS_OK)
      goto done;
    dim = like->dim;
  }
  if ((st = read_rows(path, dim, like, &sp, err)) != FS_OK)
    goto done;
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
  if (label_map(&ds, like, &sp) != 0)
    goto nomem;

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
  sparse_free(&sp);
  fs_dataset_free(&ds);
  if (st != FS_OK)
    memset(out, 0, sizeof *out);
  return st;
}
