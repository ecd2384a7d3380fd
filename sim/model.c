/*
 * model.c — the model engine: a stack of dense layers on OpenBLAS
 * (float32) with the logistic or softmax loss, its gradient and the count of
 * correct predictions over any number of rows (the spec is a layer list,
 * model.h; the model table in sim/model_type.c builds it).
 *
 * Parameter layout (one flat float vector, fs_model_dim() entries): for each
 * dense layer l, input -> out_1 -> ... -> out_L, W_l (out x in, row-major),
 * then b_l[out] if the layer has a bias. So logreg is w[in_dim] then b,
 * softmax W (classes x in_dim) then b[classes], and the MLP its layers in
 * order (docs/architecture.md, "Adding a model"). fs_model_layers() reports
 * each W and each b as a layer of its own. The regularisers (l2/2)||w||^2
 * and lambda sum w^2/(1+w^2) apply to every parameter, biases included.
 *
 * Rows go through in chunks of at most max_batch, so all workspace is
 * allocated once in fs_model_new: for each layer l its output
 * (max_batch x width[l]; for the last layer the logits, for hidden layers
 * the ReLU outputs), plus one scratch block (max_batch x widest hidden
 * layer) for the backward product dZ W. A chunk's forward pass is one sgemm
 * per layer (Z = A W^T), the bias and the ReLU are added in one pass over
 * Z. The one logit of the logistic loss is a matrix-vector product (sgemv):
 * it was so before the layer list, and sgemm with one column does not give
 * the same bits, so that branch stays (per layer, set in fs_model_new).
 * The loss pass turns the logits into dL/dZ scaled by 1/n in place, so
 * every product of the backward pass (dW = dZ^T A with beta = 1 after the
 * first chunk, dA = dZ W) already yields the mean over all n rows; bias
 * gradients are summed in the pass that makes each dZ.
 */
#include "model.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS__MODEL_MAX_DENSE FS_MODEL_MAX_LAYERS

struct fs_model {
  fs_model_spec spec; /* normalised copy */
  size_t dim;         /* parameters */
  size_t max_batch;
  size_t n_dense;                        /* dense layers */
  size_t width[FS__MODEL_MAX_DENSE + 1]; /* width[0] = in_dim */
  size_t w_off[FS__MODEL_MAX_DENSE + 1]; /* offset of W_l, l = 1..n_dense */
  size_t b_off[FS__MODEL_MAX_DENSE + 1]; /* offset of b_l (if bias[l]) */
  int bias[FS__MODEL_MAX_DENSE + 1];     /* layer l has a bias */
  int gemv[FS__MODEL_MAX_DENSE + 1];     /* layer l is the logistic logit */
  float *out[FS__MODEL_MAX_DENSE + 1];   /* out[l]: outputs of layer l */
  float *scratch; /* max_batch x widest hidden layer (2+ layers only) */
  float *block;   /* the one allocation behind out[] and scratch */
};

_Noreturn static void misuse(const char *what) {
  fprintf(stderr, "fedsim: model: %s\n", what);
  abort();
}

/* a * b, or 0 with *ovf set when it does not fit a size_t. */
static size_t mul_ovf(size_t a, size_t b, int *ovf) {
  if (a != 0 && b > SIZE_MAX / a) {
    *ovf = 1;
    return 0;
  }
  return a * b;
}

static size_t add_ovf(size_t a, size_t b, int *ovf) {
  if (b > SIZE_MAX - a) {
    *ovf = 1;
    return 0;
  }
  return a + b;
}

void fs_model_add_dense(fs_model_spec *s, size_t out, int bias,
                        fs_activation act, fs_init init) {
  if (s->n_layers >= FS_MODEL_MAX_LAYERS)
    misuse("fs_model_add_dense: too many layers");
  s->layer[s->n_layers++] = (fs_layer_spec){.kind = FS_LAYER_DENSE,
                                            .out = out,
                                            .bias = bias,
                                            .act = act,
                                            .init = init};
}

/* The layers: dense, none of zero width, ReLU between them and nothing on
 * the last, whose width the loss takes (1 logit or `classes`). */
