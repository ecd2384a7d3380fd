/*
 * report.c — what a run reports: one metrics.csv row per aggregation
 * (evaluating when due), the targets of eval.targets and eval.grad_targets
 * (bits per client to reach them), the progress line, and summary.json,
 * whose one writer (fs_srv_summary_write) every strategy uses, gc included,
 * with a body of its own. docs/user-guide.md lists the fields.
 */
#include "srv.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fs_srv_human_bits(double bits, char *buf, size_t len) {
  double bytes = bits / 8.0;
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >= 1000.0 && i < 4) {
    bytes /= 1000.0;
    i++;
  }
  snprintf(buf, len, "%.1f %s", bytes, u[i]);
}

int fs_srv_want_progress(const fs_config *cfg) {
  if (cfg->progress == FS_CFG_PROGRESS_ON)
    return 1;
  if (cfg->progress == FS_CFG_PROGRESS_OFF)
    return 0;
  return isatty(STDOUT_FILENO);
}

static void check_targets(fs_srv_target *t, size_t n, double value, int below,
                          uint64_t round, double vtime, double up, double down,
                          double paper) {
  for (size_t i = 0; i < n; i++) {
    if (t[i].reached)
      continue;
    if (below ? value <= t[i].target : value >= t[i].target)
      t[i] = (fs_srv_target){t[i].target, 1, round, vtime, up, down, paper};
  }
}

static cJSON *targets_json(const fs_srv_target *t, size_t n, const char *what) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, what, t[i].target);
    cJSON_AddBoolToObject(o, "reached", t[i].reached);
    if (t[i].reached) {
      cJSON_AddNumberToObject(o, "round", (double)t[i].round);
      cJSON_AddNumberToObject(o, "vtime_s", t[i].vtime);
      cJSON_AddNumberToObject(o, "bits_up_per_client", t[i].up);
      cJSON_AddNumberToObject(o, "bits_down_per_client", t[i].down);
      cJSON_AddNumberToObject(o, "bits_total_per_client", t[i].up + t[i].down);
      cJSON_AddNumberToObject(o, "bits_up_paper_per_client", t[i].paper);
    }
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static void print_targets(const fs_srv_target *t, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++) {
    char b1[32], b2[32], b3[32];
    if (!t[i].reached) {
      printf("fedsim: %s %g: not reached\n", what, t[i].target);
      continue;
    }
    fs_srv_human_bits(t[i].up + t[i].down, b1, sizeof b1);
    fs_srv_human_bits(t[i].up, b2, sizeof b2);
    fs_srv_human_bits(t[i].down, b3, sizeof b3);
    printf("fedsim: %s %g reached at round %llu: %s per client (up %s, "
           "down %s)\n",
           what, t[i].target, (unsigned long long)t[i].round, b1, b2, b3);
  }
}

