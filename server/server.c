/*
 * server.c — synchronous rounds on the virtual clock: FedAvg, and the EF21
 * family's server side.
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
#include "server.h"

#include "secagg_server.h"

#include "accountant.h"
#include "async_sched.h"
#include "ckpt.h"
#include "compress.h"
#include "ef21bc.h"
#include "frame.h"
#include "fs_build.h"
#include "fs_rng.h"
#include "gc_loop.h"
#include "metrics.h"
#include "model.h"
#include "p2p.h"
#include "payload.h"
#include "profile.h"
#include "robust_round.h"
#include "sealer.h"
#include "server_ckpt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

fs_status fs_sample_clients(uint64_t seed, uint64_t round, uint32_t n,
                            uint32_t k, uint32_t *out) {
  if (k > n || k == 0)
    return FS_EINVAL;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SAMPLE, 0, round);
  if (k == n) {
    for (uint32_t i = 0; i < n; i++)
      out[i] = i;
    return FS_OK;
  }
  /* Floyd: for j = n-k .. n-1, pick t in [0, j]; take t unless taken, else j.
   * Membership through an open-addressing set of 2^b >= 2k slots. */
  size_t cap = 1;
  while (cap < 2 * (size_t)k)
    cap <<= 1;
  uint32_t *set = malloc(cap * sizeof *set);
  if (set == NULL)
    return FS_ENOMEM;
  memset(set, 0xff, cap * sizeof *set);
  uint32_t m = 0;
  for (uint64_t j = (uint64_t)n - k; j < n; j++) {
    uint32_t t = (uint32_t)fs_rng_below(&r, j + 1);
    for (int pass = 0; pass < 2; pass++) {
      size_t h = ((size_t)t * 0x9E3779B1u) & (cap - 1);
      int found = 0;
      while (set[h] != UINT32_MAX) {
        if (set[h] == t) {
          found = 1;
          break;
        }
        h = (h + 1) & (cap - 1);
      }
      if (!found) {
        set[h] = t;
        out[m++] = t;
        break;
      }
      t = (uint32_t)j; /* j itself is never taken yet */
    }
  }
  free(set);
  qsort(out, k, sizeof *out, cmp_u32);
  return FS_OK;
}

uint32_t fs_sample_poisson(uint64_t seed, uint64_t round, uint32_t n, double q,
                           uint32_t *out) {
  if (q >= 1.0) {
    for (uint32_t i = 0; i < n; i++)
      out[i] = i;
    return n;
  }
  if (q <= 0.0)
    return 0;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SAMPLE, 1, round);
  double l1q = log1p(-q);
  uint32_t m = 0;
  double pos = -1.0;
  for (;;) {
    /* Gap to the next taken client ~ Geometric(q). */
    pos += floor(log(fs_rng_uniform_pos(&r)) / l1q) + 1.0;
    if (pos >= (double)n)
      break;
    out[m++] = (uint32_t)pos;
  }
  return m;
}

typedef struct {
  const fs_config *cfg;
  const fs_world *w;
  fs_transport *t;
  fs_model *model;
  size_t dim;
  uint32_t N, K;
  float *x, *grad, *gtmp; /* model, gradient, per-client gradient */
  float *cbuf;            /* rows of one client (eval.objective = clients) */
  int32_t *cy;
  double *acc; /* sum_i p_i c_i of this round */
  double *g;   /* EF21 family: the server's estimate */
  int ef21;    /* 1 for ef21 / ef21w */
  double lr;   /* server step (server.lr, or the theory step size) */
  fs_comp_spec comp;
  int bc;            /* EF21-BC: compressed downlink */
  fs_comp_spec down; /* its compressor */
  float *b, *dtmp;   /* EF21-BC: b, and g - b */
  fs_payload m;      /* EF21-BC: C(g - b), next round's downlink */
  uint8_t *mbody;    /* its encoding */
  size_t mcap;
  uint32_t *sel;
  uint8_t *hdrs;     /* K headers */
  uint8_t *body;     /* shared TRAIN body */
  fs_payload **slot; /* K decoded updates (NULL until arrived) */
  uint8_t *state;    /* K: 0 waiting, 1 arrived, 2 folded */
  double *slot_w;    /* K: weight p_i, 0 when rejected */
  double *slot_loss; /* K: reported loss x rows, folded in client-id order */
  double *slot_ns;   /* K: reported rows */
  double *job_s;     /* K: virtual seconds of the job */
  uint64_t *up_len;  /* K: bytes of the UPDATE frame received */
  fs_payload **pool; /* free payloads */
  size_t npool;
  uint8_t *seen; /* N bits: client has sent before */
  uint64_t rejected;
  uint64_t paper_bits;     /* this round, EF21 papers' convention */
  size_t down_body_len;    /* this round's TRAIN body */
  double ideal_bits;       /* since the start: ideal encoding of each message */
  double loss_sum, loss_w; /* clients' reported training losses this round */
  /* Server optimiser state (momentum, adam). */
  double *opt_m, *opt_v;
  uint64_t opt_t;
  /* Asynchronous strategies: per client (N). */
  int64_t *a_start;       /* tick the client's job started */
  uint64_t *a_ver;        /* model version it started from */
  fs_payload **a_res;     /* its decoded update, once received */
  uint64_t *a_len;        /* bytes of that UPDATE frame */
  double *a_loss, *a_ns;  /* its reported training loss and rows */
  double *a_tau;          /* nominal job duration (ticks) for Fraboni weights */
  size_t inflight;        /* jobs sent whose update has not arrived */
  uint64_t n_recv, n_agg; /* updates received, and folded into the model */
  uint64_t dropouts;      /* jobs a client dropped out of */
  uint32_t *a_seq;        /* jobs started per client (dropout stream) */
  uint64_t a_up, a_down;  /* bits since the last metrics row */
  fs_robust_round *rob;   /* robust aggregation: the round's updates apart */
  int rob_applied;        /* this round's robust aggregate is in acc */
  fs_p2p *p2p;            /* peer-to-peer NNA / MoNNA (server.nna_pivot own) */
  fs_faults *p2p_faulty;  /* its honest / faulty nodes */
  fs_sa_server *sa;       /* secure aggregation, or NULL */
  fs_sealer *seal;        /* secure.seal: frames sealed and opened here */
} srv;

static fs_payload *pool_get(srv *s) {
  if (s->npool > 0)
    return s->pool[--s->npool];
  return calloc(1, sizeof(fs_payload));
}

static void pool_put(srv *s, fs_payload *p) { s->pool[s->npool++] = p; }

/* The fixed aggregation weight p_i of client c with n_rows rows. */
static double client_weight(const srv *s, uint32_t c, uint32_t n_rows) {
  if (s->cfg->ef_method == FS_CFG_EF_EF21W)
    return s->w->smooth.Li[c] / (s->w->smooth.L_am * (double)s->N);
  if (s->cfg->server_weighting == FS_CFG_WEIGHTING_UNIFORM)
    return 1.0 / (double)s->N;
  return (double)n_rows / (double)s->w->train.n;
}

/* The virtual clock counts integer ticks: 1 ns, or in Fraboni et al.'s F-P
 * scenario 1/(100(N-1)) s, in which every job duration is a whole number of
 * ticks. */
static int is_fp(const srv *s) { return s->cfg->sys_dist == FS_CFG_DIST_FP; }
static int64_t fp_unit(const srv *s) {
  return s->N > 1 ? 100 * (int64_t)(s->N - 1) : 100;
}
static double tick_s(const srv *s) {
  return is_fp(s) ? 1.0 / (double)fp_unit(s) : 1e-9;
}

/* Ticks of client c's job: its profile's downlink, compute and uplink
 * (up_bits < 0: a lower bound without the uplink), or its fixed F-P time. */
static int64_t job_ticks(const srv *s, uint32_t c, uint64_t down_bits,
                         int64_t up_bits) {
  if (is_fp(s))
    return fp_unit(s) - (int64_t)llround((double)c * s->cfg->sys_fp);
  size_t rows = s->w->part.offset[c + 1] - s->w->part.offset[c];
  fs_profile pr = fs_profiles_get(s->w->profiles, c);
  double sec =
      fs_job_seconds(&pr, down_bits, fs_local_work_samples(s->cfg, rows),
                     up_bits < 0 ? 0 : (uint64_t)up_bits);
  if (up_bits < 0)
    sec -= 1e-9; /* stay a lower bound whatever the rounding */
  int64_t t = (int64_t)(sec / tick_s(s));
  return t > 0 ? t : 0;
}

/* Does client c drop out of its job number j? (stream (seed, FAULT, c, j)) */
static int drops_out(const srv *s, uint32_t c, uint64_t j) {
  if (s->cfg->sys_dropout <= 0.0)
    return 0;
  fs_rng r;
  fs_rng_init(&r, s->cfg->seed, FS_RNG_FAULT, c, j);
  return fs_rng_uniform(&r) < s->cfg->sys_dropout;
}

/* Availability: client c is offline during [kP + phi_c, kP + phi_c + fP),
 * phi_c uniform in [0, P) from the stream (seed, FAULT, c, 2^40). Returns
 * the first tick >= t at which c is online. */
