/*
 * data_synth.c — LEAF's Synthetic(alpha, beta) generator: groups of rows
 * from per-group models, each group drawn from its own random streams, so
 * a group's rows do not depend on the order of work.
 */
#include "data_impl.h"

#include "fs_rng.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FS__SYNTH_MIN_GROUP 10 /* rows per generated group */
#define FS__SYNTH_MAX_DIM (1ul << 20)
#define FS__SYNTH_MAX_CLASSES (1ul << 16)

typedef struct {
  double frac;
  size_t g;
} frac_item;

static int cmp_frac_desc(const void *a, const void *b) {
  const frac_item *x = a, *y = b;
  if (x->frac != y->frac)
    return x->frac < y->frac ? 1 : -1;
  return (x->g > y->g) - (x->g < y->g);
}

/* Group sizes: FS__SYNTH_MIN_GROUP each plus the rest split in proportion
 * to lognormal(0, 1) weights (largest remainders get the leftover rows,
 * ties to the lower group). Weight g comes from stream (seed, g, round 0). */
static int synth_sizes(const fs_synth_spec *spec, size_t *size) {
  size_t G = spec->groups;
  double *w = malloc(G * sizeof(double));
  frac_item *fr = malloc(G * sizeof(frac_item));
  if (w == NULL || fr == NULL) {
    free(w);
    free(fr);
    return -1;
  }
  double wsum = 0.0;
  for (size_t g = 0; g < G; g++) {
    fs_rng r;
    fs_rng_init(&r, spec->seed, FS_RNG_SYNTH_DATA, g, 0);
    w[g] = exp(fs_rng_normal(&r));
    wsum += w[g];
  }
  size_t extra = spec->samples - FS__SYNTH_MIN_GROUP * G, given = 0;
  for (size_t g = 0; g < G; g++) {
    double share = (double)extra * (w[g] / wsum);
    size_t base = (size_t)floor(share);
    if (base > extra - given)
      base = extra - given;
    size[g] = FS__SYNTH_MIN_GROUP + base;
    given += base;
    fr[g].frac = share - (double)base;
    fr[g].g = g;
  }
  qsort(fr, G, sizeof *fr, cmp_frac_desc);
  for (size_t i = 0; given < extra; i = (i + 1) % G, given++)
    size[fr[i].g]++;
  free(w);
  free(fr);
  return 0;
}

static fs_status synth_alloc(fs_dataset *ds, size_t n, size_t dim,
                             size_t classes, size_t groups) {
  ds->n = n;
  ds->dim = dim;
  ds->classes = classes;
  ds->groups = groups;
  size_t m = n > 0 ? n : 1;
  ds->x = malloc(m * dim * sizeof(float));
  ds->y = malloc(m * sizeof(int32_t));
  ds->group = malloc(m * sizeof(int32_t));
  return ds->x != NULL && ds->y != NULL && ds->group != NULL ? FS_OK
                                                             : FS_ENOMEM;
}

