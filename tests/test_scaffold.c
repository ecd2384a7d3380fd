/*
 * test_scaffold.c — SCAFFOLD, option II (docs/local-methods.md,
 * "SCAFFOLD"): the recursion against the reference numbers of its check (a
 * quadratic per client, full-batch gradients), through the functions the
 * run uses (sim/local_scaffold.c's client step and control update, the
 * server optimiser's step, the server's c update); identical clients in
 * full participation give FedAvg; and the rows' refusals.
 */
#include "config.h"
#include "fs_test.h"
#include "local.h"
#include "optim.h"

#include <math.h>
#include <string.h>

/* f_i(y) = 1/2 sum_j a_ij (y_j - b_ij)^2. */
static const float A[3][2] = {{1, 2}, {2, 1}, {1, 1}};
static const float B[3][2] = {{1, 0}, {0, -1}, {1, 1}};

/* One SCAFFOLD round on clients S (n of them) of N = 3, K = 2 steps of
 * lr 0.1, server.lr 1, server.weighting uniform (p_i = 1/N), folded as
 * fedavg.c folds: acc = sum p_i (u_i, dc_i); x steps by acc / sum p_i. */
static void round_(const float a[3][2], const float b[3][2], const int *S,
                   int n, float x[2], float c[2], float ci[3][2]) {
  const float lr = 0.1f;
  double acc[4] = {0, 0, 0, 0}, wsum = 0.0, p = 1.0 / 3.0;
  for (int s = 0; s < n; s++) {
    int i = S[s];
    float y[2] = {x[0], x[1]}, g[2], u[2], dc[2];
    for (int k = 0; k < 2; k++) {
      for (int j = 0; j < 2; j++)
        g[j] = a[i][j] * (y[j] - b[i][j]);
      fs_scaffold_correct(g, c, ci[i], 2);
      fs_local_apply(y, g, x, lr, 0.0f, 2);
    }
    for (int j = 0; j < 2; j++)
      u[j] = x[j] - y[j];
    fs_scaffold_finish(ci[i], dc, u, c, 2.0 * (double)lr, 2);
    for (int j = 0; j < 2; j++) {
      acc[j] += p * u[j];
      acc[2 + j] += p * dc[j];
    }
    wsum += p;
  }
  acc[0] /= wsum;
  acc[1] /= wsum;
  fs_config cfg;
  fs_config_defaults(&cfg);
  double m[1], v[1];
  fs_optim_state o = {.row = fs_optim_at(FS_CFG_OPT_SGD), .m = m, .v = v};
  fs_optim_step(&o, &cfg, x, acc, 1.0, 2);
  fs_scaffold_server(c, acc + 2, 2);
}

static void near(float got, double want, const char *what, int t, int j) {
  ck_assert_msg(fabs(got - want) <= 2e-6 + 1e-5 * fabs(want),
                "round %d, %s_%d = %.8f, want %.8f", t, what, j, got, want);
}

START_TEST(option2_reference_numbers) {
  const int S[2][2] = {{0, 1}, {1, 2}};
  const double wx[2][2] = {{0.095, -0.095}, {0.22245833, -0.04686667}};
  const double wc[2][2] = {{-0.31666667, 0.31666667},
                           {-0.53041667, -0.05488889}};
  float x[2] = {0, 0}, c[2] = {0, 0}, ci[3][2] = {{0, 0}, {0, 0}, {0, 0}};
  for (int t = 0; t < 2; t++) {
    round_(A, B, S[t], 2, x, c, ci);
    for (int j = 0; j < 2; j++) {
      near(x[j], wx[t][j], "x", t + 1, j);
      near(c[j], wc[t][j], "c", t + 1, j);
    }
    if (t == 0) {
      near(ci[0][0], -0.95, "c0", 1, 0);
      near(ci[0][1], 0.0, "c0", 1, 1);
      near(ci[1][0], 0.0, "c1", 1, 0);
      near(ci[1][1], 0.95, "c1", 1, 1);
    }
  }
  near(ci[1][0], 0.20266667, "c1", 2, 0);
  near(ci[1][1], 0.89141667, "c1", 2, 1);
  near(ci[2][0], -0.84391667, "c2", 2, 0);
  near(ci[2][1], -1.05608333, "c2", 2, 1);
  near(ci[0][0], -0.95, "c0 (unsampled)", 2, 0);
}
END_TEST

