/*
 * test_partition.c — the partitioners.
 *
 * Data sets here are labels and groups only (the partitioners never read
 * features). Every method must place each row exactly once; beyond that the
 * suite checks the sizes that iid and contiguous promise, the order of rows
 * within a client, label skew under Dirichlet for small versus large alpha,
 * shards' label purity, determinism in the seed, 10000 clients on 60000
 * rows, and the configuration errors.
 */
#include "fs_test.h"

#include "config.h"
#include "partition.h"

#include <math.h>
#include <string.h>

static const fs_partitioner *const all_methods[] = {
    &fs_partitioner_iid, &fs_partitioner_dirichlet, &fs_partitioner_shards,
    &fs_partitioner_contiguous, &fs_partitioner_natural};
#define N_METHODS (sizeof all_methods / sizeof all_methods[0])

/* n rows, labels 7i mod classes (balanced), groups of 5 rows mod groups. */
static fs_dataset make_ds(size_t n, size_t classes, size_t groups) {
  fs_dataset ds;
  memset(&ds, 0, sizeof ds);
  ds.n = n;
  ds.classes = classes;
  ds.y = malloc((n > 0 ? n : 1) * sizeof(int32_t));
  ck_assert_ptr_nonnull(ds.y);
  for (size_t i = 0; i < n; i++)
    ds.y[i] = (int32_t)((i * 7) % classes);
  if (groups > 0) {
    ds.groups = groups;
    ds.group = malloc((n > 0 ? n : 1) * sizeof(int32_t));
    ck_assert_ptr_nonnull(ds.group);
    for (size_t i = 0; i < n; i++)
      ds.group[i] = (int32_t)((i / 5) % groups);
  }
  return ds;
}

static fs_part_spec spec_of(const fs_partitioner *m, uint64_t seed) {
  fs_part_spec s = {
      .method = m, .alpha = 0.5, .shards_per_client = 2, .seed = seed};
  return s;
}

/* Each row exactly once; offsets monotone; rows increasing except iid. */
static void check_cover(const fs_dataset *ds, const fs_partition *p,
                        const fs_partitioner *m) {
  ck_assert_uint_eq(p->offset[0], 0);
  ck_assert_uint_eq(p->offset[p->clients], ds->n);
  unsigned char *seen = calloc(ds->n > 0 ? ds->n : 1, 1);
  ck_assert_ptr_nonnull(seen);
  /* Plain tests in the loops (a Check assertion per row is slow under
   * valgrind); any failure is reported once below. */
  const char *bad = NULL;
  size_t at = 0;
  for (size_t c = 0; c < p->clients && bad == NULL; c++) {
    if (p->offset[c] > p->offset[c + 1]) {
      bad = "offsets decrease";
      at = c;
    }
    for (size_t k = p->offset[c]; k < p->offset[c + 1] && bad == NULL; k++) {
      uint32_t r = p->rows[k];
      at = r;
      if (r >= ds->n)
        bad = "row out of range";
      else if (seen[r])
        bad = "row placed twice";
      else if (m != &fs_partitioner_iid && k > p->offset[c] &&
               p->rows[k - 1] >= r)
        bad = "rows of a client not increasing";
      else
        seen[r] = 1;
    }
  }
  free(seen);
  ck_assert_msg(bad == NULL, "%s: %s (at %zu)", m->base.name, bad, at);
}

static int partitions_equal(const fs_partition *a, const fs_partition *b) {
  return a->clients == b->clients &&
         memcmp(a->offset, b->offset, (a->clients + 1) * sizeof(size_t)) == 0 &&
         memcmp(a->rows, b->rows, a->offset[a->clients] * sizeof(uint32_t)) ==
             0;
}

/* Mean over clients (weighted by size) of the total-variation distance
 * between the client's label histogram and the global one. */
