/*
 * sgc.c — the schedulers of sgc.h: which worker runs which task in which
 * round, when a job decodes, and the paper's round-time rule.
 *
 * Jobs live in a ring of T + 2 slots (job t in slot t mod (T+2)): at round r
 * the jobs r-T..r are open, job r-T-1 (due at the end of round r-1) can still
 * be read for its decoding coefficients, and job r takes the slot of job
 * r-T-2. The last W rounds of stragglers are kept
 * for the (B, W, lambda)-bursty admissibility test.
 */
#include "sgc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fs_sgc {
  fs_sgc_params p;
  int n, tol, T, rounds, nslots, R, hlen;
  double load;
  fs_gcode *code;
  int round;
  fs_sgc_task *tasks;    /* n x nslots */
  int *ntasks;           /* n */
  unsigned char *hist;   /* hlen rounds x n, round q in row q mod hlen */
  int *job_id;           /* R, -1 when free */
  unsigned char *done;   /* R: decoded */
  unsigned char *gc_del; /* R x n: GC task delivered */
  unsigned char *redo;   /* R x n: SR re-do planned at round t + B */
  unsigned char *d1;     /* R x n x (W-1): M-SGC D1 chunk delivered */
  unsigned char *d2;     /* R x B x n: M-SGC D2 task delivered */
};

static void plan(fs_sgc *g);

static const char *const scheme_names[] = {"none", "ignore", "gc", "sr-sgc",
                                           "m-sgc"};

fs_status fs_sgc_scheme_parse(const char *name, fs_sgc_scheme *out) {
  for (int k = 0; k < 5; k++)
    if (strcmp(name, scheme_names[k]) == 0) {
      *out = (fs_sgc_scheme)k;
      return FS_OK;
    }
  return FS_EINVAL;
}

const char *fs_sgc_scheme_name(fs_sgc_scheme s) {
  return (unsigned)s < 5 ? scheme_names[s] : "unknown";
}

static fs_status check_params(const fs_sgc_params *p, fs_err *err) {
  const char *nm = fs_sgc_scheme_name(p->scheme);
  if ((unsigned)p->scheme > FS_SGC_M)
    return fs_err_set(err, FS_EINVAL, "stragglers: unknown scheme %d",
                      (int)p->scheme);
  if (p->n < 1)
    return fs_err_set(err, FS_EINVAL, "%s: n = %d workers, need at least 1", nm,
                      p->n);
  if (p->jobs < 1)
    return fs_err_set(err, FS_EINVAL, "%s: jobs = %d, need at least 1", nm,
                      p->jobs);
  if (p->code != FS_GCODE_FR && p->code != FS_GCODE_CR)
    return fs_err_set(err, FS_EINVAL, "%s: the code must be fr or cr", nm);
  if (p->scheme == FS_SGC_IGNORE || p->scheme == FS_SGC_GC) {
    if (p->s < 0 || p->s >= p->n)
      return fs_err_set(err, FS_EINVAL,
                        "%s: s = %d must be in [0, n-1] for n = %d", nm, p->s,
                        p->n);
  }
  if (p->scheme == FS_SGC_SR || p->scheme == FS_SGC_M) {
    if (p->B < 1 || p->W <= p->B)
      return fs_err_set(err, FS_EINVAL,
                        "%s: the bursty model needs 1 <= B < W; B = %d, W = %d",
                        nm, p->B, p->W);
    if (p->lambda < 0 || p->lambda >= p->n)
      return fs_err_set(err, FS_EINVAL,
                        "%s: lambda = %d must be in [0, n-1] for n = %d", nm,
                        p->lambda, p->n);
    if (p->W > 4096)
      return fs_err_set(err, FS_EINVAL, "%s: W = %d is above 4096", nm, p->W);
  }
  if (p->scheme == FS_SGC_SR && (p->W - 1) % p->B != 0)
    return fs_err_set(err, FS_EINVAL,
                      "sr-sgc: B = %d must divide W - 1 = %d (the "
                      "construction's assumption)",
                      p->B, p->W - 1);
  return FS_OK;
}

