/*
 * gc.c — the gc strategy: distributed gradient descent with straggler
 * mitigation.
 *
 * n = clients.num virtual workers; J = run.rounds jobs (gradient steps);
 * J + T rounds. The training set is cut, in its stored order, into the
 * scheduler's pieces (sizes in proportion to their weights). Each round:
 *  1. job r (if r < J) starts from the current model x;
 *  2. every worker with tasks gets one GC_TASK frame: its tasks as weighted
 *     sums of row ranges (the code's coefficients) and the models of the
 *     jobs they serve; it answers with one GC_RESULT frame (every byte of
 *     both is counted);
 *  3. worker i's virtual duration is f_i(r) (the straggler model) times its
 *     system profile's job time for those bytes and samples; the paper's
 *     rule (server/sgc.h) decides who straggled and how long the round took;
 *  4. results of workers that did not straggle are kept; every job that
 *     decodes gives g_t = (sum of D1 results + sum_i a_i r_i) / N and the
 *     step x <- x - server.lr g_t, in job order.
 * With T > 0 (SR-SGC, M-SGC) job t's gradient is taken at the model of round
 * t and applied when it decodes, up to T rounds later (delayed gradients),
 * unless gc.models = K > 1: then K models train concurrently, job t belongs
 * to model t mod K, and K >= T + 1 makes every gradient fresh (the paper's
 * setting). metrics.csv evaluates model 0; summary.json lists every model.
 * Everything runs in a fixed order on rank 0, and a worker's arithmetic
 * does not depend on its rank: the run is bit-identical for any rank count.
 * With secure.seal every frame is sealed (sim/sealer.h); a GC_RESULT that
 * fails to open (altered, replayed or forged) is counted and taken as that
 * worker straggling in the round: its results are lost, the round's time is
 * unchanged, and the jobs decode if the scheme tolerates the loss.
 *
 * This is the gc row of the strategy table (strategy.h): a role of its own,
 * with its own state, that uses the server's shared services (evaluation,
 * the summary.json writer, model.bin and SHUTDOWN).
 */
#include "srv.h"

#include "frame.h"
#include "fs_rng.h"
#include "gcmsg.h"
#include "metrics.h"
#include "model.h"
#include "sealer.h"
#include "sgc.h"
#include "straggler.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const fs_config *cfg;
  const fs_world *w;
  fs_transport *t;
  fs_sgc *g;
  fs_strag *sm;
  fs_model *model;
  size_t d;
  int n, T, R2, P, B, K; /* K: models trained concurrently (gc.models) */
  uint32_t *bound;       /* P + 1 row boundaries of the pieces */
  double total_w;        /* sum of piece weights */
  float *x; /* K x d: model m at x + m d; metrics evaluate model 0 */
  float *grad;
  double *acc;
  float *jobx;   /* R2 x d: the model each open job started from */
  float *gstore; /* R2 x n x d: GC-task results */
  float *d2;     /* R2 x B x n x d: M-SGC D2 results */
  double *d1;    /* R2 x d: M-SGC sum of D1 results */
  float *res;    /* n x maxtasks x d: this round's results */
  int maxtasks;
  uint8_t *got;    /* n: result received this round (2: refused, sealed) */
  fs_sealer *seal; /* secure.seal (NULL: off) */
  double *coef_gc, *coef_d2, *f, *dur;
  uint64_t *down_b, *up_b, *samples;
  unsigned char *strag;
  uint8_t *frame;
  size_t frame_cap;
  fs_gcmsg_task *tk;
  fs_gcmsg_term *tm;
  const float **models;
  int *pc;
  double *cf;
} gcs;

