/*
 * server.c — the server role (rank 0), its skeleton: set up the state the
 * strategies share (srv.h: the model, the sealer, compressors, robust and
 * secure aggregation, the server optimiser, per-round and per-client
 * buffers), pick the configured strategy's row from the table
 * (strategy.h) once, run its loop (or, on the wall clock, the asynchronous
 * strategies' wall loop; or the row's whole role, for gc), report the end
 * (report.c), write model.bin, shut the workers down and free everything.
 *
 * What each strategy does is in its own file (fedavg.c, async.c,
 * fedbuff.c, fedfix.c on async_engine.c, gc.c; wall.c), evaluation in
 * eval.c, metrics rows and summary.json in report.c, checkpoints in
 * run_state.c, client sampling in sample.c, model.bin and SHUTDOWN in
 * model_io.c. docs/architecture.md draws the whole.
 */
#include "server.h"
#include "ef.h"
#include "srv.h"

#include "fs_rng.h"
#include "robust.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loops' shared part of a run: open metrics.csv (or resume), run the
 * row's loop, report, write model.bin. */
static fs_status run_rounds(fs_srv *s, const fs_server_args *a,
                            const fs_strategy *row, fs_err *err) {
  const fs_config *cfg = a->cfg;
  fs_srv_run ctx = {.s = s, .a = a, .row = row, .last_client_loss = NAN};
  fs_srv_run *c = &ctx;
  fs_status st = FS_OK;
  c->wall_clock = cfg->clock == FS_CFG_CLOCK_WALL;
  c->progress = fs_srv_want_progress(cfg);
  c->gn = cfg->eval_grad_norm == FS_CFG_GN_ON ||
          (cfg->eval_grad_norm == FS_CFG_GN_AUTO &&
           (int64_t)s->dim <= cfg->eval_grad_norm_max_dim);
  c->t0 = fs_transport_wtime();
  c->n_acc = cfg->eval_targets.n;
  c->n_grad = cfg->eval_grad_targets.n;
  for (size_t i = 0; i < c->n_acc; i++)
    c->acc_t[i] = (fs_srv_target){.target = cfg->eval_targets.v[i]};
  for (size_t i = 0; i < c->n_grad; i++)
    c->grad_t[i] = (fs_srv_target){.target = cfg->eval_grad_targets.v[i]};
  if (cfg->dp_noise == FS_CFG_NOISE_CENTRAL) {
    fs_dp_conversion conv = cfg->dp_conversion == FS_CFG_CONV_CLASSIC
                                ? FS_DP_CLASSIC
                                : FS_DP_IMPROVED;
    st = fs_dp_accountant_new((double)cfg->per_round / (double)s->N, s->w->dp_z,
                              cfg->dp_delta, conv, &c->acct, err);
    if (st != FS_OK)
      goto out;
  }
  if (cfg->resume[0] != '\0') {
    if ((st = fs_srv_resume(c, err)) != FS_OK)
      goto out;
  } else {
    if ((st = fs_metrics_open(a->run_dir, &c->mw, err)) != FS_OK)
      goto out;
    fs_metrics_row row0 = {.round = 0};
    if ((st = fs_srv_emit_row(c, &row0, 0, err)) != FS_OK)
      goto out;
  }
  if (c->wall_clock)
    printf("fedsim: wall clock: events in real arrival order, durations "
           "measured; this run is not reproducible by nature\n");
  fs_status (*loop)(fs_srv_run *, fs_err *) = row->loop;
  if (c->wall_clock && (row->flags & FS_STRATEGY_ASYNC))
    loop = fs_srv_wall_loop;
  if ((st = loop(c, err)) != FS_OK)
    goto out;
  if (c->stopped) {
    cJSON_Delete((cJSON *)a->build_info); /* no summary: it is not taken */
    fs_ckpt_interrupted = 1;
    printf("fedsim: stopped by a signal after aggregation %llu; its "
           "checkpoint is complete. Continue with: fedsim --resume %s (under "
           "mpirun or srun as before, on any number of ranks)\n",
           (unsigned long long)c->rounds_run, a->run_dir);
    goto out;
  }
  if ((st = fs_srv_report_end(c, err)) != FS_OK)
    goto out;
  if (cfg->save_model)
    st = fs_server_write_model(a->run_dir, s->x, s->dim, err);
out:
  free(c->sched_blob);
  fs_dp_accountant_free(c->acct);
  fs_metrics_close(c->mw);
  return st;
}

/* The robust aggregator of server.aggregator, checked against
 * clients.per_round and server.robust_f before the run starts. */