static fs_status check_layers(const fs_model_spec *s, fs_err *err) {
  if (s->n_layers == 0 || s->n_layers > FS_MODEL_MAX_LAYERS)
    return fs_err_set(err, FS_ECONFIG, "model: needs 1..%d layers (got %zu)",
                      FS_MODEL_MAX_LAYERS, s->n_layers);
  for (size_t l = 0; l < s->n_layers; l++) {
    const fs_layer_spec *ly = &s->layer[l];
    int last = l + 1 == s->n_layers;
    if (ly->kind != FS_LAYER_DENSE)
      return fs_err_set(err, FS_ECONFIG, "model: layer %zu: unknown kind %d", l,
                        (int)ly->kind);
    if (ly->out == 0)
      return fs_err_set(err, FS_ECONFIG, "model: layer %zu has zero width", l);
    if (ly->act != (last ? FS_ACT_NONE : FS_ACT_RELU))
      return fs_err_set(err, FS_ECONFIG,
                        "model: layer %zu: dense layers take ReLU between "
                        "them and no activation on the last",
                        l);
    if (ly->init != FS_INIT_ZERO && ly->init != FS_INIT_GLOROT)
      return fs_err_set(err, FS_ECONFIG, "model: layer %zu: unknown init %d", l,
                        (int)ly->init);
  }
  size_t want = s->loss == FS_LOSS_LOGISTIC ? 1 : s->classes;
  if (s->layer[s->n_layers - 1].out != want)
    return fs_err_set(err, FS_ECONFIG,
                      "model: the last layer has %zu outputs, the loss takes "
                      "%zu",
                      s->layer[s->n_layers - 1].out, want);
  return FS_OK;
}

static fs_status check_spec(const fs_model_spec *s, size_t max_batch,
                            fs_err *err) {
  if (s->loss != FS_LOSS_LOGISTIC && s->loss != FS_LOSS_SOFTMAX_CE)
    return fs_err_set(err, FS_ECONFIG, "model: unknown loss %d", (int)s->loss);
  if (s->in_dim == 0)
    return fs_err_set(err, FS_ECONFIG, "model: in_dim must be > 0");
  if (s->loss == FS_LOSS_LOGISTIC && s->classes != 2)
    return fs_err_set(err, FS_ECONFIG,
                      "model: the logistic loss needs classes == 2 (got %zu)",
                      s->classes);
  if (s->classes < 2)
    return fs_err_set(err, FS_ECONFIG, "model: classes must be >= 2 (got %zu)",
                      s->classes);
  fs_status st = check_layers(s, err);
  if (st != FS_OK)
    return st;
  if (max_batch == 0)
    return fs_err_set(err, FS_ECONFIG, "model: max_batch must be > 0");
  if (!(s->l2 >= 0.0 && isfinite(s->l2)))
    return fs_err_set(err, FS_ECONFIG,
                      "model: l2 must be finite and >= 0 (got %g)", s->l2);
  if (!(s->nonconvex_lambda >= 0.0 && isfinite(s->nonconvex_lambda)))
    return fs_err_set(
        err, FS_ECONFIG,
        "model: nonconvex_lambda must be finite and >= 0 (got %g)",
        s->nonconvex_lambda);
  return FS_OK;
}