static fs_status params_from_config(const fs_config *cfg, fs_sgc_params *sp,
                                    fs_strag_params *mp, fs_err *err) {
  *sp = (fs_sgc_params){.n = (int)cfg->clients,
                        .s = (int)cfg->gc_s,
                        .B = (int)cfg->gc_B,
                        .W = (int)cfg->gc_W,
                        .lambda = (int)cfg->gc_lambda,
                        .jobs = (int)cfg->rounds,
                        .seed = cfg->seed,
                        .code = cfg->gc_code == FS_CFG_GCODE_FR ? FS_GCODE_FR
                                                                : FS_GCODE_CR};
  switch (cfg->gc_scheme) {
  case FS_CFG_GC_NONE:
    sp->scheme = FS_SGC_NONE;
    break;
  case FS_CFG_GC_IGNORE:
    sp->scheme = FS_SGC_IGNORE;
    break;
  case FS_CFG_GC_FR:
  case FS_CFG_GC_CR:
    sp->scheme = FS_SGC_GC;
    sp->code = cfg->gc_scheme == FS_CFG_GC_FR ? FS_GCODE_FR : FS_GCODE_CR;
    break;
  case FS_CFG_GC_SR_SGC:
    sp->scheme = FS_SGC_SR;
    break;
  case FS_CFG_GC_M_SGC:
    sp->scheme = FS_SGC_M;
    break;
  }
  *mp = (fs_strag_params){
      .n = sp->n,
      .p = cfg->gc_p,
      .slowdown = cfg->gc_slowdown,
      .B = cfg->gc_strag_B ? (int)cfg->gc_strag_B : sp->B,
      .W = cfg->gc_strag_W ? (int)cfg->gc_strag_W : sp->W,
      .lambda = cfg->gc_strag_lambda ? (int)cfg->gc_strag_lambda : sp->lambda,
      .param = cfg->gc_param,
      .trace = cfg->gc_trace,
      .seed = cfg->seed};
  mp->kind = (fs_strag_kind)cfg->gc_straggler; /* same order */
  (void)err;
  return FS_OK;
}

/* Evaluate model x (eval.c: the pooled training rows) into a row. */
static void evaluate(gcs *s, const float *x, int gn, fs_metrics_row *row) {
  fs_srv_eval e;
  fs_srv_eval_pooled(s->model, s->w, x, s->grad, s->d, gn, &e);
  row->has_eval = 1;
  row->train_loss = e.train_loss;
  if (gn) {
    row->has_grad = 1;
    row->grad_norm_sq = e.grad_norm_sq;
  }
  row->test_loss = e.test_loss;
  row->test_acc = e.test_acc;
}

/* Build and post worker i's GC_TASK frame for round r. */
static fs_status post_tasks(gcs *s, int i, int r, fs_err *err) {
  int cnt;
  const fs_sgc_task *tasks = fs_sgc_tasks(s->g, i, &cnt);
  size_t nterms = 0, nmodels = 0;
  int jobs_seen[8192];
  s->samples[i] = 0;
  for (int k = 0; k < cnt; k++) {
    uint32_t m = 0;
    while (m < nmodels && jobs_seen[m] != tasks[k].job)
      m++;
    if (m == nmodels) {
      jobs_seen[nmodels] = tasks[k].job;
      s->models[nmodels++] = s->jobx + (size_t)(tasks[k].job % s->R2) * s->d;
    }
    int nt = fs_sgc_task_terms(s->g, i, &tasks[k], s->pc, s->cf);
    s->tk[k] = (fs_gcmsg_task){
        .model = m, .nterms = (uint32_t)nt, .term0 = (uint32_t)nterms};
    for (int q = 0; q < nt; q++) {
      uint32_t r0 = s->bound[s->pc[q]], r1 = s->bound[s->pc[q] + 1];
      s->tm[nterms++] =
          (fs_gcmsg_term){.row0 = r0, .rows = r1 - r0, .coef = s->cf[q]};
      s->samples[i] += r1 - r0;
    }
  }
  size_t body = fs_gcmsg_task_size((size_t)cnt, nterms, nmodels, s->d);
  size_t need = FS_FRAME_HEADER_BYTES + body;
  if (need > UINT32_MAX)
    return fs_err_set(err, FS_ERANGE, "gc: task frame of %zu bytes", need);
  if (need > s->frame_cap) {
    uint8_t *b = realloc(s->frame, need);
    if (!b)
      return fs_err_set(err, FS_ENOMEM, "gc: out of memory");
    s->frame = b;
    s->frame_cap = need;
  }
  fs_frame_header h = {.type = FS_MSG_GC_TASK,
                       .encoding = FS_PL_DENSE,
                       .round = (uint32_t)r,
                       .client = (uint32_t)i,
                       .model_version = (uint32_t)r,
                       .body_len = (uint32_t)body};
  fs_frame_header_encode(&h, s->frame);
  fs_gcmsg_task_encode(s->tk, (size_t)cnt, s->tm, s->models, nmodels, s->d,
                       s->frame + FS_FRAME_HEADER_BYTES);
  s->down_b[i] = 8ull * fs_sealer_wire_bytes(s->seal, body);
  fs_iov iov = {s->frame, need};
  return fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,
                        fs_transport_worker_of(s->t, (uint64_t)i), &iov, 1, 1,
                        err);
}

