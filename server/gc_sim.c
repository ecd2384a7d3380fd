/*
 * gc_sim.c — `fedsim stragglers`: the schedulers of sgc.h on the virtual
 * clock, without training (the command line is app/stragglers.c).
 *
 * Worker i's duration in round r is f_i(r) (the straggler model) times
 * (overhead + job_time * load_i(r)), load_i(r) the share of one job's data
 * its tasks of that round cover (0 for a worker with nothing to do, which
 * then does not count). The paper's rule (sgc.h) gives each round's length
 * and who straggled. One CSV row per seed:
 *   scheme,n,s,B,W,lambda,jobs,T,load,seed,total_s,rounds,waits,
 *   straggler_events,failed
 */
#include "gc_sim.h"

#include "fs_rng.h"
#include "gcode.h"
#include "sgc.h"
#include "straggler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Share of one job's data in worker i's tasks this round. */
static double worker_load(const fs_sgc *g, int i, int *piece, double *coef,
                          double total_w) {
  int cnt;
  const fs_sgc_task *t = fs_sgc_tasks(g, i, &cnt);
  double w = 0;
  for (int k = 0; k < cnt; k++) {
    int m = fs_sgc_task_terms(g, i, &t[k], piece, coef);
    for (int q = 0; q < m; q++)
      w += fs_sgc_piece_weight(g, piece[q]);
  }
  return w / total_w;
}

/* --print-code: B, and the decoding vector for a survivor list. */
int fs_gc_sim_print_code(const fs_sgc_params *sp, uint64_t seed,
                         const char *survivors) {
  int n = sp->n;
  fs_gcode *c;
  fs_err err = {0};
  if (fs_gcode_new(sp->code, n, sp->s, seed, &c, &err) != FS_OK) {
    fprintf(stderr, "fedsim stragglers: %s\n", err.msg);
    return 2;
  }
  const double *B = fs_gcode_matrix(c);
  printf("# B (%s, n = %d, s = %d): row i = worker i's coefficients\n",
         sp->code == FS_GCODE_FR ? "fr" : "cr", n, sp->s);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      printf("%.17g%c", B[(size_t)i * n + j], j + 1 < n ? ',' : '\n');
  int rc = 0;
  if (survivors) {
    unsigned char *alive = calloc((size_t)n, 1);
    double *a = malloc((size_t)n * sizeof *a);
    const char *p = survivors;
    while (alive && a && *p) {
      char *end;
      long id = strtol(p, &end, 10);
      if (end == p || id < 0 || id >= n || (*end && *end != ',')) {
        fprintf(stderr,
                "fedsim stragglers: --survivors: '%s' is not a list of "
                "worker ids in [0, %d)\n",
                survivors, n);
        rc = 2;
        break;
      }
      alive[id] = 1;
      p = *end ? end + 1 : end;
    }
    if (!alive || !a) {
      fprintf(stderr, "fedsim stragglers: out of memory\n");
      rc = 1;
    } else if (rc == 0 && fs_gcode_decode(c, alive, a, &err) != FS_OK) {
      fprintf(stderr, "fedsim stragglers: %s\n", err.msg);
      rc = 3;
    } else if (rc == 0) {
      printf("# a (survivors %s), residual %.3g\n", survivors,
             fs_gcode_residual(c, a));
      for (int i = 0; i < n; i++)
        printf("%.17g%c", a[i], i + 1 < n ? ',' : '\n');
    }
    free(alive);
    free(a);
  }
  fs_gcode_free(c);
  return rc;
}

