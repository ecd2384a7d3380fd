/*
 * eval.c — evaluation of the server's model, for every strategy: the
 * training objective (the pooled training rows, or with eval.objective =
 * clients the mean of the clients' losses, each client weighted equally),
 * its gradient and squared norm when asked (eval.grad_norm), and the test
 * loss and accuracy. One pass each, in a fixed order, so the figures are
 * the same on any number of ranks (docs/reproducibility.md).
 */
#include "srv.h"

#include <string.h>

/* The gradient's squared norm (if asked) and the test figures of x. */
static void finish(fs_model *m, const fs_world *w, const float *x,
                   const float *grad, size_t d, int want_grad, fs_srv_eval *e) {
  const fs_dataset *te = &w->test;
  if (want_grad) {
    double g = 0.0;
    for (size_t j = 0; j < d; j++)
      g += (double)grad[j] * grad[j];
    e->grad_norm_sq = g;
  }
  e->test_loss = fs_model_loss_grad(m, x, te->x, te->y, te->n, NULL);
  size_t ok = fs_model_correct(m, x, te->x, te->y, te->n);
  e->test_acc = te->n ? (double)ok / (double)te->n : 0.0;
}

void fs_srv_eval_pooled(fs_model *m, const fs_world *w, const float *x,
                        float *grad, size_t d, int want_grad, fs_srv_eval *e) {
  const fs_dataset *tr = &w->train;
  e->has_grad = want_grad;
  e->train_loss =
      fs_model_loss_grad(m, x, tr->x, tr->y, tr->n, want_grad ? grad : NULL);
  finish(m, w, x, grad, d, want_grad, e);
}

/* mean_i f_i(x) over the clients (and its gradient into s->grad). */
static double clients_objective(fs_srv *s, int want_grad) {
  const fs_dataset *tr = &s->w->train;
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

void fs_srv_evaluate(fs_srv *s, int want_grad, fs_srv_eval *e) {
  if (s->cfg->eval_objective != FS_CFG_OBJ_CLIENTS) {
    fs_srv_eval_pooled(s->model, s->w, s->x, s->grad, s->dim, want_grad, e);
    return;
  }
  e->has_grad = want_grad;
  e->train_loss = clients_objective(s, want_grad);
  finish(s->model, s->w, s->x, s->grad, s->dim, want_grad, e);
}
