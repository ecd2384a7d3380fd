/*
 * straggler.c — the straggler models of straggler.h.
 *
 * The bursty generator keeps a timeline of straggle flags for rounds
 * r-W+1 .. r+B-1 (past rounds and bursts already planned ahead) in a ring of
 * W + B rows, and each worker's last burst end. A burst starting at round r
 * with length L is accepted only if the worker's previous burst ended at
 * least W rounds earlier (W - 1 clean rounds between bursts) and every window
 * of W rounds that meets r..r+L-1 keeps at most lambda distinct stragglers.
 */
#include "straggler.h"

#include "fs_rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fs_strag {
  fs_strag_params p;
  /* bursty */
  int next;          /* next round to generate */
  int ring;          /* W + B */
  unsigned char *tl; /* ring x n */
  int *last_end;     /* n */
  /* trace */
  int trace_rounds;
  double *trace_f; /* trace_rounds x n */
};

static const char *const kind_names[] = {"none",   "iid",       "bursty", "exp",
                                         "pareto", "lognormal", "trace"};

fs_status fs_strag_kind_parse(const char *name, fs_strag_kind *out) {
  for (int k = 0; k < 7; k++)
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (fs_strag_kind)k;
      return FS_OK;
    }
  return FS_EINVAL;
}

const char *fs_strag_kind_name(fs_strag_kind k) {
  return (unsigned)k < 7 ? kind_names[k] : "unknown";
}

/* Read `round,worker,factor` rows into a dense rounds x n table. */
static fs_status read_trace(fs_strag *s, fs_err *err) {
  const char *path = s->p.trace;
  int n = s->p.n;
  if (!path || !*path)
    return fs_err_set(err, FS_EINVAL,
                      "straggler model trace: no trace file given");
  FILE *fp = fopen(path, "r");
  if (!fp)
    return fs_err_set(err, FS_EIO, "straggler trace %s: %s", path,
                      strerror(errno));
  char line[512];
  int lineno = 0, cap = 0;
  fs_status st = FS_OK;
  while (fgets(line, sizeof line, fp)) {
    lineno++;
    if (lineno == 1)
      continue; /* header */
    if (line[0] == '\n' || line[0] == '\0')
      continue;
    char *e1, *e2, *e3;
    errno = 0;
    long r = strtol(line, &e1, 10);
    long w = (*e1 == ',') ? strtol(e1 + 1, &e2, 10) : -1;
    double f = (*e1 == ',' && *e2 == ',') ? strtod(e2 + 1, &e3) : NAN;
    int tail_ok = (*e1 == ',' && *e2 == ',') &&
                  (*e3 == '\n' || *e3 == '\r' || *e3 == '\0');
    if (errno || !tail_ok || r < 0 || r > 10000000 || w < 0 || w >= n ||
        !isfinite(f) || f <= 0) {
      st = fs_err_set(err, FS_EFORMAT,
                      "straggler trace %s line %d: want round,worker,factor "
                      "with round >= 0, 0 <= worker < %d, factor > 0",
                      path, lineno, n);
      goto out;
    }
    if (r >= cap) {
      int nc = cap ? cap : 64;
      while (nc <= r)
        nc *= 2;
      double *nf = realloc(s->trace_f, (size_t)nc * n * sizeof *nf);
      if (!nf) {
        st = fs_err_set(err, FS_ENOMEM, "straggler trace %s: no memory", path);
        goto out;
      }
      for (size_t k = (size_t)cap * n; k < (size_t)nc * n; k++)
        nf[k] = 1.0;
      s->trace_f = nf;
      cap = nc;
    }
    s->trace_f[(size_t)r * n + w] = f;
    if (r + 1 > s->trace_rounds)
      s->trace_rounds = (int)r + 1;
  }
  if (ferror(fp))
    st = fs_err_set(err, FS_EIO, "straggler trace %s: read error", path);
  else if (s->trace_rounds == 0)
    st = fs_err_set(err, FS_EFORMAT, "straggler trace %s: no rows", path);
out:
  fclose(fp);
  return st;
}

