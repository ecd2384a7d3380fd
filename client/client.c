/*
 * client.c — local work of a virtual client and the worker loop.
 *
 * A job: decode the model x from the TRAIN frame, run the local work on the
 * client's rows, and send back the update Delta = x_received - x_local (a
 * pseudo-gradient: the server steps x <- x - server_lr * mean Delta). For
 * local.mode = full_gradient, Delta is the gradient of the client's
 * objective at x, so the server's step is plain gradient descent.
 *
 * Minibatch order comes from the stream (seed, SHUFFLE, client, round): it
 * does not depend on the rank that hosts the client.
 */
#include "client.h"

#include "client_ckpt.h"
#include "clip.h"
#include "compress.h"
#include "ef.h"
#include "ef21bc.h"
#include "faulty.h"
#include "frame.h"
#include "fs_rng.h"
#include "gc_worker.h"
#include "local.h"
#include "model.h"
#include "payload.h"
#include "sealer.h"
#include "secagg_client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fs_worker {
  const fs_config *cfg;
  fs_transport *t;
  int rank, workers;
  size_t dim;      /* model parameters */
  size_t in_dim;   /* features */
  size_t nclients; /* clients hosted here */
  size_t *off;     /* nclients + 1: local client i owns rows off[i]..off[i+1] */
  float *x;        /* hosted rows, row-major */
  int32_t *y;
  fs_model *model;
  const fs_local_method *local; /* local.mode's row (sim/local.h) */
  float *w, *w0, *grad, *bx; /* model, received model, gradient, batch rows */
  int32_t *by;
  uint32_t *perm;
  size_t perm_cap;
  uint8_t *out; /* UPDATE frame */
  size_t out_cap;
  double busy;
  /* Compression and error feedback. */
  fs_comp_spec comp;
  const fs_ef_method *ef;  /* the ef.method row (compress/ef.h) */
  float **efst;            /* per hosted client: e (EF14) or g (EF21), lazily */
  fs_payload pl;           /* the compressed update */
  float *tmp;              /* scratch for error feedback */
  const fs_smoothness *sm; /* L_i for EF21-W */
  size_t nglobal;          /* clients in the run */
  /* EF21-BC: the model every worker rebuilds from the compressed downlink. */
  int bc;
  double bc_lr;
  float *bc_x, *bc_b;
  uint32_t bc_round;
  fs_payload dm;
  const fs_world *world;
  double sleep_scale; /* system.sleep_scale * FEDSIM_SLEEP_FACTOR */
  /* Differential privacy. */
  const fs_clip_mode *clip; /* the dp.clip row (compress/clip.h) */
  int dp;                   /* the row clips (dp.clip is not none) */
  double dp_bound;          /* B: the norm bound of a message */
  float **dicest; /* the row's memory per hosted client (DiceSGD's error
                     buffer), lazily */
  float *dicetmp; /* 2 dim scratch */
  size_t nlayers;
  size_t *lay_off, *lay_len;
  /* Robustness: simulated faulty clients, local momentum (lazily). */
  fs_faults *faults;
  float **mom;
  fs_gc_worker *gc; /* server.strategy gc: gradient-coding tasks */
  fs_sa_client *sa; /* secure aggregation (secure.aggregation = secagg) */
  fs_sealer *seal;  /* secure.seal: frames sealed and opened here */
  /* A local row with control variates (SCAFFOLD, docs/local-methods.md):
   * c_i per hosted client (lazily, kept across rounds), the c received;
   * grad is then 2d floats wide. */
  float **ctl, *cg;
};

double fs_worker_busy_seconds(const fs_worker *k) { return k->busy; }

/* The run's faulty clients (faulty.h); label-flipping ones get their hosted
 * labels flipped once. Local momentum buffers, if asked for. */
