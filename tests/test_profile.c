/*
 * test_profile.c — system profiles (distributions and CSV traces) and the
 * virtual duration of a job.
 */
#include "fs_test.h"
#include "profile.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static fs_profile_spec spec(fs_dist d, double spread) {
  fs_profile_spec s = {
      .dist = d, .spread = spread, .mean = {1000.0, 1e6, 1e7, 0.01}, .seed = 4};
  return s;
}

START_TEST(constant_is_the_mean) {
  fs_profile_spec s = spec(FS_DIST_CONSTANT, 0.5);
  fs_profiles *p;
  ck_assert_int_eq(fs_profiles_new(&s, "", 10, &p, NULL), FS_OK);
  for (uint32_t c = 0; c < 10; c++) {
    fs_profile pr = fs_profiles_get(p, c);
    ck_assert_double_eq(pr.speed, 1000.0);
    ck_assert_double_eq(pr.bw_up, 1e6);
  }
  fs_profiles_free(p);
}
END_TEST

START_TEST(lognormal_mean_and_determinism) {
  fs_profile_spec s = spec(FS_DIST_LOGNORMAL, 0.5);
  fs_profiles *p;
  ck_assert_int_eq(fs_profiles_new(&s, NULL, 20000, &p, NULL), FS_OK);
  double sum = 0;
  for (uint32_t c = 0; c < 20000; c++) {
    fs_profile pr = fs_profiles_get(p, c);
    ck_assert(pr.speed > 0);
    sum += pr.speed;
  }
  /* mean of mean*exp(sZ - s^2/2) is mean; sd = mean*sqrt(e^{s^2}-1) = 533. */
  ck_assert_double_eq_tol(sum / 20000, 1000.0, 20.0);
  fs_profile a = fs_profiles_get(p, 123), b = fs_profiles_get(p, 123);
  ck_assert(a.speed == b.speed && a.latency == b.latency);
  fs_profile c = fs_profiles_get(p, 124);
  ck_assert(a.speed != c.speed);
  fs_profiles_free(p);
}
END_TEST

START_TEST(uniform_stays_in_range) {
  fs_profile_spec s = spec(FS_DIST_UNIFORM, 0.5);
  fs_profiles *p;
  ck_assert_int_eq(fs_profiles_new(&s, NULL, 5000, &p, NULL), FS_OK);
  for (uint32_t c = 0; c < 5000; c++) {
    fs_profile pr = fs_profiles_get(p, c);
    ck_assert(pr.speed >= 500.0 && pr.speed <= 1500.0);
  }
  fs_profiles_free(p);
}
END_TEST

START_TEST(exponential_mean_and_spread) {
  fs_profile_spec s = spec(FS_DIST_EXPONENTIAL, 0);
  fs_profiles *p;
  ck_assert_int_eq(fs_profiles_new(&s, NULL, 20000, &p, NULL), FS_OK);
  double sum = 0, sum2 = 0;
  for (uint32_t c = 0; c < 20000; c++) {
    double v = fs_profiles_get(p, c).speed;
    ck_assert(v > 0);
    sum += v;
    sum2 += v * v;
  }
  double mean = sum / 20000, sd = sqrt(sum2 / 20000 - mean * mean);
  /* Exp with mean 1000: sd 1000; standard error of the mean 7. */
  ck_assert_double_eq_tol(mean, 1000.0, 40.0);
  ck_assert_double_eq_tol(sd, 1000.0, 60.0);
  fs_dist d;
  ck_assert_int_eq(fs_dist_parse("exponential", &d), FS_OK);
  ck_assert_int_eq(d, FS_DIST_EXPONENTIAL);
  ck_assert_int_eq(fs_dist_parse("pareto", &d), FS_EINVAL);
  fs_profiles_free(p);
}
END_TEST

START_TEST(job_seconds_adds_up) {
  fs_profile pr = {
      .speed = 100, .bw_up = 1000, .bw_down = 2000, .latency = 0.5};
  /* 0.5 + 4000/2000 + 300/100 + 0.5 + 1000/1000 = 7 */
  ck_assert_double_eq_tol(fs_job_seconds(&pr, 4000, 300, 1000), 7.0, 1e-12);
}
END_TEST

static char *trace(const char *text) {
  static char path[] = "/tmp/fs_trace_XXXXXX";
  snprintf(path, sizeof path, "/tmp/fs_trace_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

START_TEST(trace_is_read) {
  char *p = trace("client,speed,bw_up,bw_down,latency\n1,10,20,30,0.1\n"
                  "0,1,2,3,0\n");
  fs_profile_spec s = spec(FS_DIST_LOGNORMAL, 1);
  fs_profiles *pp;
  fs_err e = {0};
  ck_assert_int_eq(fs_profiles_new(&s, p, 2, &pp, &e), FS_OK);
  fs_profile a = fs_profiles_get(pp, 1);
  ck_assert_double_eq(a.speed, 10);
  ck_assert_double_eq(a.latency, 0.1);
  ck_assert_double_eq(fs_profiles_get(pp, 0).bw_down, 3);
  fs_profiles_free(pp);
  remove(p);
}
END_TEST

static void bad_trace(const char *text, size_t n, const char *needle) {
  char *p = trace(text);
  fs_profile_spec s = spec(FS_DIST_CONSTANT, 0);
  fs_profiles *pp = NULL;
  fs_err e = {0};
  ck_assert_int_eq(fs_profiles_new(&s, p, n, &pp, &e), FS_EFORMAT);
  ck_assert_ptr_null(pp);
  ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in '%s'", needle,
                e.msg);
  remove(p);
}

START_TEST(bad_traces_are_named) {
  const char *h = "client,speed,bw_up,bw_down,latency\n";
  char b[256];
  bad_trace("id,speed\n0,1,1,1,1\n", 1, "header");
  snprintf(b, sizeof b, "%s0,1,1,1\n", h);
  bad_trace(b, 1, "expected 5 fields");
  snprintf(b, sizeof b, "%s0,1,1,1,1,1\n", h);
  bad_trace(b, 1, "more than 5");
  snprintf(b, sizeof b, "%s0,x,1,1,1\n", h);
  bad_trace(b, 1, ":2: field 2");
  snprintf(b, sizeof b, "%s0,1,1,1,1\n0,1,1,1,1\n", h);
  bad_trace(b, 2, "appears twice");
  snprintf(b, sizeof b, "%s0,1,1,1,1\n", h);
  bad_trace(b, 2, "client 1 is missing");
  snprintf(b, sizeof b, "%s5,1,1,1,1\n", h);
  bad_trace(b, 1, "not in 0..0");
  snprintf(b, sizeof b, "%s0,0,1,1,1\n", h);
  bad_trace(b, 1, "must be > 0");
  snprintf(b, sizeof b, "%s0,nan,1,1,1\n", h);
  bad_trace(b, 1, "field 2");
}
END_TEST

static Suite *profile_suite(void) {
  Suite *s = suite_create("profile");
  TCase *core = tcase_create("core");
  tcase_add_test(core, constant_is_the_mean);
  tcase_add_test(core, lognormal_mean_and_determinism);
  tcase_add_test(core, uniform_stays_in_range);
  tcase_add_test(core, job_seconds_adds_up);
  tcase_add_test(core, exponential_mean_and_spread);
  tcase_add_test(core, trace_is_read);
  suite_add_tcase(s, core);
  TCase *errs = tcase_create("errors");
  tcase_add_test(errs, bad_traces_are_named);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(profile_suite)
