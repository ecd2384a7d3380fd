/*
 * model.h — the models: binary logistic regression (with the optional
 * non-convex regulariser of the EF21 experiments), multinomial softmax
 * regression, and an MLP with ReLU hidden layers, on OpenBLAS (float32).
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

typedef enum {
  FS_MODEL_LOGREG = 0,
  FS_MODEL_SOFTMAX,
  FS_MODEL_MLP
} fs_model_kind;

#define FS_MODEL_MAX_HIDDEN 8

typedef struct {
  fs_model_kind kind;
  size_t in_dim;   /* features */
  size_t classes;  /* 2 for logreg; >= 2 otherwise */
  size_t n_hidden; /* MLP hidden layers */
  size_t hidden[FS_MODEL_MAX_HIDDEN];
  int bias;                /* 1: each layer has a bias vector */
  double l2;               /* adds (l2/2)*||w||^2 */
  double nonconvex_lambda; /* adds lambda * sum w^2/(1+w^2) (EF21 objective) */
} fs_model_spec;

typedef struct fs_model fs_model;

/* Create a model; max_batch bounds the rows processed in one internal chunk
 * (any n may be passed to the functions below; larger n are chunked). All
 * workspace is allocated here; the functions below never allocate.
 * Errors: FS_ECONFIG for impossible shapes (logreg with classes != 2,
 * classes < 2, in_dim == 0, an MLP without hidden layers, with more than
 * FS_MODEL_MAX_HIDDEN or with a zero width, max_batch == 0, negative or
 * non-finite l2 / nonconvex_lambda, sizes beyond BLAS's int), FS_ENOMEM. */
fs_status fs_model_new(const fs_model_spec *spec, size_t max_batch,
                       fs_model **out, fs_err *err);
void fs_model_free(fs_model *m);

/* Number of parameters. */
size_t fs_model_dim(const fs_model *m);
/* The model's copy of its spec, normalised: bias is 0 or 1, and n_hidden
 * and hidden[] are zero unless the kind is FS_MODEL_MLP. */
const fs_model_spec *fs_model_get_spec(const fs_model *m);

/* Initial parameters: zeros for logreg and softmax; for the MLP, weights
 * uniform in +-sqrt(6/(fan_in+fan_out)) (Glorot) from rng and zero biases.
 * rng may be NULL except for the MLP. */
void fs_model_init_params(const fs_model *m, float *w, fs_rng *rng);

/* Mean loss over the n rows x (n*in_dim, row-major) with labels y, plus the
 * regularisers. If grad != NULL it receives the gradient of that same
 * objective (overwritten, fs_model_dim entries). Labels for logreg are 0/1
 * (class 0 is -1 in the logistic loss). n == 0 gives the regulariser alone.
 * A label outside 0..classes-1 is a programmer mistake (the data module
 * validates labels) and aborts. */
double fs_model_loss_grad(fs_model *m, const float *w, const float *x,
                          const int32_t *y, size_t n, float *grad);

/* How many of the n rows are classified correctly: logreg predicts class 1
 * iff its logit is > 0; the others predict the arg max of the logits (the
 * lowest class on ties). */
size_t fs_model_correct(fs_model *m, const float *w, const float *x,
                        const int32_t *y, size_t n);

/* The parameter vector's layers (weights and bias of each layer are one
 * layer each): writes up to cap (offset, length) pairs, returns the total
 * count (which may exceed cap; cap = 0 with NULL arrays asks for it). */
size_t fs_model_layers(const fs_model *m, size_t *offsets, size_t *lengths,
                       size_t cap);

/* "logreg", "softmax" or "mlp"; anything else is FS_EINVAL. */
fs_status fs_model_kind_parse(const char *s, fs_model_kind *out);
/* The name parsed above; "unknown" for other values, never NULL. */
const char *fs_model_kind_name(fs_model_kind k);

#endif