/* Identical clients, all sampled: c_i = c after every round, so the
 * correction vanishes and SCAFFOLD's model is FedAvg's. */
START_TEST(identical_clients_are_fedavg) {
  const float a[3][2] = {{1, 2}, {1, 2}, {1, 2}};
  const float b[3][2] = {{1, -1}, {1, -1}, {1, -1}};
  const int S[3] = {0, 1, 2};
  float x[2] = {0, 0}, c[2] = {0, 0}, ci[3][2] = {{0, 0}, {0, 0}, {0, 0}};
  float f[2] = {0, 0};
  for (int t = 0; t < 4; t++) {
    round_(a, b, S, 3, x, c, ci);
    float y[2] = {f[0], f[1]}, g[2];
    for (int k = 0; k < 2; k++) {
      for (int j = 0; j < 2; j++)
        g[j] = a[0][j] * (y[j] - b[0][j]);
      fs_local_apply(y, g, f, 0.1f, 0.0f, 2);
    }
    f[0] = y[0];
    f[1] = y[1];
    for (int j = 0; j < 2; j++) {
      near(x[j], f[j], "x vs fedavg", t + 1, j);
      near(ci[0][j], c[j], "c0 vs c", t + 1, j);
    }
  }
}
END_TEST

static fs_status try_(const char *const *kv, size_t n, fs_err *e) {
  fs_config cfg;
  fs_config_defaults(&cfg);
  for (size_t i = 0; i + 1 < n; i += 2)
    ck_assert_int_eq(fs_config_set(&cfg, kv[i], kv[i + 1], e), FS_OK);
  return fs_config_validate(&cfg, e);
}

START_TEST(refusals) {
  fs_err e = {0};
  const char *ok[] = {"server.strategy", "scaffold", "local.mode", "scaffold"};
  ck_assert_int_eq(try_(ok, 4, &e), FS_OK);
  const char *alone[] = {"server.strategy", "scaffold"};
  ck_assert_int_eq(try_(alone, 2, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "local.mode scaffold"));
  const char *local[] = {"local.mode", "scaffold"};
  ck_assert_int_eq(try_(local, 2, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "server.strategy scaffold"));
  const char *bad[][2] = {{"compress.up", "topk"},
                          {"ef.method", "ef14"},
                          {"dp.clip", "flat"},
                          {"secure.aggregation", "secagg"},
                          {"server.aggregator", "median"},
                          {"run.checkpoint_every", "2"}};
  const char *opt[] = {"compress.up",       "ef.method",
                       "dp.clip",           "secure.aggregation",
                       "server.aggregator", "run.checkpoint_every"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *kv[] = {"server.strategy", "scaffold", "local.mode",
                        "scaffold",        bad[i][0],  bad[i][1]};
    ck_assert_int_eq(try_(kv, 6, &e), FS_ECONFIG);
    ck_assert_msg(strstr(e.msg, opt[i]) != NULL && strstr(e.msg, "scaffold"),
                  "%s: %s", opt[i], e.msg);
  }
}
END_TEST

static Suite *scaffold_suite(void) {
  Suite *s = suite_create("scaffold");
  TCase *core = tcase_create("core");
  tcase_add_test(core, option2_reference_numbers);
  tcase_add_test(core, identical_clients_are_fedavg);
  tcase_add_test(core, refusals);
  suite_add_tcase(s, core);
  return s;
}

FS_TEST_MAIN(scaffold_suite)