fs_status fs_sgc_new(const fs_sgc_params *p, fs_sgc **out, fs_err *err) {
  *out = NULL;
  fs_status st = check_params(p, err);
  if (st != FS_OK)
    return st;
  int n = p->n, tol = 0, T = 0, nslots = 1;
  double load = 1.0 / n;
  switch (p->scheme) {
  case FS_SGC_NONE:
    break;
  case FS_SGC_IGNORE:
    tol = p->s;
    break;
  case FS_SGC_GC:
    tol = p->s;
    load = (double)(tol + 1) / n;
    break;
  case FS_SGC_SR:
    tol = (p->B * p->lambda + p->W - 1 + p->B - 1) / (p->W - 1 + p->B);
    load = (double)(tol + 1) / n;
    T = p->B;
    break;
  case FS_SGC_M:
    tol = p->lambda;
    T = p->W - 2 + p->B;
    nslots = p->W - 1 + p->B;
    load = (double)(tol + 1) * (p->W - 1 + p->B) /
           ((double)n * ((p->W - 1) * (tol + 1) + p->B));
    break;
  }
  if (tol >= n)
    return fs_err_set(err, FS_EINVAL,
                      "sr-sgc: s = ceil(B lambda/(W-1+B)) = %d must be below "
                      "n = %d",
                      tol, n);
  fs_gcode_kind kind = p->code;
  if (p->scheme == FS_SGC_IGNORE || p->scheme == FS_SGC_NONE) {
    kind = FS_GCODE_CR; /* s = 0 below: the identity */
  }
  int code_s = (p->scheme == FS_SGC_IGNORE) ? 0 : tol;
  fs_gcode *code;
  st = fs_gcode_new(kind, n, code_s, p->seed, &code, err);
  if (st != FS_OK)
    return st;
  fs_sgc *g = calloc(1, sizeof *g);
  if (!g) {
    fs_gcode_free(code);
    return fs_err_set(err, FS_ENOMEM, "stragglers: no memory");
  }
  g->p = *p;
  g->n = n;
  g->tol = tol;
  g->T = T;
  g->rounds = p->jobs + T;
  g->nslots = nslots;
  g->R = T + 2; /* job t - T stays readable after round t closes */
  g->hlen = (p->scheme == FS_SGC_SR || p->scheme == FS_SGC_M) ? p->W : 1;
  g->load = load;
  g->code = code;
  size_t R = (size_t)g->R, nn = (size_t)n;
  size_t w1 = p->scheme == FS_SGC_M ? (size_t)(p->W - 1) : 1;
  size_t b = p->scheme == FS_SGC_M ? (size_t)p->B : 1;
  g->tasks = calloc(nn * nslots, sizeof *g->tasks);
  g->ntasks = calloc(nn, sizeof *g->ntasks);
  g->hist = calloc((size_t)g->hlen * nn, 1);
  g->job_id = malloc(R * sizeof *g->job_id);
  g->done = calloc(R, 1);
  g->gc_del = calloc(R * nn, 1);
  g->redo = calloc(R * nn, 1);
  g->d1 = calloc(R * nn * w1, 1);
  g->d2 = calloc(R * b * nn, 1);
  if (!g->tasks || !g->ntasks || !g->hist || !g->job_id || !g->done ||
      !g->gc_del || !g->redo || !g->d1 || !g->d2) {
    fs_sgc_free(g);
    return fs_err_set(err, FS_ENOMEM, "stragglers: no memory for n = %d", n);
  }
  for (size_t k = 0; k < R; k++)
    g->job_id[k] = -1;
  plan(g);
  *out = g;
  return FS_OK;
}

