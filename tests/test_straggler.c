/*
 * test_straggler.c — straggler models: frequencies and moments of the random
 * ones, conformance of bursty patterns to the (B, W, lambda) model (checked
 * here independently and by the SGC scheduler), traces and their errors.
 */
#include "fs_test.h"
#include "sgc.h"
#include "straggler.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static fs_strag *make(fs_strag_params p) {
  fs_strag *s;
  fs_err err = {0};
  ck_assert_msg(fs_strag_new(&p, &s, &err) == FS_OK, "%s", err.msg);
  return s;
}

START_TEST(iid_frequency_and_determinism) {
  fs_strag_params p = {
      .kind = FS_STRAG_IID, .n = 50, .p = 0.2, .slowdown = 5, .seed = 4};
  fs_strag *s = make(p), *s2 = make(p);
  double f[50], f2[50];
  long hits = 0, total = 0;
  for (int r = 0; r < 400; r++) {
    fs_strag_factors(s, r, f);
    for (int i = 0; i < 50; i++) {
      ck_assert(f[i] == 1.0 || f[i] == 5.0);
      hits += f[i] == 5.0;
      total++;
    }
  }
  ck_assert_double_eq_tol((double)hits / total, 0.2, 0.01);
  /* Random access gives the same rounds. */
  fs_strag_factors(s, 17, f);
  fs_strag_factors(s2, 17, f2);
  ck_assert_mem_eq(f, f2, sizeof f);
  fs_strag_free(s);
  fs_strag_free(s2);
  p.kind = FS_STRAG_NONE;
  s = make(p);
  fs_strag_factors(s, 3, f);
  for (int i = 0; i < 50; i++)
    ck_assert_double_eq(f[i], 1.0);
  fs_strag_free(s);
}
END_TEST

START_TEST(distributions_moments) {
  enum { N = 100, R = 400 };
  double f[N];
  fs_strag_params p = {.kind = FS_STRAG_EXP, .n = N, .param = 0.5, .seed = 1};
  fs_strag *s = make(p);
  double sum = 0;
  for (int r = 0; r < R; r++) {
    fs_strag_factors(s, r, f);
    for (int i = 0; i < N; i++) {
      ck_assert_double_ge(f[i], 1.0);
      sum += f[i] - 1;
    }
  }
  ck_assert_double_eq_tol(sum / (N * R), 0.5, 0.01);
  fs_strag_free(s);
  p.kind = FS_STRAG_PARETO;
  p.param = 3;
  s = make(p);
  long above = 0; /* P(f > 2) = 2^-3 */
  for (int r = 0; r < R; r++) {
    fs_strag_factors(s, r, f);
    for (int i = 0; i < N; i++) {
      ck_assert_double_ge(f[i], 1.0);
      above += f[i] > 2;
    }
  }
  ck_assert_double_eq_tol((double)above / (N * R), 0.125, 0.01);
  fs_strag_free(s);
  p.kind = FS_STRAG_LOGNORMAL;
  p.param = 0.3;
  s = make(p);
  double m = 0, m2 = 0;
  for (int r = 0; r < R; r++) {
    fs_strag_factors(s, r, f);
    for (int i = 0; i < N; i++) {
      m += log(f[i]);
      m2 += log(f[i]) * log(f[i]);
    }
  }
  m /= N * R;
  ck_assert_double_eq_tol(m, 0.0, 0.01);
  ck_assert_double_eq_tol(sqrt(m2 / (N * R) - m * m), 0.3, 0.01);
  fs_strag_free(s);
}
END_TEST

/* Independent check of the (B, W, lambda) model over rounds 0..R-1. */
static void check_bursty(const unsigned char *pat, int R, int n, int B, int W,
                         int lam) {
  for (int w0 = 0; w0 + W <= R; w0++) {
    int distinct = 0;
    for (int i = 0; i < n; i++) {
      int first = -1, last = -1;
      for (int q = w0; q < w0 + W; q++)
        if (pat[q * n + i]) {
          if (first < 0)
            first = q;
          last = q;
        }
      if (first >= 0) {
        distinct++;
        ck_assert_int_le(last - first + 1, B);
      }
    }
    ck_assert_int_le(distinct, lam);
  }
}