static int64_t online_from(const srv *s, uint32_t c, int64_t t) {
  double f = s->cfg->sys_offline_fraction;
  if (f <= 0.0)
    return t;
  double P = s->cfg->sys_offline_period / tick_s(s); /* ticks */
  fs_rng r;
  fs_rng_init(&r, s->cfg->seed, FS_RNG_FAULT, c, 1ull << 40);
  double phi = fs_rng_uniform(&r) * P;
  double x = fmod((double)t - phi, P);
  if (x < 0)
    x += P;
  if (x >= f * P)
    return t; /* online */
  return t + (int64_t)ceil(f * P - x);
}

/* x <- x - lr * step(u) for the server optimiser (FedOpt, Reddi et al.
 * 2021): sgd: u; momentum: m = beta m + u; adam: bias-corrected m / (sqrt(v)
 * + eps) with m, v the moving averages of u and u^2. */
static void opt_step(srv *s, const double *u) {
  const fs_config *cfg = s->cfg;
  if (cfg->server_optimizer == FS_CFG_OPT_MOMENTUM) {
    for (size_t j = 0; j < s->dim; j++) {
      s->opt_m[j] = cfg->server_momentum * s->opt_m[j] + u[j];
      s->x[j] = (float)((double)s->x[j] - s->lr * s->opt_m[j]);
    }
    return;
  }
  if (cfg->server_optimizer == FS_CFG_OPT_ADAM) {
    double b1 = cfg->server_momentum, b2 = cfg->server_beta2;
    s->opt_t++;
    double c1 = 1.0 - pow(b1, (double)s->opt_t);
    double c2 = 1.0 - pow(b2, (double)s->opt_t);
    for (size_t j = 0; j < s->dim; j++) {
      s->opt_m[j] = b1 * s->opt_m[j] + (1.0 - b1) * u[j];
      s->opt_v[j] = b2 * s->opt_v[j] + (1.0 - b2) * u[j] * u[j];
      double step =
          (s->opt_m[j] / c1) / (sqrt(s->opt_v[j] / c2) + cfg->server_eps);
      s->x[j] = (float)((double)s->x[j] - s->lr * step);
    }
    return;
  }
  for (size_t j = 0; j < s->dim; j++)
    s->x[j] = (float)((double)s->x[j] - s->lr * u[j]);
}

typedef struct {
  double train_loss, test_loss, test_acc, grad_norm_sq;
  int has_grad;
} eval_out;

/* Loss (and gradient into s->grad) of the training objective: the pooled
 * rows, or mean_i f_i with every client weighted equally. */
static double train_objective(srv *s, int want_grad) {
  const fs_dataset *tr = &s->w->train;
  if (s->cfg->eval_objective != FS_CFG_OBJ_CLIENTS)
    return fs_model_loss_grad(s->model, s->x, tr->x, tr->y, tr->n,
                              want_grad ? s->grad : NULL);
  const fs_partition *p = &s->w->part;
  double loss = 0.0;
  if (want_grad)
    memset(s->grad, 0, s->dim * sizeof(float));
  double *gacc = want_grad ? s->acc : NULL; /* acc is free between rounds */
  if (gacc)
    memset(gacc, 0, s->dim * sizeof(double));
  for (size_t c = 0; c < p->clients; c++) {
    size_t n = p->offset[c + 1] - p->offset[c];
    for (size_t j = 0; j < n; j++) {
      uint32_t row = p->rows[p->offset[c] + j];
      memcpy(s->cbuf + j * tr->dim, tr->x + (size_t)row * tr->dim,
             tr->dim * sizeof(float));
      s->cy[j] = tr->y[row];
    }
    loss += fs_model_loss_grad(s->model, s->x, s->cbuf, s->cy, n,
                               gacc ? s->gtmp : NULL);
    if (gacc)
      for (size_t j = 0; j < s->dim; j++)
        gacc[j] += s->gtmp[j];
  }
  if (gacc)
    for (size_t j = 0; j < s->dim; j++)
      s->grad[j] = (float)(gacc[j] / (double)p->clients);
  return loss / (double)p->clients;
}

static void evaluate(srv *s, int want_grad, eval_out *e) {
  const fs_dataset *te = &s->w->test;
  e->has_grad = want_grad;
  e->train_loss = train_objective(s, want_grad);
  if (want_grad) {
    double g = 0.0;
    for (size_t j = 0; j < s->dim; j++)
      g += (double)s->grad[j] * s->grad[j];
    e->grad_norm_sq = g;
  }
  e->test_loss = fs_model_loss_grad(s->model, s->x, te->x, te->y, te->n, NULL);
  size_t ok = fs_model_correct(s->model, s->x, te->x, te->y, te->n);
  e->test_acc = te->n ? (double)ok / (double)te->n : 0.0;
}

static void human_bits(double bits, char *buf, size_t len) {
  double bytes = bits / 8.0;
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >= 1000.0 && i < 4) {
    bytes /= 1000.0;
    i++;
  }
  snprintf(buf, len, "%.1f %s", bytes, u[i]);
}

fs_status fs_server_write_model(const char *dir, const float *x, size_t dim,
                                fs_err *err) {
  size_t len = 20 + 4 * dim;
  uint8_t *b = malloc(len);
  if (b == NULL)
    return fs_err_set(err, FS_ENOMEM, "model.bin: out of memory");
  memcpy(b, "FSMODEL1", 8);
  for (int i = 0; i < 4; i++)
    b[8 + i] = (uint8_t)(1u >> (8 * i));
  for (int i = 0; i < 8; i++)
    b[12 + i] = (uint8_t)((uint64_t)dim >> (8 * i));
  for (size_t j = 0; j < dim; j++) {
    uint32_t u;
    memcpy(&u, &x[j], 4);
    for (int i = 0; i < 4; i++)
      b[20 + 4 * j + (size_t)i] = (uint8_t)(u >> (8 * i));
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/model.bin", dir);
  fs_status st = fs_write_file_atomic(path, b, len, err);
  free(b);
  return st;
}

/* Fold arrived updates into acc, in client-id order, as far as possible. */
static void fold_ready(srv *s, uint32_t *next) {
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
    pool_put(s, s->slot[i]);
    s->slot[i] = NULL;
  }
}

/* Bits of one message in the EF21 papers' convention: 32 per value sent,
 * no index bits, no headers, and the first (uncompressed) EF21 message of a
 * client not counted; quantised messages count their ideal bits. */
static uint64_t paper_bits(const srv *s, const fs_payload *p, int first) {
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

/* A sealed UPDATE (len bytes on the wire) that failed to open with status
 * why (message in err): counted, and taken as the update of the client its
 * clear header names not arriving; its bytes still count as sent. A frame
 * that names no client with an update pending cannot be attributed, and
 * stops the run (fedsim's tamper hook never alters the client id). */
static fs_status reject_sealed(srv *s, uint32_t c, uint32_t round, size_t len,
                               fs_status why, fs_err *err) {
  if (why == FS_ENOMEM)
    return why;
  uint32_t *hit = bsearch(&c, s->sel, s->K, sizeof *s->sel, cmp_u32);
  if (hit == NULL || s->state[hit - s->sel] != 0)
    return fs_err_set(err, why,
                      "server: refused a sealed frame in round %u that names "
                      "client %u, which has no update pending: %s",
                      round, c, fs_err_msg(err, why));
  uint32_t i = (uint32_t)(hit - s->sel);
  if (fs_sealer_rejected(s->seal) == 1)
    fprintf(stderr,
            "fedsim: warning: refused the sealed update of client %u in "
            "round %u: %s (refused frames are counted in metrics.csv, "
            "rejected_frames)\n",
            c, round, fs_err_msg(err, why));
  s->state[i] = 1;
  s->slot[i] = NULL;
  s->slot_w[i] = 0.0;
  s->up_len[i] = len;
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, s->down_body_len);
  s->job_s[i] = (double)job_ticks(s, c, down_bits, (int64_t)(8ull * len));
  return FS_OK;
}

static fs_status receive_update(srv *s, uint32_t round, uint32_t version,
                                fs_err *err) {
  int src;
  const uint8_t *buf;
  size_t len;
  fs_status st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
  if (st != FS_OK)
    return st;
  const uint8_t *fr = buf; /* the plain frame; len stays the wire bytes */
  size_t flen = len;
  uint32_t named;
  if ((st = fs_sealer_open(s->seal, &fr, &flen, &named, err)) != FS_OK)
    return reject_sealed(s, named, round, len, st, err);
  fs_frame_header h;
  if ((st = fs_frame_header_decode(fr, flen, &h, err)) != FS_OK)
    return st;
  if (h.type != FS_MSG_UPDATE || h.round != round || h.model_version != version)
    return fs_err_set(err, FS_EFORMAT,
                      "server: unexpected frame (type %u, round %u, version "
                      "%u) while waiting for updates of round %u",
                      h.type, h.round, h.model_version, round);
  uint32_t *hit = bsearch(&h.client, s->sel, s->K, sizeof *s->sel, cmp_u32);
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
    p = pool_get(s);
    if (p == NULL)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
    st = fs_payload_decode(
        body + FS_UPDATE_META_BYTES, h.body_len - FS_UPDATE_META_BYTES,
        (fs_payload_kind)h.encoding,
        fs_comp_wire_dim(&s->comp, h.encoding, (uint32_t)s->dim), p, &e2);
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
      pool_put(s, p);
    s->slot[i] = NULL;
  } else if (st != FS_OK) {
    if (p)
      pool_put(s, p);
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
    if ((st = fs_comp_receive(&s->comp, p, (uint32_t)s->dim, s->cfg->seed,
                              h.client, round)) != FS_OK)
      return fs_err_set(err, st, "server: update of client %u: %s", h.client,
                        "its payload does not decode");
  }
  s->slot_w[i] =
      s->slot[i] != NULL ? client_weight(s, h.client, meta.num_samples) : 0.0;
  /* Virtual duration of this job, from the real frame sizes. */
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, s->down_body_len);
  s->job_s[i] =
      (double)job_ticks(s, h.client, down_bits, (int64_t)(8ull * len));
  return FS_OK;
}