static fs_status faults_setup(fs_worker *k, const fs_config *cfg,
                              const fs_world *w, size_t me, fs_err *err) {
  if (cfg->client_momentum > 0 &&
      (k->mom = calloc(k->nclients ? k->nclients : 1, sizeof *k->mom)) == NULL)
    return fs_err_set(err, FS_ENOMEM, "worker: out of memory");
  fs_fault_kind kind = (fs_fault_kind)cfg->fault_kind; /* same order */
  fs_status st = fs_faults_new(cfg->seed, (uint32_t)w->part.clients,
                               cfg->fault_fraction, kind, cfg->fault_scale,
                               cfg->fault_noise_std, &k->faults, err);
  for (size_t i = 0; st == FS_OK && i < k->nclients; i++)
    fs_faults_flip_labels(k->faults, (uint32_t)(me + i * (size_t)k->workers),
                          k->y + k->off[i], k->off[i + 1] - k->off[i],
                          w->train.classes);
  return st;
}

/* Copy the hosted clients' rows (clients me, me + W, ...) out of the
 * world's training set; *maxrows_out gets the most rows of one client. */
static fs_status copy_rows(fs_worker *k, const fs_world *w, size_t me, size_t W,
                           size_t *maxrows_out, fs_err *err) {
  k->off = calloc(k->nclients + 1, sizeof *k->off);
  if (k->off == NULL)
    return fs_err_set(err, FS_ENOMEM, "worker: out of memory");
  size_t rows = 0;
  for (size_t i = 0; i < k->nclients; i++) {
    size_t c = me + i * W;
    rows += w->part.offset[c + 1] - w->part.offset[c];
    k->off[i + 1] = rows;
  }
  k->x = malloc((rows ? rows : 1) * k->in_dim * sizeof(float));
  k->y = malloc((rows ? rows : 1) * sizeof(int32_t));
  if (k->x == NULL || k->y == NULL)
    return fs_err_set(err, FS_ENOMEM,
                      "worker %d: out of memory for %zu rows of %zu features",
                      k->rank, rows, k->in_dim);
  size_t maxrows = 0;
  for (size_t i = 0; i < k->nclients; i++) {
    size_t c = me + i * W;
    size_t r0 = k->off[i];
    size_t cnt = w->part.offset[c + 1] - w->part.offset[c];
    if (cnt > maxrows)
      maxrows = cnt;
    for (size_t j = 0; j < cnt; j++) {
      uint32_t row = w->part.rows[w->part.offset[c] + j];
      memcpy(k->x + (r0 + j) * k->in_dim, w->train.x + (size_t)row * k->in_dim,
             k->in_dim * sizeof(float));
      k->y[r0 + j] = w->train.y[row];
    }
  }
  *maxrows_out = maxrows;
  return FS_OK;
}

/* FEDSIM_SLEEP_FACTOR scales system.sleep_scale (when it is on). */
static fs_status sleep_factor(fs_worker *k, fs_err *err) {
  const char *f = getenv("FEDSIM_SLEEP_FACTOR");
  if (f != NULL && k->sleep_scale > 0) {
    char *end = NULL;
    double v = strtod(f, &end);
    if (end == f || *end != '\0' || !(v >= 0) || v > 1e6) {
      return fs_err_set(err, FS_ECONFIG,
                        "FEDSIM_SLEEP_FACTOR: '%s' is not a number in [0, 1e6]",
                        f);
    }
    k->sleep_scale *= v;
  }
  return FS_OK;
}

/* Differential privacy: the clip row's memory per hosted client, scratch,
 * and the model's layers (for per-layer clipping). */
static fs_status dp_setup(fs_worker *k, fs_err *err) {
  k->dicest = calloc(k->nclients ? k->nclients : 1, sizeof *k->dicest);
  k->dicetmp = malloc(2 * k->dim * sizeof(float));
  k->nlayers = fs_model_layers(k->model, NULL, NULL, 0);
  k->lay_off = malloc((k->nlayers ? k->nlayers : 1) * sizeof(size_t));
  k->lay_len = malloc((k->nlayers ? k->nlayers : 1) * sizeof(size_t));
  if (!k->dicest || !k->dicetmp || !k->lay_off || !k->lay_len)
    return fs_err_set(err, FS_ENOMEM, "worker: out of memory");
  fs_model_layers(k->model, k->lay_off, k->lay_len, k->nlayers);
  return FS_OK;
}