static fs_status receive_result(gcs *s, int r, fs_err *err) {
  fs_sealed_frame fr;
  fs_status st = fs_sealer_recv(s->seal, s->t, FS_ROLE_SERVER, 1, &fr, err);
  if (st != FS_OK)
    return st;
  const uint8_t *buf = fr.frame;
  size_t len = fr.len, wire = fr.wire;
  uint32_t named = fr.named;
  const fs_err *oe = &fr.why;
  if ((st = fr.refused) != FS_OK) {
    /* Refused (counted by the sealer): that worker's results are lost this
     * round, as a straggler's are; its bytes crossed and count. */
    int tasks = 0;
    if (named < (uint32_t)s->n)
      fs_sgc_tasks(s->g, (int)named, &tasks);
    if (tasks == 0 || s->got[named])
      return fs_err_set(err, st,
                        "gc: refused a sealed frame in round %d that names "
                        "worker %u, which owes no result: %s",
                        r + 1, named, oe->msg);
    if (fr.first_refusal)
      fprintf(stderr,
              "fedsim: warning: gc: refused the sealed result of worker %u in "
              "round %d (%s); it counts as a straggler (refused frames are "
              "counted in rejected_frames)\n",
              named, r + 1, oe->msg);
    s->got[named] = 2;
    s->up_b[named] = 8ull * wire;
    return FS_OK;
  }
  fs_frame_header h;
  if ((st = fs_frame_header_decode(buf, len, &h, err)) != FS_OK)
    return st;
  int cnt = 0;
  if (h.type == FS_MSG_GC_RESULT && h.client < (uint32_t)s->n)
    fs_sgc_tasks(s->g, (int)h.client, &cnt);
  if (h.type != FS_MSG_GC_RESULT || h.round != (uint32_t)r || cnt == 0 ||
      s->got[h.client])
    return fs_err_set(err, FS_EFORMAT,
                      "gc: unexpected frame (type %u, round %u, worker %u) "
                      "while waiting for results of round %d",
                      h.type, h.round, h.client, r);
  const uint8_t *body = buf + FS_FRAME_HEADER_BYTES;
  fs_update_meta meta;
  fs_err e2 = {0};
  st = fs_update_meta_decode(body, h.body_len, &meta, &e2);
  if (st == FS_OK)
    st = fs_dense_decode(body + FS_UPDATE_META_BYTES,
                         h.body_len - FS_UPDATE_META_BYTES,
                         s->res + (size_t)h.client * s->maxtasks * s->d,
                         (size_t)cnt * s->d, &e2);
  if (st != FS_OK)
    return fs_err_set(err, st, "gc: result of worker %u: %s", h.client, e2.msg);
  s->got[h.client] = 1;
  s->up_b[h.client] = 8ull * wire;
  return FS_OK;
}