/* Secure aggregation in a synchronous round: run the protocol with the
 * clients that got the model (secagg_server.c); the server sees only the
 * masked sum, from which acc = sum_i p_i delta_i, and each client's frames
 * and reported rows. */
static fs_status secagg_collect(srv *s, uint32_t round, uint32_t version,
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
    s->slot_w[i] =
        o->survived[i] ? client_weight(s, s->sel[i], o->num_samples[i]) : 0.0;
    s->loss_sum += o->train_loss[i] * o->num_samples[i];
    s->loss_w += o->survived[i] ? o->num_samples[i] : 0;
    s->job_s[i] = (double)job_ticks(s, s->sel[i], db + 8ull * o->down_bytes[i],
                                    (int64_t)(8ull * o->up_bytes[i]));
  }
  for (size_t j = 0; j < s->dim; j++)
    s->acc[j] = o->sum[j] / (double)s->N;
  s->ideal_bits += 32.0 * (double)s->dim * o->survivors;
  s->paper_bits += 32ull * s->dim * o->survivors;
  return FS_OK;
}

/* Apply the folded round to the model (see the file comment). */
static fs_status server_step(srv *s, uint32_t round) {
  if (s->bc) {
    for (size_t j = 0; j < s->dim; j++) {
      s->g[j] += s->acc[j];
      s->dtmp[j] = (float)(s->g[j] - (double)s->b[j]);
    }
    fs_rng r;
    fs_rng_init(&r, s->cfg->seed, FS_RNG_COMPRESS, UINT32_MAX, round);
    if (fs_compress(&s->down, s->dtmp, (uint32_t)s->dim, &r, &s->m) != FS_OK)
      return FS_ENOMEM;
    fs_ef21bc_apply(s->x, s->b, &s->m, s->lr, s->dim);
    size_t need = fs_payload_encoded_size(&s->m, NULL);
    if (need > s->mcap) {
      uint8_t *nb = realloc(s->mbody, need);
      if (nb == NULL)
        return FS_ENOMEM;
      s->mbody = nb;
      s->mcap = need;
    }
    fs_payload_encode(&s->m, s->mbody);
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
    opt_step(s, s->acc);
    return FS_OK;
  }
  if (s->rob != NULL) {
    if (s->rob_applied) /* acc holds the robust aggregate */
      opt_step(s, s->acc);
    return FS_OK;
  }
  double wsum = 0.0;
  for (uint32_t i = 0; i < s->K; i++)
    wsum += s->slot_w[i];
  if (wsum <= 0.0)
    return FS_OK;
  for (size_t j = 0; j < s->dim; j++)
    s->acc[j] /= wsum;
  opt_step(s, s->acc);
  return FS_OK;
}

fs_status fs_server_shutdown_workers(fs_sealer *sl, fs_transport *t,
                                     fs_err *err) {
  uint8_t hdr[FS_FRAME_HEADER_BYTES];
  int W = fs_transport_workers(t);
  for (int k = 0; k < W; k++) {
    int dest = fs_transport_is_local(t) ? 0 : k + 1;
    fs_frame_header h = {.type = FS_MSG_SHUTDOWN,
                         .encoding = FS_PL_NONE,
                         .client = sl != NULL ? (uint32_t)k : 0};
    fs_frame_header_encode(&h, hdr);
    fs_iov iov = {hdr, sizeof hdr};
    fs_status st = fs_sealer_post(sl, t, FS_ROLE_SERVER, dest, &iov, 1, 1, err);
    if (st != FS_OK)
      return st;
  }
  fs_status st = fs_transport_flush(t, err);
  if (st == FS_OK && fs_transport_is_local(t)) {
    /* Let the local worker see its SHUTDOWN. */
    int src;
    const uint8_t *b;
    size_t l;
    fs_transport_try_recv(t, FS_ROLE_WORKER, &src, &b, &l, NULL);
  }
  return st;
}

static int want_progress(const fs_config *cfg) {
  if (cfg->progress == FS_CFG_PROGRESS_ON)
    return 1;
  if (cfg->progress == FS_CFG_PROGRESS_OFF)
    return 0;
  return isatty(STDOUT_FILENO);
}

typedef struct {
  double target;
  int reached;
  uint64_t round;
  double vtime, up, down, paper; /* per client */
} target_hit;

static void check_targets(target_hit *t, size_t n, double value, int below,
                          uint64_t round, double vtime, double up, double down,
                          double paper) {
  for (size_t i = 0; i < n; i++) {
    if (t[i].reached)
      continue;
    if (below ? value <= t[i].target : value >= t[i].target)
      t[i] = (target_hit){t[i].target, 1, round, vtime, up, down, paper};
  }
}

static cJSON *targets_json(const target_hit *t, size_t n, const char *what) {
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

static void print_targets(const target_hit *t, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++) {
    char b1[32], b2[32], b3[32];
    if (!t[i].reached) {
      printf("fedsim: %s %g: not reached\n", what, t[i].target);
      continue;
    }
    human_bits(t[i].up + t[i].down, b1, sizeof b1);
    human_bits(t[i].up, b2, sizeof b2);
    human_bits(t[i].down, b3, sizeof b3);
    printf("fedsim: %s %g reached at round %llu: %s per client (up %s, "
           "down %s)\n",
           what, t[i].target, (unsigned long long)t[i].round, b1, b2, b3);
  }
}

/* What one run reports, shared by the synchronous and asynchronous loops. */
typedef struct {
  srv *s;
  const fs_server_args *a;
  fs_metrics *mw;
  fs_dp_accountant *acct; /* central DP noise: the RDP accountant */
  double eps, eps_order;
  int progress, gn;
  uint64_t up_cum, down_cum, paper_cum;
  double t0, vtime;
  uint64_t rounds_run, last_eval;
  eval_out ev;
  double best_acc, last_client_loss;
  uint64_t best_round, dropped;
  uint64_t rejected_last; /* s->rejected at the last metrics row */
  uint64_t sa_bits;       /* secure aggregation: SA_* frame bits, and ms */
  double sa_ms;
  target_hit acc_t[FS_CFG_MAX_LIST], grad_t[FS_CFG_MAX_LIST];
  size_t n_acc, n_grad;
  /* Checkpoints (server_ckpt.h): where the loop starts, its clock, and
   * scratch for what is saved. */
  uint64_t start;
  int64_t vticks;
  int stopped; /* stopped at a boundary after SIGINT/SIGTERM */
  uint64_t acct_steps;
  double wall, tgt[2 * FS_CFG_MAX_LIST * 7];
  /* Asynchronous strategies: the scheduler, and its saved state. */
  fs_sched *sc;
  uint8_t *sched_blob;
  size_t sched_len;
  double inv_tau;
  int resumed;
  uint64_t seal_none[2 + FS__STATUS_COUNT]; /* the sealer's counts if off */
  float none_f;                             /* robust state if unused */
  uint64_t none_u[5];
} run_ctx;

/* Every piece of the run's state that a checkpoint saves and a resume
 * restores (server_ckpt.h), into f (room for STATE_FIELDS_MAX); returns how
 * many. */