/* EF21-BC: the model rebuilt from the compressed downlink. */
static fs_status bc_setup(fs_worker *k, const fs_config *cfg, const fs_world *w,
                          fs_err *err) {
  fs_status st = fs_server_step_size(cfg, w, k->dim, &k->bc_lr, err);
  if (st != FS_OK)
    return st;
  k->bc_x = calloc(k->dim, sizeof(float));
  k->bc_b = calloc(k->dim, sizeof(float));
  if (k->bc_x == NULL || k->bc_b == NULL)
    return fs_err_set(err, FS_ENOMEM, "worker: out of memory");
  return FS_OK;
}

fs_status fs_worker_new(const fs_config *cfg, const fs_world *w,
                        fs_transport *t, fs_worker **out, fs_err *err) {
  *out = NULL;
  fs_worker *k = calloc(1, sizeof *k);
  if (k == NULL)
    return fs_err_set(err, FS_ENOMEM, "worker: out of memory");
  k->cfg = cfg;
  k->t = t;
  k->rank = fs_transport_rank(t);
  k->workers = fs_transport_workers(t);
  k->in_dim = w->train.dim;
  size_t N = w->part.clients;
  size_t me = fs_transport_is_local(t) ? 0 : (size_t)(k->rank - 1);
  size_t W = (size_t)k->workers;
  k->nclients = N > me ? (N - me + W - 1) / W : 0;
  fs_status st = FS_OK;
  size_t maxrows = 0;
  if ((st = copy_rows(k, w, me, W, &maxrows, err)) != FS_OK)
    goto fail;
  if ((st = faults_setup(k, cfg, w, me, err)) != FS_OK)
    goto fail;
  size_t batch = (size_t)cfg->local_batch;
  st = fs_model_new(&w->mspec, batch > 256 ? batch : 256, &k->model, err);
  if (st != FS_OK)
    goto fail;
  k->dim = fs_model_dim(k->model);
  k->w = malloc(k->dim * sizeof(float));
  k->w0 = malloc(k->dim * sizeof(float));
  k->local = fs_local_at((size_t)cfg->local_mode); /* a table option */
  k->grad = malloc((k->local->control ? 2 : 1) * k->dim * sizeof(float));
  k->bx = malloc(batch * k->in_dim * sizeof(float));
  k->by = malloc(batch * sizeof(int32_t));
  k->perm_cap = maxrows ? maxrows : 1;
  k->perm = malloc(k->perm_cap * sizeof(uint32_t));
  k->out = malloc(FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES +
                  fs_dense_size(k->dim));
  k->out_cap =
      FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES + fs_dense_size(k->dim);
  k->tmp = malloc(k->dim * sizeof(float));
  k->efst = calloc(k->nclients ? k->nclients : 1, sizeof *k->efst);
  k->ef = fs_ef_method_at((size_t)cfg->ef_method); /* the row index */
  k->nglobal = N;
  k->world = w;
  k->clip = fs_clip_mode_at((size_t)cfg->dp_clip); /* the row index */
  k->dp = k->clip->clip != NULL;
  k->dp_bound = fs_dp_message_bound(cfg);
  k->sleep_scale = cfg->sys_sleep_scale;
  if ((st = sleep_factor(k, err)) != FS_OK)
    goto fail;
  k->sm = w->has_smooth ? &w->smooth : NULL;
  if ((k->ef->flags & FS_EF_WEIGHTED) && k->sm == NULL) {
    st = fs_err_set(err, FS_ECONFIG,
                    "ef.method: ef21w needs the clients' "
                    "smoothness constants (logreg)");
    goto fail;
  }
  if (k->dp && (st = dp_setup(k, err)) != FS_OK)
    goto fail;
  st = fs_comp_spec_from_config(cfg, 0, k->dim, &k->comp, err);
  if (st != FS_OK)
    goto fail;
  k->bc = cfg->comp_down != FS_CFG_COMP_IDENTITY;
  if (k->bc && (st = bc_setup(k, cfg, w, err)) != FS_OK)
    goto fail;
  if (cfg->strategy == FS_CFG_STRATEGY_GC &&
      (st = fs_gc_worker_new(w, &k->gc, err)) != FS_OK)
    goto fail;
  if (cfg->sa_mode == FS_CFG_SA_SECAGG &&
      (st = fs_sa_client_new(cfg, k->nclients, k->dim, &k->sa, err)) != FS_OK)
    goto fail;
  if (!k->w || !k->w0 || !k->grad || !k->bx || !k->by || !k->perm || !k->out ||
      !k->tmp || !k->efst) {
    st = fs_err_set(err, FS_ENOMEM, "worker: out of memory");
    goto fail;
  }
  if (k->local->control && ((k->cg = malloc(k->dim * sizeof(float))) == NULL ||
                            (k->ctl = calloc(k->nclients ? k->nclients : 1,
                                             sizeof *k->ctl)) == NULL)) {
    st = fs_err_set(err, FS_ENOMEM, "worker: out of memory");
    goto fail;
  }
  /* Sessions for every client id a frame may name (SHUTDOWN frames name
   * the worker's first client, which may be >= N with more workers). */
  st = fs_sealer_new(cfg, FS_ROLE_WORKER, (uint32_t)(N > W ? N : W), &k->seal,
                     err);
  if (st != FS_OK)
    goto fail;
  if (k->sa != NULL)
    fs_sa_client_set_sealer(k->sa, k->seal); /* SA_* and MASKED_U32 sealed */
  *out = k;
  return FS_OK;
fail:
  fs_worker_free(k);
  return st;
}

