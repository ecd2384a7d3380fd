/*
 * test_data.c — the data loaders and the generator.
 *
 * IDX and LIBSVM files are written at test time into a fresh temporary
 * directory, valid ones first, then broken ones made from their bytes
 * (cut at every length, single bytes flipped in gzip streams), so each
 * corrupt case is a reproducible named test. Fashion-MNIST (Debian package)
 * is checked for counts, range and class balance; the LIBSVM sets of
 * ../shared/data are checked against their published shapes, and those
 * cases print "SKIP: ..." if the folder is absent.
 */
#include "fs_test.h"

#include "data.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fs_test_data_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  DIR *d = opendir(tmpdir);
  if (d != NULL) {
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(tmpdir);
}

/* A path in the temporary directory (static buffer per slot). */
static const char *tpath(int slot, const char *name) {
  static char buf[4][512];
  snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
  return buf[slot];
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  if (len > 0)
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *data, size_t len) {
  gzFile f = gzopen(path, "wb9");
  ck_assert_ptr_nonnull(f);
  if (len > 0)
    ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
  ck_assert_int_eq(gzclose(f), Z_OK);
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* The small IDX pair used throughout: 3 images of 2x2, labels 0, 2, 1. */
static const unsigned char small_pixels[12] = {0,   51, 255, 102, 255, 0,
                                               153, 0,  1,   2,   3,   204};
static const unsigned char small_labels[3] = {0, 2, 1};

/* IDX images: header (16 bytes) + pixels; returns the length. */
static size_t make_images(unsigned char *buf, uint32_t magic, uint32_t n,
                          uint32_t rows, uint32_t cols, const unsigned char *px,
                          size_t npx) {
  put_be32(buf, magic);
  put_be32(buf + 4, n);
  put_be32(buf + 8, rows);
  put_be32(buf + 12, cols);
  memcpy(buf + 16, px, npx);
  return 16 + npx;
}

static size_t make_labels(unsigned char *buf, uint32_t magic, uint32_t n,
                          const unsigned char *lab, size_t nlab) {
  put_be32(buf, magic);
  put_be32(buf + 4, n);
  memcpy(buf + 8, lab, nlab);
  return 8 + nlab;
}

/* Write the valid small pair (gzip or plain) as img / lab. */
static void write_small_idx(int gz, const char *img, const char *lab) {
  unsigned char b[64];
  size_t n = make_images(b, 0x803, 3, 2, 2, small_pixels, 12);
  (gz ? write_gz : write_file)(img, b, n);
  n = make_labels(b, 0x801, 3, small_labels, 3);
  (gz ? write_gz : write_file)(lab, b, n);
}

static void check_small_idx(const fs_dataset *ds) {
  ck_assert_uint_eq(ds->n, 3);
  ck_assert_uint_eq(ds->dim, 4);
  ck_assert_uint_eq(ds->classes, 3);
  ck_assert_ptr_null(ds->group);
  ck_assert_ptr_null(ds->label_values);
  for (size_t i = 0; i < 12; i++)
    ck_assert_float_eq_tol(ds->x[i], small_pixels[i] / 255.0f, 1e-7f);
  ck_assert_float_eq(ds->x[2], 1.0f);
  ck_assert_float_eq(ds->x[0], 0.0f);
  for (size_t i = 0; i < 3; i++)
    ck_assert_int_eq(ds->y[i], small_labels[i]);
}

static int shared_data_present(const char *what) {
  struct stat st;
  char p[512];
  snprintf(p, sizeof p, "%s/libsvm/%s", FS_SHARED_DATA_DIR, what);
  if (stat(p, &st) == 0)
    return 1;
  fprintf(stderr,
          "SKIP: %s not found (shared data folder %s absent); "
          "LIBSVM real-data check not run\n",
          p, FS_SHARED_DATA_DIR);
  return 0;
}

static const char *shared_path(const char *name) {
  static char buf[2][512];
  static int k;
  k ^= 1;
  snprintf(buf[k], sizeof buf[k], "%s/libsvm/%s", FS_SHARED_DATA_DIR, name);
  return buf[k];
}

static int bytes_equal(const void *a, const void *b, size_t n) {
  return n == 0 || memcmp(a, b, n) == 0;
}

static int datasets_equal(const fs_dataset *a, const fs_dataset *b) {
  return a->n == b->n && a->dim == b->dim && a->classes == b->classes &&
         a->groups == b->groups &&
         bytes_equal(a->x, b->x, a->n * a->dim * sizeof(float)) &&
         bytes_equal(a->y, b->y, a->n * sizeof(int32_t)) &&
         bytes_equal(a->group, b->group, a->n * sizeof(int32_t));
}

static fs_synth_spec leaf_spec(void) {
  fs_synth_spec s = {.alpha = 1.0,
                     .beta = 1.0,
                     .dim = 60,
                     .classes = 10,
                     .groups = 30,
                     .samples = 3000,
                     .test_fraction = 0.2,
                     .seed = 7};
  return s;
}

/* ---- core ------------------------------------------------------------------
 */

START_TEST(idx_small_plain) {
  const char *img = tpath(0, "img"), *lab = tpath(1, "lab");
  write_small_idx(0, img, lab);
  fs_dataset ds;
  fs_err err = {0};
  ck_assert_int_eq(fs_data_load_idx(img, lab, &ds, &err), FS_OK);
  check_small_idx(&ds);
  fs_dataset_free(&ds);
  ck_assert_ptr_null(ds.x);
  ck_assert_uint_eq(ds.n, 0);
}
END_TEST

START_TEST(idx_small_gzip) {
  const char *img = tpath(0, "img.gz"), *lab = tpath(1, "lab.gz");
  write_small_idx(1, img, lab);
  fs_dataset ds;
  fs_err err = {0};
  ck_assert_int_eq(fs_data_load_idx(img, lab, &ds, &err), FS_OK);
  check_small_idx(&ds);
  fs_dataset_free(&ds);
}
END_TEST

static void check_fashion(int train, size_t n) {
  struct stat st;
  ck_assert_msg(stat(FMNIST_DIR, &st) == 0,
                "Fashion-MNIST not installed at " FMNIST_DIR
                " (apt-get install dataset-fashion-mnist)");
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_fashion_mnist(FMNIST_DIR, train, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, n);
  ck_assert_uint_eq(ds.dim, 784);
  ck_assert_uint_eq(ds.classes, 10);
  float lo = 1.0f, hi = 0.0f;
  for (size_t i = 0; i < ds.n * ds.dim; i++) {
    if (ds.x[i] < lo)
      lo = ds.x[i];
    if (ds.x[i] > hi)
      hi = ds.x[i];
  }
  ck_assert_float_eq(lo, 0.0f);
  ck_assert_float_eq(hi, 1.0f);
  size_t hist[10] = {0};
  for (size_t i = 0; i < ds.n; i++) {
    ck_assert_int_ge(ds.y[i], 0);
    ck_assert_int_lt(ds.y[i], 10);
    hist[ds.y[i]]++;
  }
  for (int c = 0; c < 10; c++)
    ck_assert_uint_eq(hist[c], n / 10);
  fs_dataset_free(&ds);
}

START_TEST(fashion_mnist_train) { check_fashion(1, 60000); }
END_TEST

START_TEST(fashion_mnist_test) { check_fashion(0, 10000); }
END_TEST

START_TEST(libsvm_small) {
  const char *p = tpath(0, "small.svm");
  const char *text = "+1 1:0.5 3:-2\n"
                     "-1 2:1e-3\n"
                     "\n"
                     "3 1:1 2:2 3:3\n"
                     "-1 3:7";
  write_file(p, text, strlen(text));
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_libsvm(p, 0, NULL, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, 4);
  ck_assert_uint_eq(ds.dim, 3);
  ck_assert_uint_eq(ds.classes, 3);
  ck_assert_double_eq(ds.label_values[0], -1.0);
  ck_assert_double_eq(ds.label_values[1], 1.0);
  ck_assert_double_eq(ds.label_values[2], 3.0);
  const int32_t y[4] = {1, 0, 2, 0};
  const float x[12] = {0.5f, 0, -2, 0, 1e-3f, 0, 1, 2, 3, 0, 0, 7};
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(ds.y[i], y[i]);
  for (int i = 0; i < 12; i++)
    ck_assert_float_eq(ds.x[i], x[i]);
  ck_assert_ptr_null(ds.group);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(libsvm_like) {
  const char *ptr = tpath(0, "train.svm"), *pte = tpath(1, "test.svm");
  const char *tr = "0 1:1\n5 4:1\n2 2:1\n";
  const char *te = "5 1:2\n5 3:1\n";
  write_file(ptr, tr, strlen(tr));
  write_file(pte, te, strlen(te));
  fs_dataset a, b;
  fs_err err = {0};
  ck_assert_int_eq(fs_data_load_libsvm(ptr, 0, NULL, &a, &err), FS_OK);
  ck_assert_uint_eq(a.classes, 3);
  ck_assert_uint_eq(a.dim, 4);
  fs_status s = fs_data_load_libsvm(pte, 0, &a, &b, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(b.n, 2);
  ck_assert_uint_eq(b.dim, 4);
  ck_assert_uint_eq(b.classes, 3);
  ck_assert_int_eq(b.y[0], 2);
  ck_assert_int_eq(b.y[1], 2);
  ck_assert_double_eq(b.label_values[2], 5.0);
  ck_assert_ptr_ne(b.label_values, a.label_values);
  ck_assert_float_eq(b.x[0], 2.0f);
  ck_assert_float_eq(b.x[4 + 2], 1.0f);
  fs_dataset_free(&b);
  /* The same dim passed explicitly is fine too. */
  ck_assert_int_eq(fs_data_load_libsvm(pte, 4, &a, &b, &err), FS_OK);
  fs_dataset_free(&b);
  fs_dataset_free(&a);
}
END_TEST

static void check_libsvm(const char *name, const fs_dataset *like, size_t n,
                         size_t dim, double lab0, double lab1, size_t n0) {
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_libsvm(shared_path(name), 0, like, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, n);
  ck_assert_uint_eq(ds.dim, dim);
  ck_assert_uint_eq(ds.classes, 2);
  ck_assert_double_eq(ds.label_values[0], lab0);
  ck_assert_double_eq(ds.label_values[1], lab1);
  size_t c0 = 0;
  for (size_t i = 0; i < ds.n; i++)
    c0 += ds.y[i] == 0;
  ck_assert_uint_eq(c0, n0);
  fs_dataset_free(&ds);
}

START_TEST(libsvm_real_sets) {
  if (!shared_data_present("phishing") || !shared_data_present("a9a") ||
      !shared_data_present("a9a.t") || !shared_data_present("mushrooms") ||
      !shared_data_present("w8a"))
    return;
  check_libsvm("phishing", NULL, 11055, 68, 0.0, 1.0, 4898);
  check_libsvm("mushrooms", NULL, 8124, 112, 1.0, 2.0, 3916);
  check_libsvm("w8a", NULL, 49749, 300, -1.0, 1.0, 48270);
  fs_dataset a9a;
  fs_err err = {0};
  ck_assert_int_eq(fs_data_load_libsvm(shared_path("a9a"), 0, NULL, &a9a, &err),
                   FS_OK);
  check_libsvm("a9a", NULL, 32561, 123, -1.0, 1.0, 24720);
  /* a9a.t uses only 122 features: the training set fixes dim = 123. */
  check_libsvm("a9a.t", &a9a, 16281, 123, -1.0, 1.0, 12435);
  fs_dataset_free(&a9a);

  fs_dataset ph;
  ck_assert_int_eq(
      fs_data_load_libsvm(shared_path("phishing"), 0, NULL, &ph, &err), FS_OK);
  ck_assert_float_eq_tol(ph.x[0], 0.18257f, 1e-6f); /* row 0, feature 1 */
  ck_assert_float_eq(ph.x[ph.dim + 0], 0.0f);       /* row 1 lacks 1 */
  fs_dataset_free(&ph);
}
END_TEST

START_TEST(synthetic_shape) {
  fs_synth_spec sp = leaf_spec();
  fs_dataset tr, te;
  fs_err err = {0};
  fs_status s = fs_data_synthetic(&sp, &tr, &te, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(tr.n + te.n, sp.samples);
  ck_assert_uint_eq(tr.dim, 60);
  ck_assert_uint_eq(te.dim, 60);
  ck_assert_uint_eq(tr.classes, 10);
  ck_assert_uint_eq(tr.groups, 30);
  ck_assert_uint_eq(te.groups, 30);
  ck_assert_ptr_nonnull(tr.group);
  ck_assert_ptr_nonnull(te.group);
  ck_assert_ptr_null(tr.label_values);
  size_t ntr[30] = {0}, nte[30] = {0}, used[10] = {0};
  for (size_t i = 0; i < tr.n; i++) {
    ck_assert_int_ge(tr.group[i], 0);
    ck_assert_int_lt(tr.group[i], 30);
    if (i > 0)
      ck_assert_int_ge(tr.group[i], tr.group[i - 1]);
    ntr[tr.group[i]]++;
    ck_assert_int_ge(tr.y[i], 0);
    ck_assert_int_lt(tr.y[i], 10);
    used[tr.y[i]] = 1;
    for (size_t j = 0; j < tr.dim; j++)
      ck_assert(isfinite(tr.x[i * tr.dim + j]));
  }
  for (size_t i = 0; i < te.n; i++)
    nte[te.group[i]]++;
  size_t distinct_sizes = 0, classes_used = 0;
  for (int g = 0; g < 30; g++) {
    size_t size = ntr[g] + nte[g];
    ck_assert_uint_ge(size, 10);
    ck_assert_uint_eq(nte[g], (size_t)floor(0.2 * (double)size + 0.5));
    distinct_sizes += g > 0 && size != ntr[g - 1] + nte[g - 1];
  }
  for (int c = 0; c < 10; c++)
    classes_used += used[c];
  ck_assert_uint_ge(distinct_sizes, 10); /* lognormal: sizes differ */
  ck_assert_uint_ge(classes_used, 3);
  fs_dataset_free(&tr);
  fs_dataset_free(&te);
}
END_TEST

START_TEST(synthetic_deterministic) {
  fs_synth_spec sp = leaf_spec();
  fs_dataset a, at, b, bt;
  ck_assert_int_eq(fs_data_synthetic(&sp, &a, &at, NULL), FS_OK);
  ck_assert_int_eq(fs_data_synthetic(&sp, &b, &bt, NULL), FS_OK);
  ck_assert(datasets_equal(&a, &b));
  ck_assert(datasets_equal(&at, &bt));
  fs_dataset_free(&b);
  fs_dataset_free(&bt);
  sp.seed = 8;
  ck_assert_int_eq(fs_data_synthetic(&sp, &b, &bt, NULL), FS_OK);
  ck_assert(!datasets_equal(&a, &b));
  fs_dataset_free(&a);
  fs_dataset_free(&at);
  fs_dataset_free(&b);
  fs_dataset_free(&bt);
}
END_TEST

/* A group's rows depend only on (seed, group): with a different total the
 * shared prefix of each group's rows is identical. */
START_TEST(synthetic_group_streams) {
  fs_synth_spec sp = leaf_spec();
  sp.test_fraction = 0.0;
  fs_dataset a, at, b, bt;
  ck_assert_int_eq(fs_data_synthetic(&sp, &a, &at, NULL), FS_OK);
  sp.samples = 5000;
  ck_assert_int_eq(fs_data_synthetic(&sp, &b, &bt, NULL), FS_OK);
  ck_assert_uint_eq(at.n, 0);
  size_t ia = 0, ib = 0;
  for (int32_t g = 0; g < 30; g++) {
    size_t na = 0, nb = 0;
    while (ia + na < a.n && a.group[ia + na] == g)
      na++;
    while (ib + nb < b.n && b.group[ib + nb] == g)
      nb++;
    size_t m = na < nb ? na : nb;
    ck_assert_uint_ge(m, 10);
    ck_assert(bytes_equal(a.x + ia * a.dim, b.x + ib * b.dim,
                          m * a.dim * sizeof(float)));
    ck_assert(bytes_equal(a.y + ia, b.y + ib, m * sizeof(int32_t)));
    ia += na;
    ib += nb;
  }
  fs_dataset_free(&a);
  fs_dataset_free(&at);
  fs_dataset_free(&b);
  fs_dataset_free(&bt);
}
END_TEST

/* Feature j has variance j^-1.2 around its group mean. */
START_TEST(synthetic_covariance) {
  fs_synth_spec sp = leaf_spec();
  sp.groups = 1;
  sp.samples = 20000;
  sp.test_fraction = 0.0;
  fs_dataset tr, te;
  ck_assert_int_eq(fs_data_synthetic(&sp, &tr, &te, NULL), FS_OK);
  const size_t js[3] = {0, 9, 59};
  for (int k = 0; k < 3; k++) {
    size_t j = js[k];
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < tr.n; i++)
      m += tr.x[i * tr.dim + j];
    m /= (double)tr.n;
    for (size_t i = 0; i < tr.n; i++) {
      double d = tr.x[i * tr.dim + j] - m;
      v += d * d;
    }
    v /= (double)(tr.n - 1);
    double want = pow((double)(j + 1), -1.2);
    ck_assert_double_eq_tol(v / want, 1.0, 0.05);
  }
  fs_dataset_free(&tr);
  fs_dataset_free(&te);
}
END_TEST

START_TEST(free_null_and_twice) {
  fs_dataset_free(NULL);
  fs_dataset ds;
  memset(&ds, 0, sizeof ds);
  fs_dataset_free(&ds);
  fs_dataset_free(&ds);
}
END_TEST

/* ---- limits ----------------------------------------------------------------
 */

START_TEST(idx_one_pixel_label_255) {
  unsigned char b[32];
  const unsigned char px = 128, lab = 255;
  const char *img = tpath(0, "img"), *labp = tpath(1, "lab");
  write_file(img, b, make_images(b, 0x803, 1, 1, 1, &px, 1));
  write_file(labp, b, make_labels(b, 0x801, 1, &lab, 1));
  fs_dataset ds;
  ck_assert_int_eq(fs_data_load_idx(img, labp, &ds, NULL), FS_OK);
  ck_assert_uint_eq(ds.n, 1);
  ck_assert_uint_eq(ds.dim, 1);
  ck_assert_uint_eq(ds.classes, 256);
  ck_assert_float_eq_tol(ds.x[0], 128.0f / 255.0f, 1e-7f);
  fs_dataset_free(&ds);
}
END_TEST

/* Larger than one read chunk, to cross buffer boundaries. */
START_TEST(idx_multi_chunk) {
  const uint32_t n = 300, r = 17, c = 23;
  size_t npx = (size_t)n * r * c;
  unsigned char *b = malloc(16 + npx), lb[8 + 300], lab[300];
  for (size_t i = 0; i < npx; i++)
    b[16 + i] = (unsigned char)(i * 7);
  for (uint32_t i = 0; i < n; i++)
    lab[i] = (unsigned char)(i % 10);
  const char *img = tpath(0, "img.gz"), *labp = tpath(1, "lab.gz");
  write_gz(img, b, make_images(b, 0x803, n, r, c, b + 16, 0) + npx);
  write_gz(labp, lb, make_labels(lb, 0x801, n, lab, n));
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_idx(img, labp, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, n);
  ck_assert_uint_eq(ds.dim, r * c);
  ck_assert_uint_eq(ds.classes, 10);
  for (size_t i = 0; i < npx; i += 997)
    ck_assert_float_eq_tol(ds.x[i], (unsigned char)(i * 7) / 255.0f, 1e-7f);
  ck_assert_int_eq(ds.y[n - 1], (int)((n - 1) % 10));
  fs_dataset_free(&ds);
  free(b);
}
END_TEST

START_TEST(libsvm_whitespace_and_endings) {
  const char *p = tpath(0, "ws.svm");
  const char *text = "\n   \n1\t1:1  2:2 \r\n\r\n  -1 2:-3\r\n2\n \t\n";
  write_file(p, text, strlen(text));
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_libsvm(p, 5, NULL, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, 3);
  ck_assert_uint_eq(ds.dim, 5); /* explicit dim beyond the largest index */
  ck_assert_uint_eq(ds.classes, 3);
  ck_assert_float_eq(ds.x[0], 1.0f);
  ck_assert_float_eq(ds.x[1], 2.0f);
  ck_assert_float_eq(ds.x[5 + 1], -3.0f);
  for (int j = 0; j < 5; j++) /* a row with only a label is all zeros */
    ck_assert_float_eq(ds.x[10 + j], 0.0f);
  ck_assert_int_eq(ds.y[0], 1);
  ck_assert_int_eq(ds.y[1], 0);
  ck_assert_int_eq(ds.y[2], 2);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(libsvm_long_line_gzip) {
  const size_t D = 100000;
  char *text = malloc(D * 16 + 64);
  size_t len = (size_t)sprintf(text, "1");
  for (size_t j = 1; j <= D; j++)
    len += (size_t)sprintf(text + len, " %zu:%zu", j, j % 97);
  len += (size_t)sprintf(text + len, "\n0 %zu:0.25\n", D);
  const char *p = tpath(0, "long.svm.gz");
  write_gz(p, text, len);
  free(text);
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_libsvm(p, 0, NULL, &ds, &err);
  ck_assert_msg(s == FS_OK, "%s", fs_err_msg(&err, s));
  ck_assert_uint_eq(ds.n, 2);
  ck_assert_uint_eq(ds.dim, D);
  ck_assert_float_eq(ds.x[D - 1], (float)(D % 97));
  ck_assert_float_eq(ds.x[2 * D - 1], 0.25f);
  ck_assert_float_eq(ds.x[D], 0.0f);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(libsvm_many_classes) {
  const char *p = tpath(0, "multi.svm");
  char text[4096];
  size_t len = 0;
  for (int i = 0; i < 200; i++)
    len +=
        (size_t)sprintf(text + len, "%g 1:%d\n", (i * 37 % 200) * 0.5 - 3, i);
  write_file(p, text, len);
  fs_dataset ds;
  ck_assert_int_eq(fs_data_load_libsvm(p, 0, NULL, &ds, NULL), FS_OK);
  ck_assert_uint_eq(ds.classes, 200);
  for (size_t c = 1; c < ds.classes; c++)
    ck_assert_double_lt(ds.label_values[c - 1], ds.label_values[c]);
  for (size_t i = 0; i < ds.n; i++)
    ck_assert_double_eq(ds.label_values[ds.y[i]], (i * 37 % 200) * 0.5 - 3);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(synthetic_minimum_sizes) {
  fs_synth_spec sp = leaf_spec();
  sp.samples = 10 * sp.groups;
  sp.test_fraction = 0.0;
  fs_dataset tr, te;
  ck_assert_int_eq(fs_data_synthetic(&sp, &tr, &te, NULL), FS_OK);
  ck_assert_uint_eq(tr.n, sp.samples);
  ck_assert_uint_eq(te.n, 0);
  ck_assert_uint_eq(te.groups, sp.groups);
  for (size_t i = 0; i < tr.n; i++)
    ck_assert_int_eq(tr.group[i], (int32_t)(i / 10));
  fs_dataset_free(&tr);
  fs_dataset_free(&te);

  sp.groups = 1;
  sp.samples = 10;
  sp.classes = 2;
  sp.dim = 1;
  sp.test_fraction = 0.5;
  ck_assert_int_eq(fs_data_synthetic(&sp, &tr, &te, NULL), FS_OK);
  ck_assert_uint_eq(tr.n, 5);
  ck_assert_uint_eq(te.n, 5);
  fs_dataset_free(&tr);
  fs_dataset_free(&te);
}
END_TEST

/* ---- errors ----------------------------------------------------------------
 */

static void expect_fail(fs_status got, fs_status want, const fs_err *err,
                        const char *needle, const fs_dataset *ds) {
  ck_assert_msg(got == want, "status %s, expected %s (%s)", fs_status_name(got),
                fs_status_name(want), err->msg);
  ck_assert_msg(strstr(err->msg, needle) != NULL, "message \"%s\" lacks \"%s\"",
                err->msg, needle);
  ck_assert_ptr_null(ds->x);
  ck_assert_ptr_null(ds->y);
  ck_assert_ptr_null(ds->label_values);
  ck_assert_uint_eq(ds->n, 0);
}

START_TEST(idx_missing_file) {
  const char *img = tpath(0, "img"), *lab = tpath(1, "lab");
  write_small_idx(0, img, lab);
  fs_dataset ds;
  fs_err err = {0};
  const char *nope = tpath(2, "does-not-exist");
  expect_fail(fs_data_load_idx(nope, lab, &ds, &err), FS_EIO, &err, nope, &ds);
  expect_fail(fs_data_load_idx(img, nope, &ds, &err), FS_EIO, &err, nope, &ds);
  expect_fail(fs_data_load_fashion_mnist(tmpdir, 1, &ds, &err), FS_EIO, &err,
              "train-images-idx3-ubyte.gz", &ds);
}
END_TEST

START_TEST(idx_bad_headers) {
  unsigned char b[64] = {0}, l[16] = {0};
  const char *img = tpath(0, "img"), *lab = tpath(1, "lab");
  size_t ln = make_labels(l, 0x801, 3, small_labels, 3);
  fs_dataset ds;
  fs_err err = {0};
  struct {
    uint32_t magic, n, r, c;
    fs_status st;
    const char *needle;
  } cases[] = {
      {0x12345678, 3, 2, 2, FS_EFORMAT, "bad IDX magic"},
      {0x00000c03, 3, 2, 2, FS_EFORMAT, "bad IDX magic"}, /* int32 pixels */
      {0x00000802, 3, 2, 2, FS_EFORMAT, "2 dimensions"},
      {0x00000803, 4, 2, 2, FS_EFORMAT, "4 images but 3 labels"},
      {0x00000803, 3, 0, 2, FS_EFORMAT, "image size 0 x 2"},
      {0x00000803, 3, 65536, 65536, FS_EFORMAT, "image size"},
  };
  write_file(lab, l, ln);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    size_t n = make_images(b, cases[k].magic, cases[k].n, cases[k].r,
                           cases[k].c, small_pixels, 12);
    write_file(img, b, n);
    expect_fail(fs_data_load_idx(img, lab, &ds, &err), cases[k].st, &err,
                cases[k].needle, &ds);
  }
  /* Bad label magic; empty label file; zero items. */
  write_file(img, b, make_images(b, 0x803, 3, 2, 2, small_pixels, 12));
  write_file(lab, l, make_labels(l, 0x803, 3, small_labels, 3));
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_EFORMAT, &err, lab,
              &ds);
  write_file(lab, l, 0);
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_ETRUNC, &err,
              "expected 8 bytes, found 0", &ds);
  write_file(img, b, make_images(b, 0x803, 0, 2, 2, small_pixels, 0));
  write_file(lab, l, make_labels(l, 0x801, 0, small_labels, 0));
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_EFORMAT, &err,
              "bad image count 0", &ds);
}
END_TEST

START_TEST(idx_truncated_payload) {
  unsigned char b[64] = {0}, l[16] = {0};
  const char *img = tpath(0, "img.gz"), *lab = tpath(1, "lab.gz");
  write_gz(lab, l, make_labels(l, 0x801, 3, small_labels, 3));
  /* 3 images claimed, 2.5 present. */
  write_gz(img, b, make_images(b, 0x803, 3, 2, 2, small_pixels, 10));
  fs_dataset ds;
  fs_err err = {0};
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_ETRUNC, &err,
              "expected 3 items (12 bytes), found 2 complete items (10 bytes)",
              &ds);
  ck_assert(strstr(err.msg, img) != NULL);
  /* Labels short. */
  write_gz(img, b, make_images(b, 0x803, 3, 2, 2, small_pixels, 12));
  write_gz(lab, l, make_labels(l, 0x801, 3, small_labels, 1));
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_ETRUNC, &err,
              "expected 3 items (3 bytes), found 1", &ds);
  ck_assert(strstr(err.msg, lab) != NULL);
}
END_TEST