fs_status fs_strag_new(const fs_strag_params *p, fs_strag **out, fs_err *err) {
  *out = NULL;
  if ((unsigned)p->kind > FS_STRAG_TRACE)
    return fs_err_set(err, FS_EINVAL, "straggler model: unknown kind %d",
                      (int)p->kind);
  const char *nm = fs_strag_kind_name(p->kind);
  if (p->n < 1)
    return fs_err_set(err, FS_EINVAL, "straggler model: n = %d workers", p->n);
  if ((p->kind == FS_STRAG_IID || p->kind == FS_STRAG_BURSTY) &&
      (!(p->p >= 0 && p->p <= 1) || !(p->slowdown > 0) ||
       !isfinite(p->slowdown)))
    return fs_err_set(err, FS_EINVAL,
                      "straggler model %s: p = %g must be in [0, 1] and "
                      "slowdown = %g positive",
                      nm, p->p, p->slowdown);
  if (p->kind == FS_STRAG_BURSTY &&
      (p->B < 1 || p->W <= p->B || p->W > 4096 || p->lambda < 0))
    return fs_err_set(err, FS_EINVAL,
                      "straggler model bursty: needs 1 <= B < W <= 4096 and "
                      "lambda >= 0; B = %d, W = %d, lambda = %d",
                      p->B, p->W, p->lambda);
  if ((p->kind == FS_STRAG_EXP || p->kind == FS_STRAG_PARETO ||
       p->kind == FS_STRAG_LOGNORMAL) &&
      (!(p->param > 0) || !isfinite(p->param)))
    return fs_err_set(err, FS_EINVAL,
                      "straggler model %s: parameter %g must be positive", nm,
                      p->param);
  fs_strag *s = calloc(1, sizeof *s);
  if (!s)
    return fs_err_set(err, FS_ENOMEM, "straggler model: no memory");
  s->p = *p;
  s->p.trace = NULL;
  if (p->kind == FS_STRAG_BURSTY) {
    s->ring = p->W + p->B;
    s->tl = calloc((size_t)s->ring * p->n, 1);
    s->last_end = malloc((size_t)p->n * sizeof *s->last_end);
    if (!s->tl || !s->last_end) {
      fs_strag_free(s);
      return fs_err_set(err, FS_ENOMEM, "straggler model: no memory");
    }
    for (int i = 0; i < p->n; i++)
      s->last_end[i] = -(1 << 30);
  }
  if (p->kind == FS_STRAG_TRACE) {
    s->p.trace = p->trace;
    fs_status st = read_trace(s, err);
    s->p.trace = NULL;
    if (st != FS_OK) {
      fs_strag_free(s);
      return st;
    }
  }
  *out = s;
  return FS_OK;
}

void fs_strag_free(fs_strag *s) {
  if (!s)
    return;
  free(s->tl);
  free(s->last_end);
  free(s->trace_f);
  free(s);
}

static unsigned char *row(fs_strag *s, int q) {
  return s->tl + (size_t)(q % s->ring) * s->p.n;
}

/* Distinct stragglers in the window [w0, w0+W-1], within the timeline. */
static int distinct(fs_strag *s, int w0, int r, int extra) {
  int n = s->p.n, lo = w0 > r - s->p.W + 1 ? w0 : r - s->p.W + 1;
  int hi = w0 + s->p.W - 1, top = r + s->p.B - 1;
  if (hi > top)
    hi = top;
  if (lo < 0)
    lo = 0;
  int c = 0;
  for (int i = 0; i < n; i++) {
    int hit = i == extra;
    for (int q = lo; q <= hi && !hit; q++)
      hit = row(s, q)[i];
    c += hit;
  }
  return c;
}

static void bursty_step(fs_strag *s) {
  int r = s->next, n = s->p.n, Bb = s->p.B, W = s->p.W;
  memset(row(s, r + Bb - 1), 0, (size_t)n); /* frees round r+B-1-ring */
  for (int i = 0; i < n; i++) {
    fs_rng g;
    fs_rng_init(&g, s->p.seed, FS_RNG_STRAGGLER, (uint64_t)i, (uint64_t)r);
    double u = fs_rng_uniform(&g);
    int L = 1 + (int)fs_rng_below(&g, (uint64_t)Bb);
    if (row(s, r)[i] || r - s->last_end[i] < W || !(u < s->p.p))
      continue;
    int ok = 1;
    for (int w0 = r - W + 1; w0 <= r + L - 1 && ok; w0++)
      ok = distinct(s, w0, r, i) <= s->p.lambda;
    if (!ok)
      continue;
    for (int q = r; q < r + L; q++)
      row(s, q)[i] = 1;
    s->last_end[i] = r + L - 1;
  }
  s->next = r + 1;
}

void fs_strag_factors(fs_strag *s, int r, double *f) {
  int n = s->p.n;
  if (r < 0)
    abort();
  switch (s->p.kind) {
  case FS_STRAG_NONE:
    for (int i = 0; i < n; i++)
      f[i] = 1.0;
    return;
  case FS_STRAG_BURSTY:
    if (r < s->next - 1) {
      s->next = 0;
      memset(s->tl, 0, (size_t)s->ring * n);
      for (int i = 0; i < n; i++)
        s->last_end[i] = -(1 << 30);
    }
    while (s->next <= r)
      bursty_step(s);
    for (int i = 0; i < n; i++)
      f[i] = row(s, r)[i] ? s->p.slowdown : 1.0;
    return;
  case FS_STRAG_TRACE: {
    const double *t = s->trace_f + (size_t)(r % s->trace_rounds) * n;
    for (int i = 0; i < n; i++)
      f[i] = t[i];
    return;
  }
  default:
    break;
  }
  for (int i = 0; i < n; i++) {
    fs_rng g;
    fs_rng_init(&g, s->p.seed, FS_RNG_STRAGGLER, (uint64_t)i, (uint64_t)r);
    switch (s->p.kind) {
    case FS_STRAG_IID:
      f[i] = fs_rng_uniform(&g) < s->p.p ? s->p.slowdown : 1.0;
      break;
    case FS_STRAG_EXP:
      f[i] = 1.0 - s->p.param * log(fs_rng_uniform_pos(&g));
      break;
    case FS_STRAG_PARETO:
      f[i] = pow(fs_rng_uniform_pos(&g), -1.0 / s->p.param);
      break;
    case FS_STRAG_LOGNORMAL:
      f[i] = exp(s->p.param * fs_rng_normal(&g));
      break;
    default:
      f[i] = 1.0;
    }
  }
}
