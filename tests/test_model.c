/*
 * test_model.c — the models: shapes and layouts, gradients against central
 * finite differences of an independent double-precision reference loss,
 * chunking, SGD on toy sets, predictions on hand-made cases, limits, and
 * every error path of fs_model_new.
 *
 * The reference (ref_loss) is a plain loop over rows written from the layout
 * in model.c's header comment, evaluated in double; the model's float loss
 * must match it, and the model's float gradient must match the reference's
 * central differences. Doing the differences in double lets h be small
 * (1e-5: truncation error O(h^2) ~ 1e-10, rounding ~ 1e-16/h ~ 1e-11), so
 * the only error left is the float32 rounding of the model's gradient.
 */
#include "config.h"
#include "fs_test.h"
#include "model_type.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

/* A model as today's options describe it: the row of the model table
 * (model.type), the data's shape and model.hidden, model.bias, model.l2,
 * model.nonconvex_lambda. The tests build it through the table. */
typedef struct {
  fs_cfg_model kind;
  size_t in_dim;
  size_t classes;
  size_t n_hidden;
  size_t hidden[FS_MODEL_MAX_HIDDEN];
  int bias;
  double l2;
  double nonconvex_lambda;
} shape;

static shape spec_of(fs_cfg_model kind, size_t in_dim, size_t classes,
                     int bias) {
  shape s;
  memset(&s, 0, sizeof s);
  s.kind = kind;
  s.in_dim = in_dim;
  s.classes = classes;
  s.bias = bias;
  return s;
}

/* The shape's layer list from its row (fs_model_spec_from_config), then
 * the model. */
static fs_status build(const shape *s, size_t max_batch, fs_model **m,
                       fs_err *err) {
  fs_config c;
  fs_config_defaults(&c);
  c.model_kind = s->kind;
  c.n_hidden = s->n_hidden;
  for (size_t i = 0; i < s->n_hidden && i < FS_CFG_MAX_HIDDEN; i++)
    c.hidden[i] = (int64_t)s->hidden[i];
  c.model_bias = s->bias;
  c.model_l2 = s->l2;
  c.model_nonconvex = s->nonconvex_lambda;
  fs_model_spec spec;
  *m = NULL;
  fs_status st =
      fs_model_spec_from_config(&c, s->in_dim, s->classes, &spec, err);
  return st != FS_OK ? st : fs_model_new(&spec, max_batch, m, err);
}

static fs_model *new_ok(const shape *s, size_t max_batch) {
  fs_model *m = NULL;
  fs_err err = {0};
  fs_status st = build(s, max_batch, &m, &err);
  ck_assert_msg(st == FS_OK, "fs_model_new: %s", fs_err_msg(&err, st));
  ck_assert_ptr_nonnull(m);
  return m;
}

static void fill_normal(fs_rng *r, float *v, size_t n, double sd) {
  for (size_t i = 0; i < n; i++)
    v[i] = (float)(sd * fs_rng_normal(r));
}

static void fill_labels(fs_rng *r, int32_t *y, size_t n, size_t classes) {
  for (size_t i = 0; i < n; i++)
    y[i] = (int32_t)fs_rng_below(r, classes);
}

/* Widths of the dense layers, width[0] = in_dim; returns the layer count. */
static size_t ref_widths(const shape *s, size_t *width) {
  size_t L = s->kind == FS_CFG_MODEL_MLP ? s->n_hidden + 1 : 1;
  width[0] = s->in_dim;
  for (size_t l = 1; l < L; l++)
    width[l] = s->hidden[l - 1];
  width[L] = s->kind == FS_CFG_MODEL_LOGREG ? 1 : s->classes;
  return L;
}

/* The objective in double, from the documented layout. */
static double ref_loss(const shape *s, const double *w, const float *x,
                       const int32_t *y, size_t n) {
  size_t width[FS_MODEL_MAX_HIDDEN + 2];
  size_t L = ref_widths(s, width), dim = 0;
  for (size_t l = 1; l <= L; l++)
    dim += width[l] * width[l - 1] + (s->bias ? width[l] : 0);
  double a[2][64], total = 0.0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < width[0]; j++)
      a[0][j] = x[i * width[0] + j];
    const double *p = w;
    int cur = 0;
    for (size_t l = 1; l <= L; l++) {
      const double *W = p, *b = s->bias ? p + width[l] * width[l - 1] : NULL;
      for (size_t o = 0; o < width[l]; o++) {
        double z = b ? b[o] : 0.0;
        for (size_t j = 0; j < width[l - 1]; j++)
          z += W[o * width[l - 1] + j] * a[cur][j];
        a[1 - cur][o] = l < L && z < 0.0 ? 0.0 : z;
      }
      cur = 1 - cur;
      p += width[l] * width[l - 1] + (s->bias ? width[l] : 0);
    }
    if (s->kind == FS_CFG_MODEL_LOGREG) {
      double t = (y[i] ? 1.0 : -1.0) * a[cur][0];
      total += log(1.0 + exp(-t));
    } else {
      double mx = a[cur][0], sum = 0.0;
      for (size_t k = 1; k < width[L]; k++)
        mx = fmax(mx, a[cur][k]);
      for (size_t k = 0; k < width[L]; k++)
        sum += exp(a[cur][k] - mx);
      total += mx + log(sum) - a[cur][y[i]];
    }
  }
  double reg = 0.0;
  for (size_t j = 0; j < dim; j++)
    reg += 0.5 * s->l2 * w[j] * w[j] +
           s->nonconvex_lambda * w[j] * w[j] / (1.0 + w[j] * w[j]);
  return (n > 0 ? total / (double)n : 0.0) + reg;
}

