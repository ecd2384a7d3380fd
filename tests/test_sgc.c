/*
 * test_sgc.c — the straggler schedulers: docs/stragglers.md's loads and
 * delays, its two worked examples (M-SGC 8.0 s, SR-SGC 4.0 s), the round-time
 * rule, GC decoding through the scheduler, and the schemes' guarantee: under
 * any admissible straggler pattern every job decodes by round t + T.
 */
#include "fs_rng.h"
#include "fs_test.h"
#include "sgc.h"

#include <math.h>
#include <string.h>

static fs_sgc *make(fs_sgc_scheme sc, int n, int s, int B, int W, int lam,
                    int jobs) {
  fs_sgc_params p = {.scheme = sc,
                     .code = FS_GCODE_CR,
                     .n = n,
                     .s = s,
                     .B = B,
                     .W = W,
                     .lambda = lam,
                     .jobs = jobs,
                     .seed = 1};
  fs_sgc *g;
  fs_err err = {0};
  ck_assert_msg(fs_sgc_new(&p, &g, &err) == FS_OK, "%s", err.msg);
  return g;
}

START_TEST(loads_and_delays) {
  fs_sgc *g = make(FS_SGC_GC, 4, 2, 0, 0, 0, 5);
  ck_assert_double_eq_tol(fs_sgc_load(g), 0.75, 1e-15);
  ck_assert_int_eq(fs_sgc_delay(g), 0);
  fs_sgc_free(g);
  g = make(FS_SGC_SR, 4, 0, 1, 2, 2, 5);
  ck_assert_int_eq(fs_sgc_tolerance(g), 1);
  ck_assert_double_eq_tol(fs_sgc_load(g), 0.5, 1e-15);
  ck_assert_int_eq(fs_sgc_delay(g), 1);
  fs_sgc_free(g);
  g = make(FS_SGC_M, 4, 0, 1, 2, 2, 5);
  ck_assert_double_eq_tol(fs_sgc_load(g), 0.375, 1e-15);
  ck_assert_int_eq(fs_sgc_delay(g), 1);
  fs_sgc_free(g);
  g = make(FS_SGC_M, 4, 0, 2, 3, 1, 5);
  ck_assert_double_eq_tol(fs_sgc_load(g), 1.0 / 3, 1e-15);
  ck_assert_int_eq(fs_sgc_delay(g), 3);
  ck_assert_int_eq(fs_sgc_rounds(g), 8);
  fs_sgc_free(g);
  g = make(FS_SGC_M, 256, 0, 1, 2, 27, 5);
  ck_assert_double_eq_tol(fs_sgc_load(g), 0.0075431, 5e-8);
  ck_assert_double_lt(fs_sgc_load(g), 2.0 / 256); /* below 2/n for B=1,W=2 */
  fs_sgc_free(g);
  g = make(FS_SGC_SR, 256, 0, 2, 3, 23, 5);
  ck_assert_int_eq(fs_sgc_tolerance(g), 12);
  ck_assert_double_eq_tol(fs_sgc_load(g), 13.0 / 256, 1e-15);
  fs_sgc_free(g);
  g = make(FS_SGC_NONE, 8, 0, 0, 0, 0, 5);
  ck_assert_double_eq_tol(fs_sgc_load(g), 1.0 / 8, 1e-15);
  fs_sgc_free(g);
}
END_TEST

/* Run a whole schedule with durations 5.0 s for (worker, round) in strag[]
 * and 1.0 s otherwise; per-round times go to dur[], waits to *waits. */
typedef struct {
  int w, r;
} wr;

static double run(fs_sgc *g, const wr *strag, int ns, double *dur, int *waits,
                  int *decoded_at) {
  int n = fs_sgc_workers(g), R = fs_sgc_rounds(g);
  double d[64], total = 0;
  unsigned char st[64];
  int dec[64], nd, nf;
  *waits = 0;
  for (int r = 0; r < R; r++) {
    for (int i = 0; i < n; i++) {
      d[i] = 1.0;
      for (int k = 0; k < ns; k++)
        if (strag[k].w == i && strag[k].r == r)
          d[i] = 5.0;
    }
    int waited;
    dur[r] = fs_sgc_round_time(g, d, st, &waited);
    *waits += waited;
    total += dur[r];
    ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
    ck_assert_int_eq(nf, 0);
    for (int k = 0; k < nd; k++)
      decoded_at[dec[k]] = r;
  }
  return total;
}

