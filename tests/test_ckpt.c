/*
 * test_ckpt.c — the checkpoint file format (sim/ckpt.c): round trips,
 * refusals of truncated, corrupt, other-version, other-kind and
 * other-configuration files, atomic writes that fail cleanly, the
 * configuration as text, and the memory estimate (server_ckpt.c).
 */
#include "ckpt.h"
#include "fs_test.h"
#include "server_ckpt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_A FS_CKPT_TAG('A', 'A', 'A', 'A')
#define T_B FS_CKPT_TAG('B', 'B', 'B', 'B')
#define T_C FS_CKPT_TAG('C', 'C', 'C', 'C')
#define T_D FS_CKPT_TAG('D', 'D', 'D', 'D')

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/fs_ckpt_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* A file with a few records of each kind; returns its length. */
static uint64_t write_sample(const char *path, uint32_t *crc) {
  fs_ckpt_writer *w = fs_ckpt_writer_new(FS_CKPT_SERVER, 0x1234, 7);
  ck_assert_ptr_nonnull(w);
  float f[3] = {1.5f, -0.0f, 3.25e-30f};
  double d[2] = {0.1, -1e300};
  uint64_t u[2] = {42, UINT64_MAX};
  fs_ckpt_put_f32s(w, T_A, f, 3);
  fs_ckpt_put_f64s(w, T_B, d, 2);
  fs_ckpt_put_u64s(w, T_C, u, 2);
  fs_ckpt_put_id_f32s(w, T_D, 9, f, 3);
  fs_ckpt_put_id_f32s(w, T_D, 11, f, 2);
  uint64_t len = 0;
  ck_assert_int_eq(fs_ckpt_writer_save(w, path, crc, &len, NULL), FS_OK);
  fs_ckpt_writer_free(w);
  return len;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*len);
  ck_assert_uint_eq(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}

static void spit(const char *path, const uint8_t *b, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, len, f), len);
  fclose(f);
}

START_TEST(round_trip) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  uint32_t crc = 0;
  uint64_t len = write_sample(path, &crc);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_uint_eq((uint64_t)sb.st_size, len);
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_ne(access(tmp, F_OK), 0); /* no temporary left */
  uint64_t h = 0x1234, a = 7;
  fs_ckpt_reader *r = NULL;
  ck_assert_int_eq(fs_ckpt_reader_open(path, FS_CKPT_SERVER, &h, &a, &r, NULL),
                   FS_OK);
  ck_assert_uint_eq(fs_ckpt_reader_crc(r), crc);
  ck_assert_uint_eq(fs_ckpt_reader_length(r), len);
  ck_assert_uint_eq(fs_ckpt_reader_aggregation(r), 7);
  float f[3];
  double d[2];
  uint64_t u[2];
  ck_assert_int_eq(fs_ckpt_get_f32s(r, T_A, f, 3, NULL), FS_OK);
  ck_assert(f[0] == 1.5f && f[2] == 3.25e-30f && signbit(f[1]));
  ck_assert_int_eq(fs_ckpt_get_f64s(r, T_B, d, 2, NULL), FS_OK);
  ck_assert(d[0] == 0.1 && d[1] == -1e300);
  ck_assert_int_eq(fs_ckpt_get_u64s(r, T_C, u, 2, NULL), FS_OK);
  ck_assert(u[0] == 42 && u[1] == UINT64_MAX);
  /* Repeated records, walked in order. */
  size_t pos = 0, l;
  uint32_t tag;
  const uint8_t *p;
  int seen = 0;
  while (fs_ckpt_next(r, &pos, &tag, &p, &l))
    if (tag == T_D) {
      ck_assert_uint_eq(fs_ckpt_le32(p), seen ? 11 : 9);
      ck_assert_uint_eq(l, seen ? 12 : 16);
      seen++;
    }
  ck_assert_int_eq(seen, 2);
  /* Wrong length and absent tag are errors that name the record. */
  fs_err e = {0};
  ck_assert_int_eq(fs_ckpt_get_f32s(r, T_A, f, 2, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "AAAA"));
  ck_assert_int_eq(fs_ckpt_get_u64(r, FS_CKPT_TAG('Z', 'Z', 'Z', 'Z'), u, &e),
                   FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "no record ZZZZ"));
  fs_ckpt_reader_free(r);
}
END_TEST

