/*
 * fedavg.c — the fedavg row of the strategy table: synchronous rounds on
 * the virtual clock (measured with run.clock = wall), FedAvg and the EF21
 * family's server side (docs/ef21.md).
 *
 * Round r (1-based): sample K clients (sorted by id); send each the model in
 * a TRAIN frame (one shared body, one header per client); collect their
 * UPDATE frames (compressed payloads) in any arrival order, and fold them
 * into acc = sum_i p_i c_i in client-id order, so the sum, and the run, do
 * not depend on arrival order or rank count. p_i is the client's fixed
 * weight: n_i / n (server.weighting = samples), 1/N (uniform), or
 * w_i = L_i / sum_j L_j (EF21-W). Then:
 *   FedAvg, EF14 (messages are updates): x <- x - lr * acc / sum_{i in S} p_i
 *   EF21 family (messages move the clients' estimates g_i):
 *                        g <- g + acc;  x <- x - lr * g
 * where g = sum_i p_i g_i over all N clients (clients not sampled keep their
 * g_i: EF21-PP). The virtual duration of the round is its longest job:
 * latency + downlink bits / bandwidth + compute + latency + uplink bits /
 * bandwidth, with the real frame sizes.
 *
 * With a robust server.aggregator the round's updates are kept apart
 * instead of summed (robust_round.h) and a robust rule (robust.h) replaces
 * the weighted mean; server.nna_pivot own runs peer-to-peer NNA/MoNNA
 * (p2p.h).
 *
 * An update that fails to decode because of non-finite numbers is rejected,
 * counted (metrics.csv rejected_nonfinite), and left out; so is a sealed
 * update that fails to open (secure.seal: altered, replayed or forged;
 * sim/sealer.h), counted as a rejected frame (rejected_frames). Any other
 * malformed frame stops the run with an error.
 */
#include "srv.h"

#include "ef21bc.h"
#include "frame.h"
#include "fs_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fold arrived updates into acc, in client-id order, as far as possible. */
static void fold_ready(fs_srv *s, uint32_t *next) {
  while (*next < s->K && s->state[*next] == 1) {
    uint32_t i = (*next)++;
    s->state[i] = 2;
    if (s->slot[i] == NULL)
      continue; /* rejected */
    s->loss_sum += s->slot_loss[i];
    s->loss_w += s->slot_ns[i];
    if (s->rob != NULL)
      fs_robust_round_put(s->rob, i, s->slot[i]);
    else
      fs_payload_axpy(s->slot[i], s->slot_w[i], s->acc);
    fs_srv_pool_put(s, s->slot[i]);
    s->slot[i] = NULL;
  }
}

/* Bits of one message in the EF21 papers' convention: 32 per value sent,
 * no index bits, no headers, and the first (uncompressed) EF21 message of a
 * client not counted; quantised messages count their ideal bits. */
static uint64_t paper_bits(const fs_srv *s, const fs_payload *p, int first) {
  switch (p->kind) {
  case FS_PL_DENSE:
    return s->ef21 && first ? 0 : 32ull * p->dim;
  case FS_PL_SPARSE:
  case FS_PL_RANDK:
    return 32ull * p->nnz;
  default:
    return (uint64_t)fs_comp_ideal_bits(&s->comp, p->dim);
  }
}

/* A sealed UPDATE f (f->wire bytes on the wire) that failed to open
 * (counted by the sealer): taken as the update of the client its clear
 * header names not arriving; its bytes still count as sent. A frame that
 * names no client with an update pending cannot be attributed, and stops
 * the run (fedsim's tamper hook never alters the client id). */
static fs_status reject_sealed(fs_srv *s, const fs_sealed_frame *f,
                               uint32_t round, fs_err *err) {
  uint32_t c = f->named;
  size_t len = f->wire;
  fs_status why = f->refused;
  uint32_t *hit = bsearch(&c, s->sel, s->K, sizeof *s->sel, fs_srv_cmp_u32);
  if (hit == NULL || s->state[hit - s->sel] != 0)
    return fs_err_set(err, why,
                      "server: refused a sealed frame in round %u that names "
                      "client %u, which has no update pending: %s",
                      round, c, f->why.msg);
  uint32_t i = (uint32_t)(hit - s->sel);
  if (f->first_refusal)
    fprintf(stderr,
            "fedsim: warning: refused the sealed update of client %u in "
            "round %u: %s (refused frames are counted in metrics.csv, "
            "rejected_frames)\n",
            c, round, f->why.msg);
  s->state[i] = 1;
  s->slot[i] = NULL;
  s->slot_w[i] = 0.0;
  s->up_len[i] = len;
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, s->down_body_len);
  s->job_s[i] =
      (double)fs_srv_job_ticks(s, c, down_bits, (int64_t)(8ull * len));
  return FS_OK;
}