fs_status fs_srv_emit_row(fs_srv_run *c, fs_metrics_row *row, int last,
                          fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  uint64_t r = row->round;
  c->up_cum += row->bits_up;
  c->sa_bits += row->bits_secagg;
  c->sa_ms += row->secagg_ms;
  c->down_cum += row->bits_down;
  row->bits_up_cum = c->up_cum;
  row->bits_down_cum = c->down_cum;
  row->bits_up_paper_cum = c->paper_cum;
  row->rejected_frames = fs_sealer_rejected(s->seal);
  if (c->acct != NULL) {
    row->has_eps = 1;
    row->epsilon = c->eps;
  }
  c->vtime = row->vtime_s;
  c->rounds_run = r;
  if (r == 0 || r % (uint64_t)cfg->eval_every == 0 || last) {
    fs_srv_evaluate(s, c->gn, &c->ev);
    c->last_eval = r;
    row->has_eval = 1;
    row->train_loss = c->ev.train_loss;
    row->test_loss = c->ev.test_loss;
    row->test_acc = c->ev.test_acc;
    row->has_grad = c->gn;
    row->grad_norm_sq = c->ev.grad_norm_sq;
    if (r == 0 || c->ev.test_acc > c->best_acc) {
      c->best_acc = c->ev.test_acc;
      c->best_round = r;
    }
    uint32_t N = s->N;
    double upc = (double)c->up_cum / N, dnc = (double)c->down_cum / N,
           ppc = (double)c->paper_cum / N;
    check_targets(c->acc_t, c->n_acc, c->ev.test_acc, 0, r, c->vtime, upc, dnc,
                  ppc);
    if (c->gn)
      check_targets(c->grad_t, c->n_grad, c->ev.grad_norm_sq, 1, r, c->vtime,
                    upc, dnc, ppc);
    if (!isfinite(c->ev.train_loss))
      fprintf(stderr,
              "fedsim: warning: training loss is %g at aggregation %llu: "
              "the run diverged (lower local.lr or server.lr)\n",
              c->ev.train_loss, (unsigned long long)r);
  }
  row->rejected_nonfinite = s->rejected - c->rejected_last;
  c->rejected_last = s->rejected;
  row->wall_s = fs_transport_wtime() - c->t0;
  fs_status st = fs_metrics_write(c->mw, row, err);
  if (st != FS_OK || r == 0)
    return st;
  int64_t R = cfg->rounds;
  if (c->progress || last || (int64_t)r % (R >= 10 ? R / 10 : 1) == 0) {
    char ub[32], db[32];
    fs_srv_human_bits((double)c->up_cum, ub, sizeof ub);
    fs_srv_human_bits((double)c->down_cum, db, sizeof db);
    fprintf(stdout,
            "%sround %llu/%lld  acc %.4f  loss %.4f  up %s  down %s  "
            "vtime %.1fs  wall %.1fs%s",
            c->progress ? "\r\033[K" : "", (unsigned long long)r, (long long)R,
            c->ev.test_acc, c->ev.test_loss, ub, db, c->vtime, row->wall_s,
            c->progress && !last ? "" : "\n");
    fflush(stdout);
  }
  return FS_OK;
}

/* summary.json: the final figures. */
static void final_json(fs_srv_run *c, cJSON *sum) {
  fs_srv *s = c->s;
  cJSON *f = cJSON_AddObjectToObject(sum, "final");
  cJSON_AddNumberToObject(f, "round", (double)c->rounds_run);
  cJSON_AddNumberToObject(f, "test_acc", c->ev.test_acc);
  cJSON_AddNumberToObject(f, "test_loss", c->ev.test_loss);
  cJSON_AddNumberToObject(f, "train_loss", c->ev.train_loss);
  if (isfinite(c->last_client_loss))
    cJSON_AddNumberToObject(f, "clients_train_loss", c->last_client_loss);
  if (c->gn)
    cJSON_AddNumberToObject(f, "grad_norm_sq", c->ev.grad_norm_sq);
  cJSON_AddNumberToObject(f, "best_test_acc", c->best_acc);
  cJSON_AddNumberToObject(f, "best_round", (double)c->best_round);
  cJSON_AddNumberToObject(f, "bits_up", (double)c->up_cum);
  cJSON_AddNumberToObject(f, "bits_down", (double)c->down_cum);
  cJSON_AddNumberToObject(f, "bits_total", (double)(c->up_cum + c->down_cum));
  cJSON_AddNumberToObject(f, "bits_up_per_client", (double)c->up_cum / s->N);
  cJSON_AddNumberToObject(f, "bits_down_per_client",
                          (double)c->down_cum / s->N);
  cJSON_AddNumberToObject(f, "vtime_s", c->vtime);
  cJSON_AddNumberToObject(f, "wall_s", fs_transport_wtime() - c->t0);
  cJSON_AddNumberToObject(f, "rejected_updates", (double)s->rejected);
  cJSON_AddNumberToObject(f, "rejected_frames",
                          (double)fs_sealer_rejected(s->seal));
  if (s->seal != NULL) {
    cJSON *rf = cJSON_AddObjectToObject(f, "rejected_frames_by_status");
    for (int k = 1; k < FS__STATUS_COUNT; k++)
      if (fs_sealer_rejected_by(s->seal, (fs_status)k) > 0)
        cJSON_AddNumberToObject(
            rf, fs_status_name((fs_status)k),
            (double)fs_sealer_rejected_by(s->seal, (fs_status)k));
  }
  cJSON_AddNumberToObject(f, "dropped_stale_updates", (double)c->dropped);
  cJSON_AddNumberToObject(f, "client_dropouts", (double)s->dropouts);
}