START_TEST(m_sgc_worked_example) {
  fs_sgc *g = make(FS_SGC_M, 4, 0, 2, 3, 1, 3);
  const wr strag[] = {{0, 0}, {0, 1}};
  double dur[16];
  int waits, at[3] = {-1, -1, -1};
  /* Check the re-do before running through round 2. */
  unsigned char none[4] = {0};
  double d[4] = {1, 1, 1, 1};
  int dec[8], nd, nf, waited;
  unsigned char st[4];
  d[0] = 5;
  ck_assert_double_eq(fs_sgc_round_time(g, d, st, &waited), 2.0);
  ck_assert_int_eq(st[0], 1);
  ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
  ck_assert_double_eq(fs_sgc_round_time(g, d, st, &waited), 2.0);
  ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
  int cnt;
  const fs_sgc_task *t = fs_sgc_tasks(g, 0, &cnt);
  ck_assert_int_eq(cnt, 3); /* r2: jobs 2, 1 (D1) and 0 (first D2 slot) */
  ck_assert_int_eq(t[2].job, 0);
  ck_assert_int_eq(t[2].kind, FS_SGC_TASK_D1);
  ck_assert_int_eq(t[2].index, 0);
  ck_assert_int_eq(t[2].redo, 1);
  t = fs_sgc_tasks(g, 1, &cnt); /* worker 1 owes nothing */
  ck_assert_int_eq(t[2].kind, FS_SGC_TASK_D2);
  ck_assert_int_eq(t[2].index, 0);
  (void)none;
  fs_sgc_free(g);

  g = make(FS_SGC_M, 4, 0, 2, 3, 1, 3);
  double total = run(g, strag, 2, dur, &waits, at);
  const double want[6] = {2, 2, 1, 1, 1, 1};
  for (int r = 0; r < 6; r++)
    ck_assert_double_eq(dur[r], want[r]);
  ck_assert_double_eq(total, 8.0);
  ck_assert_int_eq(waits, 0);
  ck_assert_int_eq(at[0], 3);
  ck_assert_int_eq(at[1], 4);
  ck_assert_int_eq(at[2], 5);
  fs_sgc_free(g);
}
END_TEST

START_TEST(sr_sgc_worked_example) {
  fs_sgc *g = make(FS_SGC_SR, 4, 0, 1, 2, 2, 3);
  double d[4] = {5, 5, 1, 1};
  unsigned char st[4];
  int dec[8], nd, nf, waited, cnt;
  ck_assert_double_eq(fs_sgc_round_time(g, d, st, &waited), 2.0);
  ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
  ck_assert_int_eq(nd, 0); /* 2 failed > s = 1 */
  const fs_sgc_task *t = fs_sgc_tasks(g, 0, &cnt);
  ck_assert_int_eq(cnt, 1);
  ck_assert_int_eq(t[0].job, 0); /* w0 re-does its job-0 task in r1 */
  ck_assert_int_eq(t[0].redo, 1);
  t = fs_sgc_tasks(g, 1, &cnt);
  ck_assert_int_eq(t[0].job, 1); /* only v - s = 1 re-does */
  fs_sgc_free(g);

  g = make(FS_SGC_SR, 4, 0, 1, 2, 2, 3);
  const wr strag[] = {{0, 0}, {1, 0}};
  double dur[8];
  int waits, at[3] = {-1, -1, -1};
  double total = run(g, strag, 2, dur, &waits, at);
  ck_assert_int_eq(fs_sgc_rounds(g), 4);
  const double want[4] = {2, 1, 1, 0};
  for (int r = 0; r < 4; r++)
    ck_assert_double_eq(dur[r], want[r]);
  ck_assert_double_eq(total, 4.0);
  ck_assert_int_eq(waits, 0);
  ck_assert_int_eq(at[0], 1);
  ck_assert_int_eq(at[1], 1);
  ck_assert_int_eq(at[2], 2);
  fs_sgc_free(g);
}
END_TEST

