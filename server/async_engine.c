/*
 * async_engine.c — the engine the asynchronous strategies (async, fedbuff,
 * fedfix: docs/async.md) share on the virtual clock. Every client starts a
 * job at once; the scheduler (async_sched.h) orders their completions by
 * (virtual finish time, client id) and says when to aggregate, which set of
 * updates, and which to drop as too stale; each update in a set is weighted
 * by its row's weight function (strategy.h) and folded in client-id order;
 * then the server optimiser steps and the aggregated clients start again
 * from the new model. Dropouts and availability come from seed-drawn
 * streams (srv.c), so the run is the same on any number of ranks.
 */
#include "srv.h"

#include "frame.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Asynchronous strategies: dispatch client c at tick t with the current
 * model (a copy travels, as the model changes right after). */
static fs_status async_dispatch(fs_srv *s, fs_sched *sc, uint32_t c, int64_t t,
                                fs_err *err) {
  uint64_t v = fs_sched_version(sc);
  size_t body_len = fs_dense_size(s->dim);
  t = fs_srv_online_from(s, c,
                         t); /* an offline client starts when it is back */
  if (fs_srv_drops_out(s, c, s->as.seq[c]++)) {
    /* It got the model (counted), drops out, and is back when the job
     * would have ended. */
    uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, body_len);
    s->as.down += down_bits;
    s->dropouts++;
    int64_t end = t + fs_srv_job_ticks(s, c, down_bits, -1);
    if (s->as.tau[c] == 0.0)
      s->as.tau[c] = (double)(end - t > 0 ? end - t : 1);
    if (fs_sched_start(sc, c, t, end, v) != FS_OK ||
        fs_sched_lose(sc, c, end) != FS_OK)
      return fs_err_set(err, FS_EINVAL, "server: client %u started twice", c);
    return FS_OK;
  }
  fs_status st = fs_srv_send_model(s, c, v, body_len, err);
  if (st != FS_OK)
    return st;
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, body_len);
  s->as.down += down_bits;
  s->as.start[c] = t;
  s->as.ver[c] = v;
  s->as.inflight++;
  int64_t lb = t + fs_srv_job_ticks(s, c, down_bits, -1);
  if (s->as.tau[c] == 0.0)
    s->as.tau[c] = (double)(lb - t > 0 ? lb - t : 1);
  return fs_sched_start(sc, c, t, lb, v) == FS_OK
             ? FS_OK
             : fs_err_set(err, FS_EINVAL, "server: client %u started twice", c);
}

fs_status fs_srv_async_decode(fs_srv *s, fs_sealed_frame *f, uint32_t *client,
                              fs_err *err) {
  fs_status st;
  fs_frame_header h;
  const uint8_t *fr = f->frame; /* the plain frame */
  size_t flen = f->len, len = f->wire;
  uint32_t named = f->named;
  const fs_err *e3 = &f->why;
  fs_status sealed = f->refused;
  if (sealed != FS_OK) {
    /* Refused: taken as client `named` returning an empty update, as a
     * rejected non-finite update is below. */
    if (named >= s->N || s->as.res[named] != NULL)
      return fs_err_set(err, sealed,
                        "server: refused a sealed frame that names client "
                        "%u, which has no update pending: %s",
                        named, e3->msg);
    h = (fs_frame_header){.type = FS_MSG_UPDATE,
                          .client = named,
                          .model_version = (uint32_t)s->as.ver[named]};
    if (f->first_refusal)
      fprintf(stderr,
              "fedsim: warning: refused the sealed update of client %u: %s "
              "(refused frames are counted in metrics.csv, "
              "rejected_frames)\n",
              named, e3->msg);
  } else if ((st = fs_frame_header_decode(fr, flen, &h, err)) != FS_OK) {
    return st;
  }
  uint32_t c = h.client;
  if (h.type != FS_MSG_UPDATE || c >= s->N || s->as.res[c] != NULL ||
      h.model_version != (uint32_t)s->as.ver[c])
    return fs_err_set(err, FS_EFORMAT,
                      "server: unexpected frame (type %u, client %u, version "
                      "%u)",
                      h.type, c, h.model_version);
  s->as.inflight--;
  const uint8_t *body = fr + FS_FRAME_HEADER_BYTES;
  fs_update_meta meta = {0};
  fs_err e2 = {0};
  fs_payload *p = fs_srv_pool_get(s);
  if (p == NULL)
    return fs_err_set(err, FS_ENOMEM, "server: out of memory");
  st = sealed;
  if (st == FS_OK)
    st = fs_update_meta_decode(body, h.body_len, &meta, &e2);
  if (st == FS_OK)
    st = fs_payload_decode(
        body + FS_UPDATE_META_BYTES, h.body_len - FS_UPDATE_META_BYTES,
        (fs_payload_kind)h.encoding,
        fs_comp_wire_dim(&s->comp, h.encoding, (uint32_t)s->dim), p, &e2);
  if (st == FS_OK && (st = fs_comp_receive(&s->comp, p, (uint32_t)s->dim,
                                           s->cfg->seed, c, h.round)) != FS_OK)
    snprintf(e2.msg, sizeof e2.msg, "its payload does not decode");
  if (sealed != FS_OK) {
    p->kind = FS_PL_SPARSE; /* refused (counted by the sealer): empty */
    p->dim = (uint32_t)s->dim;
    p->nnz = 0;
  } else if (st == FS_ENUMERIC) {
    if (s->rejected == 0)
      fprintf(stderr,
              "fedsim: warning: rejected the update of client %u: %s "
              "(rejected updates are counted in summary.json)\n",
              c, e2.msg);
    s->rejected++;
    p->kind = FS_PL_SPARSE; /* an empty update: nothing is added */
    p->dim = (uint32_t)s->dim;
    p->nnz = 0;
  } else if (st != FS_OK) {
    fs_srv_pool_put(s, p);
    return fs_err_set(err, st, "server: update of client %u: %s", c, e2.msg);
  }
  s->as.loss[c] = st == FS_OK ? meta.train_loss : 0.0;
  s->as.ns[c] = st == FS_OK ? meta.num_samples : 0.0;
  s->as.res[c] = p;
  s->as.len[c] = len; /* counted when consumed on the virtual clock */
  s->as.n_recv++;
  *client = c;
  return FS_OK;
}

