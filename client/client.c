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

#include "frame.h"
#include "fs_rng.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
  float *w, *w0, *grad, *bx; /* model, received model, gradient, batch rows */
  int32_t *by;
  uint32_t *perm;
  size_t perm_cap;
  uint8_t *out; /* UPDATE frame */
  double busy;
};

uint64_t fs_local_work_samples(const fs_config *cfg, size_t rows) {
  if (!strcmp(cfg->local_mode, "steps"))
    return (uint64_t)cfg->local_steps * (uint64_t)cfg->local_batch;
  if (!strcmp(cfg->local_mode, "full_gradient"))
    return rows;
  return (uint64_t)cfg->local_epochs * rows;
}

double fs_worker_busy_seconds(const fs_worker *k) { return k->busy; }

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
  k->off = calloc(k->nclients + 1, sizeof *k->off);
  fs_status st = FS_OK;
  if (k->off == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "worker: out of memory");
    goto fail;
  }
  size_t rows = 0;
  for (size_t i = 0; i < k->nclients; i++) {
    size_t c = me + i * W;
    rows += w->part.offset[c + 1] - w->part.offset[c];
    k->off[i + 1] = rows;
  }
  k->x = malloc((rows ? rows : 1) * k->in_dim * sizeof(float));
  k->y = malloc((rows ? rows : 1) * sizeof(int32_t));
  if (k->x == NULL || k->y == NULL) {
    st = fs_err_set(err, FS_ENOMEM,
                    "worker %d: out of memory for %zu rows of %zu features",
                    k->rank, rows, k->in_dim);
    goto fail;
  }
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
  size_t batch = (size_t)cfg->local_batch;
  st = fs_model_new(&w->mspec, batch > 256 ? batch : 256, &k->model, err);
  if (st != FS_OK)
    goto fail;
  k->dim = fs_model_dim(k->model);
  k->w = malloc(k->dim * sizeof(float));
  k->w0 = malloc(k->dim * sizeof(float));
  k->grad = malloc(k->dim * sizeof(float));
  k->bx = malloc(batch * k->in_dim * sizeof(float));
  k->by = malloc(batch * sizeof(int32_t));
  k->perm_cap = maxrows ? maxrows : 1;
  k->perm = malloc(k->perm_cap * sizeof(uint32_t));
  k->out = malloc(FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES +
                  fs_dense_size(k->dim));
  if (!k->w || !k->w0 || !k->grad || !k->bx || !k->by || !k->perm || !k->out) {
    st = fs_err_set(err, FS_ENOMEM, "worker: out of memory");
    goto fail;
  }
  *out = k;
  return FS_OK;
fail:
  fs_worker_free(k);
  return st;
}

void fs_worker_free(fs_worker *k) {
  if (k == NULL)
    return;
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
  free(k);
}

/* One minibatch step on rows perm[from..from+b) of the client's block. */
static double sgd_step(fs_worker *k, const float *X, const int32_t *Y,
                       const uint32_t *idx, size_t b) {
  for (size_t i = 0; i < b; i++) {
    memcpy(k->bx + i * k->in_dim, X + (size_t)idx[i] * k->in_dim,
           k->in_dim * sizeof(float));
    k->by[i] = Y[idx[i]];
  }
  double loss = fs_model_loss_grad(k->model, k->w, k->bx, k->by, b, k->grad);
  float lr = (float)k->cfg->local_lr;
  for (size_t j = 0; j < k->dim; j++)
    k->w[j] -= lr * k->grad[j];
  return loss;
}