static fs_status robust_new(fs_srv *s, fs_err *err) {
  const fs_config *cfg = s->cfg;
  /* server.aggregator's names after "fedavg" are the rules, in order. */
  const fs_robust_rule *r =
      fs_robust_at((size_t)(cfg->aggregator - FS_CFG_AGG_MEAN));
  if (r == NULL)
    return fs_err_set(err, FS_ECONFIG, "server.aggregator: no robust rule '%s'",
                      FS_CFG_NAME(cfg, aggregator));
  fs_robust_params p = {.f = (size_t)cfg->robust_f,
                        .m = (size_t)cfg->multikrum_m};
  fs_err e2 = {0};
  if (fs_robust_check(r, (size_t)s->K, &p, &e2) != FS_OK)
    return fs_err_set(err, FS_ECONFIG,
                      "server.robust_f, clients.per_round: %s (k = "
                      "clients.per_round)",
                      e2.msg);
  fs_status st = fs_robust_round_new(
      r, p.f, p.m,
      cfg->nna_pivot == FS_CFG_PIVOT_MODEL ? FS_PIVOT_MODEL : FS_PIVOT_PREVIOUS,
      s->K, s->dim, &s->rob, err);
  if (st != FS_OK || cfg->nna_pivot != FS_CFG_PIVOT_OWN)
    return st;
  fs_fault_kind kind = (fs_fault_kind)cfg->fault_kind; /* same order */
  st = fs_faults_new(cfg->seed, s->N, cfg->fault_fraction, kind,
                     cfg->fault_scale, cfg->fault_noise_std, &s->p2p_faulty,
                     err);
  if (st == FS_OK)
    st = fs_p2p_new(r, p.f, s->lr, s->N, s->dim, s->p2p_faulty, &s->p2p, err);
  return st;
}

/* The sealer, model, compressors, step size, optimiser, robust and secure
 * aggregation of the run; on an error, what was made is left for
 * srv_free. */
static fs_status srv_open(fs_srv *s, const fs_server_args *a,
                          const fs_strategy *row, fs_err *err) {
  const fs_config *cfg = a->cfg;
  s->N = (uint32_t)cfg->clients;
  s->K = (uint32_t)cfg->per_round;
  s->ef21 = (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_21) != 0;
  uint32_t W = (uint32_t)fs_transport_workers(a->t);
  fs_status st =
      fs_sealer_new(cfg, FS_ROLE_SERVER, s->N > W ? s->N : W, &s->seal, err);
  fs_ckpt_set_sealer(s->seal); /* CHECKPOINT frames are sealed too */
  (void)row;                   /* its check ran with fs_config_validate */
  s->opt.row = fs_optim_at((size_t)cfg->server_optimizer); /* a table row */
  if (st == FS_OK)
    st = fs_model_new(&a->world->mspec, 1024, &s->model, err);
  if (st == FS_OK) {
    s->dim = fs_model_dim(s->model);
    st = fs_comp_spec_from_config(cfg, 0, s->dim, &s->comp, err);
  }
  if (st == FS_OK)
    st = fs_server_step_size(cfg, a->world, s->dim, &s->lr, err);
  s->bc.on = cfg->comp_down != FS_CFG_COMP_IDENTITY;
  if (st == FS_OK && s->bc.on)
    st = fs_comp_spec_from_config(cfg, 1, s->dim, &s->bc.down, err);
  if (st == FS_OK && cfg->aggregator != FS_CFG_AGG_FEDAVG)
    st = robust_new(s, err);
  if (st == FS_OK && cfg->sa_mode == FS_CFG_SA_SECAGG)
    st = fs_sa_server_new(
        cfg, s->dim, cfg->sampling == FS_CFG_SAMPLING_POISSON ? s->N : s->K,
        &s->sa, err);
  if (st == FS_OK && s->sa != NULL)
    fs_sa_server_set_sealer(s->sa, s->seal); /* SA_* frames sealed too */
  return st;
}