fs_status fs_model_new(const fs_model_spec *spec, size_t max_batch,
                       fs_model **out, fs_err *err) {
  if (spec == NULL || out == NULL)
    misuse("fs_model_new: NULL spec or out");
  *out = NULL;
  fs_status st = check_spec(spec, max_batch, err);
  if (st != FS_OK)
    return st;

  fs_model *m = calloc(1, sizeof *m);
  if (m == NULL)
    return fs_err_set(err, FS_ENOMEM, "model: out of memory");
  m->spec = *spec;
  for (size_t l = 0; l < FS_MODEL_MAX_LAYERS; l++) {
    if (l >= spec->n_layers)
      memset(&m->spec.layer[l], 0, sizeof m->spec.layer[l]);
    m->spec.layer[l].bias = m->spec.layer[l].bias != 0;
  }
  m->max_batch = max_batch;
  m->n_dense = spec->n_layers;
  m->width[0] = spec->in_dim;
  for (size_t l = 1; l <= m->n_dense; l++) {
    m->width[l] = m->spec.layer[l - 1].out;
    m->bias[l] = m->spec.layer[l - 1].bias;
    m->gemv[l] = spec->loss == FS_LOSS_LOGISTIC && l == m->n_dense;
  }

  /* Offsets, workspace size, and limits: BLAS takes int dimensions. */
  int ovf = 0;
  size_t dim = 0, work = 0, widest_hidden = 0;
  for (size_t l = 0; l <= m->n_dense; l++)
    if (m->width[l] > INT_MAX)
      ovf = 1;
  if (max_batch > INT_MAX)
    ovf = 1;
  for (size_t l = 1; l <= m->n_dense; l++) {
    m->w_off[l] = dim;
    dim = add_ovf(dim, mul_ovf(m->width[l], m->width[l - 1], &ovf), &ovf);
    m->b_off[l] = dim;
    if (m->bias[l])
      dim = add_ovf(dim, m->width[l], &ovf);
    /* Round each buffer up to 16 floats so each starts 64-byte aligned. */
    size_t len = mul_ovf(max_batch, m->width[l], &ovf);
    work = add_ovf(work, add_ovf(len, 15, &ovf) & ~(size_t)15, &ovf);
    if (l < m->n_dense && m->width[l] > widest_hidden)
      widest_hidden = m->width[l];
  }
  work = add_ovf(work, mul_ovf(max_batch, widest_hidden, &ovf), &ovf);
  (void)mul_ovf(work, sizeof(float), &ovf);
  if (ovf) {
    free(m);
    return fs_err_set(err, FS_ECONFIG,
                      "model: shape too large (a width or max_batch exceeds "
                      "INT_MAX, or the sizes overflow)");
  }
  m->dim = dim;

  void *block = NULL;
  if (posix_memalign(&block, 64, (work > 0 ? work : 1) * sizeof(float)) != 0) {
    free(m);
    return fs_err_set(err, FS_ENOMEM,
                      "model: out of memory for %zu floats of workspace", work);
  }
  m->block = block;
  float *p = m->block;
  for (size_t l = 1; l <= m->n_dense; l++) {
    m->out[l] = p;
    p += (max_batch * m->width[l] + 15) & ~(size_t)15;
  }
  m->scratch = widest_hidden > 0 ? p : NULL;
  *out = m;
  return FS_OK;
}

void fs_model_free(fs_model *m) {
  if (m == NULL)
    return;
  free(m->block);
  free(m);
}

size_t fs_model_dim(const fs_model *m) { return m->dim; }

const fs_model_spec *fs_model_get_spec(const fs_model *m) { return &m->spec; }

void fs_model_init_params(const fs_model *m, float *w, fs_rng *rng) {
  memset(w, 0, m->dim * sizeof *w);
  for (size_t l = 1; l <= m->n_dense; l++) {
    if (m->spec.layer[l - 1].init != FS_INIT_GLOROT)
      continue;
    if (rng == NULL)
      misuse("fs_model_init_params: Glorot initialisation needs an rng");
    size_t fan_in = m->width[l - 1], fan_out = m->width[l];
    double limit = sqrt(6.0 / (double)(fan_in + fan_out));
    float *W = w + m->w_off[l];
    for (size_t i = 0; i < fan_in * fan_out; i++)
      W[i] = (float)((2.0 * fs_rng_uniform(rng) - 1.0) * limit);
  }
}

size_t fs_model_layers(const fs_model *m, size_t *offsets, size_t *lengths,
                       size_t cap) {
  size_t k = 0;
  for (size_t l = 1; l <= m->n_dense; l++) {
    if (k < cap) {
      offsets[k] = m->w_off[l];
      lengths[k] = m->width[l] * m->width[l - 1];
    }
    k++;
    if (!m->bias[l])
      continue;
    if (k < cap) {
      offsets[k] = m->b_off[l];
      lengths[k] = m->width[l];
    }
    k++;
  }
  return k;
}

/* Forward pass of rows rows through every layer: out[l] holds the ReLU
 * outputs (bias included) of hidden layers and the logits of the last layer
 * without its bias (the loss and prediction passes add it). */