void fs_sgc_free(fs_sgc *g) {
  if (!g)
    return;
  fs_gcode_free(g->code);
  free(g->tasks);
  free(g->ntasks);
  free(g->hist);
  free(g->job_id);
  free(g->done);
  free(g->gc_del);
  free(g->redo);
  free(g->d1);
  free(g->d2);
  free(g);
}

double fs_sgc_load(const fs_sgc *g) { return g->load; }
int fs_sgc_delay(const fs_sgc *g) { return g->T; }
int fs_sgc_tolerance(const fs_sgc *g) { return g->tol; }
int fs_sgc_rounds(const fs_sgc *g) { return g->rounds; }
int fs_sgc_round(const fs_sgc *g) { return g->round; }
int fs_sgc_workers(const fs_sgc *g) { return g->n; }
const fs_gcode *fs_sgc_code(const fs_sgc *g) { return g->code; }

int fs_sgc_pieces(const fs_sgc *g) {
  if (g->p.scheme == FS_SGC_M)
    return g->n * (g->p.W - 1) + g->p.B * g->n;
  return g->n;
}

double fs_sgc_piece_weight(const fs_sgc *g, int piece) {
  if (g->p.scheme == FS_SGC_M && piece < g->n * (g->p.W - 1))
    return g->tol + 1.0;
  return 1.0;
}

int fs_sgc_task_terms(const fs_sgc *g, int worker, const fs_sgc_task *t,
                      int *piece, double *coef) {
  int n = g->n;
  if (t->kind == FS_SGC_TASK_D1) {
    piece[0] = worker * (g->p.W - 1) + t->index;
    coef[0] = 1.0;
    return 1;
  }
  int base = t->kind == FS_SGC_TASK_D2 ? n * (g->p.W - 1) + t->index * n : 0;
  int cnt;
  const int *sup = fs_gcode_support(g->code, worker, &cnt);
  const double *B = fs_gcode_matrix(g->code);
  for (int k = 0; k < cnt; k++) {
    piece[k] = base + sup[k];
    coef[k] = B[(size_t)worker * n + sup[k]];
  }
  return cnt;
}

const fs_sgc_task *fs_sgc_tasks(const fs_sgc *g, int worker, int *count) {
  if (worker < 0 || worker >= g->n)
    abort();
  *count = g->round < g->rounds ? g->ntasks[worker] : 0;
  return g->tasks + (size_t)worker * g->nslots;
}

static int slot_of(const fs_sgc *g, int job) { return job % g->R; }

static int job_open(const fs_sgc *g, int job) {
  return job >= 0 && job < g->p.jobs && g->job_id[slot_of(g, job)] == job;
}

static void add_task(fs_sgc *g, int i, int job, fs_sgc_task_kind kind,
                     int index, int redo) {
  fs_sgc_task *t = &g->tasks[(size_t)i * g->nslots + g->ntasks[i]++];
  t->job = job;
  t->kind = kind;
  t->index = index;
  t->redo = redo;
}