/* The buffers of the run, K per-round slots; 0 when out of memory. */
static int srv_alloc(fs_srv *s, const fs_server_args *a, const fs_strategy *row,
                     size_t K) {
  const fs_config *cfg = a->cfg;
  size_t maxrows = 1;
  for (size_t c = 0; c < s->N; c++) {
    size_t n = a->world->part.offset[c + 1] - a->world->part.offset[c];
    if (n > maxrows)
      maxrows = n;
  }
  int per_client = cfg->eval_objective == FS_CFG_OBJ_CLIENTS;
  s->x = malloc(s->dim * sizeof(float));
  s->grad = malloc(s->dim * sizeof(float));
  s->gtmp = malloc(s->dim * sizeof(float));
  s->acc = malloc(s->dim * sizeof(double));
  s->g = calloc(s->ef21 ? s->dim : 1, sizeof(double));
  s->cbuf = per_client ? malloc(maxrows * a->world->train.dim * sizeof(float))
                       : malloc(1);
  s->cy = per_client ? malloc(maxrows * sizeof(int32_t)) : malloc(1);
  s->sel = malloc(K * sizeof *s->sel);
  s->hdrs = malloc(K * FS_FRAME_HEADER_BYTES);
  s->body = malloc(fs_dense_size(s->dim));
  s->slot = calloc(K, sizeof *s->slot);
  s->state = calloc(K, 1);
  s->slot_w = calloc(K, sizeof *s->slot_w);
  s->slot_loss = calloc(K, sizeof *s->slot_loss);
  s->slot_ns = calloc(K, sizeof *s->slot_ns);
  s->job_s = calloc(K, sizeof *s->job_s);
  s->up_len = calloc(K, sizeof *s->up_len);
  s->pool = calloc(K + s->N, sizeof *s->pool);
  size_t NA = (row->flags & FS_STRATEGY_ASYNC) ? s->N : 1;
  fs_srv_async *as = &s->as;
  as->start = calloc(NA, sizeof *as->start);
  as->ver = calloc(NA, sizeof *as->ver);
  as->res = calloc(NA, sizeof *as->res);
  as->len = calloc(NA, sizeof *as->len);
  as->tau = calloc(NA, sizeof *as->tau);
  as->seq = calloc(NA, sizeof *as->seq);
  as->loss = calloc(NA, sizeof *as->loss);
  as->ns = calloc(NA, sizeof *as->ns);
  int mom = (s->opt.row->flags & FS_OPTIM_MOMENTS) != 0;
  s->opt.m = calloc(mom ? s->dim : 1, sizeof(double));
  s->opt.v = calloc(mom ? s->dim : 1, sizeof(double));
  s->seen = calloc((s->N + 7) / 8, 1);
  s->bc.b = calloc(s->bc.on ? s->dim : 1, sizeof(float));
  s->bc.dtmp = calloc(s->bc.on ? s->dim : 1, sizeof(float));
  return s->x && s->grad && s->gtmp && s->acc && s->g && s->cbuf && s->cy &&
         s->sel && s->hdrs && s->body && s->slot && s->state && s->slot_w &&
         s->slot_loss && s->slot_ns && s->job_s && s->up_len && s->pool &&
         s->seen && s->bc.b && s->bc.dtmp && as->start && as->ver && as->res &&
         as->len && as->tau && as->seq && as->loss && as->ns && s->opt.m &&
         s->opt.v;
}

/* Free everything srv_open and srv_alloc made (K per-round slots). */
static void srv_free(fs_srv *s, size_t K) {
  for (size_t i = 0; i < K && s->slot; i++)
    if (s->slot[i]) {
      fs_payload_free(s->slot[i]);
      free(s->slot[i]);
    }
  for (size_t i = 0; i < s->npool; i++) {
    fs_payload_free(s->pool[i]);
    free(s->pool[i]);
  }
  void *bufs[] = {s->pool,    s->x,       s->grad,   s->gtmp,   s->acc,
                  s->g,       s->cbuf,    s->cy,     s->sel,    s->hdrs,
                  s->body,    s->slot,    s->state,  s->slot_w, s->slot_loss,
                  s->slot_ns, s->job_s,   s->up_len, s->seen,   s->as.start,
                  s->as.ver,  s->as.res,  s->as.len, s->as.tau, s->as.seq,
                  s->as.loss, s->as.ns,   s->opt.m,  s->opt.v,  s->bc.b,
                  s->bc.dtmp, s->bc.mbody};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  fs_payload_free(&s->bc.m);
  fs_robust_round_free(s->rob);
  fs_p2p_free(s->p2p);
  fs_faults_free(s->p2p_faulty);
  fs_model_free(s->model);
  fs_sa_server_free(s->sa);
  fs_ckpt_set_sealer(NULL);
  fs_sealer_free(s->seal);
}

fs_status fs_server_run(const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  /* server.strategy is a table option: its value is the row's index. */
  const fs_strategy *row = fs_strategy_at((size_t)cfg->strategy);
  if (row->role != NULL)
    return row->role(a, err); /* a strategy with a role of its own (gc) */
  fs_srv s = {.cfg = cfg, .w = a->world, .t = a->t};
  fs_status st = srv_open(&s, a, row, err);
  size_t K = cfg->sampling == FS_CFG_SAMPLING_POISSON ? s.N : s.K;
  if (st != FS_OK) {
    cJSON_Delete((cJSON *)a->build_info);
    fs_server_shutdown_workers(s.seal, a->t, NULL);
    srv_free(&s, 0);
    return st;
  }
  if (!srv_alloc(&s, a, row, K)) {
    st = fs_err_set(err, FS_ENOMEM,
                    "server: out of memory (model of %zu "
                    "parameters, %zu clients per round)",
                    s.dim, K);
    cJSON_Delete((cJSON *)a->build_info);
  } else {
    fs_rng r;
    fs_rng_init(&r, cfg->seed, FS_RNG_MODEL_INIT, 0, 0);
    fs_model_init_params(s.model, s.x, &r);
    st = run_rounds(&s, a, row, err);
  }
  fs_status st2 =
      fs_server_shutdown_workers(s.seal, a->t, st == FS_OK ? err : NULL);
  if (st == FS_OK)
    st = st2;
  srv_free(&s, K);
  return st;
}