START_TEST(bursty_conforms) {
  const int cfg[][4] = {{16, 2, 3, 4}, {8, 1, 2, 2}, {32, 3, 7, 5}};
  for (int q = 0; q < 3; q++) {
    int n = cfg[q][0], B = cfg[q][1], W = cfg[q][2], lam = cfg[q][3];
    enum { R = 300 };
    fs_strag_params p = {.kind = FS_STRAG_BURSTY,
                         .n = n,
                         .p = 0.3,
                         .slowdown = 5,
                         .B = B,
                         .W = W,
                         .lambda = lam,
                         .seed = 11};
    fs_strag *s = make(p);
    unsigned char *pat = calloc((size_t)R * n, 1);
    double f[32];
    long cnt = 0;
    int longest = 0;
    for (int r = 0; r < R; r++) {
      fs_strag_factors(s, r, f);
      for (int i = 0; i < n; i++) {
        pat[r * n + i] = f[i] == 5.0;
        cnt += pat[r * n + i];
      }
    }
    for (int i = 0; i < n; i++)
      for (int r = 0, run = 0; r < R; r++) {
        run = pat[r * n + i] ? run + 1 : 0;
        longest = run > longest ? run : longest;
      }
    ck_assert_int_gt(cnt, R / 2); /* not trivially empty */
    ck_assert_int_eq(longest, B); /* bursts reach length B */
    check_bursty(pat, R, n, B, W, lam);
    /* Asking for an earlier round regenerates the same pattern. */
    fs_strag_factors(s, 5, f);
    for (int i = 0; i < n; i++)
      ck_assert_int_eq(f[i] == 5.0, pat[5 * n + i]);
    /* The SGC scheduler accepts every round of it. */
    if ((W - 1) % B == 0) {
      fs_sgc_params sp = {.scheme = FS_SGC_SR,
                          .code = FS_GCODE_CR,
                          .n = n,
                          .B = B,
                          .W = W,
                          .lambda = lam,
                          .jobs = R - B};
      fs_sgc *g;
      ck_assert_int_eq(fs_sgc_new(&sp, &g, NULL), FS_OK);
      int dec[16], nd, nf;
      for (int r = 0; r < R; r++) {
        ck_assert(fs_sgc_admissible(g, pat + r * n));
        ck_assert_int_eq(fs_sgc_end_round(g, pat + r * n, dec, &nd, &nf),
                         FS_OK);
        ck_assert_int_eq(nf, 0);
      }
      fs_sgc_free(g);
    }
    free(pat);
    fs_strag_free(s);
  }
}
END_TEST

static char *write_tmp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/fs_trace_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

START_TEST(trace_reads_and_cycles) {
  char *path = write_tmp("round,worker,factor\n0,1,3.5\n2,0,7\n");
  fs_strag_params p = {.kind = FS_STRAG_TRACE, .n = 3, .trace = path};
  fs_strag *s = make(p);
  double f[3];
  fs_strag_factors(s, 0, f);
  ck_assert_double_eq(f[0], 1.0);
  ck_assert_double_eq(f[1], 3.5);
  fs_strag_factors(s, 2, f);
  ck_assert_double_eq(f[0], 7.0);
  fs_strag_factors(s, 3, f); /* round 3 = trace round 0 */
  ck_assert_double_eq(f[1], 3.5);
  fs_strag_free(s);
  unlink(path);
}
END_TEST

START_TEST(trace_errors) {
  fs_err err = {0};
  fs_strag *s;
  const char *bad[] = {"round,worker,factor\n0,1,2\n1,5,2\n",
                       "round,worker,factor\n0,1,2\n1,x,2\n",
                       "round,worker,factor\n0,1,-2\n",
                       "round,worker,factor\n0,1,nan\n",
                       "round,worker,factor\n0,1,2,9\n",
                       "round,worker,factor\n"};
  const char *want[] = {"line 3", "line 3", "line 2",
                        "line 2", "line 2", "no rows"};
  for (int k = 0; k < 6; k++) {
    char *path = write_tmp(bad[k]);
    fs_strag_params p = {.kind = FS_STRAG_TRACE, .n = 3, .trace = path};
    ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EFORMAT);
    ck_assert_msg(strstr(err.msg, want[k]) != NULL, "%d: %s", k, err.msg);
    unlink(path);
  }
  fs_strag_params p = {
      .kind = FS_STRAG_TRACE, .n = 3, .trace = "/nonexistent/t.csv"};
  ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EIO);
  ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/t.csv"));
}
END_TEST

START_TEST(bad_parameters) {
  fs_err err = {0};
  fs_strag *s;
  fs_strag_params p = {.kind = FS_STRAG_IID, .n = 4, .p = 1.5, .slowdown = 5};
  ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "p = 1.5"));
  p.p = NAN;
  ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EINVAL);
  p = (fs_strag_params){.kind = FS_STRAG_BURSTY,
                        .n = 4,
                        .p = 0.1,
                        .slowdown = 5,
                        .B = 3,
                        .W = 3,
                        .lambda = 1};
  ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "B = 3, W = 3"));
  p = (fs_strag_params){.kind = FS_STRAG_PARETO, .n = 4, .param = 0};
  ck_assert_int_eq(fs_strag_new(&p, &s, &err), FS_EINVAL);
  fs_strag_kind k;
  ck_assert_int_eq(fs_strag_kind_parse("bursty", &k), FS_OK);
  ck_assert_int_eq(k, FS_STRAG_BURSTY);
  ck_assert_int_eq(fs_strag_kind_parse("burst", &k), FS_EINVAL);
}
END_TEST

static Suite *straggler_suite(void) {
  Suite *s = suite_create("straggler");
  TCase *core = tcase_create("core");
  tcase_add_test(core, iid_frequency_and_determinism);
  tcase_add_test(core, distributions_moments);
  tcase_add_test(core, bursty_conforms);
  tcase_add_test(core, trace_reads_and_cycles);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, trace_errors);
  tcase_add_test(errors, bad_parameters);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(straggler_suite)
