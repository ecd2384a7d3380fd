/*
 * test_strategy.c — the server's tables: strategies (server/strategy.h)
 * and server optimisers (server/optim.h): every row is found by its name,
 * rows are well formed, and the asynchronous weights and optimiser steps
 * give the numbers of docs/async.md and docs/user-guide.md.
 */
#include "fs_test.h"
#include "optim.h"
#include "strategy.h"

#include <math.h>
#include <string.h>

/* The rows by name, as the configuration finds them. */
static const fs_strategy *fs_strategy_find(const char *name) {
  for (size_t i = 0; fs_strategy_at(i) != NULL; i++)
    if (!strcmp(fs_strategy_at(i)->base.name, name))
      return fs_strategy_at(i);
  return NULL;
}
static const fs_optim *fs_optim_find(const char *name) {
  for (size_t i = 0; fs_optim_at(i) != NULL; i++)
    if (!strcmp(fs_optim_at(i)->base.name, name))
      return fs_optim_at(i);
  return NULL;
}

START_TEST(every_strategy_is_one_well_formed_row) {
  const char *names[] = {"fedavg", "async", "fedbuff",
                         "fedfix", "gc",    "scaffold"};
  for (size_t i = 0; i < 6; i++) {
    const fs_strategy *r = fs_strategy_find(names[i]);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->base.name, names[i]);
    ck_assert_msg((r->loop != NULL) != (r->role != NULL),
                  "%s: exactly one of loop and role", names[i]);
    ck_assert_ptr_nonnull(r->base.help);
    if (r->flags & FS_STRATEGY_ASYNC)
      ck_assert(r->weight != NULL);
  }
  size_t n = 0;
  while (fs_strategy_at(n) != NULL)
    n++;
  ck_assert_uint_eq(n, 6);
  ck_assert_ptr_eq(fs_strategy_at(FS_CFG_STRATEGY_SCAFFOLD),
                   fs_strategy_find("scaffold"));
  ck_assert(!(fs_strategy_find("fedavg")->flags & FS_STRATEGY_ASYNC));
  ck_assert(fs_strategy_find("fedbuff")->flags & FS_STRATEGY_ASYNC);
  ck_assert_int_eq(fs_strategy_find("fedfix")->sched, FS_STRAT_FEDFIX);
  ck_assert(fs_strategy_find("gc")->role != NULL);
}
END_TEST

START_TEST(async_weights) {
  fs_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.buffer = 4;
  cfg.staleness_exponent = 0.5;
  fs_strategy_wargs w = {.cfg = &cfg,
                         .pi = 0.25,
                         .tau = 30.0,
                         .inv_tau = 0.1,
                         .delta = 20,
                         .stale = 3};
  const fs_strategy *a = fs_strategy_find("async"),
                    *b = fs_strategy_find("fedbuff"),
                    *f = fs_strategy_find("fedfix");
  ck_assert(a->weight(&w) == 1.0);
  ck_assert(b->weight(&w) == 0.5); /* (1 + 3)^-0.5 */
  ck_assert(f->weight(&w) == 1.0);
  w.fraboni = 1;
  ck_assert(fabs(a->weight(&w) - 0.1 * 30.0 * 0.25) < 1e-15);
  ck_assert(b->weight(&w) == 0.125);      /* 1/4 x 0.5 */
  ck_assert(f->weight(&w) == 2.0 * 0.25); /* ceil(30 / 20) p_i */
}
END_TEST

START_TEST(optimiser_steps) {
  fs_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.server_momentum = 0.9;
  cfg.server_beta2 = 0.99;
  cfg.server_eps = 1e-8;
  double m[1] = {0}, v[1] = {0}, u[1] = {2.0};
  float x[1] = {1.0f};
  fs_optim_state o = {.row = fs_optim_find("sgd"), .m = m, .v = v};
  ck_assert_ptr_nonnull(o.row);
  ck_assert(!(o.row->flags & FS_OPTIM_MOMENTS));
  fs_optim_step(&o, &cfg, x, u, 0.5, 1);
  ck_assert(x[0] == 0.0f);
  o.row = fs_optim_find("momentum");
  ck_assert(o.row->flags & FS_OPTIM_MOMENTS);
  fs_optim_step(&o, &cfg, x, u, 0.5, 1); /* m = 2 */
  fs_optim_step(&o, &cfg, x, u, 0.5, 1); /* m = 3.8 */
  ck_assert(fabs(m[0] - 3.8) < 1e-12);
  ck_assert(fabs(x[0] - (-1.0f - 1.9f)) < 1e-6);
  m[0] = 0;
  x[0] = 0.0f;
  o.row = fs_optim_find("adam");
  fs_optim_step(&o, &cfg, x, u, 0.1, 1); /* bias-corrected: u / |u| */
  ck_assert_uint_eq(o.t, 1);
  ck_assert(fabs(x[0] + 0.1f) < 1e-6);
  ck_assert_ptr_null(fs_optim_find("rmsprop"));
  ck_assert_ptr_null(fs_strategy_find("fedprox"));
}
END_TEST

static Suite *strategy_suite(void) {
  Suite *s = suite_create("strategy");
  TCase *core = tcase_create("core");
  tcase_add_test(core, every_strategy_is_one_well_formed_row);
  tcase_add_test(core, async_weights);
  tcase_add_test(core, optimiser_steps);
  suite_add_tcase(s, core);
  return s;
}

FS_TEST_MAIN(strategy_suite)
