/*
 * model.h — a model as a list of layers and the engine that runs it on
 * OpenBLAS (float32): loss, gradient and predictions over any number of
 * rows (docs/architecture.md, "Adding a model").
 *
 * A model spec (fs_model_spec) is the layer list plus the loss and the
 * regularisers. Today's layers are dense layers, each with its bias, the
 * activation that follows it and its initialisation; the loss is the
 * logistic loss of one logit or the softmax cross-entropy of `classes`
 * logits. The model table (sim/model_type.h: logreg, softmax, mlp) turns
 * the configuration and the data's shape into such a spec; the layer table
 * of the deep-models issue will add layer kinds here.
 *
 * Parameters are one flat float vector of fs_model_dim() entries; the model
 * object holds only the shape and workspace (it is not shared between
 * threads). Losses are means over the rows given plus the regulariser.
 */
#ifndef FS_MODEL_H
#define FS_MODEL_H

#include "fs_rng.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_MODEL_MAX_HIDDEN 8
#define FS_MODEL_MAX_LAYERS (FS_MODEL_MAX_HIDDEN + 1)

/* Layer kinds (the layer table to come). */
typedef enum { FS_LAYER_DENSE = 0 } fs_layer_kind;

/* The activation applied to a layer's output. */
typedef enum { FS_ACT_NONE = 0, FS_ACT_RELU } fs_activation;

/* How fs_model_init_params fills a layer's weights (biases start at 0). */
typedef enum {
  FS_INIT_ZERO = 0,
  FS_INIT_GLOROT /* uniform in +-sqrt(6/(fan_in+fan_out)) */
} fs_init;

/* The loss on the last layer's outputs (the logits). */
typedef enum {
  FS_LOSS_LOGISTIC = 0, /* one logit; labels 0/1 (class 0 is -1) */
  FS_LOSS_SOFTMAX_CE    /* `classes` logits; labels 0..classes-1 */
} fs_loss;

typedef struct {
  fs_layer_kind kind;
  size_t out; /* dense: output width */
  int bias;   /* 1: the layer has a bias vector */
  fs_activation act;
  fs_init init;
} fs_layer_spec;

typedef struct {
  size_t in_dim;   /* features */
  size_t classes;  /* 2 for the logistic loss; >= 2 otherwise */
  size_t n_layers; /* 1..FS_MODEL_MAX_LAYERS */
  fs_layer_spec layer[FS_MODEL_MAX_LAYERS];
  fs_loss loss;
  double l2;               /* adds (l2/2)*||w||^2 */
  double nonconvex_lambda; /* adds lambda * sum w^2/(1+w^2) (EF21 objective) */
} fs_model_spec;

typedef struct fs_model fs_model;

/* Append a dense layer of `out` outputs to s (the caller keeps n_layers
 * within FS_MODEL_MAX_LAYERS: a programmer mistake aborts). */
void fs_model_add_dense(fs_model_spec *s, size_t out, int bias,
                        fs_activation act, fs_init init);

/* Create a model; max_batch bounds the rows processed in one internal chunk
 * (any n may be passed to the functions below; larger n are chunked). All
 * workspace is allocated here; the functions below never allocate.
 * Errors: FS_ECONFIG for impossible shapes (in_dim == 0, classes < 2, no
 * layers or more than FS_MODEL_MAX_LAYERS, a layer of zero width or of an
 * unknown kind, an activation other than ReLU between layers or any on the
 * last, a last layer whose width the loss does not take, max_batch == 0,
 * negative or non-finite l2 / nonconvex_lambda, sizes beyond BLAS's int),
 * FS_ENOMEM. */
fs_status fs_model_new(const fs_model_spec *spec, size_t max_batch,
                       fs_model **out, fs_err *err);
void fs_model_free(fs_model *m);

/* Number of parameters. */
size_t fs_model_dim(const fs_model *m);
/* The model's copy of its spec, normalised: each bias is 0 or 1, and the
 * layers beyond n_layers are zero. */
const fs_model_spec *fs_model_get_spec(const fs_model *m);

/* Initial parameters: each layer's weights by its init (zeros, or Glorot
 * draws from rng in parameter order), biases zero. rng may be NULL when no
 * layer is FS_INIT_GLOROT. */
void fs_model_init_params(const fs_model *m, float *w, fs_rng *rng);

/* Mean loss over the n rows x (n*in_dim, row-major) with labels y, plus the
 * regularisers. If grad != NULL it receives the gradient of that same
 * objective (overwritten, fs_model_dim entries). Labels for the logistic
 * loss are 0/1 (class 0 is -1). n == 0 gives the regulariser alone.
 * A label outside 0..classes-1 is a programmer mistake (the data module
 * validates labels) and aborts. */
double fs_model_loss_grad(fs_model *m, const float *w, const float *x,
                          const int32_t *y, size_t n, float *grad);

/* How many of the n rows are classified correctly: the logistic loss
 * predicts class 1 iff its logit is > 0; softmax the arg max of the logits
 * (the lowest class on ties). */
size_t fs_model_correct(fs_model *m, const float *w, const float *x,
                        const int32_t *y, size_t n);

/* The parameter vector's layers (weights and bias of each layer are one
 * layer each): writes up to cap (offset, length) pairs, returns the total
 * count (which may exceed cap; cap = 0 with NULL arrays asks for it). */
size_t fs_model_layers(const fs_model *m, size_t *offsets, size_t *lengths,
                       size_t cap);

#endif