/* Keep the results of the workers that did not straggle. */
static void store_results(gcs *s) {
  size_t d = s->d, n = (size_t)s->n;
  for (int i = 0; i < s->n; i++) {
    int cnt;
    const fs_sgc_task *tasks = fs_sgc_tasks(s->g, i, &cnt);
    if (s->strag[i])
      continue;
    for (int k = 0; k < cnt; k++) {
      const float *v = s->res + ((size_t)i * s->maxtasks + k) * d;
      size_t sl = (size_t)(tasks[k].job % s->R2);
      if (tasks[k].kind == FS_SGC_TASK_GC) {
        memcpy(s->gstore + (sl * n + i) * d, v, d * sizeof *v);
      } else if (tasks[k].kind == FS_SGC_TASK_D1) {
        double *a = s->d1 + sl * d;
        for (size_t j = 0; j < d; j++)
          a[j] += v[j];
      } else {
        size_t at = ((sl * s->B + tasks[k].index) * n + i) * d;
        memcpy(s->d2 + at, v, d * sizeof *v);
      }
    }
  }
}

/* Decode job t and step; *exact is cleared if it is not the exact gradient.
 */
static fs_status apply_job(gcs *s, int t, int *exact, fs_err *err) {
  size_t d = s->d, n = (size_t)s->n, sl = (size_t)(t % s->R2);
  int ex;
  fs_status st = fs_sgc_job_coefs(s->g, t, s->coef_gc, s->coef_d2, &ex, err);
  if (st != FS_OK)
    return st;
  if (!ex)
    *exact = 0;
  for (size_t j = 0; j < d; j++)
    s->acc[j] = s->d1 ? s->d1[sl * d + j] : 0.0;
  if (s->d2) {
    for (int b = 0; b < s->B; b++)
      for (size_t i = 0; i < n; i++) {
        double a = s->coef_d2[(size_t)b * n + i];
        if (a == 0.0)
          continue;
        const float *v = s->d2 + ((sl * s->B + b) * n + i) * d;
        for (size_t j = 0; j < d; j++)
          s->acc[j] += a * v[j];
      }
  } else {
    for (size_t i = 0; i < n; i++) {
      double a = s->coef_gc[i];
      if (a == 0.0)
        continue;
      const float *v = s->gstore + (sl * n + i) * d;
      for (size_t j = 0; j < d; j++)
        s->acc[j] += a * v[j];
    }
  }
  double lr = s->cfg->server_lr / (double)s->w->train.n;
  float *x = s->x + (size_t)(t % s->K) * d;
  for (size_t j = 0; j < d; j++)
    x[j] = (float)((double)x[j] - lr * s->acc[j]);
  return FS_OK;
}

static fs_status setup(gcs *s, fs_err *err) {
  size_t d = s->d, n = (size_t)s->n, R2 = (size_t)s->R2;
  s->P = fs_sgc_pieces(s->g);
  size_t N = s->w->train.n;
  s->bound = malloc(((size_t)s->P + 1) * sizeof *s->bound);
  if (!s->bound)
    return fs_err_set(err, FS_ENOMEM, "gc: out of memory");
  s->total_w = 0;
  for (int p = 0; p < s->P; p++)
    s->total_w += fs_sgc_piece_weight(s->g, p);
  double cum = 0;
  s->bound[0] = 0;
  for (int p = 0; p < s->P; p++) {
    cum += fs_sgc_piece_weight(s->g, p);
    s->bound[p + 1] = p + 1 == s->P
                          ? (uint32_t)N
                          : (uint32_t)floor((double)N * cum / s->total_w);
    if (s->bound[p + 1] <= s->bound[p])
      return fs_err_set(err, FS_ECONFIG,
                        "gc: %zu training rows are too few for the %d data "
                        "pieces of gc.scheme %s with %d workers",
                        N, s->P, FS_CFG_NAME(s->cfg, gc_scheme), s->n);
  }
  s->maxtasks = 1;
  if (s->cfg->gc_scheme == FS_CFG_GC_M_SGC)
    s->maxtasks = (int)(s->cfg->gc_W - 1 + s->cfg->gc_B);
  int m = s->cfg->gc_scheme == FS_CFG_GC_M_SGC;
  s->B = m ? (int)s->cfg->gc_B : 1;
  s->x = malloc((size_t)s->K * d * sizeof *s->x);
  s->grad = malloc(d * sizeof *s->grad);
  s->acc = malloc(d * sizeof *s->acc);
  s->jobx = malloc(R2 * d * sizeof *s->jobx);
  s->gstore = m ? NULL : malloc(R2 * n * d * sizeof *s->gstore);
  s->d2 = m ? malloc(R2 * (size_t)s->B * n * d * sizeof *s->d2) : NULL;
  s->d1 = m ? calloc(R2 * d, sizeof *s->d1) : NULL;
  s->res = malloc(n * (size_t)s->maxtasks * d * sizeof *s->res);
  s->got = calloc(n, 1);
  s->coef_gc = malloc(n * sizeof *s->coef_gc);
  s->coef_d2 = malloc((size_t)s->B * n * sizeof *s->coef_d2);
  s->f = malloc(n * sizeof *s->f);
  s->dur = malloc(n * sizeof *s->dur);
  s->down_b = calloc(n, sizeof *s->down_b);
  s->up_b = calloc(n, sizeof *s->up_b);
  s->samples = calloc(n, sizeof *s->samples);
  s->strag = calloc(n, 1);
  s->tk = malloc((size_t)s->maxtasks * sizeof *s->tk);
  s->tm = malloc((size_t)s->maxtasks * n * sizeof *s->tm);
  s->models = malloc((size_t)s->maxtasks * sizeof *s->models);
  s->pc = malloc(n * sizeof *s->pc);
  s->cf = malloc(n * sizeof *s->cf);
  if (!s->x || !s->grad || !s->acc || !s->jobx || (!m && !s->gstore) ||
      (m && (!s->d2 || !s->d1)) || !s->res || !s->got || !s->coef_gc ||
      !s->coef_d2 || !s->f || !s->dur || !s->down_b || !s->up_b ||
      !s->samples || !s->strag || !s->tk || !s->tm || !s->models || !s->pc ||
      !s->cf)
    return fs_err_set(err, FS_ENOMEM,
                      "gc: out of memory (%zu workers, model of %zu "
                      "parameters, %d rounds of results kept)",
                      n, d, s->R2);
  return FS_OK;
}