void fs_worker_free(fs_worker *k) {
  if (k == NULL)
    return;
  fs_gc_worker_free(k->gc);
  if (fs_sealer_tampered(k->seal) > 0) /* for tests: every one is refused */
    fprintf(stderr,
            "fedsim: worker %d: secure.tamper_rate altered %llu uplink "
            "frames in flight\n",
            k->rank, (unsigned long long)fs_sealer_tampered(k->seal));
  fs_sealer_free(k->seal);
  free(k->off);
  free(k->x);
  free(k->y);
  fs_model_free(k->model);
  free(k->w);
  free(k->w0);
  free(k->grad);
  free(k->bx);
  free(k->by);
  free(k->perm);
  free(k->out);
  free(k->tmp);
  for (size_t i = 0; k->efst && i < k->nclients; i++)
    free(k->efst[i]);
  free(k->efst);
  fs_payload_free(&k->pl);
  fs_payload_free(&k->dm);
  for (size_t i = 0; k->dicest && i < k->nclients; i++)
    free(k->dicest[i]);
  free(k->dicest);
  free(k->dicetmp);
  free(k->lay_off);
  free(k->lay_len);
  free(k->bc_x);
  free(k->bc_b);
  fs_faults_free(k->faults);
  for (size_t i = 0; k->mom && i < k->nclients; i++)
    free(k->mom[i]);
  free(k->mom);
  for (size_t i = 0; k->ctl && i < k->nclients; i++)
    free(k->ctl[i]);
  free(k->ctl);
  free(k->cg);
  fs_sa_client_free(k->sa);
  free(k);
}

/* The local work of one client (the local.mode row, sim/local.h); leaves
 * the update in k->grad. */
static double local_work(fs_worker *k, uint32_t client, uint32_t round,
                         size_t li) {
  const fs_config *cfg = k->cfg;
  size_t n = k->off[li + 1] - k->off[li];
  if (n == 0) {
    memset(k->grad, 0, (k->ctl ? 2 : 1) * k->dim * sizeof(float));
    return 0.0;
  }
  fs_rng r;
  fs_rng_init(&r, cfg->seed, FS_RNG_SHUFFLE, client, round);
  for (size_t i = 0; i < n; i++)
    k->perm[i] = (uint32_t)i;
  fs_local_job job = {.cfg = cfg,
                      .model = k->model,
                      .dim = k->dim,
                      .in_dim = k->in_dim,
                      .X = k->x + k->off[li] * k->in_dim,
                      .Y = k->y + k->off[li],
                      .n = n,
                      .x0 = k->w0,
                      .w = k->w,
                      .grad = k->grad,
                      .bx = k->bx,
                      .by = k->by,
                      .perm = k->perm,
                      .shuffle = &r,
                      .c = k->cg,
                      .ci = k->ctl ? k->ctl[li] : NULL};
  return k->local->run(&job);
}