START_TEST(refuses_mismatch) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  write_sample(path, NULL);
  fs_ckpt_reader *r = NULL;
  fs_err e = {0};
  uint64_t h = 0x9999, a = 8;
  ck_assert_int_eq(
      fs_ckpt_reader_open(path, FS_CKPT_WORKER, NULL, NULL, &r, &e),
      FS_EFORMAT);
  ck_assert_ptr_nonnull(
      strstr(e.msg, "holds a server state, expected a worker"));
  ck_assert_int_eq(fs_ckpt_reader_open(path, FS_CKPT_SERVER, &h, NULL, &r, &e),
                   FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "another configuration"));
  ck_assert_int_eq(fs_ckpt_reader_open(path, FS_CKPT_SERVER, NULL, &a, &r, &e),
                   FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "aggregation 7, expected 8"));
  ck_assert_ptr_null(r);
}
END_TEST

START_TEST(refuses_every_truncation) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  write_sample(path, NULL);
  size_t len;
  uint8_t *b = slurp(path, &len);
  char cut[140];
  snprintf(cut, sizeof cut, "%s/cut.bin", dir);
  for (size_t n = 0; n < len; n++) {
    spit(cut, b, n);
    fs_ckpt_reader *r = NULL;
    fs_err e = {0};
    fs_status st = fs_ckpt_reader_open(cut, FS_CKPT_SERVER, NULL, NULL, &r, &e);
    ck_assert_msg(st == FS_ETRUNC || st == FS_EFORMAT, "cut at %zu: %d", n,
                  (int)st);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(e.msg, cut));
    if (n >= FS_CKPT_HEADER_BYTES)
      ck_assert_msg(st == FS_ETRUNC && strstr(e.msg, "truncated"),
                    "cut at %zu: %s", n, e.msg);
  }
  free(b);
}
END_TEST

START_TEST(refuses_every_flipped_byte) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  write_sample(path, NULL);
  size_t len;
  uint8_t *b = slurp(path, &len);
  char bad[140];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);
  for (size_t i = 0; i < len; i++) {
    b[i] ^= 0x10;
    spit(bad, b, len);
    b[i] ^= 0x10;
    fs_ckpt_reader *r = NULL;
    fs_err e = {0};
    fs_status st = fs_ckpt_reader_open(bad, FS_CKPT_SERVER, NULL, NULL, &r, &e);
    ck_assert_msg(st != FS_OK, "flip at %zu accepted", i);
    ck_assert_ptr_null(r);
    if (i >= 12 && i < len - 8)
      ck_assert_msg(strstr(e.msg, "bad checksum") != NULL, "flip at %zu: %s", i,
                    e.msg);
  }
  free(b);
}
END_TEST

START_TEST(refuses_other_version) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  write_sample(path, NULL);
  size_t len;
  uint8_t *b = slurp(path, &len);
  b[8] = FS_CKPT_VERSION + 1;
  spit(path, b, len);
  free(b);
  fs_ckpt_reader *r = NULL;
  fs_err e = {0};
  ck_assert_int_eq(
      fs_ckpt_reader_open(path, FS_CKPT_SERVER, NULL, NULL, &r, &e),
      FS_EVERSION);
  ck_assert_ptr_nonnull(strstr(e.msg, "format version 2, this fedsim reads "
                                      "version 1"));
}
END_TEST

START_TEST(failed_write_keeps_old_file) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.bin", dir);
  uint32_t crc0;
  write_sample(path, &crc0);
  /* A path whose folder is a regular file: the write fails, names the
   * file and the reason, and leaves nothing behind. */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/s.bin/x.bin", dir);
  fs_ckpt_writer *w = fs_ckpt_writer_new(FS_CKPT_SERVER, 1, 1);
  fs_ckpt_put_u64(w, T_C, 5);
  fs_err e = {0};
  ck_assert_int_eq(fs_ckpt_writer_save(w, bad, NULL, NULL, &e), FS_EIO);
  ck_assert_ptr_nonnull(strstr(e.msg, "Not a directory"));
  fs_ckpt_writer_free(w);
  fs_ckpt_reader *r = NULL;
  ck_assert_int_eq(
      fs_ckpt_reader_open(path, FS_CKPT_SERVER, NULL, NULL, &r, NULL), FS_OK);
  ck_assert_uint_eq(fs_ckpt_reader_crc(r), crc0);
  fs_ckpt_reader_free(r);
}
END_TEST