static void release(gcs *s) {
  fs_sgc_free(s->g);
  fs_strag_free(s->sm);
  fs_model_free(s->model);
  free(s->bound);
  free(s->x);
  free(s->grad);
  free(s->acc);
  free(s->jobx);
  free(s->gstore);
  free(s->d2);
  free(s->d1);
  free(s->res);
  free(s->got);
  free(s->coef_gc);
  free(s->coef_d2);
  free(s->f);
  free(s->dur);
  free(s->down_b);
  free(s->up_b);
  free(s->samples);
  free(s->strag);
  free(s->frame);
  free(s->tk);
  free(s->tm);
  free(s->models);
  free(s->pc);
  free(s->cf);
}

typedef struct {
  uint64_t up, down, stragglers, waits, failed, inexact, decoded;
  double vtime, load_sum;
  fs_metrics_row last;
} gc_totals;

static fs_status run(gcs *s, const fs_server_args *a, gc_totals *tot,
                     fs_err *err) {
  const fs_config *cfg = s->cfg;
  fs_metrics *mw;
  fs_status st = fs_metrics_open(a->run_dir, &mw, err);
  if (st != FS_OK)
    return st;
  int gn = cfg->eval_grad_norm == FS_CFG_GN_ON ||
           (cfg->eval_grad_norm == FS_CFG_GN_AUTO &&
            (int64_t)s->d <= cfg->eval_grad_norm_max_dim);
  double t0 = fs_transport_wtime();
  fs_metrics_row row0 = {.round = 0, .has_gc = 1, .gc_exact = -1};
  evaluate(s, s->x, gn, &row0);
  if ((st = fs_metrics_write(mw, &row0, err)) != FS_OK)
    goto out;
  int R = fs_sgc_rounds(s->g), J = (int)cfg->rounds;
  int dec[8192];
  for (int r = 0; r < R; r++) {
    if (r < J) {
      memcpy(s->jobx + (size_t)(r % s->R2) * s->d,
             s->x + (size_t)(r % s->K) * s->d, s->d * sizeof *s->x);
      if (s->d1)
        memset(s->d1 + (size_t)(r % s->R2) * s->d, 0, s->d * sizeof *s->d1);
    }
    fs_strag_factors(s->sm, r, s->f);
    int active = 0;
    double load = 0;
    memset(s->got, 0, (size_t)s->n);
    for (int i = 0; i < s->n; i++) {
      int cnt;
      fs_sgc_tasks(s->g, i, &cnt);
      s->down_b[i] = s->up_b[i] = 0;
      if (cnt == 0)
        continue;
      active++;
      if ((st = post_tasks(s, i, r, err)) != FS_OK)
        goto out;
    }
    for (int k = 0; k < active; k++)
      if ((st = receive_result(s, r, err)) != FS_OK)
        goto out;
    if ((st = fs_transport_flush(s->t, err)) != FS_OK)
      goto out;
    uint64_t up = 0, down = 0;
    for (int i = 0; i < s->n; i++) {
      int cnt;
      fs_sgc_tasks(s->g, i, &cnt);
      s->dur[i] = 0;
      if (cnt == 0)
        continue;
      s->dur[i] =
          s->f[i] * fs_job_sim_seconds(cfg, s->w, (uint32_t)i, s->down_b[i],
                                       s->samples[i], s->up_b[i]);
      up += s->up_b[i];
      down += s->down_b[i];
      load += (double)s->samples[i] / (double)s->w->train.n;
    }
    int waited;
    double dt = fs_sgc_round_time(s->g, s->dur, s->strag, &waited);
    uint32_t ns = 0;
    for (int i = 0; i < s->n; i++) {
      if (s->got[i] == 2)
        s->strag[i] = 1; /* sealed result refused: lost like a straggler's */
      ns += s->strag[i];
    }
    store_results(s);
    int nd, nf, exact = 1;
    if ((st = fs_sgc_end_round(s->g, s->strag, dec, &nd, &nf)) != FS_OK)
      goto out;
    for (int k = 0; k < nd; k++)
      if ((st = apply_job(s, dec[k], &exact, err)) != FS_OK)
        goto out;
    if (nf > 0)
      exact = 0;
    tot->vtime += dt;
    tot->up += up;
    tot->down += down;
    tot->stragglers += ns;
    tot->waits += (uint64_t)waited;
    tot->failed += (uint64_t)nf;
    tot->decoded += (uint64_t)nd;
    tot->inexact += (uint64_t)(nd > 0 && !exact) * (uint64_t)nd;
    tot->load_sum += load / s->n;
    fs_metrics_row row = {.round = (uint64_t)r + 1,
                          .vtime_s = tot->vtime,
                          .clients = (uint32_t)active - ns,
                          .bits_up = up,
                          .bits_down = down,
                          .bits_up_cum = tot->up,
                          .bits_down_cum = tot->down,
                          .has_gc = 1,
                          .gc_load = load / s->n,
                          .gc_stragglers = ns,
                          .gc_exact = (nd > 0 || nf > 0) ? exact : -1,
                          .rejected_frames = fs_sealer_rejected(s->seal)};
    int last = r + 1 == R;
    if ((r + 1) % cfg->eval_every == 0 || last)
      evaluate(s, s->x, gn, &row);
    row.wall_s = fs_transport_wtime() - t0;
    if ((st = fs_metrics_write(mw, &row, err)) != FS_OK)
      goto out;
    tot->last = row;
    if (last || (r + 1) % (R >= 10 ? R / 10 : 1) == 0) {
      printf("round %d/%d  jobs decoded %llu  stragglers %u  vtime %.1fs\n",
             r + 1, R, (unsigned long long)tot->decoded, ns, tot->vtime);
      fflush(stdout);
    }
  }
out:
  fs_metrics_close(mw);
  return st;
}