/* Put the model of a TRAIN frame into k->w: a dense model, or (EF21-BC)
 * the compressed m = C(g - b), applied once per round to the worker's own
 * copy of x and b exactly as the server applies it. */
static fs_status receive_model(fs_worker *k, const fs_frame_header *h,
                               const uint8_t *body, fs_err *err) {
  if (h->encoding == FS_PL_DENSE && k->ctl != NULL) {
    /* (x, c), 2d floats; grad is free scratch until the local work. */
    fs_status st = fs_dense_decode(body, h->body_len, k->grad, 2 * k->dim, err);
    if (st == FS_OK) {
      memcpy(k->w, k->grad, k->dim * sizeof(float));
      memcpy(k->cg, k->grad + k->dim, k->dim * sizeof(float));
    }
    return st;
  }
  if (h->encoding == FS_PL_DENSE) {
    fs_status st = fs_dense_decode(body, h->body_len, k->w, k->dim, err);
    if (st == FS_OK && k->bc) {
      memcpy(k->bc_x, k->w, k->dim * sizeof(float));
      memset(k->bc_b, 0, k->dim * sizeof(float));
      k->bc_round = h->round;
    }
    return st;
  }
  if (!k->bc)
    return fs_err_set(err, FS_EFORMAT,
                      "worker %d: compressed model frame, but the run has no "
                      "compressed downlink",
                      k->rank);
  if (h->round != k->bc_round) {
    if (h->round != k->bc_round + 1)
      return fs_err_set(err, FS_EFORMAT,
                        "worker %d: EF21-BC frame of round %u after round %u "
                        "(a broadcast was missed)",
                        k->rank, h->round, k->bc_round);
    fs_status st =
        fs_payload_decode(body, h->body_len, (fs_payload_kind)h->encoding,
                          (uint32_t)k->dim, &k->dm, err);
    if (st != FS_OK)
      return st;
    fs_ef21bc_apply(k->bc_x, k->bc_b, &k->dm, k->bc_lr, k->dim);
    k->bc_round = h->round;
  }
  memcpy(k->w, k->bc_x, k->dim * sizeof(float));
  return FS_OK;
}

/* Client-level DP on the update in k->grad, before compression: clip
 * (flat, per layer, or DiceSGD with its error buffer), then local noise. */
static fs_status privatize(fs_worker *k, uint32_t client, uint32_t round,
                           size_t li) {
  const fs_config *cfg = k->cfg;
  float *mem = NULL;
  if (k->clip->flags & FS_CLIP_MEMORY) {
    if (k->dicest[li] == NULL &&
        (k->dicest[li] = calloc(k->dim, sizeof(float))) == NULL)
      return FS_ENOMEM;
    mem = k->dicest[li];
  }
  fs_clip_args a = {.dim = k->dim,
                    .S = cfg->dp_clip_norm,
                    .ratio = cfg->dp_dice_ratio,
                    .lay_off = k->lay_off,
                    .lay_len = k->lay_len,
                    .nlayers = k->nlayers,
                    .tmp = k->dicetmp};
  k->clip->clip(&a, k->grad, mem);
  if (cfg->dp_noise == FS_CFG_NOISE_LOCAL) {
    fs_rng r;
    fs_rng_init(&r, cfg->seed, FS_RNG_NOISE, client, round);
    double sd = k->world->dp_z * k->dp_bound;
    for (size_t j = 0; j < k->dim; j++)
      k->grad[j] += (float)(sd * fs_rng_normal(&r));
  }
  return FS_OK;
}