static double inf_norm(const float *v, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs((double)v[i]));
  return m;
}

/* ---- gradient against finite differences ------------------------------- */

typedef struct {
  const char *name;
  fs_cfg_model kind;
  size_t in_dim, classes, n_hidden, hidden[FS_MODEL_MAX_HIDDEN];
  int bias;
  double l2, lambda;
} grad_case;

static const grad_case grad_cases[] = {
    {"logreg", FS_CFG_MODEL_LOGREG, 7, 2, 0, {0}, 0, 0.0, 0.0},
    {"logreg+b", FS_CFG_MODEL_LOGREG, 7, 2, 0, {0}, 1, 0.0, 0.0},
    {"logreg+b+reg", FS_CFG_MODEL_LOGREG, 7, 2, 0, {0}, 1, 0.05, 0.1},
    {"logreg+nonconvex", FS_CFG_MODEL_LOGREG, 7, 2, 0, {0}, 0, 0.0, 0.1},
    {"softmax", FS_CFG_MODEL_SOFTMAX, 6, 4, 0, {0}, 0, 0.0, 0.0},
    {"softmax+b", FS_CFG_MODEL_SOFTMAX, 6, 4, 1, {0}, 1, 0.0, 0.0},
    {"softmax+b+reg", FS_CFG_MODEL_SOFTMAX, 6, 4, 1, {0}, 1, 0.05, 0.1},
    {"mlp1", FS_CFG_MODEL_MLP, 6, 3, 1, {5}, 0, 0.0, 0.0},
    {"mlp1+b", FS_CFG_MODEL_MLP, 6, 3, 1, {5}, 1, 0.0, 0.0},
    {"mlp2+b", FS_CFG_MODEL_MLP, 6, 3, 2, {5, 4}, 1, 0.0, 0.0},
    {"mlp2+b+reg", FS_CFG_MODEL_MLP, 6, 3, 2, {5, 4}, 1, 0.05, 0.1},
    {"mlp2+reg", FS_CFG_MODEL_MLP, 6, 3, 2, {5, 4}, 0, 0.05, 0.1},
    {"mlp-max-depth",
     FS_CFG_MODEL_MLP,
     4,
     3,
     FS_MODEL_MAX_HIDDEN,
     {5, 4, 6, 3, 5, 4, 6, 5},
     1,
     0.01,
     0.0},
};

static shape spec_of_case(const grad_case *g) {
  shape s = spec_of(g->kind, g->in_dim, g->classes, g->bias);
  s.n_hidden = g->n_hidden;
  memcpy(s.hidden, g->hidden, sizeof s.hidden);
  s.l2 = g->l2;
  s.nonconvex_lambda = g->lambda;
  return s;
}

/* Random parameters of a useful size: for the MLP, Glorot weights with
 * random biases (so the bias paths carry signal), otherwise N(0, 0.7^2). */
static void random_params(const fs_model *m, float *w, fs_rng *r) {
  size_t dim = fs_model_dim(m);
  if (fs_model_get_spec(m)->layer[0].init == FS_INIT_GLOROT) { /* the MLP */
    fs_model_init_params(m, w, r);
    size_t off[2 * FS_MODEL_MAX_HIDDEN + 2], len[2 * FS_MODEL_MAX_HIDDEN + 2];
    size_t k = fs_model_layers(m, off, len, 2 * FS_MODEL_MAX_HIDDEN + 2);
    if (fs_model_get_spec(m)->layer[0].bias)
      for (size_t i = 1; i < k; i += 2)
        fill_normal(r, w + off[i], len[i], 0.3);
  } else {
    fill_normal(r, w, dim, 0.7);
  }
}

START_TEST(grad_matches_finite_differences) {
  const grad_case *g = &grad_cases[_i];
  shape s = spec_of_case(g);
  const size_t n = 23;
  fs_model *m = new_ok(&s, 8); /* three chunks, the last one short */
  size_t dim = fs_model_dim(m);
  fs_rng r;
  fs_rng_init(&r, 11, FS_RNG_TEST, (uint64_t)_i, 0);
  float *x = malloc(n * s.in_dim * sizeof *x), *w = malloc(dim * sizeof *w);
  float *grad = malloc(dim * sizeof *grad);
  double *wd = calloc(dim, sizeof *wd);
  int32_t *y = malloc(n * sizeof *y);
  fill_normal(&r, x, n * s.in_dim, 1.0);
  fill_labels(&r, y, n, s.classes);
  random_params(m, w, &r);
  for (size_t j = 0; j < dim; j++)
    wd[j] = w[j];

  double loss = fs_model_loss_grad(m, w, x, y, n, grad);
  double want = ref_loss(&s, wd, x, y, n);
  ck_assert_msg(fabs(loss - want) <= 1e-5 * fabs(want), "%s: loss %.9g vs %.9g",
                g->name, loss, want);

  /* The float gradient has relative rounding error ~1e-7 times a small
   * factor per term; 1e-4 of the gradient's scale leaves a wide margin
   * (observed worst cases are below 1e-6) while any wrong term, factor or
   * sign (errors of order the entry itself) fails. */
  const double h = 1e-5;
  double *fd = malloc(dim * sizeof *fd), scale = 0.0;
  for (size_t j = 0; j < dim; j++) {
    double keep = wd[j];
    wd[j] = keep + h;
    double up = ref_loss(&s, wd, x, y, n);
    wd[j] = keep - h;
    double down = ref_loss(&s, wd, x, y, n);
    wd[j] = keep;
    fd[j] = (up - down) / (2.0 * h);
    scale = fmax(scale, fabs(fd[j]));
  }
  ck_assert(scale > 1e-3);
  for (size_t j = 0; j < dim; j++)
    ck_assert_msg(fabs(grad[j] - fd[j]) <= 1e-4 * (fabs(fd[j]) + scale),
                  "%s: grad[%zu] = %.9g, finite difference %.9g", g->name, j,
                  (double)grad[j], fd[j]);

  /* Without grad, the same loss. */
  ck_assert(fs_model_loss_grad(m, w, x, y, n, NULL) == loss);
  free(fd);
  free(x);
  free(w);
  free(grad);
  free(wd);
  free(y);
  fs_model_free(m);
}
END_TEST