/* The local work of one client; leaves Delta in k->grad. */
static double local_work(fs_worker *k, uint32_t client, uint32_t round,
                         size_t li) {
  const fs_config *cfg = k->cfg;
  size_t n = k->off[li + 1] - k->off[li];
  const float *X = k->x + k->off[li] * k->in_dim;
  const int32_t *Y = k->y + k->off[li];
  if (n == 0) {
    memset(k->grad, 0, k->dim * sizeof(float));
    return 0.0;
  }
  if (!strcmp(cfg->local_mode, "full_gradient"))
    return fs_model_loss_grad(k->model, k->w, X, Y, n, k->grad);

  fs_rng r;
  fs_rng_init(&r, cfg->seed, FS_RNG_SHUFFLE, client, round);
  for (size_t i = 0; i < n; i++)
    k->perm[i] = (uint32_t)i;
  size_t B = (size_t)cfg->local_batch;
  double loss_sum = 0.0;
  size_t seen = 0;
  if (!strcmp(cfg->local_mode, "steps")) {
    size_t pos = n;
    for (int64_t s = 0; s < cfg->local_steps; s++) {
      size_t b = B < n ? B : n;
      if (pos + b > n) {
        fs_rng_shuffle_u32(&r, k->perm, n);
        pos = 0;
      }
      loss_sum += sgd_step(k, X, Y, k->perm + pos, b) * (double)b;
      seen += b;
      pos += b;
    }
  } else {
    for (int64_t e = 0; e < cfg->local_epochs; e++) {
      fs_rng_shuffle_u32(&r, k->perm, n);
      for (size_t from = 0; from < n; from += B) {
        size_t b = n - from < B ? n - from : B;
        loss_sum += sgd_step(k, X, Y, k->perm + from, b) * (double)b;
        seen += b;
      }
    }
  }
  for (size_t j = 0; j < k->dim; j++)
    k->grad[j] = k->w0[j] - k->w[j];
  return seen ? loss_sum / (double)seen : 0.0;
}

fs_status fs_worker_handle(fs_worker *k, const uint8_t *frame, size_t len,
                           int *stop, fs_err *err) {
  fs_frame_header h;
  fs_status st = fs_frame_header_decode(frame, len, &h, err);
  if (st != FS_OK)
    return st;
  *stop = 0;
  if (h.type == FS_MSG_SHUTDOWN) {
    *stop = 1;
    return FS_OK;
  }
  if (h.type != FS_MSG_TRAIN)
    return fs_err_set(err, FS_EFORMAT, "worker %d: unexpected frame type %u",
                      k->rank, h.type);
  size_t W = (size_t)k->workers;
  size_t me = fs_transport_is_local(k->t) ? 0 : (size_t)(k->rank - 1);
  if (h.client % W != me || h.client / W >= k->nclients)
    return fs_err_set(err, FS_EFORMAT,
                      "worker %d: client %u does not live here", k->rank,
                      h.client);
  size_t li = h.client / W;
  st = fs_dense_decode(frame + FS_FRAME_HEADER_BYTES, h.body_len, k->w, k->dim,
                       err);
  if (st != FS_OK)
    return st;
  memcpy(k->w0, k->w, k->dim * sizeof(float));
  double t0 = fs_transport_wtime();
  double loss = local_work(k, h.client, h.round, li);
  k->busy += fs_transport_wtime() - t0;

  fs_update_meta meta = {.num_samples = (uint32_t)(k->off[li + 1] - k->off[li]),
                         .train_loss = loss};
  fs_frame_header oh = {
      .type = FS_MSG_UPDATE,
      .encoding = FS_ENC_DENSE_F32,
      .round = h.round,
      .client = h.client,
      .model_version = h.model_version,
      .body_len = (uint32_t)(FS_UPDATE_META_BYTES + fs_dense_size(k->dim))};
  fs_frame_header_encode(&oh, k->out);
  fs_update_meta_encode(&meta, k->out + FS_FRAME_HEADER_BYTES);
  fs_dense_encode(k->grad, k->dim,
                  k->out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES);
  fs_iov iov = {k->out, FS_FRAME_HEADER_BYTES + oh.body_len};
  return fs_transport_send(k->t, FS_ROLE_WORKER, 0, &iov, 1, err);
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