/* With central noise, the message itself (after compression and error
 * feedback) must have norm <= B: that bounds each client's contribution to
 * the noised sum whatever the compressor and the feedback do. */
static void clip_message(fs_worker *k) {
  fs_payload *p = &k->pl;
  size_t n = p->kind == FS_PL_DENSE ? p->dim : p->nnz;
  if (p->kind == FS_PL_DENSE || p->kind == FS_PL_SPARSE ||
      p->kind == FS_PL_RANDK)
    fs_clip_l2(p->val, n, k->dp_bound);
}

/* Turn the update in k->grad into the payload k->pl, through the error
 * feedback of the client (state allocated on its first participation). */
static fs_status compress_update(fs_worker *k, uint32_t client, uint32_t round,
                                 size_t li) {
  fs_rng cr;
  fs_rng_init(&cr, k->cfg->seed, FS_RNG_COMPRESS, client, round);
  uint32_t d = (uint32_t)((k->ctl ? 2 : 1) * k->dim); /* control: 2d */
  if (!(k->ef->flags & FS_EF_MEMORY))
    return k->ef->message(&k->comp, NULL, 0, k->grad, d, &cr, &k->pl, k->tmp);
  int first = k->efst[li] == NULL;
  if (first) {
    k->efst[li] = calloc(k->dim, sizeof(float));
    if (k->efst[li] == NULL)
      return FS_ENOMEM;
  }
  if (k->ef->flags & FS_EF_WEIGHTED) {
    /* t = grad_i / (n w_i), w_i = L_i / sum_j L_j. */
    double wi = k->sm->Li[client] / (k->sm->L_am * (double)k->nglobal);
    float sc = (float)(1.0 / ((double)k->nglobal * wi));
    for (size_t j = 0; j < k->dim; j++)
      k->grad[j] *= sc;
  }
  return k->ef->message(&k->comp, k->efst[li], first, k->grad, d, &cr, &k->pl,
                        k->tmp);
}

/* Local Polyak momentum (MoNNA): m_i = beta m_i + (1 - beta) u, and m_i
 * becomes the update sent (m_i = 0 before the client's first job). */
static fs_status momentum(fs_worker *k, size_t li) {
  if (k->mom[li] == NULL &&
      (k->mom[li] = calloc(k->dim, sizeof(float))) == NULL)
    return FS_ENOMEM;
  float b = (float)k->cfg->client_momentum, *m = k->mom[li];
  for (size_t j = 0; j < k->dim; j++) {
    m[j] = b * m[j] + (1.0f - b) * k->grad[j];
    k->grad[j] = m[j];
  }
  return FS_OK;
}

/* A CHECKPOINT frame: save or restore the hosted clients' state
 * (client_ckpt.h). */
static fs_status handle_checkpoint(fs_worker *k, const fs_frame_header *h,
                                   const uint8_t *frame, fs_err *err) {
  fs_client_state cs = {
      .rank = k->rank,
      .nclients = k->nclients,
      .first = fs_transport_is_local(k->t) ? 0 : (size_t)(k->rank - 1),
      .stride = (size_t)k->workers,
      .nglobal = k->nglobal,
      .dim = k->dim,
      .ef = (k->ef->flags & FS_EF_MEMORY) ? k->efst : NULL,
      .dice = (k->clip->flags & FS_CLIP_MEMORY) ? k->dicest : NULL,
      .mom = k->mom,
      .bc = k->bc,
      .bc_x = k->bc_x,
      .bc_b = k->bc_b,
      .bc_round = &k->bc_round,
      .seal = k->seal,
      .ctrl_client = h->client};
  return fs_client_ckpt_handle(&cs, k->t, k->cfg, h->round,
                               frame + FS_FRAME_HEADER_BYTES, h->body_len, err);
}

/* Encode k->pl as the UPDATE frame of h's client (meta: its rows and
 * loss), take the job's simulated time if asked to (system.sleep_scale),
 * send it. t0 is when local work started. */
