/*
 * test_sched.c — the virtual clock's event queue and the asynchronous
 * strategies' scheduler, against the reference counts in docs/async.md
 * (Fraboni et al.: M = 20 clients, scenario F-80, T = 5000, in
 * integer ticks of 1/(100(M-1))).
 */
#include "async_sched.h"
#include "eventq.h"
#include "fs_rng.h"
#include "fs_test.h"

#include <stdlib.h>

START_TEST(eventq_orders_by_time_then_id) {
  fs_eventq *q;
  ck_assert_int_eq(fs_eventq_new(1, &q), FS_OK);
  fs_rng r;
  fs_rng_init(&r, 1, FS_RNG_TEST, 0, 0);
  for (int i = 0; i < 5000; i++)
    fs_eventq_push(q, (fs_event){(int64_t)fs_rng_below(&r, 50),
                                 (uint32_t)fs_rng_below(&r, 1000), 0});
  fs_event prev = {-1, 0, 0}, e;
  size_t n = 0;
  while (fs_eventq_pop(q, &e)) {
    ck_assert(!fs_event_before(e, prev));
    prev = e;
    n++;
  }
  ck_assert_uint_eq(n, 5000);
  ck_assert_int_eq(fs_eventq_peek(q, &e), 0);
  fs_eventq_free(q);
  fs_eventq_free(NULL);
}
END_TEST

enum { M = 20, P = 80, D = 100 * (M - 1) };
static int64_t tau(uint32_t i) { return D - (int64_t)i * P; }

/* Run a strategy in F-80 to the end; lazy = report finishes only on NEED. */
static uint64_t run(fs_strat strat, uint32_t buffer, double delta, int lazy,
                    uint64_t *drops, uint32_t max_stale) {
  fs_sched_spec sp = {.strat = strat,
                      .buffer = buffer,
                      .delta = (int64_t)(delta * D + 0.5),
                      .budget = 5000LL * D,
                      .max_staleness = max_stale};
  fs_sched *s;
  fs_err e = {0};
  ck_assert_int_eq(fs_sched_new(&sp, M, &s, &e), FS_OK);
  int64_t fin[M];
  for (uint32_t i = 0; i < M; i++) {
    fin[i] = tau(i);
    ck_assert_int_eq(fs_sched_start(s, i, 0, fin[i], 0), FS_OK);
    if (!lazy)
      fs_sched_finish(s, i, fin[i]);
  }
  uint64_t aggs = 0;
  *drops = 0;
  /* Plain checks in the loop (Check's asserts talk to the parent process on
   * every call in fork mode: far too slow for 2e5 events), one assert at the
   * end. */
  int bad = 0;
  for (;;) {
    fs_sched_step st;
    bad |= fs_sched_next(s, &st) != FS_OK;
    if (st.action == FS_SCHED_DONE)
      break;
    if (st.action == FS_SCHED_NEED) {
      bad |= !lazy;
      bad |= fs_sched_finish(s, st.client, fin[st.client]) != FS_OK;
      continue;
    }
    if (st.action == FS_SCHED_DROP) {
      (*drops)++;
      fin[st.client] = st.t + tau(st.client);
      fs_sched_start(s, st.client, st.t, fin[st.client], fs_sched_version(s));
      if (!lazy)
        fs_sched_finish(s, st.client, fin[st.client]);
      continue;
    }
    aggs++;
    bad |= st.version != aggs;
    for (size_t k = 0; k < st.nset; k++) {
      if (k)
        bad |= st.set[k - 1] >= st.set[k];
      uint32_t c = st.set[k];
      fin[c] = st.t + tau(c);
      fs_sched_start(s, c, st.t, fin[c], st.version);
      if (!lazy)
        fs_sched_finish(s, c, fin[c]);
    }
  }
  ck_assert_msg(!bad, "scheduler step out of order or failed");
  fs_sched_free(s);
  return aggs;
}

