/*
 * test_metrics.c — metrics rows, atomic writes, run folders, and client
 * sampling (server/).
 */
#include "fs_test.h"
#include "metrics.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

START_TEST(row_format_has_every_column) {
  fs_metrics_row r = {.round = 3,
                      .vtime_s = 1.5,
                      .clients = 10,
                      .bits_up = 8,
                      .bits_down = 16,
                      .bits_up_cum = 24,
                      .bits_down_cum = 48};
  char buf[512];
  fs_metrics_format(&r, buf, sizeof buf);
  int commas = 0;
  for (char *p = buf; *p; p++)
    commas += *p == ',';
  ck_assert_int_eq(commas, 22);
  ck_assert_str_eq(buf, "3,1.5,0.000000,10,8,16,24,48,,,,,0,0,0,,0,,,,,,0");
  r.has_eval = 1;
  r.test_acc = 0.5;
  r.has_grad = 1;
  r.grad_norm_sq = 0.25;
  fs_metrics_format(&r, buf, sizeof buf);
  r.bits_up_paper_cum = 7;
  fs_metrics_format(&r, buf, sizeof buf);
  ck_assert_str_eq(buf,
                   "3,1.5,0.000000,10,8,16,24,48,0,0,0.5,0.25,7,0,0,,0,,,,,,0");
  r.has_eps = 1;
  r.epsilon = 2.5;
  fs_metrics_format(&r, buf, sizeof buf);
  ck_assert_str_eq(
      buf, "3,1.5,0.000000,10,8,16,24,48,0,0,0.5,0.25,7,0,0,2.5,0,,,,,,0");
  r.rejected_nonfinite = 3;
  fs_metrics_format(&r, buf, sizeof buf);
  ck_assert_str_eq(
      buf, "3,1.5,0.000000,10,8,16,24,48,0,0,0.5,0.25,7,0,0,2.5,3,,,,,,0");
  r.has_gc = 1;
  r.gc_load = 0.375;
  r.gc_stragglers = 2;
  r.gc_exact = 1;
  fs_metrics_format(&r, buf, sizeof buf);
  ck_assert_str_eq(buf, "3,1.5,0.000000,10,8,16,24,48,0,0,0.5,0.25,7,0,0,2.5,3,"
                        "0.375,2,1,,,0");
  r.has_sa = 1;
  r.bits_secagg = 4096;
  r.secagg_ms = 1.25;
  r.rejected_frames = 4;
  fs_metrics_format(&r, buf, sizeof buf);
  ck_assert_str_eq(buf, "3,1.5,0.000000,10,8,16,24,48,0,0,0.5,0.25,7,0,0,2.5,3,"
                        "0.375,2,1,4096,1.250,4");
}
END_TEST

START_TEST(files_and_folders) {
  char dir[] = "/tmp/fs_metrics_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char sub[256];
  snprintf(sub, sizeof sub, "%s/a/b/c", dir);
  ck_assert_int_eq(fs_mkdir_p(sub, NULL), FS_OK);
  ck_assert_int_eq(fs_mkdir_p(sub, NULL), FS_OK);
  fs_metrics *m;
  ck_assert_int_eq(fs_metrics_open(sub, &m, NULL), FS_OK);
  fs_metrics_row r = {.round = 1};
  ck_assert_int_eq(fs_metrics_write(m, &r, NULL), FS_OK);
  fs_metrics_close(m);
  char path[300], line[512];
  snprintf(path, sizeof path, "%s/metrics.csv", sub);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  ck_assert_str_eq(line, FS_METRICS_COLUMNS "\n");
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  ck_assert(line[0] == '1');
  fclose(f);
  snprintf(path, sizeof path, "%s/x.json", sub);
  ck_assert_int_eq(fs_write_file_atomic(path, "{}\n", 3, NULL), FS_OK);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_size, 3);
}
END_TEST

START_TEST(unwritable_places_are_errors) {
  fs_err e = {0};
  ck_assert_int_eq(fs_mkdir_p("/proc/fedsim/x", &e), FS_EIO);
  ck_assert_ptr_nonnull(strstr(e.msg, "/proc/fedsim"));
  fs_metrics *m = NULL;
  ck_assert_int_eq(fs_metrics_open("/nonexistent/dir", &m, &e), FS_EIO);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(fs_write_file_atomic("/nonexistent/dir/x.json", "{}", 2, &e),
                   FS_EIO);
  ck_assert_int_eq(fs_mkdir_p("/dev/null", &e), FS_EIO);
}
END_TEST