static fs_status receive_update(fs_srv *s, uint32_t round, uint32_t version,
                                fs_err *err) {
  fs_sealed_frame f;
  fs_status st = fs_sealer_recv(s->seal, s->t, FS_ROLE_SERVER, 1, &f, err);
  if (st != FS_OK)
    return st;
  if (f.refused != FS_OK)
    return reject_sealed(s, &f, round, err);
  const uint8_t *fr = f.frame; /* the plain frame */
  size_t flen = f.len, len = f.wire;
  fs_frame_header h;
  if ((st = fs_frame_header_decode(fr, flen, &h, err)) != FS_OK)
    return st;
  if (h.type != FS_MSG_UPDATE || h.round != round || h.model_version != version)
    return fs_err_set(err, FS_EFORMAT,
                      "server: unexpected frame (type %u, round %u, version "
                      "%u) while waiting for updates of round %u",
                      h.type, h.round, h.model_version, round);
  uint32_t *hit =
      bsearch(&h.client, s->sel, s->K, sizeof *s->sel, fs_srv_cmp_u32);
  if (hit == NULL)
    return fs_err_set(err, FS_EFORMAT,
                      "server: update from client %u, which was not sampled "
                      "in round %u",
                      h.client, round);
  uint32_t i = (uint32_t)(hit - s->sel);
  if (s->state[i] != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "server: second update from client %u in round %u",
                      h.client, round);
  s->state[i] = 1;
  s->up_len[i] = len;
  const uint8_t *body = fr + FS_FRAME_HEADER_BYTES;
  fs_update_meta meta = {0};
  fs_err e2 = {0};
  fs_payload *p = NULL;
  st = fs_update_meta_decode(body, h.body_len, &meta, &e2);
  if (st == FS_OK) {
    p = fs_srv_pool_get(s);
    if (p == NULL)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
    st = fs_payload_decode(
        body + FS_UPDATE_META_BYTES, h.body_len - FS_UPDATE_META_BYTES,
        (fs_payload_kind)h.encoding,
        fs_comp_wire_dim(&s->comp, h.encoding,
                         (uint32_t)(s->sync ? s->sync->up_dim : s->dim)),
        p, &e2);
  }
  uint8_t bit = (uint8_t)(1u << (h.client & 7));
  int first = !(s->seen[h.client >> 3] & bit);
  s->seen[h.client >> 3] |= bit;
  if (st == FS_ENUMERIC) {
    if (s->rejected == 0)
      fprintf(stderr,
              "fedsim: warning: rejected the update of client %u in "
              "round %u: %s (rejected updates are counted in "
              "summary.json)\n",
              h.client, round, e2.msg);
    s->rejected++;
    if (p)
      fs_srv_pool_put(s, p);
    s->slot[i] = NULL;
  } else if (st != FS_OK) {
    if (p)
      fs_srv_pool_put(s, p);
    return fs_err_set(err, st, "server: update of client %u: %s", h.client,
                      e2.msg);
  } else {
    s->slot[i] = p;
    s->slot_loss[i] = meta.train_loss * meta.num_samples;
    s->slot_ns[i] = meta.num_samples;
    s->paper_bits += paper_bits(s, p, first);
    s->ideal_bits += p->kind == FS_PL_DENSE
                         ? 32.0 * p->dim
                         : fs_comp_ideal_bits(&s->comp, p->dim);
    /* A transform's payload (hadamard) back to the update (compress.h). */
    if ((st = fs_comp_receive(&s->comp, p, (uint32_t)s->dim, s->cfg->seed,
                              h.client, round)) != FS_OK)
      return fs_err_set(err, st, "server: update of client %u: %s", h.client,
                        "its payload does not decode");
  }
  s->slot_w[i] = s->slot[i] != NULL
                     ? fs_srv_client_weight(s, h.client, meta.num_samples)
                     : 0.0;
  /* Virtual duration of this job, from the real frame sizes. */
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, s->down_body_len);
  s->job_s[i] =
      (double)fs_srv_job_ticks(s, h.client, down_bits, (int64_t)(8ull * len));
  return FS_OK;
}

/* Secure aggregation in a synchronous round: run the protocol with the
 * clients that got the model (secagg_server.c); the server sees only the
 * masked sum, from which acc = sum_i p_i delta_i, and each client's frames
 * and reported rows. */