static double label_skew(const fs_dataset *ds, const fs_partition *p) {
  double *glob = calloc(ds->classes, sizeof(double));
  double *h = calloc(ds->classes, sizeof(double));
  for (size_t i = 0; i < ds->n; i++)
    glob[ds->y[i]] += 1.0 / (double)ds->n;
  double tv = 0.0;
  for (size_t c = 0; c < p->clients; c++) {
    size_t nc = p->offset[c + 1] - p->offset[c];
    if (nc == 0)
      continue;
    memset(h, 0, ds->classes * sizeof(double));
    for (size_t k = p->offset[c]; k < p->offset[c + 1]; k++)
      h[ds->y[p->rows[k]]] += 1.0 / (double)nc;
    double d = 0.0;
    for (size_t j = 0; j < ds->classes; j++)
      d += fabs(h[j] - glob[j]);
    tv += 0.5 * d * (double)nc / (double)ds->n;
  }
  free(glob);
  free(h);
  return tv;
}

/* ---- core ------------------------------------------------------------------
 */

START_TEST(every_row_once) {
  fs_dataset ds = make_ds(1003, 10, 37);
  const size_t clients[] = {1, 7, 50};
  for (size_t m = 0; m < N_METHODS; m++)
    for (size_t k = 0; k < 3; k++) {
      fs_part_spec sp = spec_of(all_methods[m], 42);
      fs_partition p;
      fs_err err = {0};
      fs_status s = fs_partition_make(&ds, clients[k], &sp, &p, &err);
      ck_assert_msg(s == FS_OK, "%s: %s", all_methods[m]->base.name, err.msg);
      ck_assert_uint_eq(p.clients, clients[k]);
      check_cover(&ds, &p, all_methods[m]);
      fs_partition_free(&p);
    }
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(iid_sizes) {
  fs_dataset ds = make_ds(1003, 10, 0);
  fs_part_spec sp = spec_of(&fs_partitioner_iid, 1);
  fs_partition p;
  ck_assert_int_eq(fs_partition_make(&ds, 10, &sp, &p, NULL), FS_OK);
  for (size_t c = 0; c < 10; c++)
    ck_assert_uint_eq(p.offset[c + 1] - p.offset[c], c < 3 ? 101 : 100);
  /* Shuffled: not the identity. */
  size_t fixed = 0;
  for (size_t i = 0; i < ds.n; i++)
    fixed += p.rows[i] == i;
  ck_assert_uint_lt(fixed, 20);
  fs_partition_free(&p);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(contiguous_blocks) {
  fs_dataset ds = make_ds(1003, 10, 0);
  fs_part_spec sp = spec_of(&fs_partitioner_contiguous, 1);
  fs_partition p;
  ck_assert_int_eq(fs_partition_make(&ds, 10, &sp, &p, NULL), FS_OK);
  for (size_t c = 0; c < 10; c++) {
    ck_assert_uint_eq(p.offset[c], 100 * c);
    ck_assert_uint_eq(p.offset[c + 1] - p.offset[c], c < 9 ? 100 : 103);
  }
  for (size_t i = 0; i < ds.n; i++)
    ck_assert_uint_eq(p.rows[i], i);
  fs_partition_free(&p);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(natural_groups) {
  fs_dataset ds = make_ds(1000, 10, 37);
  fs_part_spec sp = spec_of(&fs_partitioner_natural, 1);
  fs_partition p;
  ck_assert_int_eq(fs_partition_make(&ds, 8, &sp, &p, NULL), FS_OK);
  for (size_t c = 0; c < 8; c++)
    for (size_t k = p.offset[c]; k < p.offset[c + 1]; k++)
      ck_assert_uint_eq((size_t)ds.group[p.rows[k]] % 8, c);
  fs_partition_free(&p);
  fs_dataset_free(&ds);
}
END_TEST

/* 10 classes x 100 rows, 50 clients x 2 shards of 10: each client sees at
 * most two labels and exactly 20 rows. */
START_TEST(shards_label_purity) {
  fs_dataset ds = make_ds(1000, 10, 0);
  fs_part_spec sp = spec_of(&fs_partitioner_shards, 3);
  fs_partition p;
  ck_assert_int_eq(fs_partition_make(&ds, 50, &sp, &p, NULL), FS_OK);
  for (size_t c = 0; c < 50; c++) {
    ck_assert_uint_eq(p.offset[c + 1] - p.offset[c], 20);
    int present[10] = {0}, distinct = 0;
    for (size_t k = p.offset[c]; k < p.offset[c + 1]; k++)
      present[ds.y[p.rows[k]]] = 1;
    for (int j = 0; j < 10; j++)
      distinct += present[j];
    ck_assert_int_le(distinct, 2);
  }
  ck_assert_double_gt(label_skew(&ds, &p), 0.7);
  fs_partition_free(&p);

  /* 1003 rows in 100 shards: 97 of 10 rows, the last 3 of 11. */
  fs_dataset_free(&ds);
  ds = make_ds(1003, 10, 0);
  sp.shards_per_client = 1;
  ck_assert_int_eq(fs_partition_make(&ds, 100, &sp, &p, NULL), FS_OK);
  size_t n11 = 0;
  for (size_t c = 0; c < 100; c++) {
    size_t len = p.offset[c + 1] - p.offset[c];
    ck_assert(len == 10 || len == 11);
    n11 += len == 11;
  }
  ck_assert_uint_eq(n11, 3);
  fs_partition_free(&p);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(dirichlet_skew) {
  fs_dataset ds = make_ds(10000, 10, 0);
  fs_part_spec sp = spec_of(&fs_partitioner_dirichlet, 5);
  fs_partition small, large;
  sp.alpha = 0.05;
  ck_assert_int_eq(fs_partition_make(&ds, 20, &sp, &small, NULL), FS_OK);
  sp.alpha = 1000.0;
  ck_assert_int_eq(fs_partition_make(&ds, 20, &sp, &large, NULL), FS_OK);
  double ts = label_skew(&ds, &small), tl = label_skew(&ds, &large);
  ck_assert_msg(ts > 0.5, "alpha 0.05: skew %g", ts);
  ck_assert_msg(tl < 0.05, "alpha 1000: skew %g", tl);
  /* Large alpha: client sizes near n / clients. */
  for (size_t c = 0; c < 20; c++) {
    size_t len = large.offset[c + 1] - large.offset[c];
    ck_assert_uint_gt(len, 400);
    ck_assert_uint_lt(len, 600);
  }
  fs_partition_free(&small);
  fs_partition_free(&large);
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(deterministic_in_seed) {
  fs_dataset ds = make_ds(2000, 10, 40);
  for (size_t m = 0; m < N_METHODS; m++) {
    fs_part_spec sp = spec_of(all_methods[m], 11);
    fs_partition a, b, c;
    ck_assert_int_eq(fs_partition_make(&ds, 20, &sp, &a, NULL), FS_OK);
    ck_assert_int_eq(fs_partition_make(&ds, 20, &sp, &b, NULL), FS_OK);
    ck_assert(partitions_equal(&a, &b));
    sp.seed = 12;
    ck_assert_int_eq(fs_partition_make(&ds, 20, &sp, &c, NULL), FS_OK);
    if (all_methods[m] == &fs_partitioner_contiguous ||
        all_methods[m] == &fs_partitioner_natural)
      ck_assert(partitions_equal(&a, &c)); /* no randomness */
    else
      ck_assert_msg(!partitions_equal(&a, &c), "%s ignores the seed",
                    all_methods[m]->base.name);
    fs_partition_free(&a);
    fs_partition_free(&b);
    fs_partition_free(&c);
  }
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(method_names) {
  for (size_t m = 0; m < N_METHODS; m++) {
    const char *name = all_methods[m]->base.name;
    ck_assert_ptr_eq(fs_partitioner_find(name), all_methods[m]);
  }
  ck_assert_str_eq(fs_partitioner_dirichlet.base.name, "dirichlet");
  /* The table runs in the order of the configuration's values. */
  ck_assert_uint_eq(fs_partitioner_count(), 6);
  ck_assert_ptr_eq(fs_partitioner_at(0), &fs_partitioner_auto);
  ck_assert_ptr_eq(fs_partitioner_at(5), &fs_partitioner_natural);
  ck_assert_ptr_null(fs_partitioner_at(99));
  fs_partition_free(NULL);
}
END_TEST

/* ---- limits ----------------------------------------------------------------
 */

START_TEST(ten_thousand_clients) {
  fs_dataset ds = make_ds(60000, 10, 10000);
  for (size_t i = 0; i < ds.n; i++) /* 10000 groups of 6 rows */
    ds.group[i] = (int32_t)(i / 6);
  for (size_t m = 0; m < N_METHODS; m++) {
    fs_part_spec sp = spec_of(all_methods[m], 99);
    sp.shards_per_client = 2;
    fs_partition p;
    fs_err err = {0};
    fs_status s = fs_partition_make(&ds, 10000, &sp, &p, &err);
    ck_assert_msg(s == FS_OK, "%s: %s", all_methods[m]->base.name, err.msg);
    check_cover(&ds, &p, all_methods[m]);
    if (all_methods[m] != &fs_partitioner_dirichlet)
      for (size_t c = 0; c < 10000; c++)
        ck_assert_uint_eq(p.offset[c + 1] - p.offset[c], 6);
    fs_partition_free(&p);
  }
  fs_dataset_free(&ds);
}
END_TEST

START_TEST(tiny_alpha_and_tight_fits) {
  fs_dataset ds = make_ds(500, 5, 0);
  fs_part_spec sp = spec_of(&fs_partitioner_dirichlet, 7);
  fs_partition p;
  /* Gamma(1e-4) draws underflow in linear space; proportions must not. */
  sp.alpha = 1e-4;
  ck_assert_int_eq(fs_partition_make(&ds, 30, &sp, &p, NULL), FS_OK);
  check_cover(&ds, &p, sp.method);
  fs_partition_free(&p);
  /* One client per row. */
  sp = spec_of(&fs_partitioner_contiguous, 7);
  ck_assert_int_eq(fs_partition_make(&ds, 500, &sp, &p, NULL), FS_OK);
  for (size_t c = 0; c < 500; c++)
    ck_assert_uint_eq(p.rows[p.offset[c]], c);
  fs_partition_free(&p);
  sp = spec_of(&fs_partitioner_shards, 7);
  sp.shards_per_client = 5;
  ck_assert_int_eq(fs_partition_make(&ds, 100, &sp, &p, NULL), FS_OK);
  check_cover(&ds, &p, sp.method);
  fs_partition_free(&p);
  /* iid with more clients than rows: some clients are empty. */
  sp = spec_of(&fs_partitioner_iid, 7);
  ck_assert_int_eq(fs_partition_make(&ds, 800, &sp, &p, NULL), FS_OK);
  check_cover(&ds, &p, sp.method);
  ck_assert_uint_eq(p.offset[501] - p.offset[500], 0);
  fs_partition_free(&p);
  fs_dataset_free(&ds);
}
END_TEST

/* ---- errors ----------------------------------------------------------------
 */

START_TEST(bad_configs) {
  fs_dataset ds = make_ds(100, 4, 0);
  struct {
    const fs_partitioner *m;
    size_t clients;
    double alpha;
    size_t k;
    const char *needle;
  } cases[] = {
      {&fs_partitioner_iid, 0, 0.5, 1, "no clients"},
      {&fs_partitioner_contiguous, 101, 0.5, 1,
       "101 clients but only 100 rows"},
      {&fs_partitioner_shards, 51, 0.5, 2, "more shards than"},
      {&fs_partitioner_shards, 10, 0.5, 0, "shards per client"},
      {&fs_partitioner_natural, 10, 0.5, 1, "groups"},
      {&fs_partitioner_dirichlet, 10, 0.0, 1, "alpha"},
      {&fs_partitioner_dirichlet, 10, -1.0, 1, "alpha"},
      {&fs_partitioner_dirichlet, 10, NAN, 1, "alpha"},
      {&fs_partitioner_dirichlet, 10, INFINITY, 1, "alpha"},
      {NULL, 10, 0.5, 1, "unknown method"},
      {&fs_partitioner_auto, 10, 0.5, 1, "does not split"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    fs_part_spec sp = {.method = cases[k].m,
                       .alpha = cases[k].alpha,
                       .shards_per_client = cases[k].k,
                       .seed = 1};
    fs_partition p;
    fs_err err = {0};
    fs_status s = fs_partition_make(&ds, cases[k].clients, &sp, &p, &err);
    ck_assert_msg(s == FS_ECONFIG, "case %zu: %s", k, fs_status_name(s));
    ck_assert_msg(strstr(err.msg, cases[k].needle) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", k, err.msg, cases[k].needle);
    ck_assert_ptr_null(p.rows);
    ck_assert_ptr_null(p.offset);
  }
  ck_assert_ptr_null(fs_partitioner_find("IID"));
  ck_assert_ptr_null(fs_partitioner_find(""));
  ck_assert_ptr_null(fs_partitioner_find(NULL));
  fs_dataset_free(&ds);
}
END_TEST

/* natural's configuration rule (was in fs_config_validate), word for
 * word, and through the configuration. */
START_TEST(natural_needs_synthetic_data) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  const fs_choice *nat = &fs_partitioner_natural.base;
  ck_assert_int_eq(nat->check(&c, &e), FS_OK); /* synthetic by default */
  c.data_source = FS_CFG_DATA_FASHION_MNIST;
  ck_assert_int_eq(nat->check(&c, &e), FS_ECONFIG);
  ck_assert_str_eq(e.msg, "partition.method: 'natural' needs data with "
                          "natural groups (data.source = synthetic); use iid, "
                          "dirichlet, shards or contiguous");
  ck_assert_int_eq(fs_config_set(&c, "partition.method", "natural", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "'natural' needs data"));
  ck_assert_int_eq(fs_config_set(&c, "partition.method", "iid", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_OK);
  ck_assert_int_eq(c.part_method, FS_CFG_PART_IID);
}
END_TEST

START_TEST(bad_datasets) {
  fs_dataset ds = make_ds(100, 4, 10);
  fs_part_spec sp = spec_of(&fs_partitioner_dirichlet, 1);
  fs_partition p;
  fs_err err = {0};
  ds.y[17] = 4;
  ck_assert_int_eq(fs_partition_make(&ds, 5, &sp, &p, &err), FS_EINVAL);
  ck_assert(strstr(err.msg, "row 17") != NULL);
  ds.y[17] = -1;
  ck_assert_int_eq(fs_partition_make(&ds, 5, &sp, &p, &err), FS_EINVAL);
  ds.y[17] = 0;
  ds.group[3] = -2;
  sp.method = &fs_partitioner_natural;
  ck_assert_int_eq(fs_partition_make(&ds, 5, &sp, &p, &err), FS_EINVAL);
  ck_assert(strstr(err.msg, "row 3") != NULL);
  ck_assert_ptr_null(p.rows);
  fs_dataset_free(&ds);
}
END_TEST

static Suite *partition_suite(void) {
  Suite *s = suite_create("partition");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 120);
  tcase_add_test(core, every_row_once);
  tcase_add_test(core, iid_sizes);
  tcase_add_test(core, contiguous_blocks);
  tcase_add_test(core, natural_groups);
  tcase_add_test(core, shards_label_purity);
  tcase_add_test(core, dirichlet_skew);
  tcase_add_test(core, deterministic_in_seed);
  tcase_add_test(core, method_names);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 240);
  tcase_add_test(limits, ten_thousand_clients);
  tcase_add_test(limits, tiny_alpha_and_tight_fits);
  suite_add_tcase(s, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, bad_configs);
  tcase_add_test(errors, bad_datasets);
  tcase_add_test(errors, natural_needs_synthetic_data);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(partition_suite)