/* Receive one UPDATE (any client in flight) and report its finish. */
static fs_status async_receive(fs_srv *s, fs_sched *sc, fs_err *err) {
  fs_sealed_frame f;
  uint32_t c;
  fs_status st = fs_sealer_recv(s->seal, s->t, FS_ROLE_SERVER, 1, &f, err);
  if (st == FS_OK)
    st = fs_srv_async_decode(s, &f, &c, err);
  if (st != FS_OK)
    return st;
  size_t len = f.wire;
  uint64_t down_bits =
      8ull * fs_sealer_wire_bytes(s->seal, fs_dense_size(s->dim));
  int64_t fin =
      s->as.start[c] + fs_srv_job_ticks(s, c, down_bits, (int64_t)(8 * len));
  return fs_sched_finish(sc, c, fin) == FS_OK
             ? FS_OK
             : fs_err_set(err, FS_EINVAL, "server: bad finish for client %u",
                          c);
}

fs_status fs_srv_async_aggregate(fs_srv_run *c, int64_t delta,
                                 const uint32_t *set, const uint32_t *stale,
                                 size_t nset, uint64_t version, double now_s,
                                 double inv_tau, fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  int fraboni = cfg->async_weights == FS_CFG_AW_FRABONI;
  memset(s->acc, 0, s->dim * sizeof(double));
  double smean = 0.0;
  uint32_t smax = 0;
  for (size_t k = 0; k < nset; k++) {
    uint32_t i = set[k];
    double pi =
        cfg->server_weighting == FS_CFG_WEIGHTING_UNIFORM
            ? 1.0 / s->N
            : (double)(s->w->part.offset[i + 1] - s->w->part.offset[i]) /
                  (double)s->w->train.n;
    fs_strategy_wargs wa = {.cfg = cfg,
                            .fraboni = fraboni,
                            .pi = pi,
                            .tau = s->as.tau[i],
                            .inv_tau = inv_tau,
                            .delta = delta,
                            .stale = stale[k]};
    double d = c->row->weight(&wa);
    fs_payload_axpy(s->as.res[i], d, s->acc);
    s->as.n_agg++;
    s->as.up += 8ull * s->as.len[i];
    s->loss_sum += s->as.loss[i] * s->as.ns[i];
    s->loss_w += s->as.ns[i];
    fs_srv_pool_put(s, s->as.res[i]);
    s->as.res[i] = NULL;
    smean += stale[k];
    if (stale[k] > smax)
      smax = stale[k];
  }
  fs_optim_step(&s->opt, s->cfg, s->x, s->acc, s->lr, s->dim);
  if (s->loss_w > 0)
    c->last_client_loss = s->loss_sum / s->loss_w;
  s->loss_sum = s->loss_w = 0.0;
  fs_metrics_row row = {.round = version,
                        .vtime_s = now_s,
                        .clients = (uint32_t)nset,
                        .bits_up = s->as.up,
                        .bits_down = s->as.down,
                        .staleness_mean = nset ? smean / (double)nset : 0,
                        .staleness_max = smax};
  s->as.up = s->as.down = 0;
  return fs_srv_emit_row(c, &row, version == (uint64_t)cfg->rounds, err);
}