static fs_status secagg_collect(fs_srv *s, uint32_t round, uint32_t version,
                                size_t body_len, fs_sa_round_out *o,
                                fs_err *err) {
  fs_status st = fs_sa_server_round(s->sa, s->t, round, version, s->sel, s->K,
                                    s->state, o, err);
  if (st != FS_OK)
    return st;
  uint64_t db = 8ull * fs_sealer_wire_bytes(s->seal, body_len);
  for (uint32_t i = 0; i < s->K; i++) {
    if (s->state[i] != 0)
      continue; /* got no model */
    s->state[i] = 2;
    s->up_len[i] = o->up_bytes[i];
    s->slot_w[i] = o->survived[i]
                       ? fs_srv_client_weight(s, s->sel[i], o->num_samples[i])
                       : 0.0;
    s->loss_sum += o->train_loss[i] * o->num_samples[i];
    s->loss_w += o->survived[i] ? o->num_samples[i] : 0;
    s->job_s[i] =
        (double)fs_srv_job_ticks(s, s->sel[i], db + 8ull * o->down_bytes[i],
                                 (int64_t)(8ull * o->up_bytes[i]));
  }
  for (size_t j = 0; j < s->dim; j++)
    s->acc[j] = o->sum[j] / (double)s->N;
  s->ideal_bits += 32.0 * (double)s->dim * o->survivors;
  s->paper_bits += 32ull * s->dim * o->survivors;
  return FS_OK;
}

/* Apply the folded round to the model (see the file comment). */
static fs_status server_step(fs_srv *s, uint32_t round) {
  if (s->bc.on) {
    for (size_t j = 0; j < s->dim; j++) {
      s->g[j] += s->acc[j];
      s->bc.dtmp[j] = (float)(s->g[j] - (double)s->bc.b[j]);
    }
    fs_rng r;
    fs_rng_init(&r, s->cfg->seed, FS_RNG_COMPRESS, UINT32_MAX, round);
    if (fs_compress(&s->bc.down, s->bc.dtmp, (uint32_t)s->dim, &r, &s->bc.m) !=
        FS_OK)
      return FS_ENOMEM;
    fs_ef21bc_apply(s->x, s->bc.b, &s->bc.m, s->lr, s->dim);
    size_t need = fs_payload_encoded_size(&s->bc.m, NULL);
    if (need > s->bc.mcap) {
      uint8_t *nb = realloc(s->bc.mbody, need);
      if (nb == NULL)
        return FS_ENOMEM;
      s->bc.mbody = nb;
      s->bc.mcap = need;
    }
    fs_payload_encode(&s->bc.m, s->bc.mbody);
    return FS_OK;
  }
  if (s->ef21) {
    for (size_t j = 0; j < s->dim; j++) {
      s->g[j] += s->acc[j];
      s->x[j] = (float)((double)s->x[j] - s->lr * s->g[j]);
    }
    return FS_OK;
  }
  if (s->cfg->dp_clip != FS_CFG_CLIP_NONE) {
    /* DP-FedAvg (McMahan et al. 2018): the fixed-denominator estimator
     * sum_i c_i / (q N) (acc holds sum_i c_i / N), plus central noise
     * N(0, (z B / (q N))^2) per coordinate when dp.noise = central. */
    const fs_config *cfg = s->cfg;
    double q = (double)cfg->per_round / (double)s->N;
    double sd = 0.0;
    if (cfg->dp_noise == FS_CFG_NOISE_CENTRAL)
      sd = s->w->dp_z * fs_dp_message_bound(cfg) / (q * (double)s->N);
    fs_rng r;
    fs_rng_init(&r, cfg->seed, FS_RNG_NOISE, UINT32_MAX, round);
    for (size_t j = 0; j < s->dim; j++)
      s->acc[j] = s->acc[j] / q + (sd > 0.0 ? sd * fs_rng_normal(&r) : 0.0);
    fs_optim_step(&s->opt, s->cfg, s->x, s->acc, s->lr, s->dim);
    return FS_OK;
  }
  if (s->rob != NULL) {
    if (s->rob_applied) /* acc holds the robust aggregate */
      fs_optim_step(&s->opt, s->cfg, s->x, s->acc, s->lr, s->dim);
    return FS_OK;
  }
  double wsum = 0.0;
  for (uint32_t i = 0; i < s->K; i++)
    wsum += s->slot_w[i];
  if (wsum <= 0.0)
    return FS_OK;
  for (size_t j = 0; j < s->dim; j++)
    s->acc[j] /= wsum;
  fs_optim_step(&s->opt, s->cfg, s->x, s->acc, s->lr, s->dim);
  return FS_OK;
}

