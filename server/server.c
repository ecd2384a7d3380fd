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
 * An update that fails to decode because of non-finite numbers is rejected,
 * counted, and left out; any other malformed frame stops the run with an
 * error.
 */
#include "server.h"

#include "client.h"
#include "compress.h"
#include "ef21bc.h"
#include "frame.h"
#include "fs_build.h"
#include "fs_rng.h"
#include "metrics.h"
#include "model.h"
#include "payload.h"
#include "profile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
} srv;

static fs_payload *pool_get(srv *s) {
  if (s->npool > 0)
    return s->pool[--s->npool];
  return calloc(1, sizeof(fs_payload));
}

static void pool_put(srv *s, fs_payload *p) { s->pool[s->npool++] = p; }

/* The fixed aggregation weight p_i of client c with n_rows rows. */
static double client_weight(const srv *s, uint32_t c, uint32_t n_rows) {
  if (!strcmp(s->cfg->ef_method, "ef21w"))
    return s->w->smooth.Li[c] / (s->w->smooth.L_am * (double)s->N);
  if (!strcmp(s->cfg->server_weighting, "uniform"))
    return 1.0 / (double)s->N;
  return (double)n_rows / (double)s->w->train.n;
}

typedef struct {
  double train_loss, test_loss, test_acc, grad_norm_sq;
  int has_grad;
} eval_out;

/* Loss (and gradient into s->grad) of the training objective: the pooled
 * rows, or mean_i f_i with every client weighted equally. */