/* Open job r (if any) and list every worker's tasks for round r. */
static void plan(fs_sgc *g) {
  int r = g->round, n = g->n;
  size_t nn = (size_t)n;
  if (r >= g->rounds)
    return;
  if (r < g->p.jobs) {
    int k = slot_of(g, r);
    g->job_id[k] = r;
    g->done[k] = 0;
    memset(g->gc_del + k * nn, 0, nn);
    memset(g->redo + k * nn, 0, nn);
    if (g->p.scheme == FS_SGC_M) {
      size_t w1 = (size_t)(g->p.W - 1), b = (size_t)g->p.B;
      memset(g->d1 + k * nn * w1, 0, nn * w1);
      memset(g->d2 + k * b * nn, 0, b * nn);
    }
  }
  for (int i = 0; i < n; i++) {
    g->ntasks[i] = 0;
    switch (g->p.scheme) {
    case FS_SGC_NONE:
    case FS_SGC_IGNORE:
    case FS_SGC_GC:
      if (r < g->p.jobs)
        add_task(g, i, r, FS_SGC_TASK_GC, 0, 0);
      break;
    case FS_SGC_SR: {
      int old = r - g->p.B;
      if (job_open(g, old) && g->redo[slot_of(g, old) * nn + i])
        add_task(g, i, old, FS_SGC_TASK_GC, 0, 1);
      else if (r < g->p.jobs)
        add_task(g, i, r, FS_SGC_TASK_GC, 0, 0);
      break;
    }
    case FS_SGC_M: {
      int W = g->p.W;
      size_t w1 = (size_t)(W - 1);
      for (int m = 0; m < g->nslots; m++) {
        int t = r - m;
        if (!job_open(g, t))
          continue;
        if (m <= W - 2) {
          add_task(g, i, t, FS_SGC_TASK_D1, m, 0);
          continue;
        }
        const unsigned char *own = g->d1 + (slot_of(g, t) * nn + i) * w1;
        int owed = -1;
        for (int k = 0; k < W - 1 && owed < 0; k++)
          if (!own[k])
            owed = k;
        if (owed >= 0)
          add_task(g, i, t, FS_SGC_TASK_D1, owed, 1);
        else
          add_task(g, i, t, FS_SGC_TASK_D2, m - (W - 1), 0);
      }
      break;
    }
    }
  }
}

/* (B, W, lambda)-bursty model on the windows that hold round r, with the
 * rounds after r clean. */
static int bursty_ok(const fs_sgc *g, const unsigned char *now) {
  int r = g->round, n = g->n, W = g->p.W, Bb = g->p.B;
  int lo = r - W + 1 > 0 ? r - W + 1 : 0;
  for (int w0 = lo; w0 <= r; w0++) {
    int distinct = 0;
    for (int i = 0; i < n; i++) {
      int first = -1, last = -1;
      for (int q = w0; q <= r; q++) {
        int s =
            q == r ? now[i] != 0 : g->hist[(size_t)(q % g->hlen) * n + i] != 0;
        if (s) {
          if (first < 0)
            first = q;
          last = q;
        }
      }
      if (first >= 0) {
        distinct++;
        if (last - first + 1 > Bb)
          return 0;
      }
    }
    if (distinct > g->p.lambda)
      return 0;
  }
  return 1;
}

int fs_sgc_admissible(const fs_sgc *g, const unsigned char *straggled) {
  int cnt = 0;
  for (int i = 0; i < g->n; i++)
    cnt += straggled[i] != 0;
  switch (g->p.scheme) {
  case FS_SGC_NONE:
    return cnt == 0;
  case FS_SGC_IGNORE:
  case FS_SGC_GC:
    return cnt <= g->tol;
  case FS_SGC_SR:
  case FS_SGC_M:
    return bursty_ok(g, straggled);
  }
  return 0;
}

double fs_sgc_round_time(const fs_sgc *g, const double *d,
                         unsigned char *straggled, int *waited) {
  int n = g->n, any = 0;
  double lo = INFINITY, hi = 0;
  *waited = 0;
  memset(straggled, 0, (size_t)n);
  for (int i = 0; i < n; i++) {
    int cnt;
    fs_sgc_tasks(g, i, &cnt);
    if (cnt == 0)
      continue;
    any = 1;
    lo = d[i] < lo ? d[i] : lo;
    hi = d[i] > hi ? d[i] : hi;
  }
  if (!any)
    return 0.0;
  for (int i = 0; i < n; i++) {
    int cnt;
    fs_sgc_tasks(g, i, &cnt);
    straggled[i] = cnt > 0 && d[i] > 2 * lo;
  }
  if (fs_sgc_admissible(g, straggled))
    return 2 * lo < hi ? 2 * lo : hi;
  memset(straggled, 0, (size_t)n);
  *waited = 1;
  return hi;
}

static int count_del(const unsigned char *v, int n) {
  int c = 0;
  for (int i = 0; i < n; i++)
    c += v[i] != 0;
  return c;
}