/* A header that claims two billion images must fail on the bytes present,
 * not try to allocate for the claim. */
START_TEST(idx_huge_claim) {
  unsigned char b[64] = {0}, l[16] = {0};
  const char *img = tpath(0, "img"), *lab = tpath(1, "lab");
  write_file(img, b,
             make_images(b, 0x803, 0x7fffffff, 28, 28, small_pixels, 12));
  write_file(lab, l, make_labels(l, 0x801, 0x7fffffff, small_labels, 3));
  fs_dataset ds;
  fs_err err = {0};
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_ETRUNC, &err,
              "expected 2147483647 items", &ds);
  write_file(img, b,
             make_images(b, 0x803, 0xffffffff, 28, 28, small_pixels, 12));
  write_file(lab, l, make_labels(l, 0x801, 0xffffffff, small_labels, 3));
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_EFORMAT, &err,
              "bad image count", &ds);
}
END_TEST

START_TEST(idx_trailing_bytes) {
  unsigned char b[64] = {0}, l[16] = {0};
  const char *img = tpath(0, "img"), *lab = tpath(1, "lab");
  write_file(img, b, make_images(b, 0x803, 3, 2, 2, small_pixels, 12) + 1);
  write_file(lab, l, make_labels(l, 0x801, 3, small_labels, 3));
  fs_dataset ds;
  fs_err err = {0};
  expect_fail(fs_data_load_idx(img, lab, &ds, &err), FS_EFORMAT, &err,
              "trailing bytes", &ds);
}
END_TEST