START_TEST(reference_counts_f80) {
  uint64_t d;
  for (int lazy = 0; lazy < 2; lazy++) {
    ck_assert_uint_eq(run(FS_STRAT_ASYNC, 0, 0, lazy, &d, UINT32_MAX), 206530);
    ck_assert_uint_eq(run(FS_STRAT_FEDFIX, 0, 0.2, lazy, &d, UINT32_MAX),
                      25000);
    ck_assert_uint_eq(run(FS_STRAT_FEDFIX, 0, 0.5, lazy, &d, UINT32_MAX),
                      10000);
    ck_assert_uint_eq(run(FS_STRAT_FEDFIX, 0, 0.8, lazy, &d, UINT32_MAX), 6250);
    ck_assert_uint_eq(run(FS_STRAT_FEDBUFF, 5, 0, lazy, &d, UINT32_MAX), 36083);
    ck_assert_uint_eq(run(FS_STRAT_FEDBUFF, 10, 0, lazy, &d, UINT32_MAX),
                      15935);
    ck_assert_uint_eq(d, 0);
  }
}
END_TEST

START_TEST(staleness_and_drops) {
  /* Two clients, durations 1 and 3: in async FedAvg the slow one comes back
   * after the fast one made versions 1, 2, 3 at t = 1, 2, 3; at t = 3 the
   * fast client (id 0) goes first, so the slow one's staleness is 3. */
  fs_sched_spec sp = {
      .strat = FS_STRAT_ASYNC, .max_staleness = UINT32_MAX, .max_aggs = 4};
  fs_sched *s;
  ck_assert_int_eq(fs_sched_new(&sp, 2, &s, NULL), FS_OK);
  fs_sched_start(s, 0, 0, 1, 0);
  fs_sched_finish(s, 0, 1);
  fs_sched_start(s, 1, 0, 3, 0);
  fs_sched_finish(s, 1, 3);
  fs_sched_step st;
  for (int k = 1; k <= 3; k++) {
    fs_sched_next(s, &st);
    ck_assert_int_eq(st.action, FS_SCHED_AGGREGATE);
    ck_assert_uint_eq(st.set[0], 0);
    ck_assert_uint_eq(st.stale[0], 0);
    ck_assert_int_eq(st.t, k);
    fs_sched_start(s, 0, k, k + 1, st.version);
    fs_sched_finish(s, 0, k + 1);
  }
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_AGGREGATE);
  ck_assert_uint_eq(st.set[0], 1);
  ck_assert_uint_eq(st.stale[0], 3);
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_DONE); /* max_aggs */
  fs_sched_free(s);
  /* With max_staleness 2 the same return is dropped. */
  uint64_t drops;
  run(FS_STRAT_ASYNC, 0, 0, 0, &drops, 2);
  ck_assert_uint_gt(drops, 0);
}
END_TEST

START_TEST(need_asks_for_the_earliest_unknown_job) {
  fs_sched_spec sp = {.strat = FS_STRAT_ASYNC, .max_staleness = UINT32_MAX};
  fs_sched *s;
  ck_assert_int_eq(fs_sched_new(&sp, 3, &s, NULL), FS_OK);
  fs_sched_start(s, 0, 0, 5, 0);
  fs_sched_start(s, 1, 0, 2, 0);
  fs_sched_start(s, 2, 0, 9, 0);
  fs_sched_finish(s, 0, 6);
  fs_sched_step st;
  fs_sched_next(s, &st); /* client 1 could finish at 2 < 6 */
  ck_assert_int_eq(st.action, FS_SCHED_NEED);
  ck_assert_uint_eq(st.client, 1);
  fs_sched_finish(s, 1, 7); /* later than client 0 after all */
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_AGGREGATE);
  ck_assert_uint_eq(st.set[0], 0);
  ck_assert_int_eq(st.t, 6);
  ck_assert_uint_eq(fs_sched_unreported(s), 1);
  fs_sched_free(s);
}
END_TEST

