/*
 * test_gcode.c — gradient codes: docs/stragglers.md's n = 3, s = 1 example, the
 * shape of fractional and cyclic repetition, exhaustive decoding over every
 * survivor set of size n - s for small n, random sets for larger n, exact
 * recovery of a full gradient, and refusal of impossible parameters.
 */
#include "fs_rng.h"
#include "fs_test.h"
#include "gcode.h"

#include <math.h>
#include <string.h>

START_TEST(algorithms_n3_s1_example) {
  const double B[9] = {0.5, 1, 0, 0, 1, -1, 0.5, 0, 1};
  fs_gcode *c;
  fs_err err = {0};
  ck_assert_int_eq(fs_gcode_from_matrix(3, 1, B, &c, &err), FS_OK);
  /* survivors {1,2}, {1,3}, {2,3} -> a = (2,-1,.), (1,.,1), (.,1,2) */
  const unsigned char alive[3][3] = {{1, 1, 0}, {1, 0, 1}, {0, 1, 1}};
  const double want[3][3] = {{2, -1, 0}, {1, 0, 1}, {0, 1, 2}};
  for (int k = 0; k < 3; k++) {
    double a[3];
    ck_assert_int_eq(fs_gcode_decode(c, alive[k], a, &err), FS_OK);
    for (int i = 0; i < 3; i++)
      ck_assert_double_eq_tol(a[i], want[k][i], 1e-12);
    ck_assert_double_le(fs_gcode_residual(c, a), 1e-12);
  }
  /* One survivor is not enough: row 2 alone is not a multiple of 1^T. */
  const unsigned char one[3] = {0, 1, 0};
  double a[3];
  ck_assert_int_eq(fs_gcode_decode(c, one, a, &err), FS_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.msg, "cannot decode"));
  fs_gcode_free(c);
}
END_TEST

START_TEST(fractional_repetition_shape) {
  fs_gcode *c;
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_FR, 6, 2, 1, &c, NULL), FS_OK);
  const double *B = fs_gcode_matrix(c);
  for (int i = 0; i < 6; i++) {
    int cnt;
    const int *sup = fs_gcode_support(c, i, &cnt);
    ck_assert_int_eq(cnt, 3);
    ck_assert_int_eq(sup[0], (i / 3) * 3);
    for (int j = 0; j < 6; j++)
      ck_assert_double_eq(B[i * 6 + j], (j / 3 == i / 3) ? 1.0 : 0.0);
  }
  fs_gcode_free(c);
}
END_TEST

START_TEST(cyclic_repetition_shape) {
  fs_gcode *c;
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 7, 3, 5, &c, NULL), FS_OK);
  const double *B = fs_gcode_matrix(c);
  for (int i = 0; i < 7; i++) {
    ck_assert_double_eq(B[i * 7 + i], 1.0);
    for (int j = 0; j < 7; j++) {
      int off = (j - i + 7) % 7;
      if (off > 3)
        ck_assert_double_eq(B[i * 7 + j], 0.0);
      else
        ck_assert(B[i * 7 + j] != 0.0);
    }
  }
  /* Same seed, same code; another seed, another code. */
  fs_gcode *c2, *c3;
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 7, 3, 5, &c2, NULL), FS_OK);
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 7, 3, 6, &c3, NULL), FS_OK);
  ck_assert_mem_eq(B, fs_gcode_matrix(c2), 49 * sizeof(double));
  ck_assert(memcmp(B, fs_gcode_matrix(c3), 49 * sizeof(double)) != 0);
  fs_gcode_free(c);
  fs_gcode_free(c2);
  fs_gcode_free(c3);
}
END_TEST

/* Decode every survivor set of size n - s (bit mask enumeration) and also
 * check the decoded combination of coded messages equals the sum of the part
 * gradients. */
static void exhaustive(fs_gcode_kind kind, int n, int s, int *sets) {
  fs_gcode *c;
  fs_err err = {0};
  ck_assert_msg(fs_gcode_new(kind, n, s, 42, &c, &err) == FS_OK, "%s", err.msg);
  const double *B = fs_gcode_matrix(c);
  enum { D = 3 };
  double g[16][D], msg[16][D], full[D] = {0};
  fs_rng r;
  fs_rng_init(&r, 9, FS_RNG_TEST, (uint64_t)n, (uint64_t)s);
  for (int j = 0; j < n; j++)
    for (int k = 0; k < D; k++) {
      g[j][k] = fs_rng_normal(&r);
      full[k] += g[j][k];
    }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < D; k++) {
      msg[i][k] = 0;
      for (int j = 0; j < n; j++)
        msg[i][k] += B[i * n + j] * g[j][k];
    }
  for (unsigned mask = 0; mask < (1u << n); mask++) {
    if (__builtin_popcount(mask) != n - s)
      continue;
    unsigned char alive[16];
    for (int i = 0; i < n; i++)
      alive[i] = (mask >> i) & 1;
    double a[16];
    ck_assert_msg(fs_gcode_decode(c, alive, a, &err) == FS_OK,
                  "n=%d s=%d mask=%x: %s", n, s, mask, err.msg);
    ck_assert_double_le(fs_gcode_residual(c, a), 1e-9);
    for (int i = 0; i < n; i++)
      if (!alive[i])
        ck_assert_double_eq(a[i], 0.0);
    for (int k = 0; k < D; k++) {
      double got = 0;
      for (int i = 0; i < n; i++)
        got += a[i] * msg[i][k];
      ck_assert_double_eq_tol(got, full[k], 1e-9 * (1 + fabs(full[k])));
    }
    (*sets)++;
  }
  fs_gcode_free(c);
}