/* Every prefix of valid files, plain and gzip: a status, never OK. */
START_TEST(idx_truncation_corpus) {
  for (int gz = 0; gz < 2; gz++) {
    const char *img = tpath(0, gz ? "full.img.gz" : "full.img");
    const char *lab = tpath(1, gz ? "full.lab.gz" : "full.lab");
    const char *cut = tpath(2, "cut");
    write_small_idx(gz, img, lab);
    for (int which = 0; which < 2; which++) {
      size_t len;
      unsigned char *bytes = read_all(which ? lab : img, &len);
      for (size_t k = 0; k < len; k++) {
        write_file(cut, bytes, k);
        fs_dataset ds;
        fs_err err = {0};
        fs_status s = which ? fs_data_load_idx(img, cut, &ds, &err)
                            : fs_data_load_idx(cut, lab, &ds, &err);
        ck_assert_msg(s == FS_ETRUNC || s == FS_EFORMAT || s == FS_EIO,
                      "gz %d file %d cut at %zu: %s", gz, which, k,
                      fs_status_name(s));
        ck_assert_msg(strstr(err.msg, cut) != NULL, "%s", err.msg);
        ck_assert_ptr_null(ds.x);
      }
      free(bytes);
    }
  }
}
END_TEST

/* Each byte of the gzip body and trailer flipped: corrupt data is caught
 * (by inflate or by the CRC/length check), with the file named. */