/* ---- chunking ---------------------------------------------------------- */

START_TEST(chunking_gives_same_result) {
  const grad_case *g = &grad_cases[_i];
  shape s = spec_of_case(g);
  const size_t n = 50;
  fs_model *one = new_ok(&s, n), *many = new_ok(&s, 7), *unit = new_ok(&s, 1);
  size_t dim = fs_model_dim(one);
  fs_rng r;
  fs_rng_init(&r, 12, FS_RNG_TEST, (uint64_t)_i, 0);
  float *x = malloc(n * s.in_dim * sizeof *x), *w = malloc(dim * sizeof *w);
  float *g1 = malloc(dim * sizeof *g1), *g2 = malloc(dim * sizeof *g2);
  float *g3 = malloc(dim * sizeof *g3);
  int32_t *y = malloc(n * sizeof *y);
  fill_normal(&r, x, n * s.in_dim, 1.0);
  fill_labels(&r, y, n, s.classes);
  random_params(one, w, &r);

  double l1 = fs_model_loss_grad(one, w, x, y, n, g1);
  double l2 = fs_model_loss_grad(many, w, x, y, n, g2);
  double l3 = fs_model_loss_grad(unit, w, x, y, n, g3);
  ck_assert_msg(fabs(l1 - l2) <= 1e-5 * fabs(l1), "%s", g->name);
  ck_assert_msg(fabs(l1 - l3) <= 1e-5 * fabs(l1), "%s", g->name);
  double sc = inf_norm(g1, dim);
  for (size_t j = 0; j < dim; j++) {
    ck_assert_msg(fabs(g1[j] - g2[j]) <= 1e-5 * sc, "%s: grad[%zu] %g vs %g",
                  g->name, j, (double)g1[j], (double)g2[j]);
    ck_assert_msg(fabs(g1[j] - g3[j]) <= 1e-5 * sc, "%s: grad[%zu] %g vs %g",
                  g->name, j, (double)g1[j], (double)g3[j]);
  }
  ck_assert_uint_eq(fs_model_correct(one, w, x, y, n),
                    fs_model_correct(many, w, x, y, n));
  ck_assert_uint_eq(fs_model_correct(one, w, x, y, n),
                    fs_model_correct(unit, w, x, y, n));
  free(x);
  free(w);
  free(g1);
  free(g2);
  free(g3);
  free(y);
  fs_model_free(one);
  fs_model_free(many);
  fs_model_free(unit);
}
END_TEST

/* ---- SGD on toy sets --------------------------------------------------- */

/* Well-separated clusters: logreg and softmax get k clusters in the plane
 * around k points on a circle; the MLP gets XOR (4 clusters, 2 classes),
 * which no linear model separates. */
static void toy_set(fs_cfg_model kind, size_t classes, size_t n, float *x,
                    int32_t *y, fs_rng *r) {
  for (size_t i = 0; i < n; i++) {
    double cx, cy;
    if (kind == FS_CFG_MODEL_MLP) {
      int q = (int)(i % 4);
      cx = q & 1 ? 2.0 : -2.0;
      cy = q & 2 ? 2.0 : -2.0;
      y[i] = (q == 1 || q == 2);
    } else {
      size_t k = i % classes;
      double ang = 2.0 * M_PI * (double)k / (double)classes;
      cx = 3.0 * cos(ang);
      cy = 3.0 * sin(ang);
      y[i] = (int32_t)k;
    }
    x[2 * i] = (float)(cx + 0.4 * fs_rng_normal(r));
    x[2 * i + 1] = (float)(cy + 0.4 * fs_rng_normal(r));
  }
}

START_TEST(sgd_fits_toy_set) {
  static const fs_cfg_model kinds[] = {FS_CFG_MODEL_LOGREG,
                                       FS_CFG_MODEL_SOFTMAX, FS_CFG_MODEL_MLP};
  fs_cfg_model kind = kinds[_i];
  size_t classes = kind == FS_CFG_MODEL_SOFTMAX ? 3 : 2;
  shape s = spec_of(kind, 2, classes, 1);
  if (kind == FS_CFG_MODEL_MLP) {
    s.n_hidden = 1;
    s.hidden[0] = 16;
  }
  const size_t n = 64, batch = 8;
  fs_model *m = new_ok(&s, 16);
  size_t dim = fs_model_dim(m);
  fs_rng r;
  fs_rng_init(&r, 13, FS_RNG_TEST, (uint64_t)_i, 0);
  float x[2 * 64], *w = malloc(dim * sizeof *w), *g = malloc(dim * sizeof *g);
  int32_t y[64];
  toy_set(kind, classes, n, x, y, &r);
  fs_model_init_params(m, w, &r);

  double first = fs_model_loss_grad(m, w, x, y, n, NULL);
  for (int epoch = 0; epoch < 40; epoch++)
    for (size_t b = 0; b < n; b += batch) {
      fs_model_loss_grad(m, w, x + 2 * b, y + b, batch, g);
      for (size_t j = 0; j < dim; j++)
        w[j] -= 0.2f * g[j];
    }
  double last = fs_model_loss_grad(m, w, x, y, n, NULL);
  ck_assert_msg(last < 0.1 * first, "%s: loss %g -> %g",
                fs_model_type_at(kind)->base.name, first, last);
  ck_assert_uint_eq(fs_model_correct(m, w, x, y, n), n);
  free(w);
  free(g);
  fs_model_free(m);
}
END_TEST