START_TEST(round_rule_and_waits) {
  /* GC s = 1: one straggler accepted (2 min d = 2 < 5), two are not. */
  fs_sgc *g = make(FS_SGC_GC, 4, 1, 0, 0, 0, 2);
  double d[4] = {1, 1, 5, 1.5};
  unsigned char st[4];
  int waited;
  ck_assert_double_eq(fs_sgc_round_time(g, d, st, &waited), 2.0);
  ck_assert_int_eq(waited, 0);
  ck_assert_int_eq(st[2], 1);
  ck_assert_int_eq(st[3], 0); /* 1.5 <= 2 min d */
  double d2[4] = {1, 3, 5, 1};
  ck_assert_double_eq(fs_sgc_round_time(g, d2, st, &waited), 5.0);
  ck_assert_int_eq(waited, 1);
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(st[i], 0);
  /* No straggler: the round lasts max d (below 2 min d). */
  double d3[4] = {1, 1.2, 1.9, 1};
  ck_assert_double_eq(fs_sgc_round_time(g, d3, st, &waited), 1.9);
  fs_sgc_free(g);
  /* No coding waits for anyone slow. */
  g = make(FS_SGC_NONE, 4, 0, 0, 0, 0, 2);
  ck_assert_double_eq(fs_sgc_round_time(g, d, st, &waited), 5.0);
  ck_assert_int_eq(waited, 1);
  fs_sgc_free(g);
}
END_TEST

START_TEST(gc_decodes_through_scheduler) {
  for (int kind = 0; kind < 2; kind++) {
    fs_sgc_params p = {.scheme = FS_SGC_GC,
                       .code = (fs_gcode_kind)kind,
                       .n = 6,
                       .s = 2,
                       .jobs = 1,
                       .seed = 3};
    fs_sgc *g;
    ck_assert_int_eq(fs_sgc_new(&p, &g, NULL), FS_OK);
    unsigned char st[6] = {0, 1, 0, 0, 1, 0};
    int dec[4], nd, nf, exact;
    ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
    ck_assert_int_eq(nd, 1);
    double a[6];
    ck_assert_int_eq(fs_sgc_job_coefs(g, 0, a, NULL, &exact, NULL), FS_OK);
    ck_assert_int_eq(exact, 1);
    ck_assert_double_eq(a[1], 0.0);
    ck_assert_double_eq(a[4], 0.0);
    ck_assert_double_le(fs_gcode_residual(fs_sgc_code(g), a), 1e-9);
    /* The task terms reproduce B's rows. */
    int piece[6], cnt;
    double coef[6];
    const fs_sgc_task t = {0, FS_SGC_TASK_GC, 0, 0};
    cnt = fs_sgc_task_terms(g, 3, &t, piece, coef);
    ck_assert_int_eq(cnt, 3);
    ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_ERANGE);
    fs_sgc_free(g);
  }
  /* ignore: fastest n - s, rescaled by n/|F|, flagged not exact. */
  fs_sgc *g = make(FS_SGC_IGNORE, 4, 1, 0, 0, 0, 1);
  unsigned char st[4] = {0, 0, 1, 0};
  int dec[4], nd, nf, exact;
  ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
  double a[4];
  ck_assert_int_eq(fs_sgc_job_coefs(g, 0, a, NULL, &exact, NULL), FS_OK);
  ck_assert_int_eq(exact, 0);
  ck_assert_double_eq_tol(a[0], 4.0 / 3, 1e-15);
  ck_assert_double_eq(a[2], 0.0);
  fs_sgc_free(g);
}
END_TEST

/* Random admissible patterns: each round, workers start bursts with
 * probability p (lengths up to B) or continue them; workers are dropped from
 * the proposal, highest id first, until the set is admissible. Every job
 * must decode by t + T and decoding must be exact. */