#define STATE_FIELDS_MAX 64
static size_t state_fields(run_ctx *c, fs_ckpt_field *f) {
  srv *s = c->s;
  size_t n = 0, d = s->dim;
  int mom = s->cfg->server_optimizer != FS_CFG_OPT_SGD;
#define FLD(a, b, cc, dd, type, p, cnt)                                        \
  f[n++] = (fs_ckpt_field){FS_CKPT_TAG(a, b, cc, dd), type, p, cnt}
  FLD('X', 'M', 'O', 'D', FS_F_F32, s->x, d);
  FLD('G', 'E', 'S', 'T', FS_F_F64, s->g, s->ef21 ? d : 1);
  FLD('O', 'P', 'T', 'M', FS_F_F64, s->opt_m, mom ? d : 1);
  FLD('O', 'P', 'T', 'V', FS_F_F64, s->opt_v, mom ? d : 1);
  FLD('O', 'P', 'T', 'T', FS_F_U64, &s->opt_t, 1);
  FLD('S', 'E', 'E', 'N', FS_F_U8, s->seen, (s->N + 7) / 8);
  FLD('R', 'E', 'J', 'D', FS_F_U64, &s->rejected, 1);
  FLD('I', 'D', 'L', 'B', FS_F_F64, &s->ideal_bits, 1);
  FLD('D', 'R', 'O', 'U', FS_F_U64, &s->dropouts, 1);
  FLD('U', 'P', 'C', 'M', FS_F_U64, &c->up_cum, 1);
  FLD('D', 'N', 'C', 'M', FS_F_U64, &c->down_cum, 1);
  FLD('P', 'P', 'C', 'M', FS_F_U64, &c->paper_cum, 1);
  FLD('V', 'T', 'I', 'M', FS_F_F64, &c->vtime, 1);
  FLD('V', 'T', 'C', 'K', FS_F_I64, &c->vticks, 1);
  FLD('R', 'R', 'U', 'N', FS_F_U64, &c->rounds_run, 1);
  FLD('L', 'E', 'V', 'L', FS_F_U64, &c->last_eval, 1);
  FLD('E', 'V', 'T', 'R', FS_F_F64, &c->ev.train_loss, 1);
  FLD('E', 'V', 'T', 'L', FS_F_F64, &c->ev.test_loss, 1);
  FLD('E', 'V', 'T', 'A', FS_F_F64, &c->ev.test_acc, 1);
  FLD('E', 'V', 'G', 'N', FS_F_F64, &c->ev.grad_norm_sq, 1);
  FLD('B', 'E', 'S', 'T', FS_F_F64, &c->best_acc, 1);
  FLD('B', 'R', 'N', 'D', FS_F_U64, &c->best_round, 1);
  FLD('L', 'C', 'L', 'S', FS_F_F64, &c->last_client_loss, 1);
  FLD('D', 'R', 'P', 'D', FS_F_U64, &c->dropped, 1);
  FLD('E', 'P', 'S', ' ', FS_F_F64, &c->eps, 1);
  FLD('E', 'P', 'S', 'O', FS_F_F64, &c->eps_order, 1);
  FLD('A', 'C', 'S', 'T', FS_F_U64, &c->acct_steps, 1);
  FLD('W', 'A', 'L', 'L', FS_F_F64, &c->wall, 1);
  FLD('T', 'G', 'T', 'S', FS_F_F64, c->tgt, 2 * FS_CFG_MAX_LIST * 7);
  /* Asynchronous strategies (arrays of one entry otherwise). */
  size_t na = s->cfg->strategy != FS_CFG_STRATEGY_FEDAVG ? s->N : 1;
  FLD('A', 'S', 'T', 'A', FS_F_I64, s->a_start, na);
  FLD('A', 'V', 'E', 'R', FS_F_U64, s->a_ver, na);
  FLD('A', 'L', 'E', 'N', FS_F_U64, s->a_len, na);
  FLD('A', 'L', 'O', 'S', FS_F_F64, s->a_loss, na);
  FLD('A', 'N', 'S', ' ', FS_F_F64, s->a_ns, na);
  FLD('A', 'T', 'A', 'U', FS_F_F64, s->a_tau, na);
  FLD('A', 'S', 'E', 'Q', FS_F_U32, s->a_seq, na);
  FLD('N', 'R', 'C', 'V', FS_F_U64, &s->n_recv, 1);
  FLD('N', 'A', 'G', 'G', FS_F_U64, &s->n_agg, 1);
  FLD('A', 'U', 'P', ' ', FS_F_U64, &s->a_up, 1);
  FLD('A', 'D', 'N', ' ', FS_F_U64, &s->a_down, 1);
  FLD('I', 'T', 'A', 'U', FS_F_F64, &c->inv_tau, 1);
  FLD('B', 'C', 'B', ' ', FS_F_F32, s->b, s->bc ? d : 1); /* EF21-BC */
  size_t nsc; /* secure.seal: frames refused, by status (summary.json) */
  uint64_t *sc = fs_sealer_counts(s->seal, &nsc);
  FLD('S', 'E', 'A', 'L', FS_F_U64, sc != NULL ? sc : c->seal_none, nsc);
  /* Robust aggregation: the previous aggregate (server.nna_pivot
   * previous), peer-to-peer's models (own), the skipped rounds. */
  size_t np = 1;
  float *pm = s->p2p != NULL ? fs_p2p_models(s->p2p, &np) : &c->none_f;
  FLD('R', 'P', 'R', 'V', FS_F_F32,
      s->rob != NULL ? fs_robust_round_prev(s->rob) : &c->none_f,
      s->rob != NULL ? d : 1);
  FLD('R', 'S', 'K', 'P', FS_F_U64,
      s->rob != NULL ? fs_robust_round_skipped_count(s->rob) : &c->none_u[0],
      1);
  FLD('P', '2', 'P', 'X', FS_F_F32, pm, np);
  FLD('P', '2', 'P', 'S', FS_F_U64,
      s->p2p != NULL ? fs_p2p_skipped_count(s->p2p) : &c->none_u[1], 1);
  /* Secure aggregation: its running totals (summary.json). */
  FLD('S', 'A', 'B', 'T', FS_F_U64, &c->sa_bits, 1);
  FLD('S', 'A', 'M', 'S', FS_F_F64, &c->sa_ms, 1);
  FLD('S', 'A', 'A', 'B', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 0) : &c->none_u[2], 1);
  FLD('S', 'A', 'D', 'R', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 1) : &c->none_u[3], 1);
  FLD('S', 'A', 'R', 'F', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 2) : &c->none_u[4],
      s->sa != NULL ? 4 : 1);
#undef FLD
  if (n > STATE_FIELDS_MAX)
    abort(); /* a programmer's mistake: raise STATE_FIELDS_MAX */
  return n;
}

/* Targets to and from c->tgt (7 numbers each). */
static void pack_targets(run_ctx *c, int unpack) {
  for (size_t i = 0; i < 2 * FS_CFG_MAX_LIST; i++) {
    target_hit *t =
        i < FS_CFG_MAX_LIST ? &c->acc_t[i] : &c->grad_t[i - FS_CFG_MAX_LIST];
    double *v = c->tgt + 7 * i;
    if (unpack) {
      *t =
          (target_hit){v[0], v[1] != 0, (uint64_t)v[2], v[3], v[4], v[5], v[6]};
    } else {
      double w[7] = {t->target, t->reached, (double)t->round, t->vtime,
                     t->up,     t->down,    t->paper};
      memcpy(v, w, sizeof w);
    }
  }
}

#define TAG_SCHED FS_CKPT_TAG('S', 'C', 'H', 'D')
#define TAG_ARES FS_CKPT_TAG('A', 'R', 'E', 'S')
#define TAG_BCM FS_CKPT_TAG('B', 'C', 'M', ' ')

/* Asynchronous strategies: the scheduler's state, and each update received
 * but not yet consumed on the virtual clock (u32 client, u8 encoding,
 * payload bytes). */
static fs_status save_async(void *ctx, fs_ckpt_writer *w, fs_err *err) {
  run_ctx *c = ctx;
  srv *s = c->s;
  if (s->bc && s->mbody != NULL) {
    /* EF21-BC: next round's downlink C(g - b), u8 encoding + bytes. */
    size_t ml = fs_payload_encoded_size(&s->m, NULL);
    uint8_t *r = malloc(1 + ml);
    if (r == NULL)
      return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
    r[0] = (uint8_t)fs_payload_encoding(s->m.kind);
    memcpy(r + 1, s->mbody, ml);
    fs_ckpt_put(w, TAG_BCM, r, 1 + ml);
    free(r);
  }
  if (c->sc == NULL)
    return FS_OK;
  uint8_t *b = NULL;
  size_t len = 0;
  if (fs_sched_export(c->sc, &b, &len) != FS_OK)
    return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
  fs_ckpt_put(w, TAG_SCHED, b, len);
  free(b);
  for (uint32_t i = 0; i < s->N; i++) {
    const fs_payload *p = s->a_res[i];
    if (p == NULL)
      continue;
    size_t pl = fs_payload_encoded_size(p, NULL);
    uint8_t *r = malloc(5 + pl);
    if (r == NULL)
      return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
    for (int k = 0; k < 4; k++)
      r[k] = (uint8_t)(i >> (8 * k));
    r[4] = (uint8_t)fs_payload_encoding(p->kind);
    fs_payload_encode(p, r + 5);
    fs_ckpt_put(w, TAG_ARES, r, 5 + pl);
    free(r);
  }
  return FS_OK;
}

static fs_status load_async(void *ctx, const fs_ckpt_reader *r, fs_err *err) {
  run_ctx *c = ctx;
  srv *s = c->s;
  const uint8_t *p;
  size_t len, pos = 0;
  uint32_t tag;
  fs_status st;
  if (s->bc && fs_ckpt_get(r, TAG_BCM, &p, &len, NULL) == FS_OK) {
    if (len < 1)
      return fs_err_set(err, FS_EFORMAT, "server.bin: empty EF21-BC record");
    st = fs_payload_decode(p + 1, len - 1, (fs_payload_kind)p[0],
                           (uint32_t)s->dim, &s->m, err);
    if (st != FS_OK)
      return st;
    if ((s->mbody = malloc(len - 1)) == NULL)
      return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
    memcpy(s->mbody, p + 1, len - 1);
    s->mcap = len - 1;
  }
  if (s->cfg->strategy == FS_CFG_STRATEGY_FEDAVG)
    return FS_OK;
  st = fs_ckpt_get(r, TAG_SCHED, &p, &len, err);
  if (st != FS_OK)
    return st;
  if ((c->sched_blob = malloc(len ? len : 1)) == NULL)
    return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
  memcpy(c->sched_blob, p, len);
  c->sched_len = len;
  while (fs_ckpt_next(r, &pos, &tag, &p, &len)) {
    if (tag != TAG_ARES)
      continue;
    uint32_t i = len >= 5 ? fs_ckpt_le32(p) : UINT32_MAX;
    if (i >= s->N || s->a_res[i] != NULL)
      return fs_err_set(err, FS_EFORMAT, "server.bin: bad buffered update");
    fs_payload *pl = pool_get(s);
    if (pl == NULL)
      return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
    st = fs_payload_decode(p + 5, len - 5, (fs_payload_kind)p[4],
                           (uint32_t)s->dim, pl, err);
    if (st != FS_OK) {
      pool_put(s, pl);
      return st;
    }
    s->a_res[i] = pl;
  }
  return FS_OK;
}