/* summary.json's body for gc: the scheme's figures, the final row, the
 * refused frames, and with gc.models > 1 every model's final figures. */
typedef struct {
  gcs *s;
  const gc_totals *tot;
} gc_summary;

static void summary_body(void *ctx, void *obj) {
  gc_summary *gs = ctx;
  gcs *s = gs->s;
  const gc_totals *tot = gs->tot;
  const fs_config *cfg = s->cfg;
  cJSON *sum = obj;
  cJSON *g = cJSON_AddObjectToObject(sum, "gc");
  cJSON_AddStringToObject(g, "scheme", FS_CFG_NAME(cfg, gc_scheme));
  cJSON_AddNumberToObject(g, "workers", s->n);
  cJSON_AddNumberToObject(g, "tolerance", fs_sgc_tolerance(s->g));
  cJSON_AddNumberToObject(g, "normalised_load", fs_sgc_load(s->g));
  cJSON_AddNumberToObject(g, "delay_T", s->T);
  cJSON_AddNumberToObject(g, "jobs", (double)cfg->rounds);
  cJSON_AddNumberToObject(g, "models", s->K);
  cJSON_AddNumberToObject(g, "rounds", fs_sgc_rounds(s->g));
  cJSON_AddNumberToObject(g, "jobs_decoded", (double)tot->decoded);
  cJSON_AddNumberToObject(g, "jobs_failed", (double)tot->failed);
  cJSON_AddNumberToObject(g, "jobs_inexact", (double)tot->inexact);
  cJSON_AddNumberToObject(g, "straggler_events", (double)tot->stragglers);
  cJSON_AddNumberToObject(g, "rounds_waited_for_all", (double)tot->waits);
  cJSON_AddStringToObject(g, "straggler_model", FS_CFG_NAME(cfg, gc_straggler));
  cJSON *f = cJSON_AddObjectToObject(sum, "final");
  cJSON_AddNumberToObject(f, "round", (double)tot->last.round);
  cJSON_AddNumberToObject(f, "test_acc", tot->last.test_acc);
  cJSON_AddNumberToObject(f, "test_loss", tot->last.test_loss);
  cJSON_AddNumberToObject(f, "train_loss", tot->last.train_loss);
  if (tot->last.has_grad)
    cJSON_AddNumberToObject(f, "grad_norm_sq", tot->last.grad_norm_sq);
  cJSON_AddNumberToObject(f, "bits_up", (double)tot->up);
  cJSON_AddNumberToObject(f, "bits_down", (double)tot->down);
  cJSON_AddNumberToObject(f, "vtime_s", tot->vtime);
  if (s->seal != NULL) {
    cJSON_AddNumberToObject(f, "rejected_frames",
                            (double)fs_sealer_rejected(s->seal));
    cJSON *rf = cJSON_AddObjectToObject(f, "rejected_frames_by_status");
    for (int k = 1; k < FS__STATUS_COUNT; k++)
      if (fs_sealer_rejected_by(s->seal, (fs_status)k) > 0)
        cJSON_AddNumberToObject(
            rf, fs_status_name((fs_status)k),
            (double)fs_sealer_rejected_by(s->seal, (fs_status)k));
  }
  if (s->K > 1) {
    /* Every model's final figures (the rows above are model 0's). */
    cJSON *ms = cJSON_AddArrayToObject(sum, "models");
    for (int m = 0; m < s->K; m++) {
      fs_metrics_row e = {0};
      evaluate(s, s->x + (size_t)m * s->d, 0, &e);
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "model", m);
      cJSON_AddNumberToObject(o, "jobs",
                              (double)((cfg->rounds - m + s->K - 1) / s->K));
      cJSON_AddNumberToObject(o, "train_loss", e.train_loss);
      cJSON_AddNumberToObject(o, "test_acc", e.test_acc);
      cJSON_AddItemToArray(ms, o);
    }
  }
}