static double train_objective(srv *s, int want_grad) {
  const fs_dataset *tr = &s->w->train;
  if (strcmp(s->cfg->eval_objective, "clients") != 0)
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

static fs_status write_model(const char *dir, const float *x, size_t dim,
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

static fs_status receive_update(srv *s, uint32_t round, uint32_t version,
                                fs_err *err) {
  int src;
  const uint8_t *buf;
  size_t len;
  fs_status st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
  if (st != FS_OK)
    return st;
  fs_frame_header h;
  if ((st = fs_frame_header_decode(buf, len, &h, err)) != FS_OK)
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
  const uint8_t *body = buf + FS_FRAME_HEADER_BYTES;
  fs_update_meta meta = {0};
  fs_err e2 = {0};
  fs_payload *p = NULL;
  st = fs_update_meta_decode(body, h.body_len, &meta, &e2);
  if (st == FS_OK) {
    p = pool_get(s);
    if (p == NULL)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
    st = fs_payload_decode(body + FS_UPDATE_META_BYTES,
                           h.body_len - FS_UPDATE_META_BYTES,
                           (fs_encoding)h.encoding, (uint32_t)s->dim, p, &e2);
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
    s->loss_sum += meta.train_loss * meta.num_samples;
    s->loss_w += meta.num_samples;
    s->paper_bits += paper_bits(s, p, first);
    s->ideal_bits += p->kind == FS_PL_DENSE
                         ? 32.0 * p->dim
                         : fs_comp_ideal_bits(&s->comp, p->dim);
  }
  s->slot_w[i] =
      s->slot[i] != NULL ? client_weight(s, h.client, meta.num_samples) : 0.0;
  /* Virtual duration of this job, from the real frame sizes. */
  size_t rows = s->w->part.offset[h.client + 1] - s->w->part.offset[h.client];
  fs_profile pr = fs_profiles_get(s->w->profiles, h.client);
  uint64_t down_bits = 8ull * (FS_FRAME_HEADER_BYTES + s->down_body_len);
  s->job_s[i] = fs_job_seconds(&pr, down_bits,
                               fs_local_work_samples(s->cfg, rows), 8ull * len);
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
  double wsum = 0.0;
  for (uint32_t i = 0; i < s->K; i++)
    wsum += s->slot_w[i];
  if (wsum <= 0.0)
    return FS_OK;
  double scale = s->lr / wsum;
  for (size_t j = 0; j < s->dim; j++)
    s->x[j] = (float)((double)s->x[j] - scale * s->acc[j]);
  return FS_OK;
}

static fs_status shutdown_workers(fs_transport *t, fs_err *err) {
  uint8_t hdr[FS_FRAME_HEADER_BYTES];
  fs_frame_header h = {.type = FS_MSG_SHUTDOWN, .encoding = FS_ENC_NONE};
  fs_frame_header_encode(&h, hdr);
  fs_iov iov = {hdr, sizeof hdr};
  int W = fs_transport_workers(t);
  for (int k = 0; k < W; k++) {
    int dest = fs_transport_is_local(t) ? 0 : k + 1;
    fs_status st = fs_transport_post(t, FS_ROLE_SERVER, dest, &iov, 1, err);
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
  if (!strcmp(cfg->progress, "on"))
    return 1;
  if (!strcmp(cfg->progress, "off"))
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

static fs_status run_rounds(srv *s, const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  fs_status st;
  fs_metrics *mw = NULL;
  if ((st = fs_metrics_open(a->run_dir, &mw, err)) != FS_OK)
    return st;
  uint32_t N = s->N, K = s->K;
  int progress = want_progress(cfg);
  int gn = !strcmp(cfg->eval_grad_norm, "on") ||
           (!strcmp(cfg->eval_grad_norm, "auto") &&
            (int64_t)s->dim <= cfg->eval_grad_norm_max_dim);
  size_t body_len = fs_dense_size(s->dim);
  uint64_t up_cum = 0, down_cum = 0, paper_cum = 0;
  double vtime = 0.0, t0 = fs_transport_wtime();
  eval_out ev = {0};
  double best_acc = -1.0;
  uint64_t best_round = 0;
  target_hit acc_t[FS_CFG_MAX_LIST], grad_t[FS_CFG_MAX_LIST];
  size_t n_acc = cfg->eval_targets.n, n_grad = cfg->eval_grad_targets.n;
  for (size_t i = 0; i < n_acc; i++)
    acc_t[i] = (target_hit){.target = cfg->eval_targets.v[i]};
  for (size_t i = 0; i < n_grad; i++)
    grad_t[i] = (target_hit){.target = cfg->eval_grad_targets.v[i]};

  /* Round 0: the initial model. */
  evaluate(s, gn, &ev);
  fs_metrics_row row = {.round = 0,
                        .has_eval = 1,
                        .train_loss = ev.train_loss,
                        .test_loss = ev.test_loss,
                        .test_acc = ev.test_acc,
                        .has_grad = gn,
                        .grad_norm_sq = ev.grad_norm_sq};
  if ((st = fs_metrics_write(mw, &row, err)) != FS_OK)
    goto out;
  best_acc = ev.test_acc;
  check_targets(acc_t, n_acc, ev.test_acc, 0, 0, 0, 0, 0, 0);
  if (gn)
    check_targets(grad_t, n_grad, ev.grad_norm_sq, 1, 0, 0, 0, 0, 0);
  double last_client_loss = NAN;

  for (int64_t r = 1; r <= cfg->rounds; r++) {
    uint32_t round = (uint32_t)r, version = (uint32_t)(r - 1);
    if ((st = fs_sample_clients(cfg->seed, (uint64_t)r, N, K, s->sel)) !=
        FS_OK) {
      st = fs_err_set(err, st, "server: cannot sample clients");
      goto out;
    }
    /* The downlink body: the model, or with EF21-BC after the first round
     * the compressed C(g - b) of the previous round. */
    const uint8_t *body = s->body;
    uint8_t enc = FS_ENC_DENSE_F32;
    body_len = fs_dense_size(s->dim);
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
      fs_frame_header_encode(&h, hb);
      fs_iov iov[2] = {{hb, FS_FRAME_HEADER_BYTES}, {body, body_len}};
      st = fs_transport_post(s->t, FS_ROLE_SERVER,
                             fs_transport_worker_of(s->t, s->sel[i]), iov, 2,
                             err);
      if (st != FS_OK)
        goto out;
      s->state[i] = 0;
      s->slot[i] = NULL;
    }
    s->down_body_len = body_len;
    memset(s->acc, 0, s->dim * sizeof(double));
    s->loss_sum = s->loss_w = 0.0;
    s->paper_bits = 0;
    uint32_t next = 0;
    for (uint32_t got = 0; got < K; got++) {
      if ((st = receive_update(s, round, version, err)) != FS_OK)
        goto out;
      fold_ready(s, &next);
    }
    if ((st = fs_transport_flush(s->t, err)) != FS_OK)
      goto out;
    if (server_step(s, round) != FS_OK) {
      st = fs_err_set(err, FS_ENOMEM, "server: out of memory");
      goto out;
    }
    double round_s = 0.0;
    uint64_t up_bits = 0;
    for (uint32_t i = 0; i < K; i++) {
      if (s->job_s[i] > round_s)
        round_s = s->job_s[i];
      up_bits += 8ull * s->up_len[i];
    }
    uint64_t down_bits =
        (uint64_t)K * 8ull * (FS_FRAME_HEADER_BYTES + body_len);
    up_cum += up_bits;
    down_cum += down_bits;
    paper_cum += s->paper_bits;
    vtime += round_s;
    if (s->loss_w > 0)
      last_client_loss = s->loss_sum / s->loss_w;

    int do_eval = (r % cfg->eval_every == 0) || r == cfg->rounds;
    row = (fs_metrics_row){.round = (uint64_t)r,
                           .vtime_s = vtime,
                           .clients = K,
                           .bits_up = up_bits,
                           .bits_down = down_bits,
                           .bits_up_cum = up_cum,
                           .bits_down_cum = down_cum,
                           .bits_up_paper_cum = paper_cum};
    if (do_eval) {
      evaluate(s, gn, &ev);
      row.has_eval = 1;
      row.train_loss = ev.train_loss;
      row.test_loss = ev.test_loss;
      row.test_acc = ev.test_acc;
      row.has_grad = gn;
      row.grad_norm_sq = ev.grad_norm_sq;
      if (ev.test_acc > best_acc) {
        best_acc = ev.test_acc;
        best_round = (uint64_t)r;
      }
      double upc = (double)up_cum / N, dnc = (double)down_cum / N,
             ppc = (double)paper_cum / N;
      check_targets(acc_t, n_acc, ev.test_acc, 0, (uint64_t)r, vtime, upc, dnc,
                    ppc);
      if (gn)
        check_targets(grad_t, n_grad, ev.grad_norm_sq, 1, (uint64_t)r, vtime,
                      upc, dnc, ppc);
      if (!isfinite(ev.train_loss))
        fprintf(stderr,
                "fedsim: warning: training loss is %g at round %lld: "
                "the run diverged (lower local.lr or server.lr)\n",
                ev.train_loss, (long long)r);
    }
    row.wall_s = fs_transport_wtime() - t0;
    if ((st = fs_metrics_write(mw, &row, err)) != FS_OK)
      goto out;
    if (progress || r == cfg->rounds ||
        r % (cfg->rounds >= 10 ? cfg->rounds / 10 : 1) == 0) {
      char ub[32], db[32];
      human_bits((double)up_cum, ub, sizeof ub);
      human_bits((double)down_cum, db, sizeof db);
      fprintf(stdout,
              "%sround %lld/%lld  acc %.4f  loss %.4f  up %s  down %s  "
              "vtime %.1fs  wall %.1fs%s",
              progress ? "\r\033[K" : "", (long long)r, (long long)cfg->rounds,
              ev.test_acc, ev.test_loss, ub, db, vtime, row.wall_s,
              progress && r < cfg->rounds ? "" : "\n");
      fflush(stdout);
    }
  }

  /* Summary. */
  {
    cJSON *sum = cJSON_CreateObject();
    if (a->build_info != NULL)
      cJSON_AddItemToObject(sum, "fedsim", (cJSON *)a->build_info);
    cJSON_AddNumberToObject(sum, "ranks", fs_transport_size(s->t));
    cJSON_AddStringToObject(sum, "clock", "virtual");
    cJSON_AddStringToObject(sum, "reproducible",
                            "yes: bit-identical for this seed on any number "
                            "of ranks (wall_s excepted)");
    cJSON *d = cJSON_AddObjectToObject(sum, "data");
    cJSON_AddStringToObject(d, "source", s->w->data_desc);
    cJSON_AddNumberToObject(d, "train_rows", (double)s->w->train.n);
    cJSON_AddNumberToObject(d, "test_rows", (double)s->w->test.n);
    cJSON_AddNumberToObject(d, "features", (double)s->w->train.dim);
    cJSON_AddNumberToObject(d, "classes", (double)s->w->train.classes);
    cJSON *m = cJSON_AddObjectToObject(sum, "model");
    cJSON_AddStringToObject(m, "type", cfg->model_kind);
    cJSON_AddNumberToObject(m, "parameters", (double)s->dim);
    cJSON *c = cJSON_AddObjectToObject(sum, "communication");
    cJSON_AddStringToObject(c, "uplink_compressor", cfg->comp_up);
    cJSON_AddNumberToObject(c, "uplink_k",
                            fs_comp_k(&s->comp, (uint32_t)s->dim));
    cJSON_AddStringToObject(c, "error_feedback", cfg->ef_method);
    cJSON_AddNumberToObject(c, "server_step", s->lr);
    if (s->w->has_smooth) {
      cJSON_AddNumberToObject(c, "L", s->w->smooth.L);
      cJSON_AddNumberToObject(c, "L_qm", s->w->smooth.L_qm);
      cJSON_AddNumberToObject(c, "L_am", s->w->smooth.L_am);
    }
    cJSON_AddNumberToObject(c, "bits_up_ideal", s->ideal_bits);
    cJSON_AddNumberToObject(c, "bits_up_real", (double)up_cum);
    cJSON_AddNumberToObject(c, "bits_up_overhead",
                            s->ideal_bits > 0 ? (double)up_cum / s->ideal_bits
                                              : 0.0);
    cJSON_AddNumberToObject(c, "bits_up_paper", (double)paper_cum);
    cJSON *f = cJSON_AddObjectToObject(sum, "final");
    cJSON_AddNumberToObject(f, "round", (double)cfg->rounds);
    cJSON_AddNumberToObject(f, "test_acc", ev.test_acc);
    cJSON_AddNumberToObject(f, "test_loss", ev.test_loss);
    cJSON_AddNumberToObject(f, "train_loss", ev.train_loss);
    if (isfinite(last_client_loss))
      cJSON_AddNumberToObject(f, "clients_train_loss", last_client_loss);
    if (gn)
      cJSON_AddNumberToObject(f, "grad_norm_sq", ev.grad_norm_sq);
    cJSON_AddNumberToObject(f, "best_test_acc", best_acc);
    cJSON_AddNumberToObject(f, "best_round", (double)best_round);
    cJSON_AddNumberToObject(f, "bits_up", (double)up_cum);
    cJSON_AddNumberToObject(f, "bits_down", (double)down_cum);
    cJSON_AddNumberToObject(f, "bits_total", (double)(up_cum + down_cum));
    cJSON_AddNumberToObject(f, "bits_up_per_client", (double)up_cum / N);
    cJSON_AddNumberToObject(f, "bits_down_per_client", (double)down_cum / N);
    cJSON_AddNumberToObject(f, "vtime_s", vtime);
    cJSON_AddNumberToObject(f, "wall_s", fs_transport_wtime() - t0);
    cJSON_AddNumberToObject(f, "rejected_updates", (double)s->rejected);
    cJSON *bt = cJSON_AddObjectToObject(sum, "bits_to_target");
    cJSON_AddItemToObject(bt, "test_acc", targets_json(acc_t, n_acc, "target"));
    cJSON_AddItemToObject(bt, "grad_norm_sq",
                          targets_json(grad_t, n_grad, "threshold"));
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
    human_bits((double)up_cum, ub, sizeof ub);
    human_bits((double)down_cum, db, sizeof db);
    printf("fedsim: %lld rounds, %lld clients (%lld per round): test accuracy "
           "%.4f (best %.4f at round %llu), test loss %.4f\n",
           (long long)cfg->rounds, (long long)cfg->clients,
           (long long)cfg->per_round, ev.test_acc, best_acc,
           (unsigned long long)best_round, ev.test_loss);
    if (gn)
      printf("fedsim: ||grad f||^2 = %.6g\n", ev.grad_norm_sq);
    printf("fedsim: sent %s up + %s down (%.4g bits per client in all), "
           "virtual time %.1f s, wall %.1f s\n",
           ub, db, (double)(up_cum + down_cum) / N, vtime,
           fs_transport_wtime() - t0);
    print_targets(acc_t, n_acc, "test accuracy");
    print_targets(grad_t, n_grad, "||grad f||^2 <=");
    printf("fedsim: results in %s/ (metrics.csv, summary.json%s)\n", a->run_dir,
           cfg->save_model ? ", model.bin" : "");
  }
  if (cfg->save_model)
    st = write_model(a->run_dir, s->x, s->dim, err);
out:
  fs_metrics_close(mw);
  return st;
}

fs_status fs_server_run(const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  srv s = {.cfg = cfg, .w = a->world, .t = a->t};
  s.N = (uint32_t)cfg->clients;
  s.K = (uint32_t)cfg->per_round;
  s.ef21 = !strncmp(cfg->ef_method, "ef21", 4);
  fs_status st = fs_model_new(&a->world->mspec, 1024, &s.model, err);
  if (st == FS_OK) {
    s.dim = fs_model_dim(s.model);
    st = fs_comp_spec_from_config(cfg, 0, s.dim, &s.comp, err);
  }
  if (st == FS_OK)
    st = fs_server_step_size(cfg, a->world, s.dim, &s.lr, err);
  s.bc = strcmp(cfg->comp_down, "identity") != 0;
  if (st == FS_OK && s.bc)
    st = fs_comp_spec_from_config(cfg, 1, s.dim, &s.down, err);
  if (st != FS_OK) {
    fs_model_free(s.model);
    cJSON_Delete((cJSON *)a->build_info);
    shutdown_workers(a->t, NULL);
    return st;
  }
  size_t K = s.K, maxrows = 1;
  for (size_t c = 0; c < s.N; c++) {
    size_t n = a->world->part.offset[c + 1] - a->world->part.offset[c];
    if (n > maxrows)
      maxrows = n;
  }
  int per_client = !strcmp(cfg->eval_objective, "clients");
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
  s.job_s = calloc(K, sizeof *s.job_s);
  s.up_len = calloc(K, sizeof *s.up_len);
  s.pool = calloc(K, sizeof *s.pool);
  s.seen = calloc((s.N + 7) / 8, 1);
  s.b = calloc(s.bc ? s.dim : 1, sizeof(float));
  s.dtmp = calloc(s.bc ? s.dim : 1, sizeof(float));
  if (!s.x || !s.grad || !s.gtmp || !s.acc || !s.g || !s.cbuf || !s.cy ||
      !s.sel || !s.hdrs || !s.body || !s.slot || !s.state || !s.slot_w ||
      !s.job_s || !s.up_len || !s.pool || !s.seen || !s.b || !s.dtmp) {
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
  fs_status st2 = shutdown_workers(a->t, st == FS_OK ? err : NULL);
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
  free(s.job_s);
  free(s.up_len);
  free(s.seen);
  free(s.b);
  free(s.dtmp);
  free(s.mbody);
  fs_payload_free(&s.m);
  fs_model_free(s.model);
  return st;
}