static void forward(fs_model *m, const float *w, const float *x, size_t rows) {
  const float *in = x;
  const int r = (int)rows;
  for (size_t l = 1; l <= m->n_dense; l++) {
    const int ni = (int)m->width[l - 1], no = (int)m->width[l];
    float *z = m->out[l];
    if (m->gemv[l])
      cblas_sgemv(CblasRowMajor, CblasNoTrans, r, ni, 1.0f, in, ni,
                  w + m->w_off[l], 1, 0.0f, z, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, no, ni, 1.0f, in,
                  ni, w + m->w_off[l], ni, 0.0f, z, no);
    if (l < m->n_dense) {
      const float *b = m->bias[l] ? w + m->b_off[l] : NULL;
      for (size_t i = 0; i < rows; i++) {
        float *zr = z + i * (size_t)no;
        if (b != NULL)
          for (int j = 0; j < no; j++) {
            float v = zr[j] + b[j];
            zr[j] = v > 0.0f ? v : 0.0f;
          }
        else
          for (int j = 0; j < no; j++)
            zr[j] = zr[j] > 0.0f ? zr[j] : 0.0f;
      }
    }
    in = z;
  }
}

/* Logistic loss summed over the rows of z (logits without bias b0). With
 * scale != 0, z becomes dL/dz * scale and gb (if not NULL) gains its sum. */
static double logistic_pass(float *z, const int32_t *y, size_t rows, float b0,
                            float scale, float *gb) {
  double loss = 0.0;
  float gsum = 0.0f;
  for (size_t i = 0; i < rows; i++) {
    if (y[i] != 0 && y[i] != 1)
      misuse("logreg label not 0 or 1");
    float a = z[i] + b0;
    float t = y[i] ? a : -a; /* margin y * a with y in {-1, +1} */
    float e = expf(-fabsf(t));
    float sig; /* sigma(-t) = 1/(1+exp(t)), the weight of the gradient */
    if (t > 0.0f) {
      loss += (double)log1pf(e);
      sig = e / (1.0f + e);
    } else {
      loss += (double)(-t) + (double)log1pf(e);
      sig = 1.0f / (1.0f + e);
    }
    if (scale != 0.0f) {
      float g = (y[i] ? -sig : sig) * scale;
      z[i] = g;
      gsum += g;
    }
  }
  if (gb != NULL)
    *gb += gsum;
  return loss;
}

/* Cross-entropy with a stable log-softmax, summed over the rows of z
 * (rows x c logits without bias b). With scale != 0, z becomes
 * (softmax - onehot) * scale and gb (if not NULL) gains its column sums. */
static double softmax_pass(float *z, const int32_t *y, size_t rows, size_t c,
                           const float *b, float scale, float *gb) {
  double loss = 0.0;
  for (size_t i = 0; i < rows; i++) {
    float *zr = z + i * c;
    if (y[i] < 0 || (size_t)y[i] >= c)
      misuse("label out of range 0..classes-1");
    if (b != NULL)
      for (size_t k = 0; k < c; k++)
        zr[k] += b[k];
    float mx = zr[0];
    for (size_t k = 1; k < c; k++)
      mx = zr[k] > mx ? zr[k] : mx;
    float zy = zr[y[i]];
    float s = 0.0f;
    if (scale != 0.0f) {
      for (size_t k = 0; k < c; k++) {
        zr[k] = expf(zr[k] - mx);
        s += zr[k];
      }
    } else {
      for (size_t k = 0; k < c; k++)
        s += expf(zr[k] - mx);
    }
    loss += (double)mx - (double)zy + log((double)s);
    if (scale != 0.0f) {
      float inv = scale / s;
      for (size_t k = 0; k < c; k++)
        zr[k] *= inv;
      zr[y[i]] -= scale;
      if (gb != NULL)
        for (size_t k = 0; k < c; k++)
          gb[k] += zr[k];
    }
  }
  return loss;
}

/* Backward pass of one chunk once out[n_dense] holds dL/dZ (already scaled
 * by 1/n): weight gradients are written (first chunk) or added to grad. */