START_TEST(idx_corrupt_gzip) {
  const char *img = tpath(0, "img.gz"), *lab = tpath(1, "lab.gz");
  const char *bad = tpath(2, "bad.gz");
  write_small_idx(1, img, lab);
  size_t len;
  unsigned char *bytes = read_all(img, &len);
  for (size_t k = 10; k < len; k++) {
    bytes[k] ^= 0xff;
    write_file(bad, bytes, len);
    bytes[k] ^= 0xff;
    fs_dataset ds;
    fs_err err = {0};
    fs_status s = fs_data_load_idx(bad, lab, &ds, &err);
    ck_assert_msg(s == FS_EFORMAT || s == FS_EIO || s == FS_ETRUNC,
                  "byte %zu flipped: %s", k, fs_status_name(s));
    ck_assert_msg(strstr(err.msg, bad) != NULL, "%s", err.msg);
    ck_assert_ptr_null(ds.x);
  }
  /* gzip magic followed by garbage. */
  const unsigned char junk[] = {0x1f, 0x8b, 8,    0,    0,    0,    0,    0,
                                0,    3,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  write_file(bad, junk, sizeof junk);
  fs_dataset ds;
  fs_err err = {0};
  fs_status s = fs_data_load_idx(bad, lab, &ds, &err);
  ck_assert_msg(s == FS_EFORMAT || s == FS_EIO, "%s", fs_status_name(s));
  ck_assert(strstr(err.msg, bad) != NULL);
  free(bytes);
}
END_TEST

START_TEST(libsvm_bad_lines) {
  struct {
    const char *text;
    size_t dim;
    const char *needle;
  } cases[] = {
      {"", 0, "no data rows"},
      {"\n  \n\n", 0, "no data rows"},
      {"1\n-1\n", 0, "no features"},
      {"1 1:1\nabc 1:2\n", 0, "line 2: bad label"},
      {"1x 1:2\n", 0, "line 1: bad label"},
      {"nan 1:2\n", 0, "line 1: label is not a finite"},
      {"1 1:1\n\n1 0:3\n", 0, "line 3: feature index 0"},
      {"1 3:1 2:1\n", 0, "line 1: feature index 2 after 3"},
      {"1 2:1 2:1\n", 0, "line 1: feature index 2 after 2"},
      {"1 1:nan\n", 0, "line 1: value of feature 1 is NaN"},
      {"1 1:inf\n", 0, "line 1: value of feature 1 is NaN, infinite"},
      {"1 1:1e39\n", 0, "out of float range"},
      {"1 1:1e400\n", 0, "out of float range"},
      {"1 x:1\n", 0, "line 1: bad feature index"},
      {"1 -1:1\n", 0, "line 1: bad feature index"},
      {"1 +1:1\n", 0, "line 1: bad feature index"},
      {"1 1:\n", 0, "line 1: missing value for feature 1"},
      {"1 1: 2\n", 0, "line 1: missing value for feature 1"},
      {"1 1\n", 0, "line 1: expected idx:val"},
      {"1 1 :1\n", 0, "line 1: expected idx:val"},
      {"1 :1\n", 0, "line 1: bad feature index"},
      {"1 1:2junk\n", 0, "line 1: bad value for feature 1"},
      {"1 1:2:3\n", 0, "line 1: bad value for feature 1"},
      {"1 1:1\n1 4:1\n", 3, "line 2: feature index 4 beyond dimension 3"},
      {"1 99999999999999999999999:1\n", 0, "too large"},
      {"1 16777217:1\n", 0, "too large (limit 16777216)"},
      {"1 1:1\n1 2:1\0 3:1\n", 0, "line 2: NUL byte"},
  };
  const char *p = tpath(0, "bad.svm");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    size_t len = strlen(cases[k].text);
    if (strstr(cases[k].needle, "NUL") != NULL)
      len = 17; /* the bytes up to and past the embedded NUL */
    write_file(p, cases[k].text, len);
    fs_dataset ds;
    fs_err err = {0};
    fs_status s = fs_data_load_libsvm(p, cases[k].dim, NULL, &ds, &err);
    ck_assert_msg(s == FS_EFORMAT, "case %zu: %s (%s)", k, fs_status_name(s),
                  err.msg);
    ck_assert_msg(strstr(err.msg, cases[k].needle) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", k, err.msg, cases[k].needle);
    ck_assert_msg(strstr(err.msg, p) != NULL, "case %zu: %s", k, err.msg);
    ck_assert_ptr_null(ds.x);
  }
}
END_TEST

START_TEST(libsvm_like_errors) {
  const char *ptr = tpath(0, "train.svm"), *pte = tpath(1, "test.svm");
  write_file(ptr, "-1 1:1\n1 3:1\n", 13);
  fs_dataset a, b;
  fs_err err = {0};
  ck_assert_int_eq(fs_data_load_libsvm(ptr, 0, NULL, &a, &err), FS_OK);
  write_file(pte, "1 1:1\n2 1:1\n", 12);
  expect_fail(fs_data_load_libsvm(pte, 0, &a, &b, &err), FS_EFORMAT, &err,
              "line 2: label 2 is not a label of the training set", &b);
  write_file(pte, "1 1:1\n-1 4:1\n", 13);
  expect_fail(fs_data_load_libsvm(pte, 0, &a, &b, &err), FS_EFORMAT, &err,
              "line 2: feature index 4 beyond dimension 3", &b);
  expect_fail(fs_data_load_libsvm(pte, 7, &a, &b, &err), FS_EINVAL, &err,
              "differs", &b);
  fs_dataset nomap = a;
  nomap.label_values = NULL;
  expect_fail(fs_data_load_libsvm(pte, 0, &nomap, &b, &err), FS_EINVAL, &err,
              "no label map", &b);
  fs_dataset_free(&a);
}
END_TEST

START_TEST(libsvm_io_errors) {
  fs_dataset ds;
  fs_err err = {0};
  const char *nope = tpath(0, "missing.svm");
  expect_fail(fs_data_load_libsvm(nope, 0, NULL, &ds, &err), FS_EIO, &err, nope,
              &ds);
  /* A gzip file cut short: its lines end early and the stream is flagged. */
  const char *gz = tpath(1, "cut.svm.gz"), *cut = tpath(2, "cut2.svm.gz");
  char text[8192];
  size_t len = 0;
  for (int i = 0; i < 400; i++)
    len += (size_t)sprintf(text + len, "%d 1:%d 2:0.5\n", i % 2, i);
  write_gz(gz, text, len);
  size_t glen;
  unsigned char *bytes = read_all(gz, &glen);
  write_file(cut, bytes, glen - 4);
  fs_status s = fs_data_load_libsvm(cut, 0, NULL, &ds, &err);
  ck_assert_msg(s == FS_ETRUNC, "%s: %s", fs_status_name(s), err.msg);
  ck_assert(strstr(err.msg, cut) != NULL);
  bytes[glen / 2] ^= 0x55;
  write_file(cut, bytes, glen);
  s = fs_data_load_libsvm(cut, 0, NULL, &ds, &err);
  ck_assert_msg(s == FS_EFORMAT || s == FS_ETRUNC, "%s: %s", fs_status_name(s),
                err.msg);
  ck_assert(strstr(err.msg, cut) != NULL);
  free(bytes);
}
END_TEST

START_TEST(synthetic_bad_specs) {
  fs_dataset tr, te;
  fs_err err = {0};
  fs_synth_spec sp;
  struct {
    size_t field; /* which field to spoil */
    const char *needle;
  } cases[] = {{0, "samples for"}, {1, "group count"},   {2, "class count"},
               {3, "dimension"},   {4, "test fraction"}, {5, "test fraction"},
               {6, "alpha"},       {7, "beta"},          {8, "alpha"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    sp = leaf_spec();
    switch (cases[k].field) {
    case 0:
      sp.samples = 10 * sp.groups - 1;
      break;
    case 1:
      sp.groups = 0;
      break;
    case 2:
      sp.classes = 1;
      break;
    case 3:
      sp.dim = 0;
      break;
    case 4:
      sp.test_fraction = 1.0;
      break;
    case 5:
      sp.test_fraction = NAN;
      break;
    case 6:
      sp.alpha = -1.0;
      break;
    case 7:
      sp.beta = INFINITY;
      break;
    default:
      sp.alpha = NAN;
      break;
    }
    fs_status s = fs_data_synthetic(&sp, &tr, &te, &err);
    ck_assert_msg(s == FS_ECONFIG, "case %zu: %s", k, fs_status_name(s));
    ck_assert_msg(strstr(err.msg, cases[k].needle) != NULL, "case %zu: %s", k,
                  err.msg);
    ck_assert_ptr_null(tr.x);
    ck_assert_ptr_null(te.x);
  }
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_set_timeout(core, 240);
  tcase_add_test(core, idx_small_plain);
  tcase_add_test(core, idx_small_gzip);
  tcase_add_test(core, fashion_mnist_train);
  tcase_add_test(core, fashion_mnist_test);
  tcase_add_test(core, libsvm_small);
  tcase_add_test(core, libsvm_like);
  tcase_add_test(core, libsvm_real_sets);
  tcase_add_test(core, synthetic_shape);
  tcase_add_test(core, synthetic_deterministic);
  tcase_add_test(core, synthetic_group_streams);
  tcase_add_test(core, synthetic_covariance);
  tcase_add_test(core, free_null_and_twice);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("limits");
  tcase_add_checked_fixture(limits, setup, teardown);
  tcase_set_timeout(limits, 120);
  tcase_add_test(limits, idx_one_pixel_label_255);
  tcase_add_test(limits, idx_multi_chunk);
  tcase_add_test(limits, libsvm_whitespace_and_endings);
  tcase_add_test(limits, libsvm_long_line_gzip);
  tcase_add_test(limits, libsvm_many_classes);
  tcase_add_test(limits, synthetic_minimum_sizes);
  suite_add_tcase(s, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_checked_fixture(errors, setup, teardown);
  tcase_set_timeout(errors, 120);
  tcase_add_test(errors, idx_missing_file);
  tcase_add_test(errors, idx_bad_headers);
  tcase_add_test(errors, idx_truncated_payload);
  tcase_add_test(errors, idx_huge_claim);
  tcase_add_test(errors, idx_trailing_bytes);
  tcase_add_test(errors, idx_truncation_corpus);
  tcase_add_test(errors, idx_corrupt_gzip);
  tcase_add_test(errors, libsvm_bad_lines);
  tcase_add_test(errors, libsvm_like_errors);
  tcase_add_test(errors, libsvm_io_errors);
  tcase_add_test(errors, synthetic_bad_specs);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(data_suite)