/* summary.json: clipping, noise and the privacy spent (docs/privacy.md). */
static void privacy_json(fs_srv_run *c, cJSON *sum) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  if (cfg->dp_clip != FS_CFG_CLIP_NONE) {
    cJSON *dp = cJSON_AddObjectToObject(sum, "privacy");
    cJSON_AddStringToObject(dp, "unit",
                            "client (one client's update per round)");
    cJSON_AddStringToObject(dp, "clipping", FS_CFG_NAME(cfg, dp_clip));
    cJSON_AddStringToObject(dp, "noise", FS_CFG_NAME(cfg, dp_noise));
    cJSON_AddNumberToObject(dp, "noise_multiplier", s->w->dp_z);
    cJSON_AddNumberToObject(dp, "message_bound", fs_dp_message_bound(cfg));
    if (cfg->dp_noise == FS_CFG_NOISE_CENTRAL)
      cJSON_AddNumberToObject(dp, "noise_std",
                              s->w->dp_z * fs_dp_message_bound(cfg) /
                                  (double)cfg->per_round);
    cJSON_AddNumberToObject(dp, "delta", cfg->dp_delta);
    cJSON_AddStringToObject(dp, "sampling", FS_CFG_NAME(cfg, sampling));
    if (c->acct != NULL) {
      cJSON_AddNumberToObject(dp, "epsilon", c->eps);
      cJSON_AddNumberToObject(dp, "order", c->eps_order);
      cJSON_AddStringToObject(dp, "conversion",
                              FS_CFG_NAME(cfg, dp_conversion));
    }
    cJSON_AddStringToObject(
        dp, "guarantee",
        c->acct == NULL ? (cfg->dp_noise == FS_CFG_NOISE_LOCAL
                               ? "local noise: each message is a Gaussian "
                                 "mechanism "
                                 "with sensitivity B; no central accounting"
                               : "none: clipping without noise gives no "
                                 "guarantee")
        : cfg->sampling == FS_CFG_SAMPLING_POISSON
            ? "(epsilon, delta)-DP at the client level: RDP of the "
              "sampled Gaussian mechanism with Poisson sampling"
            : "approximate: fixed-size sampling; epsilon is the "
              "Poisson "
              "accountant's figure, not a proven bound for sampling "
              "without replacement");
  }
}

/* summary.json's body for the shared loops (fedavg and the asynchronous
 * strategies). */
