/*
 * stragglers.c — the `fedsim stragglers` subcommand's command line: reads
 * the scheduler's and the straggler model's parameters and hands them to
 * server/gc_sim.c, which runs the schedulers on the virtual clock without
 * training (docs/stragglers.md).
 */
#include "app.h"
#include "gc_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: fedsim stragglers --scheme none|ignore|gc|sr-sgc|m-sgc --n N\n"
    "       [--s S] [--B B --W W --lambda L] [--code fr|cr] [--jobs J]\n"
    "       [--model none|iid|bursty|exp|pareto|lognormal|trace] [--p P]\n"
    "       [--slowdown F] [--mB B --mW W --mlambda L] [--param X]\n"
    "       [--trace FILE] [--overhead SEC] [--job-time SEC]\n"
    "       [--seed S] [--seeds K]\n"
    "Runs the scheduler on the virtual clock without training; one CSV row "
    "per seed (seed .. seed+K-1).\n"
    "fedsim stragglers --decode-stats SETS --n N --s S [--code fr|cr] "
    "[--seed S]\n"
    "Decodes SETS random survivor sets of size n - s of the code and prints "
    "the largest residual and the largest |a_i|.\n"
    "fedsim stragglers --print-code --n N --s S [--code fr|cr] [--seed S]\n"
    "       [--survivors i,j,...]\n"
    "Prints B (one CSV row per worker) and, for the survivors given (ids "
    "from 0), the decoding vector a with a^T B = 1^T.\n";

static int num(const char *flag, const char *v, double lo, double hi,
               double *out) {
  char *end = NULL;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end || !(x >= lo && x <= hi)) {
    fprintf(stderr, "fedsim stragglers: %s: '%s' is not a number in [%g, %g]\n",
            flag, v, lo, hi);
    return 0;
  }
  *out = x;
  return 1;
}

/* What the command line sets besides the scheduler and the model. */
typedef struct {
  double overhead, job_time, seeds, seed0, decode_sets;
  int print_code;
  const char *survivors;
} run_opts;

/* Apply option a with value v; returns 1 if done, 0 on a bad value (after
 * a message from num() or none), -1 on an unknown option. */
static int set_option(const char *a, const char *v, fs_sgc_params *sp,
                      fs_strag_params *mp, run_opts *o) {
  double x = 0;
  int ok = 1;
  if (!strcmp(a, "--scheme")) {
    ok = fs_sgc_scheme_parse(v, &sp->scheme) == FS_OK;
  } else if (!strcmp(a, "--code")) {
    ok = !strcmp(v, "fr") || !strcmp(v, "cr");
    sp->code = !strcmp(v, "fr") ? FS_GCODE_FR : FS_GCODE_CR;
  } else if (!strcmp(a, "--model")) {
    ok = fs_strag_kind_parse(v, &mp->kind) == FS_OK;
  } else if (!strcmp(a, "--trace")) {
    mp->trace = v;
  } else if (!strcmp(a, "--n") && (ok = num(a, v, 1, 1e5, &x))) {
    sp->n = (int)x;
  } else if (!strcmp(a, "--s") && (ok = num(a, v, 0, 1e5, &x))) {
    sp->s = (int)x;
  } else if (!strcmp(a, "--B") && (ok = num(a, v, 1, 4096, &x))) {
    sp->B = (int)x;
  } else if (!strcmp(a, "--W") && (ok = num(a, v, 2, 4096, &x))) {
    sp->W = (int)x;
  } else if (!strcmp(a, "--lambda") && (ok = num(a, v, 0, 1e5, &x))) {
    sp->lambda = (int)x;
  } else if (!strcmp(a, "--jobs") && (ok = num(a, v, 1, 1e7, &x))) {
    sp->jobs = (int)x;
  } else if (!strcmp(a, "--p") && (ok = num(a, v, 0, 1, &x))) {
    mp->p = x;
  } else if (!strcmp(a, "--slowdown") && (ok = num(a, v, 1e-9, 1e9, &x))) {
    mp->slowdown = x;
  } else if (!strcmp(a, "--param") && (ok = num(a, v, 1e-9, 1e9, &x))) {
    mp->param = x;
  } else if (!strcmp(a, "--mB") && (ok = num(a, v, 1, 4096, &x))) {
    mp->B = (int)x;
  } else if (!strcmp(a, "--mW") && (ok = num(a, v, 2, 4096, &x))) {
    mp->W = (int)x;
  } else if (!strcmp(a, "--mlambda") && (ok = num(a, v, 0, 1e5, &x))) {
    mp->lambda = (int)x;
  } else if (!strcmp(a, "--overhead") && (ok = num(a, v, 0, 1e9, &x))) {
    o->overhead = x;
  } else if (!strcmp(a, "--job-time") && (ok = num(a, v, 0, 1e9, &x))) {
    o->job_time = x;
  } else if (!strcmp(a, "--seed") && (ok = num(a, v, 0, 1e15, &x))) {
    o->seed0 = x;
  } else if (!strcmp(a, "--seeds") && (ok = num(a, v, 1, 1e6, &x))) {
    o->seeds = x;
  } else if (!strcmp(a, "--decode-stats") && (ok = num(a, v, 1, 1e6, &x))) {
    o->decode_sets = x;
  } else if (!strcmp(a, "--survivors")) {
    o->survivors = v;
  } else if (ok) {
    return -1;
  }
  return ok;
}

int fs_app_stragglers(int argc, char **argv) {
  fs_sgc_params sp = {.scheme = FS_SGC_NONE,
                      .code = FS_GCODE_CR,
                      .n = 0,
                      .s = 0,
                      .B = 1,
                      .W = 2,
                      .lambda = 1,
                      .jobs = 100};
  fs_strag_params mp = {
      .kind = FS_STRAG_NONE, .p = 0.1, .slowdown = 5, .param = 1};
  run_opts o = {.overhead = 1.0,
                .job_time = 0.0,
                .seeds = 1,
                .seed0 = 1,
                .decode_sets = 0,
                .print_code = 0,
                .survivors = NULL};
  for (int k = 1; k < argc; k++) {
    const char *a = argv[k];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (!strcmp(a, "--print-code")) {
      o.print_code = 1;
      continue;
    }
    if (k + 1 >= argc) {
      fprintf(stderr, "fedsim stragglers: %s needs a value\n%s", a, usage);
      return 2;
    }
    const char *v = argv[++k];
    int ok = set_option(a, v, &sp, &mp, &o);
    if (ok < 0) {
      fprintf(stderr, "fedsim stragglers: unknown option '%s'\n%s", a, usage);
      return 2;
    }
    if (!ok) {
      fprintf(stderr, "fedsim stragglers: %s: bad value '%s'\n", a, v);
      return 2;
    }
  }
  if (sp.n < 1) {
    fprintf(stderr, "fedsim stragglers: --n is required\n%s", usage);
    return 2;
  }
  if (o.print_code)
    return fs_gc_sim_print_code(&sp, (uint64_t)o.seed0, o.survivors);
  if (o.decode_sets > 0)
    return fs_gc_sim_decode_stats(&sp, (uint64_t)o.seed0, (int)o.decode_sets);
  return fs_gc_sim_run(&sp, &mp, o.overhead, o.job_time, o.seed0, o.seeds);
}