START_TEST(config_text) {
  fs_config a, b;
  fs_config_defaults(&a);
  ck_assert_int_eq(fs_config_set(&a, "local.lr", "0.125", NULL), FS_OK);
  ck_assert_int_eq(fs_config_set(&a, "model.hidden", "16,8", NULL), FS_OK);
  ck_assert_int_eq(fs_config_set(&a, "eval.targets", "0.5,0.75", NULL), FS_OK);
  ck_assert_int_eq(fs_config_set(&a, "run.seed", "18446744073709551615", NULL),
                   FS_OK);
  ck_assert_int_eq(fs_config_set(&a, "run.progress", "off", NULL), FS_OK);
  char *ta = fs_ckpt_config_text(&a);
  ck_assert_ptr_nonnull(ta);
  ck_assert_ptr_null(strstr(ta, "run.progress")); /* may change on resume */
  ck_assert_ptr_nonnull(strstr(ta, "local.lr\t0.125\n"));
  fs_config_defaults(&b);
  ck_assert_int_eq(fs_ckpt_config_apply(&b, ta, NULL), FS_OK);
  char *tb = fs_ckpt_config_text(&b);
  ck_assert_str_eq(ta, tb);
  ck_assert_uint_eq(fs_ckpt_config_hash(ta), fs_ckpt_config_hash(tb));
  char diff[512];
  ck_assert_uint_eq(fs_ckpt_config_diff(ta, tb, diff, sizeof diff), 0);
  ck_assert_int_eq(fs_config_set(&b, "local.lr", "0.25", NULL), FS_OK);
  ck_assert_int_eq(fs_config_set(&b, "clients.num", "7", NULL), FS_OK);
  free(tb);
  tb = fs_ckpt_config_text(&b);
  ck_assert_uint_ne(fs_ckpt_config_hash(ta), fs_ckpt_config_hash(tb));
  ck_assert_uint_eq(fs_ckpt_config_diff(ta, tb, diff, sizeof diff), 2);
  ck_assert_ptr_nonnull(strstr(diff, "clients.num (100 in the checkpoint, 7 "
                                     "now)"));
  ck_assert_ptr_nonnull(strstr(diff, "local.lr (0.125 in the checkpoint, 0.25 "
                                     "now)"));
  fs_err e = {0};
  ck_assert_int_eq(fs_ckpt_config_apply(&b, "local.lr\tabc\n", &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "local.lr"));
  ck_assert_int_eq(fs_ckpt_config_apply(&b, "no tab here\n", &e), FS_ECONFIG);
  free(ta);
  free(tb);
}
END_TEST

START_TEST(memory_estimate) {
  fs_config c;
  fs_config_defaults(&c);
  c.clients = 1000000;
  ck_assert_int_eq(fs_config_set(&c, "ef.method", "ef14", NULL), FS_OK);
  c.memory_limit = 1e9;
  double s, w;
  fs_err e = {0};
  /* 1e6 clients x 1e4 floats of EF memory = 40 GB over 3 workers. */
  ck_assert_int_eq(fs_ckpt_memory_check(&c, 10000, 1e6, 4, 1, &s, &w, &e),
                   FS_ERANGE);
  ck_assert(w > 4.0 * 10000 * (1e6 / 3) && w < 1.1 * 4.0 * 10000 * (1e6 / 3));
  ck_assert_ptr_nonnull(strstr(e.msg, "run.memory_limit is 953.7 MiB"));
  ck_assert_ptr_nonnull(strstr(e.msg, "1000000 clients of 10000 parameters"));
  /* Without error feedback the clients cost almost nothing. */
  ck_assert_int_eq(fs_config_set(&c, "ef.method", "none", NULL), FS_OK);
  ck_assert_int_eq(fs_ckpt_memory_check(&c, 10000, 1e6, 4, 1, &s, &w, &e),
                   FS_OK);
  ck_assert(w < 1e8);
  /* More workers spread the state. */
  ck_assert_int_eq(fs_config_set(&c, "ef.method", "ef21", NULL), FS_OK);
  c.memory_limit = 0.5e9;
  ck_assert_int_eq(fs_ckpt_memory_check(&c, 1000, 1e6, 17, 1, &s, &w, &e),
                   FS_OK);
  ck_assert_int_eq(fs_ckpt_memory_check(&c, 1000, 1e6, 5, 1, &s, &w, &e),
                   FS_ERANGE);
}
END_TEST

static Suite *ckpt_suite(void) {
  Suite *s = suite_create("ckpt");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, round_trip);
  tcase_add_test(core, config_text);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_checked_fixture(errors, setup, teardown);
  tcase_add_test(errors, refuses_mismatch);
  tcase_add_test(errors, refuses_every_truncation);
  tcase_add_test(errors, refuses_every_flipped_byte);
  tcase_add_test(errors, refuses_other_version);
  tcase_add_test(errors, failed_write_keeps_old_file);
  suite_add_tcase(s, errors);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, memory_estimate);
  suite_add_tcase(s, limits);
  return s;
}

FS_TEST_MAIN(ckpt_suite)