fs_status fs_sgc_end_round(fs_sgc *g, const unsigned char *straggled,
                           int *decoded, int *ndecoded, int *nfailed) {
  int r = g->round, n = g->n;
  size_t nn = (size_t)n;
  *ndecoded = 0;
  *nfailed = 0;
  if (r >= g->rounds)
    return FS_ERANGE;
  size_t w1 = g->p.scheme == FS_SGC_M ? (size_t)(g->p.W - 1) : 1;
  for (int i = 0; i < n; i++) {
    g->hist[(size_t)(r % g->hlen) * nn + i] = straggled[i] != 0;
    if (straggled[i])
      continue;
    for (int k = 0; k < g->ntasks[i]; k++) {
      const fs_sgc_task *t = &g->tasks[(size_t)i * g->nslots + k];
      size_t sl = (size_t)slot_of(g, t->job);
      if (t->kind == FS_SGC_TASK_GC)
        g->gc_del[sl * nn + i] = 1;
      else if (t->kind == FS_SGC_TASK_D1)
        g->d1[(sl * nn + i) * w1 + t->index] = 1;
      else
        g->d2[(sl * (size_t)g->p.B + t->index) * nn + i] = 1;
    }
  }
  int need = n - g->tol;
  /* Jobs due or decodable now, in job order. */
  for (int t = r - g->T; t <= r; t++) {
    if (!job_open(g, t))
      continue;
    size_t sl = (size_t)slot_of(g, t);
    if (g->done[sl])
      continue;
    int ok;
    if (g->p.scheme == FS_SGC_M) {
      if (t != r - g->T)
        continue; /* M-SGC decodes exactly at t + T */
      ok = 1;
      for (size_t k = 0; k < nn * w1 && ok; k++)
        ok = g->d1[sl * nn * w1 + k] != 0;
      for (int b = 0; b < g->p.B && ok; b++)
        ok = count_del(g->d2 + (sl * g->p.B + b) * nn, n) >= need;
    } else {
      ok = count_del(g->gc_del + sl * nn, n) >= need;
    }
    if (ok) {
      g->done[sl] = 1;
      decoded[(*ndecoded)++] = t;
    } else if (t == r - g->T) {
      (*nfailed)++;
    } else if (g->p.scheme == FS_SGC_SR && t == r) {
      /* v > s failed to deliver: v - s of them, lowest ids first, re-do
       * their job-t task in round t + B. */
      int v = n - count_del(g->gc_del + sl * nn, n);
      for (int i = 0; i < n && v > g->tol; i++)
        if (!g->gc_del[sl * nn + i]) {
          g->redo[sl * nn + i] = 1;
          v--;
        }
    }
  }
  g->round++;
  plan(g);
  return FS_OK;
}

fs_status fs_sgc_job_coefs(const fs_sgc *g, int job, double *coef_gc,
                           double *coef_d2, int *exact, fs_err *err) {
  int n = g->n;
  size_t nn = (size_t)n;
  if (!job_open(g, job) || !g->done[slot_of(g, job)])
    return fs_err_set(err, FS_ERANGE,
                      "stragglers: job %d is not decoded or no longer held",
                      job);
  size_t sl = (size_t)slot_of(g, job);
  *exact = 1;
  if (g->p.scheme == FS_SGC_M) {
    for (int b = 0; b < g->p.B; b++) {
      fs_status st = fs_gcode_decode(g->code, g->d2 + (sl * g->p.B + b) * nn,
                                     coef_d2 + (size_t)b * nn, err);
      if (st != FS_OK)
        return st;
    }
    return FS_OK;
  }
  const unsigned char *del = g->gc_del + sl * nn;
  if (g->p.scheme == FS_SGC_IGNORE) {
    int cnt = count_del(del, n);
    for (int i = 0; i < n; i++)
      coef_gc[i] = del[i] ? (double)n / cnt : 0.0;
    *exact = cnt == n;
    return FS_OK;
  }
  return fs_gcode_decode(g->code, del, coef_gc, err);
}