/* Continue from the checkpoint cfg->resume names: restore the state, cut
 * metrics.csv back to it and append from there. */
static fs_status resume_state(run_ctx *c, fs_err *err) {
  const fs_config *cfg = c->s->cfg;
  char ckdir[1100], rdir[1100];
  uint64_t agg = 0;
  char *text = NULL;
  fs_status st = fs_ckpt_find(cfg->resume, ckdir, sizeof ckdir, rdir,
                              sizeof rdir, &agg, &text, err);
  free(text);
  if (st != FS_OK)
    return st;
  if (agg > (uint64_t)cfg->rounds)
    return fs_err_set(err, FS_ECONFIG,
                      "--resume: the checkpoint is after aggregation %llu, "
                      "past run.rounds = %lld",
                      (unsigned long long)agg, (long long)cfg->rounds);
  fs_ckpt_field f[STATE_FIELDS_MAX];
  size_t n = state_fields(c, f);
  st = fs_ckpt_restore_run(c->s->t, cfg, ckdir, c->a->run_dir, agg, f, n,
                           load_async, c, err);
  if (st != FS_OK)
    return st;
  pack_targets(c, 1);
  if (c->s->p2p != NULL)
    fs_p2p_restored(c->s->p2p); /* the nodes' models, encoded to send */
  for (uint64_t i = 0; c->acct != NULL && i < c->acct_steps; i++)
    fs_dp_accountant_step(c->acct, 1); /* the same sums, in the same order */
  c->t0 = fs_transport_wtime() - c->wall;
  c->start = agg;
  c->resumed = 1;
  return fs_metrics_open_append(c->a->run_dir, &c->mw, err);
}

/* At the end of aggregation agg: checkpoint if one is due or a signal
 * asked to stop (then stop). */
static int ckpt_due(const run_ctx *c, uint64_t agg) {
  const fs_config *cfg = c->s->cfg;
  return fs_ckpt_stop_requested != 0 ||
         (cfg->checkpoint_every > 0 &&
          agg % (uint64_t)cfg->checkpoint_every == 0);
}

static fs_status boundary(run_ctx *c, uint64_t agg, fs_err *err) {
  const fs_config *cfg = c->s->cfg;
  int sig = fs_ckpt_stop_requested != 0;
  if (!ckpt_due(c, agg))
    return FS_OK;
  pack_targets(c, 0);
  c->wall = fs_transport_wtime() - c->t0;
  c->acct_steps = c->acct != NULL ? fs_dp_accountant_steps(c->acct) : 0;
  fs_ckpt_field f[STATE_FIELDS_MAX];
  size_t n = state_fields(c, f);
  fs_status st = fs_ckpt_save_run(c->s->t, cfg, c->a->run_dir, agg, f, n,
                                  save_async, c, err);
  if (st == FS_OK && sig)
    c->stopped = 1;
  if (st != FS_OK && err != NULL) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    fs_err_set(err, st,
               "checkpoint after aggregation %llu failed: %s. Complete "
               "checkpoints written before are intact: make room (or fix "
               "the folder) and continue with: fedsim --resume %s",
               (unsigned long long)agg, msg, c->a->run_dir);
  }
  return st;
}

/* Finish and write one metrics row (evaluating if due), track targets and
 * the best accuracy, print progress. row->round, vtime_s, clients and the
 * bits of this row are filled by the caller; cumulative fields here. */
static fs_status emit_row(run_ctx *c, fs_metrics_row *row, int last,
                          fs_err *err) {
  srv *s = c->s;
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
    evaluate(s, c->gn, &c->ev);
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
    human_bits((double)c->up_cum, ub, sizeof ub);
    human_bits((double)c->down_cum, db, sizeof db);
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

static uint64_t robust_skipped(const srv *s) {
  if (s->p2p != NULL)
    return fs_p2p_skipped(s->p2p);
  return s->rob != NULL ? fs_robust_round_skipped(s->rob) : 0;
}

/* Robust aggregation of the round's updates into acc (robust_round.h), or
 * the peer-to-peer mixing (p2p.h); a round with too few updates for the
 * rule is skipped (warned once). */
static fs_status robust_aggregate(srv *s, uint32_t round, uint64_t rejected,
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
  if (skipped && robust_skipped(s) == 1)
    fprintf(stderr,
            "fedsim: warning: round %u: %s; the model is left unchanged "
            "(skipped rounds are counted in summary.json)\n",
            round, e2.msg);
  return FS_OK;
}

/* Synchronous rounds (FedAvg and the EF21 family). */
static fs_status sync_loop(run_ctx *c, fs_err *err) {
  srv *s = c->s;
  const fs_config *cfg = s->cfg;
  uint32_t N = s->N, K = s->K;
  fs_status st = FS_OK;
  int64_t vticks = c->vticks;
  int wall = cfg->clock == FS_CFG_CLOCK_WALL;
  int64_t budget_ticks =
      cfg->time_budget > 0 ? (int64_t)llround(cfg->time_budget / tick_s(s)) : 0;
  if (s->p2p != NULL && c->start == 0)
    fs_p2p_start(s->p2p, s->x); /* every node starts from x^0 */
  for (int64_t r = (int64_t)c->start + 1; r <= cfg->rounds; r++) {
    uint32_t round = (uint32_t)r, version = (uint32_t)(r - 1);
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
    if (s->bc && r > 1) {
      body = s->mbody;
      body_len = fs_payload_encoded_size(&s->m, NULL);
      enc = (uint8_t)fs_payload_encoding(s->m.kind);
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
      if (drops_out(s, s->sel[i], (uint64_t)r) ||
          online_from(s, s->sel[i], vticks) != vticks) {
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
      st = fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,
                          fs_transport_worker_of(s->t, s->sel[i]), iov, 2, 0,
                          err);
      if (st != FS_OK)
        return st;
      s->state[i] = 0;
    }
    s->dropouts += ndrop;
    s->down_body_len = body_len;
    memset(s->acc, 0, s->dim * sizeof(double));
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
      round_ticks = (int64_t)llround(now / tick_s(s)) - vticks;
    } else if (budget_ticks > 0 && vticks + round_ticks > budget_ticks) {
      break;
    }
    if (s->rob != NULL &&
        (st = robust_aggregate(s, round, s->rejected - rejected0, err)) !=
            FS_OK)
      return st;
    if (server_step(s, round) != FS_OK)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
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
                          .vtime_s = (double)vticks * tick_s(s),
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
    if ((st = emit_row(c, &row, last, err)) != FS_OK)
      return st;
    c->vticks = vticks;
    if ((st = boundary(c, (uint64_t)r, err)) != FS_OK || c->stopped)
      return st;
  }
  return FS_OK;
}

/* Asynchronous strategies: dispatch client c at tick t with the current
 * model (a copy travels, as the model changes right after). */
static fs_status async_dispatch(srv *s, fs_sched *sc, uint32_t c, int64_t t,
                                fs_err *err) {
  uint64_t v = fs_sched_version(sc);
  size_t body_len = fs_dense_size(s->dim);
  t = online_from(s, c, t); /* an offline client starts when it is back */
  if (drops_out(s, c, s->a_seq[c]++)) {
    /* It got the model (counted), drops out, and is back when the job
     * would have ended. */
    uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, body_len);
    s->a_down += down_bits;
    s->dropouts++;
    int64_t end = t + job_ticks(s, c, down_bits, -1);
    if (s->a_tau[c] == 0.0)
      s->a_tau[c] = (double)(end - t > 0 ? end - t : 1);
    if (fs_sched_start(sc, c, t, end, v) != FS_OK ||
        fs_sched_lose(sc, c, end) != FS_OK)
      return fs_err_set(err, FS_EINVAL, "server: client %u started twice", c);
    return FS_OK;
  }
  fs_frame_header h = {.type = FS_MSG_TRAIN,
                       .encoding = FS_PL_DENSE,
                       .round = (uint32_t)(v + 1),
                       .client = c,
                       .model_version = (uint32_t)v,
                       .body_len = (uint32_t)body_len};
  uint8_t hb[FS_FRAME_HEADER_BYTES];
  fs_frame_header_encode(&h, hb);
  fs_iov iov[2] = {{hb, sizeof hb}, {s->body, body_len}};
  fs_status st =
      fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,
                     fs_transport_worker_of(s->t, c), iov, 2, 1, err);
  if (st != FS_OK)
    return st;
  uint64_t down_bits = 8ull * fs_sealer_wire_bytes(s->seal, body_len);
  s->a_down += down_bits;
  s->a_start[c] = t;
  s->a_ver[c] = v;
  s->inflight++;
  int64_t lb = t + job_ticks(s, c, down_bits, -1);
  if (s->a_tau[c] == 0.0)
    s->a_tau[c] = (double)(lb - t > 0 ? lb - t : 1);
  return fs_sched_start(sc, c, t, lb, v) == FS_OK
             ? FS_OK
             : fs_err_set(err, FS_EINVAL, "server: client %u started twice", c);
}

