/*
 * test_local.c — the local-method table (sim/local.h): every row well
 * formed and in the order of fs_config.h's FS_CFG_LOCAL_*, the job sizes
 * the virtual clock reads, and FedProx's step against the numbers of
 * docs/local-methods.md (a quadratic per client, full-batch gradients).
 */
#include "config.h"
#include "fs_test.h"
#include "local.h"

#include <math.h>
#include <string.h>

START_TEST(rows_are_well_formed) {
  const char *first[] = {"epochs", "steps", "full_gradient",
                         "stochastic_gradient"};
  const int idx[] = {FS_CFG_LOCAL_EPOCHS, FS_CFG_LOCAL_STEPS,
                     FS_CFG_LOCAL_FULL_GRADIENT,
                     FS_CFG_LOCAL_STOCHASTIC_GRADIENT};
  for (size_t i = 0; i < 4; i++)
    ck_assert_str_eq(fs_local_at((size_t)idx[i])->base.name, first[i]);
  size_t n = 0;
  for (; fs_local_at(n) != NULL; n++) {
    const fs_local_method *m = fs_local_at(n);
    ck_assert(m->run != NULL);
    ck_assert(m->samples != NULL);
    ck_assert_ptr_nonnull(m->base.help);
  }
  ck_assert_uint_ge(n, 5);
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_set(&c, "local.mode", "fedprox", &e), FS_OK);
  ck_assert_str_eq(fs_local_at((size_t)c.local_mode)->base.name, "fedprox");
  ck_assert_str_eq(FS_CFG_NAME(&c, local_mode), "fedprox");
  ck_assert_int_eq(fs_config_set(&c, "local.mode", "fedpox", &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "fedprox"));
}
END_TEST

START_TEST(job_sizes) {
  fs_config c;
  fs_config_defaults(&c);
  c.local_epochs = 3;
  c.local_steps = 7;
  c.local_batch = 16;
  ck_assert_uint_eq(fs_local_at(FS_CFG_LOCAL_EPOCHS)->samples(&c, 100), 300);
  ck_assert_uint_eq(fs_local_at(FS_CFG_LOCAL_STEPS)->samples(&c, 100), 112);
  ck_assert_uint_eq(fs_local_at(FS_CFG_LOCAL_FULL_GRADIENT)->samples(&c, 100),
                    100);
  ck_assert_uint_eq(
      fs_local_at(FS_CFG_LOCAL_STOCHASTIC_GRADIENT)->samples(&c, 10), 10);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_set(&c, "local.mode", "fedprox", &e), FS_OK);
  ck_assert_uint_eq(fs_local_at((size_t)c.local_mode)->samples(&c, 100), 300);
}
END_TEST

/* docs/local-methods.md, FedProx check: f_i(y) = 1/2 sum_j a_ij (y_j -
 * b_ij)^2, N = 3, x^0 = 0, K = 2 full-batch steps, lr 0.1, mu = 0.1,
 * rounds with clients {0, 1} then {1, 2}, the plain mean of the models. */
START_TEST(fedprox_reference_numbers) {
  const float a[3][2] = {{1, 2}, {2, 1}, {1, 1}};
  const float b[3][2] = {{1, 0}, {0, -1}, {1, 1}};
  const int S[2][2] = {{0, 1}, {1, 2}};
  const double want[2][2] = {{0.0945, -0.0945}, {0.16315425, -0.0766395}};
  float x[2] = {0, 0};
  for (int t = 0; t < 2; t++) {
    float next[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
      int i = S[t][s];
      float w[2] = {x[0], x[1]}, g[2];
      for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 2; j++)
          g[j] = a[i][j] * (w[j] - b[i][j]);
        fs_local_apply(w, g, x, 0.1f, 0.1f, 2);
      }
      next[0] += 0.5f * w[0];
      next[1] += 0.5f * w[1];
    }
    x[0] = next[0];
    x[1] = next[1];
    for (int j = 0; j < 2; j++)
      ck_assert_msg(fabs(x[j] - want[t][j]) <= 1e-5 * fabs(want[t][j]),
                    "round %d, x_%d = %.8f, want %.8f", t + 1, j, x[j],
                    want[t][j]);
  }
  /* mu = 0 is plain SGD, bit for bit. */
  float w[2] = {0.5f, -0.25f}, v[2] = {0.5f, -0.25f}, g[2] = {0.3f, 0.7f};
  float x0[2] = {9, 9};
  fs_local_apply(w, g, x0, 0.1f, 0.0f, 2);
  for (int j = 0; j < 2; j++)
    v[j] -= 0.1f * g[j];
  ck_assert(w[0] == v[0] && w[1] == v[1]);
}
END_TEST

static Suite *local_suite(void) {
  Suite *s = suite_create("local");
  TCase *core = tcase_create("core");
  tcase_add_test(core, rows_are_well_formed);
  tcase_add_test(core, job_sizes);
  tcase_add_test(core, fedprox_reference_numbers);
  suite_add_tcase(s, core);
  return s;
}

FS_TEST_MAIN(local_suite)