/* Robust aggregation of the round's updates into acc (robust_round.h), or
 * the peer-to-peer mixing (p2p.h); a round with too few updates for the
 * rule is skipped (warned once). */
static fs_status robust_aggregate(fs_srv *s, uint32_t round, uint64_t rejected,
                                  fs_err *err) {
  fs_err e2 = {0};
  int skipped = 0;
  fs_status st;
  if (s->p2p != NULL) /* each node mixes; s->x = their mean, no server step */
    st = fs_p2p_mix(s->p2p, s->rob, (size_t)rejected, s->x, &skipped, &e2);
  else
    st = fs_robust_round_aggregate(s->rob, (size_t)rejected, s->acc,
                                   &s->rob_applied, &e2);
  if (st != FS_OK)
    return fs_err_set(err, st, "server: round %u: %s", round, e2.msg);
  skipped = s->p2p != NULL ? skipped : !s->rob_applied;
  if (skipped && fs_srv_robust_skipped(s) == 1)
    fprintf(stderr,
            "fedsim: warning: round %u: %s; the model is left unchanged "
            "(skipped rounds are counted in summary.json)\n",
            round, e2.msg);
  return FS_OK;
}

/* Start synchronous round r at tick vticks: sample its clients into
 * s->sel (s->K of them) and send each the model in a TRAIN frame, or, for
 * a client that drops out or is offline, count it as not answering
 * (*ndrop). *body_len is the length of the round's TRAIN body. */
static fs_status send_round(fs_srv *s, int64_t r, int64_t vticks,
                            size_t *body_len_out, uint32_t *ndrop_out,
                            fs_err *err) {
  const fs_config *cfg = s->cfg;
  uint32_t N = s->N, K = s->K;
  uint32_t round = (uint32_t)r, version = (uint32_t)(r - 1);
  fs_status st;
  if (cfg->sampling == FS_CFG_SAMPLING_POISSON) {
    K = fs_sample_poisson(cfg->seed, (uint64_t)r, N,
                          (double)cfg->per_round / (double)N, s->sel);
  } else if ((st = fs_sample_clients(cfg->seed, (uint64_t)r, N, K, s->sel)) !=
             FS_OK) {
    return fs_err_set(err, st, "server: cannot sample clients");
  }
  s->K = K;
  uint32_t ndrop = 0;
  /* The downlink body: the model, or with EF21-BC after the first round
   * the compressed C(g - b) of the previous round. */
  const uint8_t *body = s->body;
  uint8_t enc = FS_PL_DENSE;
  size_t body_len = fs_dense_size(s->dim);
  if (s->sync != NULL) {
    body = s->sync->down(s->sync->ctx, s, &body_len);
  } else if (s->bc.on && r > 1) {
    body = s->bc.mbody;
    body_len = fs_payload_encoded_size(&s->bc.m, NULL);
    enc = (uint8_t)fs_payload_encoding(s->bc.m.kind);
  } else {
    fs_dense_encode(s->x, s->dim, s->body);
  }
  for (uint32_t i = 0; i < K; i++) {
    fs_frame_header h = {.type = FS_MSG_TRAIN,
                         .encoding = enc,
                         .round = round,
                         .client = s->sel[i],
                         .model_version = version,
                         .body_len = (uint32_t)body_len};
    uint8_t *hb = s->hdrs + (size_t)i * FS_FRAME_HEADER_BYTES;
    s->slot[i] = NULL;
    if (fs_srv_drops_out(s, s->sel[i], (uint64_t)r) ||
        fs_srv_online_from(s, s->sel[i], vticks) != vticks) {
      /* It got the model (counted) and will not answer. */
      s->state[i] = 1;
      s->slot_w[i] = 0.0;
      s->job_s[i] = 0.0;
      s->up_len[i] = 0;
      ndrop++;
      continue;
    }
    fs_frame_header_encode(&h, hb);
    fs_iov iov[2] = {
        {hb, FS_FRAME_HEADER_BYTES},
        {s->p2p ? fs_p2p_body(s->p2p, s->sel[i]) : body, body_len}};
    st =
        fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,
                       fs_transport_worker_of(s->t, s->sel[i]), iov, 2, 0, err);
    if (st != FS_OK)
      return st;
    s->state[i] = 0;
  }
  s->dropouts += ndrop;
  s->down_body_len = body_len;
  *body_len_out = body_len;
  *ndrop_out = ndrop;
  return FS_OK;
}

/* Synchronous rounds (FedAvg and the EF21 family; with s->sync, another
 * row's, srv.h). */