/* Decode one UPDATE of a client in flight into s->a_res[client]. */
static fs_status async_decode(srv *s, const uint8_t *buf, size_t len,
                              uint32_t *client, fs_err *err) {
  fs_status st;
  fs_frame_header h;
  const uint8_t *fr = buf; /* the plain frame; len stays the wire bytes */
  size_t flen = len;
  uint32_t named;
  fs_err e3 = {0};
  fs_status sealed = fs_sealer_open(s->seal, &fr, &flen, &named, &e3);
  if (sealed == FS_ENOMEM)
    return fs_err_set(err, sealed, "server: %s", e3.msg);
  if (sealed != FS_OK) {
    /* Refused: taken as client `named` returning an empty update, as a
     * rejected non-finite update is below. */
    if (named >= s->N || s->a_res[named] != NULL)
      return fs_err_set(err, sealed,
                        "server: refused a sealed frame that names client "
                        "%u, which has no update pending: %s",
                        named, e3.msg);
    h = (fs_frame_header){.type = FS_MSG_UPDATE,
                          .client = named,
                          .model_version = (uint32_t)s->a_ver[named]};
    if (fs_sealer_rejected(s->seal) == 1)
      fprintf(stderr,
              "fedsim: warning: refused the sealed update of client %u: %s "
              "(refused frames are counted in metrics.csv, "
              "rejected_frames)\n",
              named, e3.msg);
  } else if ((st = fs_frame_header_decode(fr, flen, &h, err)) != FS_OK) {
    return st;
  }
  uint32_t c = h.client;
  if (h.type != FS_MSG_UPDATE || c >= s->N || s->a_res[c] != NULL ||
      h.model_version != (uint32_t)s->a_ver[c])
    return fs_err_set(err, FS_EFORMAT,
                      "server: unexpected frame (type %u, client %u, version "
                      "%u)",
                      h.type, c, h.model_version);
  s->inflight--;
  const uint8_t *body = fr + FS_FRAME_HEADER_BYTES;
  fs_update_meta meta = {0};
  fs_err e2 = {0};
  fs_payload *p = pool_get(s);
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
    pool_put(s, p);
    return fs_err_set(err, st, "server: update of client %u: %s", c, e2.msg);
  }
  s->a_loss[c] = st == FS_OK ? meta.train_loss : 0.0;
  s->a_ns[c] = st == FS_OK ? meta.num_samples : 0.0;
  s->a_res[c] = p;
  s->a_len[c] = len; /* counted when consumed on the virtual clock */
  s->n_recv++;
  *client = c;
  return FS_OK;
}

/* Receive one UPDATE (any client in flight) and report its finish. */
static fs_status async_receive(srv *s, fs_sched *sc, fs_err *err) {
  int src;
  const uint8_t *buf;
  size_t len;
  uint32_t c;
  fs_status st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
  if (st == FS_OK)
    st = async_decode(s, buf, len, &c, err);
  if (st != FS_OK)
    return st;
  uint64_t down_bits =
      8ull * fs_sealer_wire_bytes(s->seal, fs_dense_size(s->dim));
  int64_t fin = s->a_start[c] + job_ticks(s, c, down_bits, (int64_t)(8 * len));
  return fs_sched_finish(sc, c, fin) == FS_OK
             ? FS_OK
             : fs_err_set(err, FS_EINVAL, "server: bad finish for client %u",
                          c);
}

/* Fold the updates of `set` (increasing client id) with the strategy's
 * weights, step the server optimiser, and write the metrics row. */
static fs_status async_aggregate(run_ctx *c, fs_strat strat, int64_t delta,
                                 const uint32_t *set, const uint32_t *stale,
                                 size_t nset, uint64_t version, double now_s,
                                 double inv_tau, fs_err *err) {
  srv *s = c->s;
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
    double d = 1.0;
    if (fraboni) {
      if (strat == FS_STRAT_ASYNC)
        d = inv_tau * s->a_tau[i] * pi;
      else if (strat == FS_STRAT_FEDFIX)
        d = ceil(s->a_tau[i] / (double)delta) * pi;
      else
        d = 1.0 / (double)cfg->buffer;
    }
    if (strat == FS_STRAT_FEDBUFF)
      d *= pow(1.0 + stale[k], -cfg->staleness_exponent);
    fs_payload_axpy(s->a_res[i], d, s->acc);
    s->n_agg++;
    s->a_up += 8ull * s->a_len[i];
    s->loss_sum += s->a_loss[i] * s->a_ns[i];
    s->loss_w += s->a_ns[i];
    pool_put(s, s->a_res[i]);
    s->a_res[i] = NULL;
    smean += stale[k];
    if (stale[k] > smax)
      smax = stale[k];
  }
  opt_step(s, s->acc);
  if (s->loss_w > 0)
    c->last_client_loss = s->loss_sum / s->loss_w;
  s->loss_sum = s->loss_w = 0.0;
  fs_metrics_row row = {.round = version,
                        .vtime_s = now_s,
                        .clients = (uint32_t)nset,
                        .bits_up = s->a_up,
                        .bits_down = s->a_down,
                        .staleness_mean = nset ? smean / (double)nset : 0,
                        .staleness_max = smax};
  s->a_up = s->a_down = 0;
  return emit_row(c, &row, version == (uint64_t)cfg->rounds, err);
}

static fs_status async_loop(run_ctx *c, fs_err *err) {
  srv *s = c->s;
  const fs_config *cfg = s->cfg;
  fs_sched_spec sp = {
      .buffer = (uint32_t)cfg->buffer,
      .delta = (int64_t)llround(cfg->fedfix_delta / tick_s(s)),
      .budget = cfg->time_budget > 0
                    ? (int64_t)llround(cfg->time_budget / tick_s(s))
                    : 0,
      .max_aggs = (uint64_t)cfg->rounds,
      .max_staleness =
          cfg->max_staleness < 0 ? UINT32_MAX : (uint32_t)cfg->max_staleness};
  sp.strat = (fs_strat)cfg->strategy; /* async 1, fedbuff 2, fedfix 3 */
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
      inv_tau += 1.0 / s->a_tau[i];
    c->inv_tau = inv_tau;
  }
  while (st == FS_OK) {
    fs_sched_step step;
    fs_sched_next(sc, &step);
    if (step.action == FS_SCHED_DONE)
      break;
    if (step.action == FS_SCHED_NEED) {
      while (st == FS_OK && s->a_res[step.client] == NULL)
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
      s->a_up += 8ull * s->a_len[step.client];
      pool_put(s, s->a_res[step.client]);
      s->a_res[step.client] = NULL;
      fs_dense_encode(s->x, s->dim, s->body);
      st = async_dispatch(s, sc, step.client, step.t, err);
      continue;
    }
    st =
        async_aggregate(c, sp.strat, sp.delta, step.set, step.stale, step.nset,
                        step.version, (double)step.t * tick_s(s), inv_tau, err);
    if (st != FS_OK)
      break;
    /* The aggregated clients start again from the new model. */
    fs_dense_encode(s->x, s->dim, s->body);
    for (size_t k = 0; k < step.nset && st == FS_OK; k++)
      st = async_dispatch(s, sc, step.set[k], step.t, err);
    if (st == FS_OK && ckpt_due(c, step.version)) {
      /* A consistent cut: collect every job in flight first (their
       * finishes become known early, which the scheduler allows), so the
       * workers' state matches the server's. */
      while (st == FS_OK && s->inflight > 0)
        st = async_receive(s, sc, err);
      if (st == FS_OK)
        st = boundary(c, step.version, err);
      if (c->stopped)
        break;
    }
  }
  /* Collect what is still in flight, so every worker can stop. */
  while (st == FS_OK && s->inflight > 0) {
    st = async_receive(s, sc, err);
  }
  for (uint32_t i = 0; i < s->N; i++)
    if (s->a_res[i] != NULL) {
      pool_put(s, s->a_res[i]);
      s->a_res[i] = NULL;
    }
  fs_sched_free(sc);
  c->sc = NULL;
  return st;
}

/* Wall clock: the same strategies in real arrival order, with measured
 * durations (seconds since training started). Not reproducible by nature.
 * FedFix's period and the time budget are wall seconds. */