/* ---- predictions on hand-made parameters ------------------------------- */

START_TEST(correct_logreg_by_hand) {
  shape s = spec_of(FS_CFG_MODEL_LOGREG, 2, 2, 1);
  fs_model *m = new_ok(&s, 4);
  const float w[3] = {1.0f, -1.0f, 0.5f}; /* class 1 iff x0 - x1 + 0.5 > 0 */
  const float x[] = {1, 0, 0, 1, 0, 0.5f, 0, 0, -3, 1};
  /* logits: 1.5, -0.5, 0 (exactly 0: class 0), 0.5, -3.5 */
  const int32_t all_right[] = {1, 0, 0, 1, 0};
  const int32_t two_wrong[] = {0, 0, 1, 1, 0};
  ck_assert_uint_eq(fs_model_correct(m, w, x, all_right, 5), 5);
  ck_assert_uint_eq(fs_model_correct(m, w, x, two_wrong, 5), 3);
  ck_assert_uint_eq(fs_model_correct(m, w, x, all_right, 0), 0);
  fs_model_free(m);

  /* Without bias the same weights give 1, -1, -0.5, 0, -4. */
  s.bias = 0;
  m = new_ok(&s, 2);
  const int32_t nb[] = {1, 0, 0, 0, 0};
  ck_assert_uint_eq(fs_model_correct(m, w, x, nb, 5), 5);
  fs_model_free(m);
}
END_TEST

START_TEST(correct_softmax_by_hand) {
  /* W rows pick features: class k scores x_k + b_k. */
  shape s = spec_of(FS_CFG_MODEL_SOFTMAX, 3, 3, 1);
  fs_model *m = new_ok(&s, 2);
  const float w[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, /* b */ 0, 0, 0.5f};
  const float x[] = {3, 1, 2, 0, 2, 1, 0, 0, 0, 1, 1, 0};
  /* scores: (3,1,2.5) -> 0; (0,2,1.5) -> 1; (0,0,0.5) -> 2;
   * (1,1,0.5): tie between 0 and 1 -> 0 (lowest class). */
  const int32_t y[] = {0, 1, 2, 0};
  ck_assert_uint_eq(fs_model_correct(m, w, x, y, 4), 4);
  const int32_t y2[] = {2, 1, 0, 1};
  ck_assert_uint_eq(fs_model_correct(m, w, x, y2, 4), 1);
  fs_model_free(m);
}
END_TEST

START_TEST(correct_mlp_by_hand) {
  /* 2 -> 2 -> 2 with identity weights: class = argmax(relu(x + b1) + b2). */
  shape s = spec_of(FS_CFG_MODEL_MLP, 2, 2, 1);
  s.n_hidden = 1;
  s.hidden[0] = 2;
  fs_model *m = new_ok(&s, 3);
  ck_assert_uint_eq(fs_model_dim(m), 12);
  float w[12] = {1, 0, 0, 1, /* b1 */ 0, 0, /* W2 */ 1, 0, 0, 1, /* b2 */ 0, 0};
  const float x[] = {1, 0, 0, 1, -1, -2, -3, 0.5f};
  /* relu: (1,0) -> 0; (0,1) -> 1; (0,0) tie -> 0; (0,0.5) -> 1 */
  const int32_t y[] = {0, 1, 0, 1};
  ck_assert_uint_eq(fs_model_correct(m, w, x, y, 4), 4);
  /* A negative hidden bias on unit 1 kills it: (0,1) and (0,0.5) now tie. */
  w[5] = -2.0f;
  ck_assert_uint_eq(fs_model_correct(m, w, x, y, 4), 2);
  /* An output bias for class 1 wins every tie. */
  w[11] = 0.1f;
  const int32_t y3[] = {0, 1, 1, 1};
  ck_assert_uint_eq(fs_model_correct(m, w, x, y3, 4), 4);
  fs_model_free(m);
}
END_TEST

/* ---- shapes ------------------------------------------------------------ */