static void guarantee(fs_sgc_scheme sc, int n, int B, int W, int lam, int jobs,
                      double p, uint64_t seed, int *strag_total) {
  fs_sgc *g = make(sc, n, 0, B, W, lam, jobs);
  int T = fs_sgc_delay(g), R = fs_sgc_rounds(g);
  int burst_end[64];
  for (int i = 0; i < n; i++)
    burst_end[i] = -1;
  unsigned char st[64];
  int dec[64], nd, nf;
  int *at = malloc((size_t)jobs * sizeof *at);
  for (int t = 0; t < jobs; t++)
    at[t] = -1;
  double coef_gc[64], coef_d2[64 * 8];
  for (int r = 0; r < R; r++) {
    fs_rng rng;
    fs_rng_init(&rng, seed, FS_RNG_TEST, (uint64_t)n, (uint64_t)r);
    for (int i = 0; i < n; i++) {
      int cnt;
      fs_sgc_tasks(g, i, &cnt);
      if (burst_end[i] < r && fs_rng_uniform(&rng) < p)
        burst_end[i] = r + (int)fs_rng_below(&rng, (uint64_t)B);
      st[i] = cnt > 0 && burst_end[i] >= r;
    }
    for (int i = n - 1; i >= 0 && !fs_sgc_admissible(g, st); i--)
      if (st[i]) {
        st[i] = 0;
        burst_end[i] = -1;
      }
    ck_assert(fs_sgc_admissible(g, st));
    for (int i = 0; i < n; i++)
      *strag_total += st[i];
    ck_assert_int_eq(fs_sgc_end_round(g, st, dec, &nd, &nf), FS_OK);
    ck_assert_msg(nf == 0, "scheme %d n=%d (%d,%d,%d) round %d: job failed",
                  (int)sc, n, B, W, lam, r);
    for (int k = 0; k < nd; k++) {
      int exact;
      fs_err err = {0};
      at[dec[k]] = r;
      ck_assert_msg(
          fs_sgc_job_coefs(g, dec[k], coef_gc, coef_d2, &exact, &err) == FS_OK,
          "%s", err.msg);
      ck_assert_int_eq(exact, 1);
    }
  }
  for (int t = 0; t < jobs; t++) {
    ck_assert_int_ge(at[t], t);
    ck_assert_int_le(at[t], t + T);
  }
  free(at);
  fs_sgc_free(g);
}

START_TEST(every_job_decodes_under_the_model) {
  int strag = 0;
  const int cfg[][4] = {{8, 1, 2, 2},  {8, 2, 3, 3},  {9, 2, 5, 4},
                        {12, 1, 3, 5}, {10, 3, 4, 6}, {6, 1, 4, 5}};
  for (size_t q = 0; q < sizeof cfg / sizeof cfg[0]; q++)
    for (uint64_t seed = 0; seed < 6; seed++) {
      const int *c = cfg[q];
      guarantee(FS_SGC_SR, c[0], c[1], c[2], c[3], 40, 0.3, seed, &strag);
      guarantee(FS_SGC_M, c[0], c[1], c[2], c[3], 40, 0.3, seed, &strag);
    }
  ck_assert_int_gt(strag, 1000); /* the patterns had stragglers */
}
END_TEST

START_TEST(impossible_parameters) {
  fs_sgc_params p = {.scheme = FS_SGC_M,
                     .code = FS_GCODE_CR,
                     .n = 4,
                     .B = 2,
                     .W = 2,
                     .lambda = 1,
                     .jobs = 3};
  fs_sgc *g = (fs_sgc *)1;
  fs_err err = {0};
  ck_assert_int_eq(fs_sgc_new(&p, &g, &err), FS_EINVAL);
  ck_assert_ptr_null(g);
  ck_assert_ptr_nonnull(strstr(err.msg, "1 <= B < W"));
  p.W = 3;
  p.lambda = 4;
  ck_assert_int_eq(fs_sgc_new(&p, &g, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "lambda = 4"));
  p.scheme = FS_SGC_SR;
  p.B = 2;
  p.W = 4;
  p.lambda = 1;
  ck_assert_int_eq(fs_sgc_new(&p, &g, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "divide W - 1"));
  p.scheme = FS_SGC_GC;
  p.code = FS_GCODE_FR;
  p.s = 2; /* 3 does not divide 4 */
  ck_assert_int_eq(fs_sgc_new(&p, &g, &err), FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "divide n"));
  p.code = FS_GCODE_CR;
  p.jobs = 0;
  ck_assert_int_eq(fs_sgc_new(&p, &g, &err), FS_EINVAL);
  fs_sgc_scheme sc;
  ck_assert_int_eq(fs_sgc_scheme_parse("m-sgc", &sc), FS_OK);
  ck_assert_int_eq(sc, FS_SGC_M);
  ck_assert_int_eq(fs_sgc_scheme_parse("msgc", &sc), FS_EINVAL);
}
END_TEST

static Suite *sgc_suite(void) {
  Suite *s = suite_create("sgc");
  TCase *core = tcase_create("core");
  tcase_add_test(core, loads_and_delays);
  tcase_add_test(core, m_sgc_worked_example);
  tcase_add_test(core, sr_sgc_worked_example);
  tcase_add_test(core, round_rule_and_waits);
  tcase_add_test(core, gc_decodes_through_scheduler);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, every_job_decodes_under_the_model);
  suite_add_tcase(s, limits);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, impossible_parameters);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(sgc_suite)