static fs_status wall_loop(run_ctx *c, fs_err *err) {
  srv *s = c->s;
  const fs_config *cfg = s->cfg;
  fs_strat strat = (fs_strat)cfg->strategy; /* async 1, fedbuff 2, fedfix 3 */
  if (cfg->checkpoint_every > 0 || cfg->resume[0] != '\0')
    return fs_err_set(err, FS_EUNSUPPORTED,
                      "checkpoints do not cover the asynchronous strategies "
                      "on the wall clock (run.clock = wall)");
  uint32_t N = s->N, *set = malloc(N * sizeof *set),
           *stale = malloc(N * sizeof *stale);
  uint8_t *waiting = calloc(N, 1);
  if (set == NULL || stale == NULL || waiting == NULL) {
    free(set);
    free(stale);
    free(waiting);
    return fs_err_set(err, FS_ENOMEM, "server: out of memory");
  }
  const double T0 = c->t0, budget = cfg->time_budget;
  const int64_t us = 1000000; /* a_start holds microseconds here */
  uint64_t version = 0;
  size_t nwait = 0;
  fs_status st = FS_OK;
  double inv_tau = 0.0;
  int have_tau = 0;
  /* Dispatch everyone with the initial model. */
  fs_dense_encode(s->x, s->dim, s->body);
  size_t body_len = fs_dense_size(s->dim);
#define WALL_DISPATCH(cl)                                                      \
  do {                                                                         \
    fs_frame_header h = {.type = FS_MSG_TRAIN,                                 \
                         .encoding = FS_PL_DENSE,                              \
                         .round = (uint32_t)(version + 1),                     \
                         .client = (cl),                                       \
                         .model_version = (uint32_t)version,                   \
                         .body_len = (uint32_t)body_len};                      \
    uint8_t hb[FS_FRAME_HEADER_BYTES];                                         \
    fs_frame_header_encode(&h, hb);                                            \
    fs_iov iov[2] = {{hb, sizeof hb}, {s->body, body_len}};                    \
    st = fs_sealer_post(s->seal, s->t, FS_ROLE_SERVER,                         \
                        fs_transport_worker_of(s->t, (cl)), iov, 2, 1, err);   \
    s->a_down += 8ull * fs_sealer_wire_bytes(s->seal, body_len);               \
    s->a_start[(cl)] = (int64_t)((fs_transport_wtime() - T0) * us);            \
    s->a_ver[(cl)] = version;                                                  \
    s->inflight++;                                                             \
  } while (0)
  for (uint32_t i = 0; i < N && st == FS_OK; i++)
    WALL_DISPATCH(i);
  double next_fix = cfg->fedfix_delta;
  unsigned nap_us = 20;
  while (st == FS_OK && version < (uint64_t)cfg->rounds) {
    double now = fs_transport_wtime() - T0;
    if (budget > 0 && now > budget)
      break;
    int agg = 0;
    if (strat == FS_STRAT_FEDFIX && now >= next_fix) {
      agg = 1;
      next_fix += cfg->fedfix_delta;
    } else {
      int src;
      const uint8_t *buf = NULL;
      size_t len = 0;
      if (fs_transport_is_local(s->t))
        st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
      else
        st = fs_transport_try_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
      if (st != FS_OK)
        break;
      if (buf == NULL) {
        struct timespec ts = {0, (long)nap_us * 1000L};
        nanosleep(&ts, NULL);
        continue;
      }
      uint32_t cl;
      if ((st = async_decode(s, buf, len, &cl, err)) != FS_OK)
        break;
      double dur = fs_transport_wtime() - T0 - (double)s->a_start[cl] / us;
      if (s->a_tau[cl] == 0.0)
        s->a_tau[cl] = dur > 0 ? dur : 1e-9;
      uint64_t st64 = version - s->a_ver[cl];
      if (cfg->max_staleness >= 0 && st64 > (uint64_t)cfg->max_staleness) {
        c->dropped++;
        s->a_up += 8ull * s->a_len[cl];
        pool_put(s, s->a_res[cl]);
        s->a_res[cl] = NULL;
        WALL_DISPATCH(cl);
        continue;
      }
      waiting[cl] = 1;
      stale[nwait] = (uint32_t)st64;
      set[nwait++] = cl;
      agg = strat == FS_STRAT_ASYNC ||
            (strat == FS_STRAT_FEDBUFF && nwait == (size_t)cfg->buffer);
    }
    if (!agg)
      continue;
    if (!have_tau) {
      /* Fraboni's async weights need every tau_j: use the first measured
       * duration of each client, and 1/N of the mean for those not back. */
      double sum = 0.0;
      for (uint32_t i = 0; i < N; i++)
        if (s->a_tau[i] > 0)
          sum += 1.0 / s->a_tau[i];
      inv_tau = sum;
      have_tau = 1;
    }
    /* Fold in client-id order. */
    for (size_t a = 1; a < nwait; a++)
      for (size_t b = a; b > 0 && set[b - 1] > set[b]; b--) {
        uint32_t t1 = set[b], t2 = stale[b];
        set[b] = set[b - 1];
        stale[b] = stale[b - 1];
        set[b - 1] = t1;
        stale[b - 1] = t2;
      }
    version++;
    st = async_aggregate(
        c, strat, (int64_t)llround(cfg->fedfix_delta / tick_s(s)), set, stale,
        nwait, version, fs_transport_wtime() - T0, inv_tau, err);
    fs_dense_encode(s->x, s->dim, s->body);
    for (size_t k = 0; k < nwait && st == FS_OK; k++) {
      waiting[set[k]] = 0;
      WALL_DISPATCH(set[k]);
    }
    nwait = 0;
  }
#undef WALL_DISPATCH
  /* Collect what is still in flight, so every worker can stop. */
  while (st == FS_OK && s->inflight > 0) {
    int src;
    const uint8_t *buf;
    size_t len;
    uint32_t cl;
    st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
    if (st == FS_OK)
      st = async_decode(s, buf, len, &cl, err);
  }
  for (uint32_t i = 0; i < N; i++)
    if (s->a_res[i] != NULL) {
      pool_put(s, s->a_res[i]);
      s->a_res[i] = NULL;
    }
  free(set);
  free(stale);
  free(waiting);
  return st;
}