START_TEST(dims_and_layers) {
  size_t off[8], len[8];
  shape s = spec_of(FS_CFG_MODEL_LOGREG, 5, 2, 1);
  fs_model *m = new_ok(&s, 1);
  ck_assert_uint_eq(fs_model_dim(m), 6);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 8), 2);
  ck_assert_uint_eq(off[0], 0);
  ck_assert_uint_eq(len[0], 5);
  ck_assert_uint_eq(off[1], 5);
  ck_assert_uint_eq(len[1], 1);
  fs_model_free(m);

  s.bias = 0;
  m = new_ok(&s, 1);
  ck_assert_uint_eq(fs_model_dim(m), 5);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 8), 1);
  ck_assert_uint_eq(len[0], 5);
  fs_model_free(m);

  s = spec_of(FS_CFG_MODEL_SOFTMAX, 784, 10, 1);
  m = new_ok(&s, 32);
  ck_assert_uint_eq(fs_model_dim(m), 7850);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 8), 2);
  ck_assert_uint_eq(off[1], 7840);
  ck_assert_uint_eq(len[1], 10);
  fs_model_free(m);

  s = spec_of(FS_CFG_MODEL_MLP, 784, 10, 1);
  s.n_hidden = 2;
  s.hidden[0] = 256;
  s.hidden[1] = 128;
  m = new_ok(&s, 32);
  ck_assert_uint_eq(fs_model_dim(m),
                    784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 8), 6);
  const size_t want_off[6] = {0, 200704, 200960, 233728, 233856, 235136};
  const size_t want_len[6] = {200704, 256, 32768, 128, 1280, 10};
  for (int i = 0; i < 6; i++) {
    ck_assert_uint_eq(off[i], want_off[i]);
    ck_assert_uint_eq(len[i], want_len[i]);
  }
  fs_model_free(m);

  s.bias = 0;
  m = new_ok(&s, 32);
  ck_assert_uint_eq(fs_model_dim(m), 235136 - 256 - 128);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 8), 3);
  ck_assert_uint_eq(off[1], 200704);
  ck_assert_uint_eq(off[2], 200704 + 32768);
  ck_assert_uint_eq(len[2], 1280);
  ck_assert_uint_eq(fs_model_get_spec(m)->n_layers, 3); /* 2 hidden */
  fs_model_free(m);
}
END_TEST

START_TEST(init_params) {
  fs_rng r;
  shape s = spec_of(FS_CFG_MODEL_SOFTMAX, 4, 3, 1);
  fs_model *m = new_ok(&s, 1);
  float w[64];
  memset(w, 0xff, sizeof w);
  fs_model_init_params(m, w, NULL);
  for (size_t j = 0; j < fs_model_dim(m); j++)
    ck_assert(w[j] == 0.0f);
  fs_model_free(m);

  s = spec_of(FS_CFG_MODEL_MLP, 4, 3, 1);
  s.n_hidden = 1;
  s.hidden[0] = 5;
  m = new_ok(&s, 1);
  ck_assert_uint_eq(fs_model_dim(m), 20 + 5 + 15 + 3);
  fs_rng_init(&r, 5, FS_RNG_MODEL_INIT, 0, 0);
  fs_model_init_params(m, w, &r);
  /* Draws in parameter order: W1 (limit sqrt(6/9)), then W2 (sqrt(6/8)). */
  fs_rng_init(&r, 5, FS_RNG_MODEL_INIT, 0, 0);
  for (size_t j = 0; j < 20; j++)
    ck_assert(w[j] ==
              (float)((2.0 * fs_rng_uniform(&r) - 1.0) * sqrt(6.0 / 9.0)));
  for (size_t j = 20; j < 25; j++)
    ck_assert(w[j] == 0.0f);
  for (size_t j = 25; j < 40; j++)
    ck_assert(w[j] ==
              (float)((2.0 * fs_rng_uniform(&r) - 1.0) * sqrt(6.0 / 8.0)));
  for (size_t j = 40; j < 43; j++)
    ck_assert(w[j] == 0.0f);
  fs_model_free(m);
}
END_TEST