static fs_status send_update(fs_worker *k, const fs_frame_header *h, size_t li,
                             double loss, size_t wire_len, double t0,
                             fs_err *err) {
  fs_update_meta meta = {.num_samples = (uint32_t)(k->off[li + 1] - k->off[li]),
                         .train_loss = loss};
  size_t plen = fs_payload_encoded_size(&k->pl, NULL);
  size_t need = FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES + plen;
  if (need > UINT32_MAX)
    return fs_err_set(err, FS_ERANGE, "worker %d: update of %zu bytes", k->rank,
                      need);
  if (need > k->out_cap) {
    uint8_t *b = realloc(k->out, need);
    if (b == NULL)
      return fs_err_set(err, FS_ENOMEM, "worker %d: out of memory", k->rank);
    k->out = b;
    k->out_cap = need;
  }
  fs_frame_header oh = {.type = FS_MSG_UPDATE,
                        .encoding = (uint8_t)fs_payload_encoding(k->pl.kind),
                        .round = h->round,
                        .client = h->client,
                        .model_version = h->model_version,
                        .body_len = (uint32_t)(FS_UPDATE_META_BYTES + plen)};
  fs_frame_header_encode(&oh, k->out);
  fs_update_meta_encode(&meta, k->out + FS_FRAME_HEADER_BYTES);
  fs_payload_encode(&k->pl,
                    k->out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES);
  if (k->sleep_scale > 0) {
    /* Really take the job's simulated time (scaled), for wall-clock runs
     * whose arrival order should follow the clients' heterogeneity. */
    size_t rows = k->off[li + 1] - k->off[li];
    double sim = fs_job_sim_seconds(
        k->cfg, k->world, h->client, 8ull * wire_len,
        fs_local_work_samples(k->cfg, rows),
        8ull * fs_sealer_wire_bytes(k->seal, need - FS_FRAME_HEADER_BYTES));
    double left = sim * k->sleep_scale - (fs_transport_wtime() - t0);
    if (left > 0) {
      struct timespec ts = {(time_t)left,
                            (long)((left - (double)(time_t)left) * 1e9)};
      nanosleep(&ts, NULL);
    }
  }
  fs_iov iov = {k->out, need};
  return fs_sealer_send(k->seal, k->t, FS_ROLE_WORKER, 0, &iov, 1, err);
}

/* A TRAIN frame for hosted client li: local work from the model it
 * carries, then the update (masked under secure aggregation; else
 * privatised, compressed and sent). */
static fs_status train_client(fs_worker *k, const fs_frame_header *h,
                              const uint8_t *frame, size_t li, size_t wire_len,
                              fs_err *err) {
  fs_status st;
  st = receive_model(k, h, frame + FS_FRAME_HEADER_BYTES, err);
  if (st != FS_OK)
    return st;
  memcpy(k->w0, k->w, k->dim * sizeof(float));
  if (k->ctl != NULL && k->ctl[li] == NULL &&
      (k->ctl[li] = calloc(k->dim, sizeof(float))) == NULL) /* c_i = 0 */
    return fs_err_set(err, FS_ENOMEM, "worker %d: out of memory", k->rank);
  double t0 = fs_transport_wtime();
  double loss = local_work(k, h->client, h->round, li);
  k->busy += fs_transport_wtime() - t0;
  if (k->mom != NULL && (st = momentum(k, li)) != FS_OK)
    return fs_err_set(err, st, "worker %d: out of memory", k->rank);
  fs_faults_attack_update(k->faults, h->client, h->round, k->grad, k->dim);

  if (k->sa != NULL) {
    /* Weighted FedAvg under secure aggregation: the client scales its
     * update by p_i N (p_i its aggregation weight) before masking. */
    size_t rows = k->off[li + 1] - k->off[li];
    double scale =
        k->cfg->server_weighting == FS_CFG_WEIGHTING_UNIFORM
            ? 1.0
            : (double)rows * (double)k->nglobal / (double)k->world->train.n;
    return fs_sa_client_trained(k->sa, k->t, li, h, k->grad, scale,
                                (uint32_t)rows, loss, err);
  }
  if (k->dp && (st = privatize(k, h->client, h->round, li)) != FS_OK)
    return fs_err_set(err, st, "worker %d: out of memory", k->rank);
  st = compress_update(k, h->client, h->round, li);
  if (st == FS_OK && k->dp && k->cfg->dp_noise == FS_CFG_NOISE_CENTRAL)
    clip_message(k);
  if (st != FS_OK)
    return fs_err_set(err, st, "worker %d: out of memory compressing", k->rank);
  fs_faults_attack_payload(k->faults, h->client, &k->pl);
  return send_update(k, h, li, loss, wire_len, t0, err);
}