START_TEST(fedfix_counts_empty_rounds) {
  /* One client of duration 10, delta 3, budget 12: timers at 3, 6, 9, 12;
   * only the one at 12 has a return. */
  fs_sched_spec sp = {.strat = FS_STRAT_FEDFIX,
                      .delta = 3,
                      .budget = 12,
                      .max_staleness = UINT32_MAX};
  fs_sched *s;
  ck_assert_int_eq(fs_sched_new(&sp, 1, &s, NULL), FS_OK);
  fs_sched_start(s, 0, 0, 10, 0);
  fs_sched_finish(s, 0, 10);
  fs_sched_step st;
  size_t sizes[4];
  for (int k = 0; k < 4; k++) {
    fs_sched_next(s, &st);
    ck_assert_int_eq(st.action, FS_SCHED_AGGREGATE);
    ck_assert_int_eq(st.t, 3 * (k + 1));
    sizes[k] = st.nset;
  }
  ck_assert_uint_eq(sizes[0] + sizes[1] + sizes[2], 0);
  ck_assert_uint_eq(sizes[3], 1);
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_DONE);
  fs_sched_free(s);
}
END_TEST

START_TEST(lost_jobs_come_back_without_aggregating) {
  fs_sched_spec sp = {.strat = FS_STRAT_ASYNC, .max_staleness = UINT32_MAX};
  fs_sched *s;
  ck_assert_int_eq(fs_sched_new(&sp, 2, &s, NULL), FS_OK);
  fs_sched_start(s, 0, 0, 4, 0);
  ck_assert_int_eq(fs_sched_lose(s, 0, 4), FS_OK);
  fs_sched_start(s, 1, 0, 6, 0);
  fs_sched_finish(s, 1, 6);
  fs_sched_step st;
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_LOST);
  ck_assert_uint_eq(st.client, 0);
  ck_assert_int_eq(st.t, 4);
  ck_assert_uint_eq(fs_sched_version(s), 0); /* nothing aggregated */
  fs_sched_next(s, &st);
  ck_assert_int_eq(st.action, FS_SCHED_AGGREGATE);
  ck_assert_uint_eq(st.set[0], 1);
  /* The lost client can start again. */
  ck_assert_int_eq(fs_sched_start(s, 0, 4, 8, 1), FS_OK);
  fs_sched_free(s);
}
END_TEST

START_TEST(bad_specs_and_calls) {
  fs_sched *s = NULL;
  fs_err e = {0};
  fs_sched_spec sp = {.strat = FS_STRAT_FEDBUFF, .buffer = 0};
  ck_assert_int_eq(fs_sched_new(&sp, 5, &s, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "server.buffer"));
  sp.buffer = 6;
  ck_assert_int_eq(fs_sched_new(&sp, 5, &s, &e), FS_ECONFIG);
  sp = (fs_sched_spec){.strat = FS_STRAT_FEDFIX, .delta = 0};
  ck_assert_int_eq(fs_sched_new(&sp, 5, &s, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "fedfix_delta"));
  sp = (fs_sched_spec){.strat = FS_STRAT_ASYNC};
  ck_assert_int_eq(fs_sched_new(&sp, 2, &s, &e), FS_OK);
  ck_assert_int_eq(fs_sched_start(s, 2, 0, 1, 0), FS_EINVAL); /* no client */
  ck_assert_int_eq(fs_sched_start(s, 0, 5, 4, 0), FS_EINVAL); /* lb < t */
  ck_assert_int_eq(fs_sched_finish(s, 0, 1), FS_EINVAL);      /* not running */
  ck_assert_int_eq(fs_sched_start(s, 0, 0, 1, 0), FS_OK);
  ck_assert_int_eq(fs_sched_start(s, 0, 0, 1, 0), FS_EINVAL); /* twice */
  fs_sched_free(s);
  fs_strat k;
  ck_assert_int_eq(fs_strat_parse("fedbuff", &k), FS_OK);
  ck_assert_int_eq(k, FS_STRAT_FEDBUFF);
  ck_assert_int_eq(fs_strat_parse("fedprox", &k), FS_EINVAL);
}
END_TEST

/* A scheduler exported in the middle of a FedBuff run and imported into a
 * fresh one makes exactly the same steps from there (checkpoints). */
