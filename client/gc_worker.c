/*
 * gc_worker.c — compute the coded gradients of a GC_TASK frame.
 *
 * Task k: r_k = sum_terms coef * n_rows * grad_mean(rows, x_model), the sum
 * of the loss gradients over the rows (plus n_rows times the regulariser's
 * gradient), accumulated in double and sent as float.
 */
#include "gc_worker.h"

#include "gcmsg.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

struct fs_gc_worker {
  const fs_world *w;
  fs_model *model;
  size_t dim;
  float *x, *grad;
  double *acc;
  uint8_t *out;
  size_t out_cap;
};

fs_status fs_gc_worker_new(const fs_world *w, fs_gc_worker **out, fs_err *err) {
  *out = NULL;
  fs_gc_worker *g = calloc(1, sizeof *g);
  if (!g)
    return fs_err_set(err, FS_ENOMEM, "gc worker: out of memory");
  g->w = w;
  fs_status st = fs_model_new(&w->mspec, 1024, &g->model, err);
  if (st != FS_OK) {
    free(g);
    return st;
  }
  g->dim = fs_model_dim(g->model);
  g->x = malloc(g->dim * sizeof *g->x);
  g->grad = malloc(g->dim * sizeof *g->grad);
  g->acc = malloc(g->dim * sizeof *g->acc);
  if (!g->x || !g->grad || !g->acc) {
    fs_gc_worker_free(g);
    return fs_err_set(err, FS_ENOMEM, "gc worker: out of memory");
  }
  *out = g;
  return FS_OK;
}

void fs_gc_worker_free(fs_gc_worker *g) {
  if (!g)
    return;
  fs_model_free(g->model);
  free(g->x);
  free(g->grad);
  free(g->acc);
  free(g->out);
  free(g);
}

fs_status fs_gc_worker_handle(fs_gc_worker *g, const fs_frame_header *h,
                              const uint8_t *body, const uint8_t **out,
                              size_t *out_len, fs_err *err) {
  size_t len = h->body_len, d = g->dim;
  const fs_dataset *tr = &g->w->train;
  size_t cap = len / 8 + 1;
  fs_gcmsg_task *tasks = malloc(cap * sizeof *tasks);
  fs_gcmsg_term *terms = malloc(cap * sizeof *terms);
  const uint8_t **model_at = malloc(cap * sizeof *model_at);
  fs_status st = FS_OK;
  size_t nt = 0, nm = 0;
  if (!tasks || !terms || !model_at) {
    st = fs_err_set(err, FS_ENOMEM, "gc worker: out of memory");
    goto out;
  }
  st = fs_gcmsg_task_decode(body, len, d, tr->n, tasks, cap, &nt, terms, cap,
                            model_at, cap, &nm, err);
  if (st != FS_OK)
    goto out;
  size_t vec = fs_dense_size(nt * d);
  size_t need = FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES + vec;
  if (need > UINT32_MAX) {
    st = fs_err_set(err, FS_ERANGE, "gc worker: result of %zu bytes", need);
    goto out;
  }
  if (need > g->out_cap) {
    uint8_t *b = realloc(g->out, need);
    if (!b) {
      st = fs_err_set(err, FS_ENOMEM, "gc worker: out of memory");
      goto out;
    }
    g->out = b;
    g->out_cap = need;
  }
  /* The result vector is written in place: u32 count, then the floats. */
  uint8_t *res = g->out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES;
  uint64_t samples = 0;
  float *all = malloc((nt ? nt : 1) * d * sizeof *all);
  if (!all) {
    st = fs_err_set(err, FS_ENOMEM, "gc worker: out of memory");
    goto out;
  }
  for (size_t k = 0; k < nt; k++) {
    fs_gcmsg_model_get(model_at[tasks[k].model], d, g->x);
    memset(g->acc, 0, d * sizeof *g->acc);
    for (uint32_t q = 0; q < tasks[k].nterms; q++) {
      const fs_gcmsg_term *t = &terms[tasks[k].term0 + q];
      fs_model_loss_grad(g->model, g->x, tr->x + (size_t)t->row0 * tr->dim,
                         tr->y + t->row0, t->rows, g->grad);
      double c = t->coef * (double)t->rows;
      for (size_t j = 0; j < d; j++)
        g->acc[j] += c * g->grad[j];
      samples += t->rows;
    }
    for (size_t j = 0; j < d; j++)
      all[k * d + j] = (float)g->acc[j];
  }
  fs_dense_encode(all, nt * d, res);
  free(all);
  fs_update_meta meta = {
      .num_samples = samples > UINT32_MAX ? UINT32_MAX : (uint32_t)samples,
      .train_loss = 0.0};
  fs_update_meta_encode(&meta, g->out + FS_FRAME_HEADER_BYTES);
  fs_frame_header oh = {.type = FS_MSG_GC_RESULT,
                        .encoding = FS_PL_DENSE,
                        .round = h->round,
                        .client = h->client,
                        .model_version = h->model_version,
                        .body_len = (uint32_t)(FS_UPDATE_META_BYTES + vec)};
  fs_frame_header_encode(&oh, g->out);
  *out = g->out;
  *out_len = need;
out:
  free(tasks);
  free(terms);
  free(model_at);
  return st;
}