static void shared_body(void *ctx, void *obj) {
  fs_srv_run *c = ctx;
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  cJSON *sum = obj;
  cJSON *d = cJSON_AddObjectToObject(sum, "data");
  cJSON_AddStringToObject(d, "source", s->w->data_desc);
  cJSON_AddNumberToObject(d, "train_rows", (double)s->w->train.n);
  cJSON_AddNumberToObject(d, "test_rows", (double)s->w->test.n);
  cJSON_AddNumberToObject(d, "features", (double)s->w->train.dim);
  cJSON_AddNumberToObject(d, "classes", (double)s->w->train.classes);
  cJSON *m = cJSON_AddObjectToObject(sum, "model");
  cJSON_AddStringToObject(m, "type", FS_CFG_NAME(cfg, model_kind));
  cJSON_AddNumberToObject(m, "parameters", (double)s->dim);
  cJSON *cm = cJSON_AddObjectToObject(sum, "communication");
  cJSON_AddStringToObject(cm, "uplink_compressor", FS_CFG_NAME(cfg, comp_up));
  cJSON_AddNumberToObject(cm, "uplink_k",
                          fs_comp_k(&s->comp, (uint32_t)s->dim));
  cJSON_AddStringToObject(cm, "error_feedback", FS_CFG_NAME(cfg, ef_method));
  cJSON_AddNumberToObject(cm, "server_step", s->lr);
  if (s->w->has_smooth) {
    cJSON_AddNumberToObject(cm, "L", s->w->smooth.L);
    cJSON_AddNumberToObject(cm, "L_qm", s->w->smooth.L_qm);
    cJSON_AddNumberToObject(cm, "L_am", s->w->smooth.L_am);
  }
  cJSON_AddNumberToObject(cm, "bits_up_ideal", s->ideal_bits);
  cJSON_AddNumberToObject(cm, "bits_up_real", (double)c->up_cum);
  cJSON_AddNumberToObject(cm, "bits_up_overhead",
                          s->ideal_bits > 0 ? (double)c->up_cum / s->ideal_bits
                                            : 0.0);
  cJSON_AddNumberToObject(cm, "bits_up_paper", (double)c->paper_cum);
  final_json(c, sum);
  cJSON *rb = cJSON_AddObjectToObject(sum, "robustness");
  cJSON_AddStringToObject(rb, "aggregator", FS_CFG_NAME(cfg, aggregator));
  cJSON_AddNumberToObject(rb, "f", (double)cfg->robust_f);
  cJSON_AddNumberToObject(rb, "rejected_nonfinite", (double)s->rejected);
  cJSON_AddNumberToObject(rb, "skipped_rounds",
                          (double)fs_srv_robust_skipped(s));
  if (s->p2p != NULL)
    cJSON_AddStringToObject(rb, "evaluated_model",
                            "peer-to-peer: the mean of the honest nodes' "
                            "models");
  cJSON_AddStringToObject(rb, "faults", FS_CFG_NAME(cfg, fault_kind));
  cJSON_AddNumberToObject(rb, "faulty_clients",
                          cfg->fault_kind == FS_CFG_FAULT_NONE
                              ? 0.0
                              : (double)llround(cfg->fault_fraction * s->N));
  if (s->sa != NULL) {
    uint64_t ab, dr;
    fs_sa_server_totals(s->sa, &ab, &dr);
    cJSON *sa = cJSON_AddObjectToObject(sum, "secure_aggregation");
    cJSON_AddNumberToObject(sa, "rounds_aborted", (double)ab);
    cJSON_AddNumberToObject(sa, "dropped_after_masking", (double)dr);
    cJSON_AddNumberToObject(sa, "bits", (double)c->sa_bits);
    cJSON_AddNumberToObject(sa, "ms", c->sa_ms);
  }
  privacy_json(c, sum);
  if (c->row->flags & FS_STRATEGY_ASYNC) {
    /* Every update is accounted for: aggregated, dropped as too
     * stale, or still waiting (in a buffer, or in flight) when the
     * run stopped. */
    cJSON *u = cJSON_AddObjectToObject(sum, "updates");
    cJSON_AddNumberToObject(u, "received", (double)s->as.n_recv);
    cJSON_AddNumberToObject(u, "aggregated", (double)s->as.n_agg);
    cJSON_AddNumberToObject(u, "dropped_stale", (double)c->dropped);
    cJSON_AddNumberToObject(u, "unused_at_end",
                            (double)(s->as.n_recv - s->as.n_agg - c->dropped));
  }
  cJSON *bt = cJSON_AddObjectToObject(sum, "bits_to_target");
  cJSON_AddItemToObject(bt, "test_acc",
                        targets_json(c->acc_t, c->n_acc, "target"));
  cJSON_AddItemToObject(bt, "grad_norm_sq",
                        targets_json(c->grad_t, c->n_grad, "threshold"));
}