/* --decode-stats: decode `sets` random survivor sets of size n - s. */
int fs_gc_sim_decode_stats(const fs_sgc_params *sp, uint64_t seed, int sets) {
  int n = sp->n, s = sp->s;
  fs_gcode *c;
  fs_err err = {0};
  if (fs_gcode_new(sp->code, n, s, seed, &c, &err) != FS_OK) {
    fprintf(stderr, "fedsim stragglers: %s\n", err.msg);
    return 2;
  }
  unsigned char *alive = malloc((size_t)n);
  double *a = malloc((size_t)n * sizeof *a);
  uint32_t *perm = malloc((size_t)n * sizeof *perm);
  int rc = 0, failed = 0;
  double worst = 0, amax = 0;
  if (!alive || !a || !perm) {
    fprintf(stderr, "fedsim stragglers: out of memory\n");
    rc = 1;
    goto out;
  }
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_STRAGGLER, (1ull << 49) | (uint64_t)n,
              (uint64_t)s);
  for (int t = 0; t < sets; t++) {
    for (int i = 0; i < n; i++)
      perm[i] = (uint32_t)i;
    fs_rng_shuffle_u32(&r, perm, (size_t)n);
    memset(alive, 1, (size_t)n);
    for (int k = 0; k < s; k++)
      alive[perm[k]] = 0;
    if (fs_gcode_decode(c, alive, a, &err) != FS_OK) {
      failed++;
      continue;
    }
    double res = fs_gcode_residual(c, a);
    worst = res > worst ? res : worst;
    for (int i = 0; i < n; i++)
      amax = fabs(a[i]) > amax ? fabs(a[i]) : amax;
  }
  printf("code,n,s,seed,sets,failed,max_residual,max_abs_a\n");
  printf("%s,%d,%d,%llu,%d,%d,%.3g,%.4g\n",
         sp->code == FS_GCODE_FR ? "fr" : "cr", n, s, (unsigned long long)seed,
         sets, failed, worst, amax);
out:
  free(alive);
  free(a);
  free(perm);
  fs_gcode_free(c);
  return rc;
}

int fs_gc_sim_run(fs_sgc_params *sp_in, fs_strag_params *mp_in, double overhead,
                  double job_time, double seed0, double seeds) {
  fs_sgc_params sp = *sp_in;
  fs_strag_params mp = *mp_in;
  mp.n = sp.n;
  if (!mp.B)
    mp.B = sp.B;
  if (!mp.W)
    mp.W = sp.W;
  if (!mp.lambda)
    mp.lambda = sp.lambda;
  int n = sp.n;
  double *f = malloc((size_t)n * sizeof *f);
  double *d = malloc((size_t)n * sizeof *d);
  unsigned char *st = malloc((size_t)n);
  int *piece = malloc((size_t)n * sizeof *piece);
  double *coef = malloc((size_t)n * sizeof *coef);
  int *dec = malloc(8192 * sizeof *dec);
  int rc = 0;
  if (!f || !d || !st || !piece || !coef || !dec) {
    fprintf(stderr, "fedsim stragglers: out of memory\n");
    rc = 1;
    goto out;
  }
  printf("scheme,n,s,B,W,lambda,jobs,T,load,seed,total_s,rounds,waits,"
         "straggler_events,failed\n");
  for (uint64_t seed = (uint64_t)seed0; seed < (uint64_t)(seed0 + seeds);
       seed++) {
    fs_sgc *g;
    fs_strag *sm;
    fs_err err = {0};
    sp.seed = seed;
    mp.seed = seed;
    if (fs_sgc_new(&sp, &g, &err) != FS_OK) {
      fprintf(stderr, "fedsim stragglers: %s\n", err.msg);
      rc = 2;
      goto out;
    }
    if (fs_strag_new(&mp, &sm, &err) != FS_OK) {
      fprintf(stderr, "fedsim stragglers: %s\n", err.msg);
      fs_sgc_free(g);
      rc = 2;
      goto out;
    }
    double total_w = 0;
    for (int p = 0; p < fs_sgc_pieces(g); p++)
      total_w += fs_sgc_piece_weight(g, p);
    double total = 0;
    long waits = 0, events = 0, failed = 0;
    int R = fs_sgc_rounds(g);
    for (int r = 0; r < R; r++) {
      fs_strag_factors(sm, r, f);
      for (int i = 0; i < n; i++)
        d[i] = f[i] *
               (overhead + job_time * worker_load(g, i, piece, coef, total_w));
      int waited, nd, nf;
      total += fs_sgc_round_time(g, d, st, &waited);
      waits += waited;
      for (int i = 0; i < n; i++)
        events += st[i];
      fs_sgc_end_round(g, st, dec, &nd, &nf);
      failed += nf;
    }
    printf("%s,%d,%d,%d,%d,%d,%d,%d,%.10g,%llu,%.10g,%d,%ld,%ld,%ld\n",
           fs_sgc_scheme_name(sp.scheme), n, fs_sgc_tolerance(g), sp.B, sp.W,
           sp.lambda, sp.jobs, fs_sgc_delay(g), fs_sgc_load(g),
           (unsigned long long)seed, total, R, waits, events, failed);
    fs_sgc_free(g);
    fs_strag_free(sm);
  }
out:
  free(f);
  free(d);
  free(st);
  free(piece);
  free(coef);
  free(dec);
  return rc;
}