fs_status fs_srv_async_loop(fs_srv_run *c, fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  fs_sched_spec sp = {
      .buffer = (uint32_t)cfg->buffer,
      .delta = (int64_t)llround(cfg->fedfix_delta / fs_srv_tick_s(s)),
      .budget = cfg->time_budget > 0
                    ? (int64_t)llround(cfg->time_budget / fs_srv_tick_s(s))
                    : 0,
      .max_aggs = (uint64_t)cfg->rounds,
      .max_staleness =
          cfg->max_staleness < 0 ? UINT32_MAX : (uint32_t)cfg->max_staleness};
  sp.strat = c->row->sched;
  fs_sched *sc = NULL;
  fs_status st = fs_sched_new(&sp, s->N, &sc, err);
  if (st != FS_OK)
    return st;
  c->sc = sc;
  double inv_tau = 0.0;
  if (c->resumed) {
    /* Everything dispatched before the checkpoint had come back then. */
    st = fs_sched_import(sc, c->sched_blob, c->sched_len, err);
    inv_tau = c->inv_tau;
  } else {
    fs_dense_encode(s->x, s->dim, s->body);
    for (uint32_t i = 0; i < s->N && st == FS_OK; i++)
      st = async_dispatch(s, sc, i, 0, err);
    for (uint32_t i = 0; i < s->N; i++)
      inv_tau += 1.0 / s->as.tau[i];
    c->inv_tau = inv_tau;
  }
  while (st == FS_OK) {
    fs_sched_step step;
    fs_sched_next(sc, &step);
    if (step.action == FS_SCHED_DONE)
      break;
    if (step.action == FS_SCHED_NEED) {
      while (st == FS_OK && s->as.res[step.client] == NULL)
        st = async_receive(s, sc, err);
      continue;
    }
    if (step.action == FS_SCHED_LOST) {
      fs_dense_encode(s->x, s->dim, s->body);
      st = async_dispatch(s, sc, step.client, step.t, err);
      continue;
    }
    if (step.action == FS_SCHED_DROP) {
      c->dropped++;
      s->as.up += 8ull * s->as.len[step.client];
      fs_srv_pool_put(s, s->as.res[step.client]);
      s->as.res[step.client] = NULL;
      fs_dense_encode(s->x, s->dim, s->body);
      st = async_dispatch(s, sc, step.client, step.t, err);
      continue;
    }
    st = fs_srv_async_aggregate(c, sp.delta, step.set, step.stale, step.nset,
                                step.version, (double)step.t * fs_srv_tick_s(s),
                                inv_tau, err);
    if (st != FS_OK)
      break;
    /* The aggregated clients start again from the new model. */
    fs_dense_encode(s->x, s->dim, s->body);
    for (size_t k = 0; k < step.nset && st == FS_OK; k++)
      st = async_dispatch(s, sc, step.set[k], step.t, err);
    if (st == FS_OK && fs_srv_ckpt_due(c, step.version)) {
      /* A consistent cut: collect every job in flight first (their
       * finishes become known early, which the scheduler allows), so the
       * workers' state matches the server's. */
      while (st == FS_OK && s->as.inflight > 0)
        st = async_receive(s, sc, err);
      if (st == FS_OK)
        st = fs_srv_boundary(c, step.version, err);
      if (c->stopped)
        break;
    }
  }
  /* Collect what is still in flight, so every worker can stop. */
  while (st == FS_OK && s->as.inflight > 0) {
    st = async_receive(s, sc, err);
  }
  for (uint32_t i = 0; i < s->N; i++)
    if (s->as.res[i] != NULL) {
      fs_srv_pool_put(s, s->as.res[i]);
      s->as.res[i] = NULL;
    }
  fs_sched_free(sc);
  c->sc = NULL;
  return st;
}
