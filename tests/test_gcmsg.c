/*
 * test_gcmsg.c — GC_TASK bodies: a round trip, and every kind of malformed
 * body (truncations at every length, bad counts, row ranges, coefficients,
 * model references and values) gives a status, never a crash.
 */
#include "frame.h"
#include "fs_test.h"
#include "gcmsg.h"
#include "wire.h"

#include <math.h>
#include <string.h>

enum { D = 3 };

static size_t golden(uint8_t *buf) {
  const float m0[D] = {1, 2, 3}, m1[D] = {-1, 0.5f, 4};
  const float *models[2] = {m0, m1};
  fs_gcmsg_term terms[3] = {{0, 5, 0.5}, {5, 5, -1.25}, {10, 2, 1.0}};
  fs_gcmsg_task tasks[2] = {{.model = 1, .nterms = 2, .term0 = 0},
                            {.model = 0, .nterms = 1, .term0 = 2}};
  size_t len = fs_gcmsg_task_size(2, 3, 2, D);
  fs_gcmsg_task_encode(tasks, 2, terms, models, 2, D, buf);
  return len;
}

static fs_status dec(const uint8_t *buf, size_t len, fs_err *err) {
  fs_gcmsg_task tasks[4];
  fs_gcmsg_term terms[8];
  const uint8_t *at[4];
  size_t nt, nm;
  return fs_gcmsg_task_decode(buf, len, D, 12, tasks, 4, &nt, terms, 8, at, 4,
                              &nm, err);
}

START_TEST(round_trip) {
  uint8_t buf[256];
  size_t len = golden(buf);
  ck_assert_uint_eq(len, 4 + 8 * 2 + 16 * 3 + 4 + 2 * (4 + 4 * D));
  fs_gcmsg_task tasks[4];
  fs_gcmsg_term terms[8];
  const uint8_t *at[4];
  size_t nt, nm;
  ck_assert_int_eq(fs_gcmsg_task_decode(buf, len, D, 12, tasks, 4, &nt, terms,
                                        8, at, 4, &nm, NULL),
                   FS_OK);
  ck_assert_uint_eq(nt, 2);
  ck_assert_uint_eq(nm, 2);
  ck_assert_uint_eq(tasks[0].model, 1);
  ck_assert_uint_eq(tasks[1].term0, 2);
  ck_assert_double_eq(terms[1].coef, -1.25);
  ck_assert_uint_eq(terms[2].row0, 10);
  float m[D];
  fs_gcmsg_model_get(at[1], D, m);
  ck_assert_float_eq(m[1], 0.5f);
}
END_TEST

START_TEST(every_truncation_fails) {
  uint8_t buf[256];
  size_t len = golden(buf);
  for (size_t l = 0; l < len; l++) {
    fs_err err = {0};
    fs_status st = dec(buf, l, &err);
    ck_assert_msg(st == FS_ETRUNC || st == FS_EFORMAT, "len %zu: %d", l,
                  (int)st);
  }
  uint8_t big[300];
  memcpy(big, buf, len);
  big[len] = 0;
  ck_assert_int_eq(dec(big, len + 1, NULL), FS_EFORMAT);
}
END_TEST

START_TEST(bad_fields) {
  uint8_t buf[256], b[256];
  size_t len = golden(buf);
  fs_err err = {0};
  /* Term 0's rows = 0. */
  memcpy(b, buf, len);
  fs_put_u32(b + 4 + 8 + 4, 0);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.msg, "outside"));
  /* Term 2 runs past row 12. */
  memcpy(b, buf, len);
  fs_put_u32(b + 4 + 8 + 32 + 8 + 4, 3);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
  /* A NaN coefficient. */
  memcpy(b, buf, len);
  fs_put_f64(b + 4 + 8 + 8, NAN);
  ck_assert_int_eq(dec(b, len, &err), FS_ENUMERIC);
  /* Task 0 uses model 7. */
  memcpy(b, buf, len);
  fs_put_u32(b + 4, 7);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.msg, "model 7"));
  /* Too many tasks, too many terms. */
  memcpy(b, buf, len);
  fs_put_u32(b, 5);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
  memcpy(b, buf, len);
  fs_put_u32(b + 8, 9);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
  /* An infinite model value. */
  memcpy(b, buf, len);
  fs_put_f32(b + len - 4, INFINITY);
  ck_assert_int_eq(dec(b, len, &err), FS_ENUMERIC);
  /* The model's float count is wrong. */
  memcpy(b, buf, len);
  fs_put_u32(b + len - (4 + 4 * D), D + 1);
  ck_assert_int_eq(dec(b, len, &err), FS_EFORMAT);
}
END_TEST

static Suite *gcmsg_suite(void) {
  Suite *s = suite_create("gcmsg");
  TCase *core = tcase_create("core");
  tcase_add_test(core, round_trip);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, every_truncation_fails);
  tcase_add_test(errors, bad_fields);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(gcmsg_suite)