START_TEST(sampling_without_replacement) {
  uint32_t out[1000];
  for (uint64_t r = 1; r < 50; r++) {
    ck_assert_int_eq(fs_sample_clients(7, r, 10000, 1000, out), FS_OK);
    for (int i = 1; i < 1000; i++)
      ck_assert_uint_lt(out[i - 1], out[i]); /* sorted, distinct */
    ck_assert_uint_lt(out[999], 10000);
  }
  uint32_t a[10], b[10];
  fs_sample_clients(7, 3, 100, 10, a);
  fs_sample_clients(7, 3, 100, 10, b);
  ck_assert_mem_eq(a, b, sizeof a);
  fs_sample_clients(7, 4, 100, 10, b);
  ck_assert(memcmp(a, b, sizeof a) != 0);
  ck_assert_int_eq(fs_sample_clients(7, 1, 5, 5, a), FS_OK);
  for (uint32_t i = 0; i < 5; i++)
    ck_assert_uint_eq(a[i], i);
  ck_assert_int_eq(fs_sample_clients(7, 1, 5, 6, a), FS_EINVAL);
}
END_TEST

START_TEST(sampling_is_uniform) {
  /* Each of 20 clients is picked with probability 5/20 per round. */
  int hits[20] = {0};
  uint32_t out[5];
  for (uint64_t r = 0; r < 20000; r++) {
    fs_sample_clients(11, r, 20, 5, out);
    for (int i = 0; i < 5; i++)
      hits[out[i]]++;
  }
  /* mean 5000, sd sqrt(20000*0.25*0.75) = 61 */
  for (int c = 0; c < 20; c++)
    ck_assert_int_lt(abs(hits[c] - 5000), 300);
}
END_TEST

START_TEST(poisson_sampling) {
  /* q = 0.2 over 1000 clients: mean 200 per round, sd 12.6; each client
   * taken with probability q; increasing; reproducible. */
  static uint32_t out[1000];
  static int hits[1000];
  double sum = 0;
  const int R = 400;
  for (int r = 0; r < R; r++) {
    uint32_t m = fs_sample_poisson(5, (uint64_t)r, 1000, 0.2, out);
    sum += m;
    for (uint32_t i = 0; i < m; i++) {
      if (i)
        ck_assert_uint_lt(out[i - 1], out[i]);
      ck_assert_uint_lt(out[i], 1000);
      hits[out[i]]++;
    }
  }
  ck_assert_double_eq_tol(sum / R, 200.0, 3.0); /* 5 sd of the mean */
  int lo = R, hi = 0;
  for (int c = 0; c < 1000; c++) {
    lo = hits[c] < lo ? hits[c] : lo;
    hi = hits[c] > hi ? hits[c] : hi;
  }
  /* Per client: mean 80, sd 8; over 1000 clients stay within ~4.5 sd. */
  ck_assert_int_gt(lo, 44);
  ck_assert_int_lt(hi, 116);
  uint32_t a[1000], b[1000];
  uint32_t ma = fs_sample_poisson(5, 7, 1000, 0.2, a);
  uint32_t mb = fs_sample_poisson(5, 7, 1000, 0.2, b);
  ck_assert_uint_eq(ma, mb);
  ck_assert_mem_eq(a, b, ma * sizeof a[0]);
  ck_assert_uint_eq(fs_sample_poisson(5, 7, 1000, 1.0, a), 1000);
  ck_assert_uint_eq(fs_sample_poisson(5, 7, 1000, 0.0, a), 0);
}
END_TEST

static Suite *metrics_suite(void) {
  Suite *s = suite_create("metrics");
  TCase *core = tcase_create("core");
  tcase_add_test(core, row_format_has_every_column);
  tcase_add_test(core, files_and_folders);
  tcase_add_test(core, sampling_without_replacement);
  tcase_add_test(core, sampling_is_uniform);
  tcase_add_test(core, poisson_sampling);
  suite_add_tcase(s, core);
  TCase *errs = tcase_create("errors");
  tcase_add_test(errs, unwritable_places_are_errors);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(metrics_suite)