fs_status fs_srv_summary_write(const fs_server_args *a, const char *strategy,
                               int wall, fs_srv_summary_fn body, void *ctx,
                               fs_err *err) {
  const fs_config *cfg = a->cfg;
  cJSON *sum = cJSON_CreateObject();
  if (a->build_info != NULL)
    cJSON_AddItemToObject(sum, "fedsim", (cJSON *)a->build_info);
  cJSON_AddNumberToObject(sum, "ranks", fs_transport_size(a->t));
  cJSON_AddStringToObject(sum, "clock", FS_CFG_NAME(cfg, clock));
  cJSON_AddStringToObject(sum, "strategy", strategy);
  cJSON_AddStringToObject(
      sum, "reproducible",
      wall ? "no: wall clock, events in real arrival order with measured "
             "durations"
           : "yes: bit-identical for this seed on any number of ranks "
             "(wall_s excepted)");
  body(ctx, sum);
  cJSON_AddItemToObject(sum, "config", (cJSON *)fs_config_to_json(cfg));
  char *text = cJSON_Print(sum);
  cJSON_Delete(sum);
  if (text == NULL)
    return fs_err_set(err, FS_ENOMEM, "summary.json: out of memory");
  char path[1100];
  snprintf(path, sizeof path, "%s/summary.json", a->run_dir);
  size_t tl = strlen(text);
  text[tl] = '\n';
  fs_status st = fs_write_file_atomic(path, text, tl + 1, err);
  free(text);
  return st;
}

fs_status fs_srv_report_end(fs_srv_run *c, fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  const fs_server_args *a = c->a;
  if (c->last_eval != c->rounds_run) {
    fs_srv_evaluate(s, c->gn, &c->ev); /* for the summary */
    if (c->ev.test_acc > c->best_acc) {
      c->best_acc = c->ev.test_acc;
      c->best_round = c->rounds_run;
    }
  }
  fs_status st = fs_srv_summary_write(a, c->row->base.name, c->wall_clock,
                                      shared_body, c, err);
  if (st != FS_OK)
    return st;
  char ub[32], db[32];
  fs_srv_human_bits((double)c->up_cum, ub, sizeof ub);
  fs_srv_human_bits((double)c->down_cum, db, sizeof db);
  printf("fedsim: %lld rounds, %lld clients (%lld per round): test accuracy "
         "%.4f (best %.4f at round %llu), test loss %.4f\n",
         (long long)c->rounds_run, (long long)cfg->clients,
         (long long)cfg->per_round, c->ev.test_acc, c->best_acc,
         (unsigned long long)c->best_round, c->ev.test_loss);
  if (c->gn)
    printf("fedsim: ||grad f||^2 = %.6g\n", c->ev.grad_norm_sq);
  printf("fedsim: sent %s up + %s down (%.4g bits per client in all), "
         "virtual time %.1f s, wall %.1f s\n",
         ub, db, (double)(c->up_cum + c->down_cum) / s->N, c->vtime,
         fs_transport_wtime() - c->t0);
  if (c->acct != NULL)
    printf("fedsim: privacy: epsilon = %.4g at delta = %g (%s conversion, "
           "order %g), noise multiplier %.4g, %s sampling%s\n",
           c->eps, cfg->dp_delta, FS_CFG_NAME(cfg, dp_conversion), c->eps_order,
           s->w->dp_z, FS_CFG_NAME(cfg, sampling),
           cfg->sampling == FS_CFG_SAMPLING_POISSON
               ? ""
               : " (the accountant assumes Poisson: approximate)");
  print_targets(c->acc_t, c->n_acc, "test accuracy");
  print_targets(c->grad_t, c->n_grad, "||grad f||^2 <=");
  printf("fedsim: results in %s/ (metrics.csv, summary.json%s)\n", a->run_dir,
         cfg->save_model ? ", model.bin" : "");

  return FS_OK;
}