fs_status fs_data_synthetic(const fs_synth_spec *spec, fs_dataset *train,
                            fs_dataset *test, fs_err *err) {
  fs_dataset tr, te;
  size_t *size = NULL;
  double *W = NULL, *b = NULL, *v = NULL, *sd = NULL, *xd = NULL;
  fs_status st = FS_OK;
  memset(&tr, 0, sizeof tr);
  memset(&te, 0, sizeof te);
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);

  size_t G = spec->groups, D = spec->dim, C = spec->classes;
  if (G == 0 || G > (size_t)INT32_MAX)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad group count %zu",
                      G);
  if (D == 0 || D > FS__SYNTH_MAX_DIM)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad dimension %zu", D);
  if (C < 2 || C > FS__SYNTH_MAX_CLASSES)
    return fs_err_set(err, FS_ECONFIG, "synthetic data: bad class count %zu",
                      C);
  if (spec->samples / FS__SYNTH_MIN_GROUP < G)
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: %zu samples for %zu groups (need at "
                      "least %d per group)",
                      spec->samples, G, FS__SYNTH_MIN_GROUP);
  if (spec->samples > FS__MAX_ROWS ||
      spec->samples > SIZE_MAX / sizeof(float) / D)
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: %zu samples is too "
                      "many",
                      spec->samples);
  if (!(spec->test_fraction >= 0.0 && spec->test_fraction < 1.0))
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: test fraction %g not in [0, 1)",
                      spec->test_fraction);
  if (!(spec->alpha >= 0.0 && isfinite(spec->alpha)) ||
      !(spec->beta >= 0.0 && isfinite(spec->beta)))
    return fs_err_set(err, FS_ECONFIG,
                      "synthetic data: alpha %g and beta %g must be finite "
                      "and >= 0",
                      spec->alpha, spec->beta);

  size = malloc(G * sizeof(size_t));
  W = malloc(D * C * sizeof(double));
  b = malloc(C * sizeof(double));
  v = malloc(D * sizeof(double));
  sd = malloc(D * sizeof(double));
  xd = malloc(D * sizeof(double));
  if (size == NULL || W == NULL || b == NULL || v == NULL || sd == NULL ||
      xd == NULL || synth_sizes(spec, size) != 0)
    goto nomem;

  size_t ntrain = 0, ntest = 0;
  for (size_t g = 0; g < G; g++) {
    size_t t = (size_t)floor(spec->test_fraction * (double)size[g] + 0.5);
    ntest += t;
    ntrain += size[g] - t;
  }
  if (synth_alloc(&tr, ntrain, D, C, G) != FS_OK ||
      synth_alloc(&te, ntest, D, C, G) != FS_OK)
    goto nomem;
  for (size_t j = 0; j < D; j++)
    sd[j] = pow((double)(j + 1), -0.6); /* sqrt of j^-1.2 */

  size_t itr = 0, ite = 0;
  for (size_t g = 0; g < G; g++) {
    fs_rng r;
    fs_rng_init(&r, spec->seed, FS_RNG_SYNTH_DATA, g, 1);
    double u = spec->alpha * fs_rng_normal(&r);
    double B = spec->beta * fs_rng_normal(&r);
    for (size_t k = 0; k < D * C; k++)
      W[k] = u + fs_rng_normal(&r);
    for (size_t c = 0; c < C; c++)
      b[c] = u + fs_rng_normal(&r);
    for (size_t j = 0; j < D; j++)
      v[j] = B + fs_rng_normal(&r);
    size_t t = (size_t)floor(spec->test_fraction * (double)size[g] + 0.5);
    size_t keep = size[g] - t;
    for (size_t i = 0; i < size[g]; i++) {
      fs_dataset *ds = i < keep ? &tr : &te;
      size_t row = i < keep ? itr++ : ite++;
      float *x = ds->x + row * D;
      for (size_t j = 0; j < D; j++) {
        x[j] = (float)(v[j] + sd[j] * fs_rng_normal(&r));
        xd[j] = x[j];
      }
      /* argmax of W^T x + b (softmax keeps the order); first on ties. */
      size_t best = 0;
      double best_z = -INFINITY;
      for (size_t c = 0; c < C; c++) {
        double z = b[c];
        for (size_t j = 0; j < D; j++)
          z += W[j * C + c] * xd[j];
        if (z > best_z) {
          best_z = z;
          best = c;
        }
      }
      ds->y[row] = (int32_t)best;
      ds->group[row] = (int32_t)g;
    }
  }
  *train = tr;
  *test = te;
  memset(&tr, 0, sizeof tr);
  memset(&te, 0, sizeof te);
  goto done;
nomem:
  st = fs_err_set(err, FS_ENOMEM, "synthetic data: out of memory");
done:
  fs_dataset_free(&tr);
  fs_dataset_free(&te);
  free(size);
  free(W);
  free(b);
  free(v);
  free(sd);
  free(xd);
  return st;
}