static void backward(fs_model *m, const float *w, const float *x, size_t rows,
                     float *grad, int first) {
  const int r = (int)rows;
  const float beta = first ? 0.0f : 1.0f;
  for (size_t l = m->n_dense; l >= 1; l--) {
    const int ni = (int)m->width[l - 1], no = (int)m->width[l];
    const float *dz = m->out[l];
    const float *in = l == 1 ? x : m->out[l - 1];
    float *gW = grad + m->w_off[l];
    if (m->gemv[l])
      cblas_sgemv(CblasRowMajor, CblasTrans, r, ni, 1.0f, in, ni, dz, 1, beta,
                  gW, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, r, 1.0f, dz,
                  no, in, ni, beta, gW, ni);
    if (l == 1)
      break;
    /* dA = dZ W into scratch, then dZ_{l-1} = dA * [A > 0] into out[l-1]
     * (the activations are dead once used for gW above). */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, ni, no, 1.0f, dz,
                no, w + m->w_off[l], ni, 0.0f, m->scratch, ni);
    float *a = m->out[l - 1];
    float *gb = m->bias[l - 1] ? grad + m->b_off[l - 1] : NULL;
    for (size_t i = 0; i < rows; i++) {
      float *ar = a + i * (size_t)ni;
      const float *sr = m->scratch + i * (size_t)ni;
      for (int j = 0; j < ni; j++)
        ar[j] = ar[j] > 0.0f ? sr[j] : 0.0f;
      if (gb != NULL)
        for (int j = 0; j < ni; j++)
          gb[j] += ar[j];
    }
  }
}

/* Add the regularisers of w to the objective (returned) and to grad. */
static double regularise(const fs_model *m, const float *w, float *grad) {
  const double l2 = m->spec.l2, lam = m->spec.nonconvex_lambda;
  if (l2 == 0.0 && lam == 0.0)
    return 0.0;
  double reg = 0.0;
  for (size_t j = 0; j < m->dim; j++) {
    double v = w[j], q = v * v, d = 1.0 + q;
    reg += 0.5 * l2 * q + lam * q / d;
    if (grad != NULL)
      grad[j] += (float)(l2 * v + 2.0 * lam * v / (d * d));
  }
  return reg;
}

double fs_model_loss_grad(fs_model *m, const float *w, const float *x,
                          const int32_t *y, size_t n, float *grad) {
  const size_t L = m->n_dense, c = m->width[L];
  const float *b = m->bias[L] ? w + m->b_off[L] : NULL;
  float *gb = grad != NULL && m->bias[L] ? grad + m->b_off[L] : NULL;
  const float scale = grad != NULL && n > 0 ? (float)(1.0 / (double)n) : 0.0f;

  if (grad != NULL) {
    if (n == 0)
      memset(grad, 0, m->dim * sizeof *grad);
    else /* weights are written by the first chunk */
      for (size_t l = 1; l <= L; l++)
        if (m->bias[l])
          memset(grad + m->b_off[l], 0, m->width[l] * sizeof *grad);
  }
  double loss = 0.0;
  for (size_t done = 0; done < n;) {
    size_t rows = n - done < m->max_batch ? n - done : m->max_batch;
    const float *xc = x + done * m->width[0];
    forward(m, w, xc, rows);
    if (m->spec.loss == FS_LOSS_LOGISTIC)
      loss +=
          logistic_pass(m->out[L], y + done, rows, b ? b[0] : 0.0f, scale, gb);
    else
      loss += softmax_pass(m->out[L], y + done, rows, c, b, scale, gb);
    if (grad != NULL)
      backward(m, w, xc, rows, grad, done == 0);
    done += rows;
  }
  if (n > 0)
    loss /= (double)n;
  return loss + regularise(m, w, grad);
}

size_t fs_model_correct(fs_model *m, const float *w, const float *x,
                        const int32_t *y, size_t n) {
  const size_t L = m->n_dense, c = m->width[L];
  const float *b = m->bias[L] ? w + m->b_off[L] : NULL;
  size_t ok = 0;
  for (size_t done = 0; done < n;) {
    size_t rows = n - done < m->max_batch ? n - done : m->max_batch;
    forward(m, w, x + done * m->width[0], rows);
    const float *z = m->out[L];
    const int32_t *yc = y + done;
    for (size_t i = 0; i < rows; i++) {
      int32_t pred;
      if (m->spec.loss == FS_LOSS_LOGISTIC) {
        pred = z[i] + (b ? b[0] : 0.0f) > 0.0f;
      } else {
        const float *zr = z + i * c;
        size_t best = 0;
        float bv = zr[0] + (b ? b[0] : 0.0f);
        for (size_t k = 1; k < c; k++) {
          float v = zr[k] + (b ? b[k] : 0.0f);
          if (v > bv) {
            bv = v;
            best = k;
          }
        }
        pred = (int32_t)best;
      }
      ok += pred == yc[i];
    }
    done += rows;
  }
  return ok;
}