fs_status fs_srv_sync_loop(fs_srv_run *c, fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  uint32_t K = s->K;
  fs_status st = FS_OK;
  int64_t vticks = c->vticks;
  int wall = c->wall_clock;
  int64_t budget_ticks =
      cfg->time_budget > 0
          ? (int64_t)llround(cfg->time_budget / fs_srv_tick_s(s))
          : 0;
  if (s->p2p != NULL && c->start == 0)
    fs_p2p_start(s->p2p, s->x); /* every node starts from x^0 */
  for (int64_t r = (int64_t)c->start + 1; r <= cfg->rounds; r++) {
    uint32_t round = (uint32_t)r, version = (uint32_t)(r - 1);
    size_t body_len = 0;
    uint32_t ndrop = 0;
    if ((st = send_round(s, r, vticks, &body_len, &ndrop, err)) != FS_OK)
      return st;
    K = s->K;
    memset(s->acc, 0, (s->sync ? s->sync->up_dim : s->dim) * sizeof(double));
    s->loss_sum = s->loss_w = 0.0;
    s->paper_bits = 0;
    uint64_t rejected0 = s->rejected;
    if (s->rob != NULL)
      fs_robust_round_begin(s->rob);
    uint32_t next = 0;
    fs_sa_round_out sao = {0};
    if (s->sa != NULL &&
        (st = secagg_collect(s, round, version, body_len, &sao, err)) != FS_OK)
      return st;
    ndrop += sao.cohort - sao.survivors;
    fold_ready(s, &next);
    for (uint32_t got = 0; s->sa == NULL && got < K - ndrop; got++) {
      if ((st = receive_update(s, round, version, err)) != FS_OK)
        return st;
      fold_ready(s, &next);
    }
    if ((st = fs_transport_flush(s->t, err)) != FS_OK)
      return st;
    /* A round lasts as long as its slowest job; with a time budget, a round
     * that would end past it does not count (its work is dropped). */
    int64_t round_ticks = 0;
    uint64_t up_bits = 0;
    for (uint32_t i = 0; i < K; i++) {
      if ((int64_t)s->job_s[i] > round_ticks)
        round_ticks = (int64_t)s->job_s[i];
      up_bits += 8ull * s->up_len[i];
    }
    if (wall) {
      /* Measured: the round took as long as it took. */
      double now = fs_transport_wtime() - c->t0;
      if (cfg->time_budget > 0 && now > cfg->time_budget)
        break;
      round_ticks = (int64_t)llround(now / fs_srv_tick_s(s)) - vticks;
    } else if (budget_ticks > 0 && vticks + round_ticks > budget_ticks) {
      break;
    }
    if (s->rob != NULL &&
        (st = robust_aggregate(s, round, s->rejected - rejected0, err)) !=
            FS_OK)
      return st;
    if (server_step(s, round) != FS_OK)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
    if (s->sync != NULL)
      s->sync->after_step(s->sync->ctx, s);
    vticks += round_ticks;
    if (c->acct != NULL) {
      fs_dp_accountant_step(c->acct, 1);
      fs_dp_accountant_epsilon(c->acct, &c->eps, &c->eps_order);
    }
    c->paper_cum += s->paper_bits;
    if (s->loss_w > 0)
      c->last_client_loss = s->loss_sum / s->loss_w;
    int last = r == cfg->rounds;
    if (!last && !wall && budget_ticks > 0) {
      /* Evaluate now if the next round cannot fit (the fastest it can be is
       * unknown, so look at this round's length). */
      last = vticks + round_ticks > budget_ticks;
    }
    fs_metrics_row row = {.round = (uint64_t)r,
                          .vtime_s = (double)vticks * fs_srv_tick_s(s),
                          .clients = K - ndrop,
                          .bits_up = up_bits,
                          .bits_down = (uint64_t)K * 8ull *
                                       fs_sealer_wire_bytes(s->seal, body_len)};
    if (s->sa != NULL) {
      for (uint32_t i = 0; i < K; i++)
        row.bits_down += 8ull * sao.down_bytes[i];
      row.has_sa = 1;
      row.bits_secagg = sao.sa_bits;
      row.secagg_ms = sao.ms;
    }
    if ((st = fs_srv_emit_row(c, &row, last, err)) != FS_OK)
      return st;
    c->vticks = vticks;
    if ((st = fs_srv_boundary(c, (uint64_t)r, err)) != FS_OK || c->stopped)
      return st;
  }
  return FS_OK;
}

const fs_strategy fs_strategy_fedavg = {
    .base =
        {.name = "fedavg",
         .help =
             "synchronous rounds: FedAvg, and the EF21 family's server side"},
    .loop = fs_srv_sync_loop,
};