START_TEST(export_import_continues_identically) {
  fs_sched_spec sp = {.strat = FS_STRAT_FEDBUFF,
                      .buffer = 5,
                      .budget = 500LL * D,
                      .max_staleness = 3};
  fs_sched *a, *b = NULL;
  ck_assert_int_eq(fs_sched_new(&sp, M, &a, NULL), FS_OK);
  int64_t fin[M];
  for (uint32_t i = 0; i < M; i++) {
    fin[i] = tau(i) + (int64_t)(i % 3) * 7;
    ck_assert_int_eq(fs_sched_start(a, i, 0, fin[i] - 5, 0), FS_OK);
  }
  int bad = 0;
  uint64_t aggs = 0, steps_b = 0;
  for (;;) {
    fs_sched_step x, y;
    bad |= fs_sched_next(a, &x) != FS_OK;
    if (b != NULL) {
      bad |= fs_sched_next(b, &y) != FS_OK;
      steps_b++;
      bad |= x.action != y.action || x.t != y.t || x.nset != y.nset ||
             x.version != y.version ||
             (x.action != FS_SCHED_AGGREGATE && x.client != y.client);
      for (size_t k = 0; k < x.nset && x.nset == y.nset; k++)
        bad |= x.set[k] != y.set[k] || x.stale[k] != y.stale[k];
    }
    if (x.action == FS_SCHED_DONE)
      break;
    fs_sched *both[2] = {a, b};
    for (int k = 0; k < 2 && both[k] != NULL; k++) {
      fs_sched *s = both[k];
      if (x.action == FS_SCHED_NEED) {
        bad |= fs_sched_finish(s, x.client, fin[x.client]) != FS_OK;
      } else if (x.action == FS_SCHED_DROP) {
        bad |= fs_sched_start(s, x.client, x.t, x.t + tau(x.client) - 5,
                              fs_sched_version(s)) != FS_OK;
      } else if (x.action == FS_SCHED_AGGREGATE) {
        for (size_t j = 0; j < x.nset; j++)
          bad |= fs_sched_start(s, x.set[j], x.t, x.t + tau(x.set[j]) - 5,
                                x.version) != FS_OK;
      }
    }
    if (x.action == FS_SCHED_DROP)
      fin[x.client] = x.t + tau(x.client);
    if (x.action == FS_SCHED_AGGREGATE) {
      for (size_t j = 0; j < x.nset; j++)
        fin[x.set[j]] = x.t + tau(x.set[j]) + (int64_t)(x.set[j] % 3) * 7;
      if (++aggs == 37) {
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(fs_sched_export(a, &buf, &len), FS_OK);
        ck_assert_int_eq(fs_sched_new(&sp, M, &b, NULL), FS_OK);
        /* Every truncation is refused; the whole is taken. */
        for (size_t n = 0; n < len; n++) {
          fs_err e = {0};
          ck_assert_int_eq(fs_sched_import(b, buf, n, &e), FS_EFORMAT);
        }
        ck_assert_int_eq(fs_sched_import(b, buf, len, NULL), FS_OK);
        free(buf);
      }
    }
  }
  ck_assert_msg(!bad, "the imported scheduler went another way");
  ck_assert_uint_gt(aggs, 60);
  ck_assert_uint_gt(steps_b, 30);
  fs_sched_free(a);
  fs_sched_free(b);
}
END_TEST

static Suite *sched_suite(void) {
  Suite *s = suite_create("sched");
  TCase *core = tcase_create("core");
  tcase_add_test(core, eventq_orders_by_time_then_id);
  tcase_add_test(core, reference_counts_f80);
  tcase_add_test(core, staleness_and_drops);
  tcase_add_test(core, need_asks_for_the_earliest_unknown_job);
  tcase_add_test(core, fedfix_counts_empty_rounds);
  tcase_add_test(core, lost_jobs_come_back_without_aggregating);
  tcase_add_test(core, export_import_continues_identically);
  suite_add_tcase(s, core);
  TCase *errs = tcase_create("errors");
  tcase_add_test(errs, bad_specs_and_calls);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(sched_suite)