fs_status fs_worker_handle(fs_worker *k, const uint8_t *frame, size_t len,
                           int *stop, fs_err *err) {
  size_t wire_len = len; /* bytes that crossed, sealed or not */
  uint32_t named;
  fs_status st = fs_sealer_open(k->seal, &frame, &len, &named, err);
  if (st != FS_OK)
    return st; /* only uplink frames are tampered with: this is an error */
  fs_frame_header h;
  st = fs_frame_header_decode(frame, len, &h, err);
  if (st != FS_OK)
    return st;
  *stop = 0;
  if (h.type == FS_MSG_SHUTDOWN) {
    *stop = 1;
    return FS_OK;
  }
  if (h.type == FS_MSG_CHECKPOINT)
    return handle_checkpoint(k, &h, frame, err);
  int sa_msg = k->sa != NULL &&
               (h.type == FS_MSG_SA_ADVERTISE || h.type == FS_MSG_SA_UNMASK);
  if (h.type != FS_MSG_TRAIN && !sa_msg && (h.type != FS_MSG_GC_TASK || !k->gc))
    return fs_err_set(err, FS_EFORMAT, "worker %d: unexpected frame type %u",
                      k->rank, h.type);
  size_t W = (size_t)k->workers;
  size_t me = fs_transport_is_local(k->t) ? 0 : (size_t)(k->rank - 1);
  if (h.client % W != me || h.client / W >= k->nclients)
    return fs_err_set(err, FS_EFORMAT,
                      "worker %d: client %u does not live here", k->rank,
                      h.client);
  if (h.type == FS_MSG_GC_TASK) {
    fs_iov res;
    const uint8_t *rb;
    st = fs_gc_worker_handle(k->gc, &h, frame + FS_FRAME_HEADER_BYTES, &rb,
                             &res.len, err);
    if (st != FS_OK)
      return st;
    res.base = rb;
    return fs_sealer_send(k->seal, k->t, FS_ROLE_WORKER, 0, &res, 1, err);
  }
  size_t li = h.client / W;
  if (sa_msg)
    return fs_sa_client_handle(k->sa, k->t, li, &h,
                               frame + FS_FRAME_HEADER_BYTES, err);
  return train_client(k, &h, frame, li, wire_len, err);
}

fs_status fs_worker_run(fs_worker *k, fs_err *err) {
  for (;;) {
    int src = -1, stop = 0;
    const uint8_t *buf;
    size_t len;
    fs_status st =
        fs_transport_recv(k->t, FS_ROLE_WORKER, &src, &buf, &len, err);
    if (st != FS_OK)
      return st;
    st = fs_worker_handle(k, buf, len, &stop, err);
    if (st != FS_OK || stop)
      return st;
  }
}

fs_status fs_worker_pump(void *worker, fs_err *err) {
  fs_worker *k = worker;
  for (;;) {
    int src = -1, stop = 0;
    const uint8_t *buf;
    size_t len;
    fs_status st =
        fs_transport_try_recv(k->t, FS_ROLE_WORKER, &src, &buf, &len, err);
    if (st != FS_OK)
      return st;
    if (buf == NULL)
      return FS_OK;
    st = fs_worker_handle(k, buf, len, &stop, err);
    if (st != FS_OK)
      return st;
  }
}
