/*
 * data.h — data sets in memory: Fashion-MNIST (gzip IDX), LIBSVM text files
 * and a generated heterogeneous set in the style of LEAF's Synthetic(a, b).
 *
 * Every loader fills an fs_dataset that owns its arrays (fs_dataset_free).
 * Features are float32, row-major; labels are class indices 0..classes-1.
 * Corrupt or truncated input gives FS_EFORMAT / FS_ETRUNC / FS_EIO with an
 * fs_err message that names the file and what is wrong; nothing is
 * allocated on failure.
 */
#ifndef FS_DATA_H
#define FS_DATA_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t n;             /* rows */
  size_t dim;           /* features per row */
  size_t classes;       /* labels are 0..classes-1 */
  float *x;             /* n*dim, row-major; owned */
  int32_t *y;           /* n labels; owned */
  double *label_values; /* classes entries: the original label of each class
                           (LIBSVM), or NULL; owned */
  int32_t *group;       /* n natural-group ids (synthetic data), or NULL */
  size_t groups;        /* number of natural groups (0 if group == NULL) */
} fs_dataset;

/* Free the arrays of ds and zero it. NULL does nothing. */
void fs_dataset_free(fs_dataset *ds);

/* Read an IDX image file (magic 0x00000803, uint8 pixels) and its IDX label
 * file (magic 0x00000801), gzip-compressed or plain (zlib reads both).
 * Pixels are scaled to [0, 1]; classes = 1 + the largest label (<= 255).
 * Counts of the two files must agree. */
fs_status fs_data_load_idx(const char *images_path, const char *labels_path,
                           fs_dataset *out, fs_err *err);

/* Fashion-MNIST from dir (Debian: /usr/share/datasets/fashion-mnist):
 * train != 0 reads train-*-ubyte.gz, else t10k-*-ubyte.gz. */
fs_status fs_data_load_fashion_mnist(const char *dir, int train,
                                     fs_dataset *out, fs_err *err);

/* Read a LIBSVM file ("label idx:val idx:val ...", 1-based increasing ids;
 * blank lines and a last line without newline allowed) into dense rows.
 * dim: the number of features, or 0 to use the largest index seen.
 * like: NULL, or a data set (the training set) whose dim and label map this
 * one must follow (a label not in like->label_values is an error; indices
 * beyond like->dim are an error).
 * Labels are mapped to classes in increasing order of their value; for a
 * binary set the smaller label becomes class 0. */
fs_status fs_data_load_libsvm(const char *path, size_t dim,
                              const fs_dataset *like, fs_dataset *out,
                              fs_err *err);

typedef struct {
  double alpha;   /* spread of the per-group models (LEAF's alpha) */
  double beta;    /* spread of the per-group feature means (LEAF's beta) */
  size_t dim;     /* features (LEAF: 60) */
  size_t classes; /* classes (LEAF: 10) */
  size_t groups;  /* natural groups (devices) */
  size_t samples; /* total rows over all groups, train and test together */
  double test_fraction; /* of each group's rows held out for the test set */
  uint64_t seed;
} fs_synth_spec;

/* Generate Synthetic(alpha, beta) (Li et al., FedProx; LEAF): group k has
 * its own softmax model W_k ~ N(u_k, 1), u_k ~ N(0, alpha), and features
 * x ~ N(v_k, diag(j^-1.2)), v_k ~ N(B_k, 1), B_k ~ N(0, beta); label =
 * argmax(W_k x + b_k). Group sizes are lognormal. Fills train and test, both
 * with group ids. Deterministic in spec->seed. */
fs_status fs_data_synthetic(const fs_synth_spec *spec, fs_dataset *train,
                            fs_dataset *test, fs_err *err);

#endif