START_TEST(exhaustive_small_n) {
  int sets = 0;
  for (int n = 1; n <= 10; n++)
    for (int s = 0; s < n; s++) {
      exhaustive(FS_GCODE_CR, n, s, &sets);
      if (n % (s + 1) == 0)
        exhaustive(FS_GCODE_FR, n, s, &sets);
    }
  ck_assert_int_gt(sets, 2000); /* the loops really ran */
}
END_TEST

START_TEST(random_sets_larger_n) {
  const int cases[][2] = {{16, 3}, {24, 5},   {32, 7},  {48, 2},
                          {64, 7}, {256, 15}, {256, 27}};
  fs_rng r;
  fs_rng_init(&r, 3, FS_RNG_TEST, 0, 0);
  for (size_t q = 0; q < sizeof cases / sizeof cases[0]; q++) {
    int n = cases[q][0], s = cases[q][1];
    for (int kind = 0; kind < 2; kind++) {
      if (kind == FS_GCODE_FR && n % (s + 1) != 0)
        continue;
      fs_gcode *c;
      fs_err err = {0};
      ck_assert_int_eq(fs_gcode_new(kind, n, s, 7, &c, &err), FS_OK);
      unsigned char alive[256];
      double a[256];
      uint32_t perm[256];
      for (int t = 0; t < (n > 64 ? 20 : 200); t++) {
        for (int i = 0; i < n; i++)
          perm[i] = (uint32_t)i;
        fs_rng_shuffle_u32(&r, perm, (size_t)n);
        memset(alive, 1, sizeof alive);
        for (int k = 0; k < s; k++)
          alive[perm[k]] = 0;
        ck_assert_msg(fs_gcode_decode(c, alive, a, &err) == FS_OK,
                      "n=%d s=%d: %s", n, s, err.msg);
        ck_assert_double_le(fs_gcode_residual(c, a), 1e-8);
      }
      fs_gcode_free(c);
    }
  }
}
END_TEST

START_TEST(too_many_stragglers_refused) {
  /* FR, n = 6, s = 1: losing both workers of group 0 cannot decode. */
  fs_gcode *c;
  fs_err err = {0};
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_FR, 6, 1, 1, &c, NULL), FS_OK);
  unsigned char alive[6] = {0, 0, 1, 1, 1, 1};
  double a[6];
  ck_assert_int_eq(fs_gcode_decode(c, alive, a, &err), FS_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.msg, "group 0..1"));
  fs_gcode_free(c);
  /* CR, n = 5, s = 1: three survivors are fewer than n - s = 4. */
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 5, 1, 1, &c, NULL), FS_OK);
  unsigned char alive5[5] = {1, 0, 1, 0, 1};
  ck_assert_int_eq(fs_gcode_decode(c, alive5, a, &err), FS_ERANGE);
  for (int i = 0; i < 5; i++)
    ck_assert_double_eq(a[i], 0.0);
  fs_gcode_free(c);
}
END_TEST

START_TEST(impossible_parameters) {
  fs_gcode *c = (fs_gcode *)1;
  fs_err err = {0};
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_FR, 10, 3, 1, &c, &err), FS_EINVAL);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(strstr(err.msg, "divide n"));
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 4, 4, 1, &c, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "s = 4"));
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 4, -1, 1, &c, &err), FS_EINVAL);
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_CR, 0, 0, 1, &c, &err), FS_EINVAL);
  ck_assert_int_eq(fs_gcode_new(FS_GCODE_MATRIX, 4, 1, 1, &c, &err), FS_EINVAL);
  const double bad[4] = {1, 0, NAN, 1};
  ck_assert_int_eq(fs_gcode_from_matrix(2, 0, bad, &c, &err), FS_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(err.msg, "B[1][0]"));
}
END_TEST

static Suite *gcode_suite(void) {
  Suite *s = suite_create("gcode");
  TCase *core = tcase_create("core");
  tcase_add_test(core, algorithms_n3_s1_example);
  tcase_add_test(core, fractional_repetition_shape);
  tcase_add_test(core, cyclic_repetition_shape);
  tcase_add_test(core, exhaustive_small_n);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, random_sets_larger_n);
  suite_add_tcase(s, limits);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, too_many_stragglers_refused);
  tcase_add_test(errors, impossible_parameters);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(gcode_suite)