static fs_status run_rounds(srv *s, const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  run_ctx ctx = {.s = s, .a = a, .last_client_loss = NAN};
  run_ctx *c = &ctx;
  fs_status st = FS_OK;
  c->progress = want_progress(cfg);
  c->gn = cfg->eval_grad_norm == FS_CFG_GN_ON ||
          (cfg->eval_grad_norm == FS_CFG_GN_AUTO &&
           (int64_t)s->dim <= cfg->eval_grad_norm_max_dim);
  c->t0 = fs_transport_wtime();
  c->n_acc = cfg->eval_targets.n;
  c->n_grad = cfg->eval_grad_targets.n;
  for (size_t i = 0; i < c->n_acc; i++)
    c->acc_t[i] = (target_hit){.target = cfg->eval_targets.v[i]};
  for (size_t i = 0; i < c->n_grad; i++)
    c->grad_t[i] = (target_hit){.target = cfg->eval_grad_targets.v[i]};
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
    if ((st = resume_state(c, err)) != FS_OK)
      goto out;
  } else {
    if ((st = fs_metrics_open(a->run_dir, &c->mw, err)) != FS_OK)
      goto out;
    fs_metrics_row row0 = {.round = 0};
    if ((st = emit_row(c, &row0, 0, err)) != FS_OK)
      goto out;
  }
  if (cfg->clock == FS_CFG_CLOCK_WALL)
    printf("fedsim: wall clock: events in real arrival order, durations "
           "measured; this run is not reproducible by nature\n");
  if (cfg->strategy == FS_CFG_STRATEGY_FEDAVG)
    st = sync_loop(c, err);
  else if (cfg->clock == FS_CFG_CLOCK_WALL)
    st = wall_loop(c, err);
  else
    st = async_loop(c, err);
  if (st != FS_OK)
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
  if (c->last_eval != c->rounds_run) {
    evaluate(s, c->gn, &c->ev); /* for the summary */
    if (c->ev.test_acc > c->best_acc) {
      c->best_acc = c->ev.test_acc;
      c->best_round = c->rounds_run;
    }
  }
  /* Summary. */
  {
    cJSON *sum = cJSON_CreateObject();
    if (a->build_info != NULL)
      cJSON_AddItemToObject(sum, "fedsim", (cJSON *)a->build_info);
    cJSON_AddNumberToObject(sum, "ranks", fs_transport_size(s->t));
    cJSON_AddStringToObject(sum, "clock", FS_CFG_NAME(cfg, clock));
    cJSON_AddStringToObject(sum, "strategy", FS_CFG_NAME(cfg, strategy));
    cJSON_AddStringToObject(
        sum, "reproducible",
        cfg->clock == FS_CFG_CLOCK_WALL
            ? "no: wall clock, events in real arrival order with measured "
              "durations"
            : "yes: bit-identical for this seed on any number of ranks "
              "(wall_s excepted)");
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
    cJSON_AddNumberToObject(
        cm, "bits_up_overhead",
        s->ideal_bits > 0 ? (double)c->up_cum / s->ideal_bits : 0.0);
    cJSON_AddNumberToObject(cm, "bits_up_paper", (double)c->paper_cum);
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
    cJSON *rb = cJSON_AddObjectToObject(sum, "robustness");
    cJSON_AddStringToObject(rb, "aggregator", FS_CFG_NAME(cfg, aggregator));
    cJSON_AddNumberToObject(rb, "f", (double)cfg->robust_f);
    cJSON_AddNumberToObject(rb, "rejected_nonfinite", (double)s->rejected);
    cJSON_AddNumberToObject(rb, "skipped_rounds", (double)robust_skipped(s));
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
          c->acct == NULL
              ? (cfg->dp_noise == FS_CFG_NOISE_LOCAL
                     ? "local noise: each message is a Gaussian mechanism "
                       "with sensitivity B; no central accounting"
                     : "none: clipping without noise gives no guarantee")
          : cfg->sampling == FS_CFG_SAMPLING_POISSON
              ? "(epsilon, delta)-DP at the client level: RDP of the "
                "sampled Gaussian mechanism with Poisson sampling"
              : "approximate: fixed-size sampling; epsilon is the Poisson "
                "accountant's figure, not a proven bound for sampling "
                "without replacement");
    }
    if (cfg->strategy != FS_CFG_STRATEGY_FEDAVG) {
      /* Every update is accounted for: aggregated, dropped as too stale, or
       * still waiting (in a buffer, or in flight) when the run stopped. */
      cJSON *u = cJSON_AddObjectToObject(sum, "updates");
      cJSON_AddNumberToObject(u, "received", (double)s->n_recv);
      cJSON_AddNumberToObject(u, "aggregated", (double)s->n_agg);
      cJSON_AddNumberToObject(u, "dropped_stale", (double)c->dropped);
      cJSON_AddNumberToObject(u, "unused_at_end",
                              (double)(s->n_recv - s->n_agg - c->dropped));
    }
    cJSON *bt = cJSON_AddObjectToObject(sum, "bits_to_target");
    cJSON_AddItemToObject(bt, "test_acc",
                          targets_json(c->acc_t, c->n_acc, "target"));
    cJSON_AddItemToObject(bt, "grad_norm_sq",
                          targets_json(c->grad_t, c->n_grad, "threshold"));
    cJSON_AddItemToObject(sum, "config", (cJSON *)fs_config_to_json(cfg));
    char *text = cJSON_Print(sum);
    cJSON_Delete(sum);
    if (text == NULL) {
      st = fs_err_set(err, FS_ENOMEM, "summary.json: out of memory");
      goto out;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/summary.json", a->run_dir);
    size_t tl = strlen(text);
    text[tl] = '\n';
    st = fs_write_file_atomic(path, text, tl + 1, err);
    free(text);
    if (st != FS_OK)
      goto out;
    char ub[32], db[32];
    human_bits((double)c->up_cum, ub, sizeof ub);
    human_bits((double)c->down_cum, db, sizeof db);
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
             c->eps, cfg->dp_delta, FS_CFG_NAME(cfg, dp_conversion),
             c->eps_order, s->w->dp_z, FS_CFG_NAME(cfg, sampling),
             cfg->sampling == FS_CFG_SAMPLING_POISSON
                 ? ""
                 : " (the accountant assumes Poisson: approximate)");
    print_targets(c->acc_t, c->n_acc, "test accuracy");
    print_targets(c->grad_t, c->n_grad, "||grad f||^2 <=");
    printf("fedsim: results in %s/ (metrics.csv, summary.json%s)\n", a->run_dir,
           cfg->save_model ? ", model.bin" : "");
  }
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
static fs_status robust_new(srv *s, fs_err *err) {
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

fs_status fs_server_run(const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  if (cfg->strategy == FS_CFG_STRATEGY_GC)
    return fs_gc_server_run(a, err); /* server/gc_loop.c */
  srv s = {.cfg = cfg, .w = a->world, .t = a->t};
  s.N = (uint32_t)cfg->clients;
  s.K = (uint32_t)cfg->per_round;
  s.ef21 =
      (cfg->ef_method == FS_CFG_EF_EF21 || cfg->ef_method == FS_CFG_EF_EF21W);
  uint32_t W = (uint32_t)fs_transport_workers(a->t);
  fs_status st =
      fs_sealer_new(cfg, FS_ROLE_SERVER, s.N > W ? s.N : W, &s.seal, err);
  fs_ckpt_set_sealer(s.seal); /* CHECKPOINT frames are sealed too */
  if (st == FS_OK)
    st = fs_model_new(&a->world->mspec, 1024, &s.model, err);
  if (st == FS_OK) {
    s.dim = fs_model_dim(s.model);
    st = fs_comp_spec_from_config(cfg, 0, s.dim, &s.comp, err);
  }
  if (st == FS_OK)
    st = fs_server_step_size(cfg, a->world, s.dim, &s.lr, err);
  s.bc = cfg->comp_down != FS_CFG_COMP_IDENTITY;
  if (st == FS_OK && s.bc)
    st = fs_comp_spec_from_config(cfg, 1, s.dim, &s.down, err);
  if (st == FS_OK && cfg->aggregator != FS_CFG_AGG_FEDAVG)
    st = robust_new(&s, err);
  if (st == FS_OK && cfg->sa_mode == FS_CFG_SA_SECAGG)
    st = fs_sa_server_new(cfg, s.dim,
                          cfg->sampling == FS_CFG_SAMPLING_POISSON ? s.N : s.K,
                          &s.sa, err);
  if (st == FS_OK && s.sa != NULL)
    fs_sa_server_set_sealer(s.sa, s.seal); /* SA_* frames sealed too */
  if (st != FS_OK) {
    fs_model_free(s.model);
    cJSON_Delete((cJSON *)a->build_info);
    fs_server_shutdown_workers(s.seal, a->t, NULL);
    fs_ckpt_set_sealer(NULL);
    fs_sealer_free(s.seal);
    return st;
  }
  size_t K = cfg->sampling == FS_CFG_SAMPLING_POISSON ? s.N : s.K, maxrows = 1;
  for (size_t c = 0; c < s.N; c++) {
    size_t n = a->world->part.offset[c + 1] - a->world->part.offset[c];
    if (n > maxrows)
      maxrows = n;
  }
  int per_client = cfg->eval_objective == FS_CFG_OBJ_CLIENTS;
  s.x = malloc(s.dim * sizeof(float));
  s.grad = malloc(s.dim * sizeof(float));
  s.gtmp = malloc(s.dim * sizeof(float));
  s.acc = malloc(s.dim * sizeof(double));
  s.g = calloc(s.ef21 ? s.dim : 1, sizeof(double));
  s.cbuf = per_client ? malloc(maxrows * a->world->train.dim * sizeof(float))
                      : malloc(1);
  s.cy = per_client ? malloc(maxrows * sizeof(int32_t)) : malloc(1);
  s.sel = malloc(K * sizeof *s.sel);
  s.hdrs = malloc(K * FS_FRAME_HEADER_BYTES);
  s.body = malloc(fs_dense_size(s.dim));
  s.slot = calloc(K, sizeof *s.slot);
  s.state = calloc(K, 1);
  s.slot_w = calloc(K, sizeof *s.slot_w);
  s.slot_loss = calloc(K, sizeof *s.slot_loss);
  s.slot_ns = calloc(K, sizeof *s.slot_ns);
  s.job_s = calloc(K, sizeof *s.job_s);
  s.up_len = calloc(K, sizeof *s.up_len);
  s.pool = calloc(K + s.N, sizeof *s.pool);
  int async = cfg->strategy != FS_CFG_STRATEGY_FEDAVG;
  size_t NA = async ? s.N : 1;
  s.a_start = calloc(NA, sizeof *s.a_start);
  s.a_ver = calloc(NA, sizeof *s.a_ver);
  s.a_res = calloc(NA, sizeof *s.a_res);
  s.a_len = calloc(NA, sizeof *s.a_len);
  s.a_tau = calloc(NA, sizeof *s.a_tau);
  s.a_seq = calloc(NA, sizeof *s.a_seq);
  s.a_loss = calloc(NA, sizeof *s.a_loss);
  s.a_ns = calloc(NA, sizeof *s.a_ns);
  int mom = cfg->server_optimizer != FS_CFG_OPT_SGD;
  s.opt_m = calloc(mom ? s.dim : 1, sizeof(double));
  s.opt_v = calloc(mom ? s.dim : 1, sizeof(double));
  s.seen = calloc((s.N + 7) / 8, 1);
  s.b = calloc(s.bc ? s.dim : 1, sizeof(float));
  s.dtmp = calloc(s.bc ? s.dim : 1, sizeof(float));
  if (!s.x || !s.grad || !s.gtmp || !s.acc || !s.g || !s.cbuf || !s.cy ||
      !s.sel || !s.hdrs || !s.body || !s.slot || !s.state || !s.slot_w ||
      !s.slot_loss || !s.slot_ns || !s.job_s || !s.up_len || !s.pool ||
      !s.seen || !s.b || !s.dtmp || !s.a_start || !s.a_ver || !s.a_res ||
      !s.a_len || !s.a_tau || !s.opt_m || !s.opt_v) {
    st = fs_err_set(err, FS_ENOMEM,
                    "server: out of memory (model of %zu "
                    "parameters, %zu clients per round)",
                    s.dim, K);
    cJSON_Delete((cJSON *)a->build_info);
  } else {
    fs_rng r;
    fs_rng_init(&r, cfg->seed, FS_RNG_MODEL_INIT, 0, 0);
    fs_model_init_params(s.model, s.x, &r);
    st = run_rounds(&s, a, err);
  }
  fs_status st2 =
      fs_server_shutdown_workers(s.seal, a->t, st == FS_OK ? err : NULL);
  if (st == FS_OK)
    st = st2;
  for (size_t i = 0; i < K && s.slot; i++)
    if (s.slot[i]) {
      fs_payload_free(s.slot[i]);
      free(s.slot[i]);
    }
  for (size_t i = 0; i < s.npool; i++) {
    fs_payload_free(s.pool[i]);
    free(s.pool[i]);
  }
  free(s.pool);
  free(s.x);
  free(s.grad);
  free(s.gtmp);
  free(s.acc);
  free(s.g);
  free(s.cbuf);
  free(s.cy);
  free(s.sel);
  free(s.hdrs);
  free(s.body);
  free(s.slot);
  free(s.state);
  free(s.slot_w);
  free(s.slot_loss);
  free(s.slot_ns);
  free(s.job_s);
  free(s.up_len);
  free(s.seen);
  free(s.a_start);
  free(s.a_ver);
  free(s.a_res);
  free(s.a_len);
  free(s.a_tau);
  free(s.a_seq);
  free(s.a_loss);
  free(s.a_ns);
  free(s.opt_m);
  free(s.opt_v);
  free(s.b);
  free(s.dtmp);
  free(s.mbody);
  fs_payload_free(&s.m);
  fs_robust_round_free(s.rob);
  fs_p2p_free(s.p2p);
  fs_faults_free(s.p2p_faulty);
  fs_model_free(s.model);
  fs_sa_server_free(s.sa);
  fs_ckpt_set_sealer(NULL);
  fs_sealer_free(s.seal);
  return st;
}