static fs_status write_summary(gcs *s, const fs_server_args *a,
                               const gc_totals *tot, fs_err *err) {
  const fs_config *cfg = s->cfg;
  gc_summary gs = {s, tot};
  fs_status st = fs_srv_summary_write(a, "gc", 0, summary_body, &gs, err);
  if (st == FS_OK)
    printf("fedsim: gc %s: %llu jobs decoded (%llu failed, %llu inexact), "
           "test accuracy %.4f, train loss %.6g, virtual time %.1f s; "
           "results in %s/\n",
           FS_CFG_NAME(cfg, gc_scheme), (unsigned long long)tot->decoded,
           (unsigned long long)tot->failed, (unsigned long long)tot->inexact,
           tot->last.test_acc, tot->last.train_loss, tot->vtime, a->run_dir);
  return st;
}

/* Run the whole gc training (J = run.rounds jobs, J + T rounds), write
 * metrics.csv and summary.json into a->run_dir and shut the workers down.
 * Impossible gc.* parameters return FS_ECONFIG with the reason. Takes over
 * a->build_info. */
static fs_status gc_role(const fs_server_args *a, fs_err *err) {
  gcs s = {.cfg = a->cfg, .w = a->world, .t = a->t};
  fs_sgc_params sp;
  fs_strag_params mp;
  /* First, so that even an early error shuts the workers down sealed. */
  uint32_t W = (uint32_t)fs_transport_workers(a->t);
  uint32_t N = (uint32_t)a->cfg->clients;
  fs_status st =
      fs_sealer_new(a->cfg, FS_ROLE_SERVER, N > W ? N : W, &s.seal, err);
  if (st == FS_OK)
    st = params_from_config(a->cfg, &sp, &mp, err);
  fs_err e2 = {0};
  if (st == FS_OK && (st = fs_sgc_new(&sp, &s.g, &e2)) != FS_OK)
    st = fs_err_set(err, FS_ECONFIG, "gc.*: %s", e2.msg);
  if (st == FS_OK && (st = fs_strag_new(&mp, &s.sm, &e2)) != FS_OK)
    st = fs_err_set(err, st == FS_EINVAL ? FS_ECONFIG : st, "gc.straggler: %s",
                    e2.msg);
  if (st == FS_OK)
    st = fs_model_new(&a->world->mspec, 1024, &s.model, err);
  if (st == FS_OK) {
    s.d = fs_model_dim(s.model);
    s.n = sp.n;
    s.T = fs_sgc_delay(s.g);
    s.R2 = s.T + 2;
    s.K = (int)a->cfg->gc_models;
    st = setup(&s, err);
  }
  gc_totals tot = {0};
  if (st == FS_OK) {
    for (int m = 0; m < s.K; m++) {
      fs_rng r;
      fs_rng_init(&r, a->cfg->seed, FS_RNG_MODEL_INIT, (uint64_t)m, 0);
      fs_model_init_params(s.model, s.x + (size_t)m * s.d, &r);
    }
    st = run(&s, a, &tot, err);
    if (st == FS_OK)
      st = write_summary(&s, a, &tot, err);
    if (st == FS_OK && a->cfg->save_model)
      st = fs_server_write_model(a->run_dir, s.x, s.d, err);
  } else {
    cJSON_Delete((cJSON *)a->build_info);
  }
  fs_status st2 =
      fs_server_shutdown_workers(s.seal, a->t, st == FS_OK ? err : NULL);
  if (st == FS_OK)
    st = st2;
  fs_sealer_free(s.seal);
  release(&s);
  return st;
}

/* gc's rules: no synchronous-round features it lacks (fs_strategy__not_sync)
 * and the virtual clock without DP, EF, compression or simulated absences. */
static fs_status gc_check(const fs_config *cfg, fs_err *err) {
  fs_status st = fs_strategy__not_sync(cfg, err);
  if (st == FS_OK &&
      (cfg->clock != FS_CFG_CLOCK_VIRTUAL || cfg->dp_clip != FS_CFG_CLIP_NONE ||
       cfg->ef_method != FS_CFG_EF_NONE ||
       cfg->comp_up != FS_CFG_COMP_IDENTITY || cfg->sys_dropout > 0 ||
       cfg->sys_offline_fraction > 0 || cfg->time_budget > 0))
    st = fs_err_set(err, FS_ECONFIG,
                    "server.strategy: gc (gradient coding) runs on the "
                    "virtual clock without DP, error feedback, uplink "
                    "compression, dropouts, offline windows or a time "
                    "budget");
  return st;
}

const fs_strategy fs_strategy_gc = {
    .base = {.name = "gc",
             .help = "distributed gradient descent with straggler mitigation "
                     "(gradient coding, SR-SGC, M-SGC; docs/stragglers.md)",
             .check = gc_check},
    .role = gc_role,
};