START_TEST(kind_names) {
  static const fs_cfg_model kinds[] = {FS_CFG_MODEL_LOGREG,
                                       FS_CFG_MODEL_SOFTMAX, FS_CFG_MODEL_MLP};
  for (int i = 0; i < 3; i++) {
    const fs_model_type *row = fs_model_type_at(kinds[i]);
    ck_assert_ptr_eq(fs_model_type_find(row->base.name), row);
  }
  ck_assert_uint_eq(fs_model_type_count(), 3);
  ck_assert_str_eq(fs_model_type_at(FS_CFG_MODEL_LOGREG)->base.name, "logreg");
  ck_assert_str_eq(fs_model_type_at(FS_CFG_MODEL_SOFTMAX)->base.name,
                   "softmax");
  ck_assert_str_eq(fs_model_type_at(FS_CFG_MODEL_MLP)->base.name, "mlp");
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

START_TEST(zero_rows_is_regulariser_only) {
  shape s = spec_of(FS_CFG_MODEL_SOFTMAX, 3, 2, 1);
  s.l2 = 0.5;
  s.nonconvex_lambda = 0.1;
  fs_model *m = new_ok(&s, 4);
  const float w[8] = {1, -2, 0, 0.5f, 3, 0, -1, 0.25f};
  float g[8];
  memset(g, 0x7f, sizeof g); /* must be overwritten */
  double loss = fs_model_loss_grad(m, w, NULL, NULL, 0, g);
  double want = 0.0;
  for (int j = 0; j < 8; j++) {
    double v = w[j];
    want += 0.25 * v * v + 0.1 * v * v / (1 + v * v);
    double gw = 0.5 * v + 0.2 * v / ((1 + v * v) * (1 + v * v));
    ck_assert_msg(fabs(g[j] - gw) <= 1e-6, "g[%d] = %g, want %g", j,
                  (double)g[j], gw);
  }
  ck_assert(fabs(loss - want) <= 1e-12);
  ck_assert_uint_eq(fs_model_correct(m, w, NULL, NULL, 0), 0);
  fs_model_free(m);

  /* No regulariser: zero loss, zero gradient. */
  s = spec_of(FS_CFG_MODEL_LOGREG, 3, 2, 0);
  m = new_ok(&s, 4);
  memset(g, 0x7f, sizeof g);
  ck_assert(fs_model_loss_grad(m, w, NULL, NULL, 0, g) == 0.0);
  for (int j = 0; j < 3; j++)
    ck_assert(g[j] == 0.0f);
  fs_model_free(m);
}
END_TEST

START_TEST(grad_overwrites_garbage) {
  shape s = spec_of(FS_CFG_MODEL_MLP, 3, 2, 1);
  s.n_hidden = 2;
  s.hidden[0] = 4;
  s.hidden[1] = 3;
  fs_model *m = new_ok(&s, 2);
  size_t dim = fs_model_dim(m);
  fs_rng r;
  fs_rng_init(&r, 14, FS_RNG_TEST, 0, 0);
  float w[64], g1[64], g2[64], x[15];
  int32_t y[5];
  fill_normal(&r, x, 15, 1.0);
  fill_labels(&r, y, 5, 2);
  random_params(m, w, &r);
  memset(g1, 0, sizeof g1);
  memset(g2, 0x7f, sizeof g2);
  fs_model_loss_grad(m, w, x, y, 5, g1);
  fs_model_loss_grad(m, w, x, y, 5, g2);
  for (size_t j = 0; j < dim; j++)
    ck_assert(g1[j] == g2[j]);
  fs_model_free(m);
}
END_TEST

START_TEST(extreme_logits_stay_finite) {
  /* logreg: margins of +-1000. */
  shape s = spec_of(FS_CFG_MODEL_LOGREG, 1, 2, 0);
  fs_model *m = new_ok(&s, 4);
  const float w[1] = {1000.0f};
  const float x[2] = {1.0f, 1.0f};
  const int32_t y[2] = {1, 0}; /* margin +1000: loss ~0; -1000: loss 1000 */
  float g[1];
  double loss = fs_model_loss_grad(m, w, x, y, 2, g);
  ck_assert(fabs(loss - 500.0) <= 1e-9);
  ck_assert(fabs(g[0] - 0.5f) <= 1e-6); /* (0 + 1)/2 */
  fs_model_free(m);

  /* softmax: logits of 1e4 and -1e4. */
  s = spec_of(FS_CFG_MODEL_SOFTMAX, 1, 3, 0);
  m = new_ok(&s, 4);
  const float ws[3] = {1e4f, 0.0f, -1e4f};
  const int32_t ys[2] = {0, 2};
  float gs[3];
  loss = fs_model_loss_grad(m, ws, x, ys, 2, gs);
  ck_assert(fabs(loss - 1e4) <= 1e-3); /* 0 and 2e4, mean 1e4 */
  /* Row 1 is exact; row 2 gives (1, 0, -1); the mean halves it. */
  ck_assert(fabs(gs[0] - 0.5f) <= 1e-6 && fabs(gs[1]) <= 1e-6 &&
            fabs(gs[2] + 0.5f) <= 1e-6);
  fs_model_free(m);
}
END_TEST

START_TEST(many_rows_odd_chunks) {
  /* 1000 rows in chunks of 33 (the last has 10) against one chunk of 1000. */
  shape s = spec_of(FS_CFG_MODEL_MLP, 20, 5, 1);
  s.n_hidden = 1;
  s.hidden[0] = 17;
  const size_t n = 1000;
  fs_model *a = new_ok(&s, 33), *b = new_ok(&s, n);
  size_t dim = fs_model_dim(a);
  fs_rng r;
  fs_rng_init(&r, 15, FS_RNG_TEST, 0, 0);
  float *x = malloc(n * 20 * sizeof *x), *w = malloc(dim * sizeof *w);
  float *ga = malloc(dim * sizeof *ga), *gb = malloc(dim * sizeof *gb);
  int32_t *y = malloc(n * sizeof *y);
  fill_normal(&r, x, n * 20, 1.0);
  fill_labels(&r, y, n, 5);
  random_params(a, w, &r);
  double la = fs_model_loss_grad(a, w, x, y, n, ga);
  double lb = fs_model_loss_grad(b, w, x, y, n, gb);
  ck_assert(fabs(la - lb) <= 1e-5 * fabs(lb));
  double sc = inf_norm(gb, dim);
  for (size_t j = 0; j < dim; j++)
    ck_assert(fabs(ga[j] - gb[j]) <= 1e-5 * sc);
  ck_assert_uint_eq(fs_model_correct(a, w, x, y, n),
                    fs_model_correct(b, w, x, y, n));
  free(x);
  free(w);
  free(ga);
  free(gb);
  free(y);
  fs_model_free(a);
  fs_model_free(b);
}
END_TEST

START_TEST(layers_cap) {
  shape s = spec_of(FS_CFG_MODEL_MLP, 3, 2, 1);
  s.n_hidden = 2;
  s.hidden[0] = 4;
  s.hidden[1] = 3;
  fs_model *m = new_ok(&s, 1);
  size_t off[3] = {99, 99, 99}, len[3] = {99, 99, 99};
  ck_assert_uint_eq(fs_model_layers(m, NULL, NULL, 0), 6);
  ck_assert_uint_eq(fs_model_layers(m, off, len, 2), 6);
  ck_assert_uint_eq(off[0], 0);
  ck_assert_uint_eq(len[0], 12);
  ck_assert_uint_eq(off[1], 12);
  ck_assert_uint_eq(len[1], 4);
  ck_assert_uint_eq(off[2], 99); /* beyond cap: untouched */
  fs_model_free(m);
}
END_TEST

START_TEST(spec_is_normalised) {
  shape s = spec_of(FS_CFG_MODEL_SOFTMAX, 3, 4, 7);
  s.n_hidden = 3; /* ignored for softmax */
  s.hidden[0] = 9;
  fs_model *m = new_ok(&s, 1);
  const fs_model_spec *g = fs_model_get_spec(m);
  ck_assert_int_eq(g->layer[0].bias, 1);
  ck_assert_uint_eq(g->n_layers, 1); /* no hidden layers */
  ck_assert_uint_eq(g->layer[1].out, 0);
  ck_assert_uint_eq(fs_model_dim(m), 12 + 4);
  fs_model_free(m);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

static void expect_config_error(const shape *s, size_t max_batch,
                                const char *word) {
  fs_model *m = (fs_model *)&m; /* must be reset to NULL */
  fs_err err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(build(s, max_batch, &m, &err), FS_ECONFIG);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(err.status, FS_ECONFIG);
  ck_assert_msg(strstr(err.msg, word) != NULL, "message '%s' lacks '%s'",
                err.msg, word);
  /* A NULL err is allowed. */
  ck_assert_int_eq(build(s, max_batch, &m, NULL), FS_ECONFIG);
  ck_assert_ptr_null(m);
}

START_TEST(new_rejects_bad_shapes) {
  shape s = spec_of(FS_CFG_MODEL_LOGREG, 4, 3, 1);
  expect_config_error(&s, 8, "logreg");
  s.classes = 1;
  expect_config_error(&s, 8, "logreg");
  s = spec_of(FS_CFG_MODEL_SOFTMAX, 4, 1, 1);
  expect_config_error(&s, 8, "classes");
  s.classes = 0;
  expect_config_error(&s, 8, "classes");
  s = spec_of(FS_CFG_MODEL_SOFTMAX, 0, 3, 1);
  expect_config_error(&s, 8, "in_dim");
  s = spec_of(FS_CFG_MODEL_MLP, 4, 3, 1);
  expect_config_error(&s, 8, "hidden");
  s.n_hidden = FS_MODEL_MAX_HIDDEN + 1;
  expect_config_error(&s, 8, "hidden");
  s.n_hidden = 3;
  s.hidden[0] = 4;
  s.hidden[1] = 0;
  s.hidden[2] = 4;
  expect_config_error(&s, 8, "zero width");
  s.hidden[1] = 4;
  expect_config_error(&s, 0, "max_batch");
  s.l2 = -1.0;
  expect_config_error(&s, 8, "l2");
  s.l2 = NAN;
  expect_config_error(&s, 8, "l2");
  s.l2 = 0.0;
  s.nonconvex_lambda = -0.1;
  expect_config_error(&s, 8, "nonconvex_lambda");
  s.nonconvex_lambda = INFINITY;
  expect_config_error(&s, 8, "nonconvex_lambda");
  s = spec_of((fs_cfg_model)7, 4, 3, 1); /* beyond the model table */
  expect_config_error(&s, 8, "kind");
  s = spec_of(FS_CFG_MODEL_SOFTMAX, (size_t)1 << 40, 3, 1);
  expect_config_error(&s, 8, "too large");
  s = spec_of(FS_CFG_MODEL_SOFTMAX, 4, 3, 1);
  expect_config_error(&s, (size_t)1 << 62, "too large");
}
END_TEST

/* The layer lists of today's rows, and the rules each row checks. */
START_TEST(rows_build_layer_lists) {
  shape s = spec_of(FS_CFG_MODEL_MLP, 5, 3, 1);
  s.n_hidden = 2;
  s.hidden[0] = 4;
  s.hidden[1] = 6;
  fs_model *m = new_ok(&s, 1);
  const fs_model_spec *g = fs_model_get_spec(m);
  ck_assert_uint_eq(g->n_layers, 3);
  ck_assert_int_eq(g->loss, FS_LOSS_SOFTMAX_CE);
  const size_t want[3] = {4, 6, 3};
  for (size_t l = 0; l < 3; l++) {
    ck_assert_int_eq(g->layer[l].kind, FS_LAYER_DENSE);
    ck_assert_uint_eq(g->layer[l].out, want[l]);
    ck_assert_int_eq(g->layer[l].act, l < 2 ? FS_ACT_RELU : FS_ACT_NONE);
    ck_assert_int_eq(g->layer[l].init, FS_INIT_GLOROT);
  }
  fs_model_free(m);
  s = spec_of(FS_CFG_MODEL_LOGREG, 5, 2, 0);
  m = new_ok(&s, 1);
  g = fs_model_get_spec(m);
  ck_assert_uint_eq(g->n_layers, 1);
  ck_assert_uint_eq(g->layer[0].out, 1);
  ck_assert_int_eq(g->layer[0].init, FS_INIT_ZERO);
  ck_assert_int_eq(g->loss, FS_LOSS_LOGISTIC);
  fs_model_free(m);

  /* logreg's configuration rule (was in fs_config_validate). */
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  const fs_choice *lr = &fs_model_type_logreg.base;
  c.data_source = FS_CFG_DATA_SYNTHETIC;
  c.synth_classes = 3;
  ck_assert_int_eq(lr->check(&c, &e), FS_ECONFIG);
  ck_assert_str_eq(e.msg, "model.type: logreg is binary but "
                          "data.synthetic.classes is 3");
  c.synth_classes = 2;
  ck_assert_int_eq(lr->check(&c, &e), FS_OK);
  c.synth_classes = 3;
  c.data_source = FS_CFG_DATA_LIBSVM;
  ck_assert_int_eq(lr->check(&c, &e), FS_OK);
  /* ... and through the configuration. */
  fs_config_defaults(&c);
  ck_assert_int_eq(fs_config_set(&c, "model.type", "logreg", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "logreg is binary"));
  ck_assert(fs_model_type_softmax.base.check == NULL);
}
END_TEST

/* A layer list the engine cannot run yet. */
static void expect_spec_error(const fs_model_spec *s, const char *word) {
  fs_model *m = NULL;
  fs_err e = {0};
  ck_assert_int_eq(fs_model_new(s, 4, &m, &e), FS_ECONFIG);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(e.msg, word) != NULL, "message '%s' lacks '%s'", e.msg,
                word);
}

START_TEST(new_rejects_bad_layer_lists) {
  fs_model_spec s;
  memset(&s, 0, sizeof s);
  s.in_dim = 4;
  s.classes = 3;
  s.loss = FS_LOSS_SOFTMAX_CE;
  expect_spec_error(&s, "layers");
  fs_model_add_dense(&s, 3, 1, FS_ACT_RELU, FS_INIT_ZERO);
  expect_spec_error(&s, "no activation on the last");
  s.layer[0].act = FS_ACT_NONE;
  s.layer[0].out = 2;
  expect_spec_error(&s, "the loss takes 3");
  s.layer[0].out = 0;
  expect_spec_error(&s, "zero width");
  s.layer[0].out = 5;
  fs_model_add_dense(&s, 3, 1, FS_ACT_NONE, FS_INIT_ZERO);
  expect_spec_error(&s, "ReLU between");
  s.layer[0].act = FS_ACT_RELU;
  s.layer[1].kind = (fs_layer_kind)9;
  expect_spec_error(&s, "unknown kind");
  s.layer[1].kind = FS_LAYER_DENSE;
  s.layer[1].init = (fs_init)9;
  expect_spec_error(&s, "unknown init");
  s.layer[1].init = FS_INIT_GLOROT;
  s.loss = (fs_loss)9;
  expect_spec_error(&s, "unknown loss");
  s.loss = FS_LOSS_LOGISTIC;
  expect_spec_error(&s, "logistic loss needs classes == 2");
  s.loss = FS_LOSS_SOFTMAX_CE;
  fs_model *m = NULL;
  ck_assert_int_eq(fs_model_new(&s, 4, &m, NULL), FS_OK);
  ck_assert_uint_eq(fs_model_dim(m), 4 * 5 + 5 + 5 * 3 + 3);
  fs_model_free(m);
}
END_TEST

START_TEST(free_null_and_bad_names) {
  fs_model_free(NULL);
  const char *bad[] = {"", "LogReg", "mlp2", "soft", " softmax", "cnn"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_ptr_null(fs_model_type_find(bad[i]));
  ck_assert_ptr_null(fs_model_type_find(NULL));
  ck_assert_ptr_null(fs_model_type_at(42));
}
END_TEST

/* A label out of range is a programmer mistake: abort (fork mode only). */
START_TEST(bad_label_aborts) {
  shape s = spec_of(FS_CFG_MODEL_SOFTMAX, 1, 3, 0);
  fs_model *m = new_ok(&s, 2);
  const float w[3] = {0}, x[1] = {1};
  const int32_t y[1] = {_i == 0 ? 3 : -1};
  fs_model_loss_grad(m, w, x, y, 1, NULL);
}
END_TEST

START_TEST(bad_logreg_label_aborts) {
  shape s = spec_of(FS_CFG_MODEL_LOGREG, 1, 2, 0);
  fs_model *m = new_ok(&s, 2);
  const float w[1] = {0}, x[1] = {1};
  const int32_t y[1] = {2};
  fs_model_loss_grad(m, w, x, y, 1, NULL);
}
END_TEST

static Suite *model_suite(void) {
  Suite *su = suite_create("model");
  const int n_grad = (int)(sizeof grad_cases / sizeof grad_cases[0]);

  TCase *core = tcase_create("core");
  tcase_add_loop_test(core, grad_matches_finite_differences, 0, n_grad);
  tcase_add_loop_test(core, chunking_gives_same_result, 0, n_grad);
  tcase_add_loop_test(core, sgd_fits_toy_set, 0, 3);
  tcase_add_test(core, correct_logreg_by_hand);
  tcase_add_test(core, correct_softmax_by_hand);
  tcase_add_test(core, correct_mlp_by_hand);
  tcase_add_test(core, dims_and_layers);
  tcase_add_test(core, init_params);
  tcase_add_test(core, kind_names);
  suite_add_tcase(su, core);

  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, zero_rows_is_regulariser_only);
  tcase_add_test(limits, grad_overwrites_garbage);
  tcase_add_test(limits, extreme_logits_stay_finite);
  tcase_add_test(limits, many_rows_odd_chunks);
  tcase_add_test(limits, layers_cap);
  tcase_add_test(limits, spec_is_normalised);
  suite_add_tcase(su, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, new_rejects_bad_shapes);
  tcase_add_test(errors, free_null_and_bad_names);
  tcase_add_test(errors, rows_build_layer_lists);
  tcase_add_test(errors, new_rejects_bad_layer_lists);
  const char *fork = getenv("CK_FORK");
  if (fork == NULL || strcmp(fork, "no") != 0) {
    tcase_add_loop_test_raise_signal(errors, bad_label_aborts, SIGABRT, 0, 2);
    tcase_add_test_raise_signal(errors, bad_logreg_label_aborts, SIGABRT);
  }
  suite_add_tcase(su, errors);
  return su;
}

FS_TEST_MAIN(model_suite)
