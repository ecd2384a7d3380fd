/*
 * setup.c — data, partition, model shape and profiles from a configuration.
 *
 * When a source has no test file, data.test_fraction of the rows are held
 * out with a seeded shuffle (stream FS_RNG_SPLIT), so every rank holds the
 * same split.
 */
#include "setup.h"
#include "local.h"

/* model.type and partition.method hold row indices of the model and
 * partitioner tables (model_types.def, partitioners.def). */
_Static_assert((int)FS_CFG_DIST_EXPONENTIAL == (int)FS_DIST_EXPONENTIAL &&
                   (int)FS_CFG_DIST_CONSTANT == (int)FS_DIST_CONSTANT,
               "system.dist order");

#include "clip.h"
#include "ef.h"
#include "fs_rng.h"
#include "model_type.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move a random share of ds's rows into test (both owned afterwards). */
static fs_status split_off(fs_dataset *ds, double frac, uint64_t seed,
                           fs_dataset *test, fs_err *err) {
  if (frac == 0.0) {
    /* No held-out rows: evaluate on a copy of the training set (the EF21
     * experiments train and measure on all rows). */
    *test = *ds;
    test->x = malloc(ds->n * ds->dim * sizeof(float));
    test->y = malloc(ds->n * sizeof(int32_t));
    test->label_values = NULL;
    test->group = NULL;
    test->groups = 0;
    if (test->x == NULL || test->y == NULL) {
      free(test->x);
      free(test->y);
      memset(test, 0, sizeof *test);
      return fs_err_set(err, FS_ENOMEM, "data: out of memory");
    }
    memcpy(test->x, ds->x, ds->n * ds->dim * sizeof(float));
    memcpy(test->y, ds->y, ds->n * sizeof(int32_t));
    return FS_OK;
  }
  size_t nt = (size_t)((double)ds->n * frac + 0.5);
  if (nt == 0 || nt >= ds->n)
    return fs_err_set(err, FS_ECONFIG,
                      "data.test_fraction: %g of %zu rows leaves an empty "
                      "training or test set",
                      frac, ds->n);
  uint32_t *perm = malloc(ds->n * sizeof *perm);
  fs_dataset tr = *ds, te = *ds;
  tr.n = ds->n - nt;
  te.n = nt;
  tr.x = malloc(tr.n * ds->dim * sizeof(float));
  tr.y = malloc(tr.n * sizeof(int32_t));
  te.x = malloc(te.n * ds->dim * sizeof(float));
  te.y = malloc(te.n * sizeof(int32_t));
  tr.group = te.group = NULL;
  tr.groups = te.groups = 0;
  tr.label_values = te.label_values = NULL;
  if (ds->label_values) {
    tr.label_values = malloc(ds->classes * sizeof(double));
    te.label_values = malloc(ds->classes * sizeof(double));
  }
  if (!perm || !tr.x || !tr.y || !te.x || !te.y ||
      (ds->label_values && (!tr.label_values || !te.label_values))) {
    free(perm);
    fs_dataset_free(&tr);
    fs_dataset_free(&te);
    return fs_err_set(err, FS_ENOMEM, "data: out of memory splitting rows");
  }
  if (ds->label_values) {
    memcpy(tr.label_values, ds->label_values, ds->classes * sizeof(double));
    memcpy(te.label_values, ds->label_values, ds->classes * sizeof(double));
  }
  for (size_t i = 0; i < ds->n; i++)
    perm[i] = (uint32_t)i;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SPLIT, 0, 0);
  fs_rng_shuffle_u32(&r, perm, ds->n);
  /* Keep each side in increasing row order (contiguous splits stay so). */
  size_t ti = 0, ri = 0;
  unsigned char *is_test = calloc(ds->n, 1);
  if (is_test == NULL) {
    free(perm);
    fs_dataset_free(&tr);
    fs_dataset_free(&te);
    return fs_err_set(err, FS_ENOMEM, "data: out of memory splitting rows");
  }
  for (size_t i = 0; i < nt; i++)
    is_test[perm[i]] = 1;
  for (size_t i = 0; i < ds->n; i++) {
    fs_dataset *dst = is_test[i] ? &te : &tr;
    size_t k = is_test[i] ? ti++ : ri++;
    memcpy(dst->x + k * ds->dim, ds->x + i * ds->dim, ds->dim * sizeof(float));
    dst->y[k] = ds->y[i];
  }
  free(is_test);
  free(perm);
  fs_dataset_free(ds);
  *ds = tr;
  *test = te;
  return FS_OK;
}

static fs_status load_data(const fs_config *cfg, fs_world *w, fs_err *err) {
  fs_status st;
  if (cfg->data_source == FS_CFG_DATA_SYNTHETIC) {
    fs_synth_spec s = {.alpha = cfg->synth_alpha,
                       .beta = cfg->synth_beta,
                       .dim = (size_t)cfg->synth_dim,
                       .classes = (size_t)cfg->synth_classes,
                       .groups = (size_t)cfg->synth_groups,
                       .samples = (size_t)cfg->synth_samples,
                       .test_fraction = cfg->data_test_fraction,
                       .seed = cfg->seed};
    snprintf(w->data_desc, sizeof w->data_desc, "synthetic(%g, %g), %zu groups",
             s.alpha, s.beta, s.groups);
    return fs_data_synthetic(&s, &w->train, &w->test, err);
  }
  if (cfg->data_source == FS_CFG_DATA_FASHION_MNIST) {
    snprintf(w->data_desc, sizeof w->data_desc, "fashion-mnist (%s)",
             cfg->data_dir);
    st = fs_data_load_fashion_mnist(cfg->data_dir, 1, &w->train, err);
    if (st == FS_OK)
      st = fs_data_load_fashion_mnist(cfg->data_dir, 0, &w->test, err);
    return st;
  }
  if (cfg->data_source == FS_CFG_DATA_LIBSVM) {
    snprintf(w->data_desc, sizeof w->data_desc, "libsvm (%s)", cfg->data_path);
    st = fs_data_load_libsvm(cfg->data_path, 0, NULL, &w->train, err);
    if (st != FS_OK)
      return st;
    if (cfg->data_test_path[0])
      return fs_data_load_libsvm(cfg->data_test_path, 0, &w->train, &w->test,
                                 err);
    return split_off(&w->train, cfg->data_test_fraction, cfg->seed, &w->test,
                     err);
  }
  if (cfg->data_source == FS_CFG_DATA_IDX) {
    snprintf(w->data_desc, sizeof w->data_desc, "idx (%s)", cfg->data_path);
    st =
        fs_data_load_idx(cfg->data_path, cfg->data_labels_path, &w->train, err);
    if (st != FS_OK)
      return st;
    if (cfg->data_test_path[0])
      return fs_data_load_idx(cfg->data_test_path, cfg->data_test_labels_path,
                              &w->test, err);
    return split_off(&w->train, cfg->data_test_fraction, cfg->seed, &w->test,
                     err);
  }
  return fs_err_set(err, FS_ECONFIG, "data.source: unknown '%s'",
                    FS_CFG_NAME(cfg, data_source));
}

/* L of the pooled objective and L_i of every client (rows gathered). */
static fs_status smoothness(fs_world *w, const fs_config *cfg, fs_err *err) {
  fs_smoothness *sm = &w->smooth;
  size_t N = w->part.clients, d = w->train.dim, maxrows = 0;
  for (size_t c = 0; c < N; c++) {
    size_t n = w->part.offset[c + 1] - w->part.offset[c];
    if (n > maxrows)
      maxrows = n;
  }
  sm->Li = malloc(N * sizeof *sm->Li);
  float *buf = malloc((maxrows ? maxrows : 1) * d * sizeof(float));
  if (sm->Li == NULL || buf == NULL) {
    free(buf);
    return fs_err_set(err, FS_ENOMEM, "smoothness: out of memory");
  }
  sm->n = N;
  double lam = cfg->model_nonconvex;
  fs_status st = fs_logreg_smoothness(w->train.x, w->train.n, d,
                                      cfg->model_bias, lam, &sm->L, err);
  double s1 = 0.0, s2 = 0.0;
  for (size_t c = 0; c < N && st == FS_OK; c++) {
    size_t n = w->part.offset[c + 1] - w->part.offset[c];
    for (size_t j = 0; j < n; j++)
      memcpy(buf + j * d,
             w->train.x + (size_t)w->part.rows[w->part.offset[c] + j] * d,
             d * sizeof(float));
    st = fs_logreg_smoothness(buf, n, d, cfg->model_bias, lam, &sm->Li[c], err);
    s1 += sm->Li[c];
    s2 += sm->Li[c] * sm->Li[c];
  }
  free(buf);
  if (st != FS_OK)
    return st;
  sm->L_am = s1 / (double)N;
  sm->L_qm = sqrt(s2 / (double)N);
  w->has_smooth = 1;
  return FS_OK;
}

fs_status fs_world_build(const fs_config *cfg, fs_world *w, fs_err *err) {
  memset(w, 0, sizeof *w);
  fs_status st = load_data(cfg, w, err);
  if (st != FS_OK)
    goto fail;
  if (w->test.dim != w->train.dim || w->test.classes > w->train.classes) {
    if (w->test.classes > w->train.classes && w->test.dim == w->train.dim) {
      /* The test set may show a class the training rows lack: widen. */
      w->train.classes = w->test.classes;
    } else {
      st = fs_err_set(err, FS_EFORMAT,
                      "data: test set has %zu features, training set %zu",
                      w->test.dim, w->train.dim);
      goto fail;
    }
  }
  if (w->test.classes < w->train.classes)
    w->test.classes = w->train.classes;

  /* partition.method is a row of the partitioner table; auto is natural
   * for data with groups, else iid. */
  fs_part_spec ps = {.method = fs_partitioner_at((size_t)cfg->part_method),
                     .alpha = cfg->part_alpha,
                     .shards_per_client = (size_t)cfg->part_shards,
                     .seed = cfg->seed};
  if (ps.method == &fs_partitioner_auto)
    ps.method =
        w->train.group != NULL ? &fs_partitioner_natural : &fs_partitioner_iid;
  st = fs_partition_make(&w->train, (size_t)cfg->clients, &ps, &w->part, err);
  if (st != FS_OK)
    goto fail;

  /* model.type is a row of the model table: its layer list for this data. */
  st = fs_model_spec_from_config(cfg, w->train.dim, w->train.classes, &w->mspec,
                                 err);
  if (st != FS_OK)
    goto fail;

  fs_profile_spec prs = {.spread = cfg->sys_spread,
                         .mean = {cfg->sys_speed, cfg->sys_bw_up,
                                  cfg->sys_bw_down, cfg->sys_latency},
                         .seed = cfg->seed};
  /* The fp scenario fixes job durations itself (server); the profiles are
   * then unused, and constant. */
  if (cfg->sys_dist == FS_CFG_DIST_FP)
    prs.dist = FS_DIST_CONSTANT;
  else
    prs.dist = (fs_dist)cfg->sys_dist; /* same order (asserted) */
  st = fs_profiles_new(&prs, cfg->sys_trace, (size_t)cfg->clients, &w->profiles,
                       err);
  if (st != FS_OK)
    goto fail;
  w->dp_z = cfg->dp_z;
  /* The smoothness constants are those of logistic regression. */
  if (cfg->model_kind == FS_CFG_MODEL_LOGREG &&
      ((fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_WEIGHTED) ||
       cfg->ef_stepsize == FS_CFG_STEPSIZE_THEORY)) {
    st = smoothness(w, cfg, err);
    if (st != FS_OK)
      goto fail;
  }
  return FS_OK;
fail:
  fs_world_free(w);
  return st;
}

void fs_world_free(fs_world *w) {
  if (w == NULL)
    return;
  fs_dataset_free(&w->train);
  fs_dataset_free(&w->test);
  fs_partition_free(&w->part);
  fs_profiles_free(w->profiles);
  free(w->smooth.Li);
  memset(w, 0, sizeof *w);
}

fs_status fs_comp_spec_from_config(const fs_config *cfg, int downlink,
                                   size_t dim, fs_comp_spec *spec,
                                   fs_err *err) {
  const char *key = downlink ? "compress.down" : "compress.up";
  memset(spec, 0, sizeof *spec);
  /* The row index: compress.up/down are tables (app/tables.c). */
  spec->kind =
      fs_compressor_at((size_t)(downlink ? cfg->comp_down : cfg->comp_up));
  if (downlink && (spec->kind->flags & FS_COMP_UPLINK_ONLY))
    return fs_err_set(err, FS_ECONFIG,
                      "%s: %s is an uplink compressor only (docs/"
                      "compression.md)",
                      key, spec->kind->base.name);
  spec->k = (uint32_t)(downlink ? cfg->comp_down_k : cfg->comp_up_k);
  spec->ratio = downlink ? cfg->comp_down_ratio : cfg->comp_up_ratio;
  spec->levels = (uint32_t)cfg->comp_levels;
  spec->block = (uint32_t)cfg->comp_block;
  fs_err e2 = {0};
  fs_status st = fs_comp_check(spec, (uint32_t)dim, &e2);
  if (st != FS_OK)
    return fs_err_set(err, st, "%s: %s (the model has %zu parameters)", key,
                      e2.msg, dim);
  return FS_OK;
}

fs_status fs_server_step_size(const fs_config *cfg, const fs_world *w,
                              size_t dim, double *lr, fs_err *err) {
  *lr = cfg->server_lr;
  if (cfg->ef_stepsize != FS_CFG_STEPSIZE_THEORY)
    return FS_OK;
  if (!w->has_smooth)
    return fs_err_set(err, FS_ECONFIG,
                      "ef.stepsize: theory needs the logreg model");
  fs_comp_spec up;
  fs_status st = fs_comp_spec_from_config(cfg, 0, dim, &up, err);
  if (st != FS_OK)
    return st;
  if (up.kind != &fs_compressor_topk && up.kind != &fs_compressor_identity)
    return fs_err_set(err, FS_ECONFIG,
                      "ef.stepsize: theory is defined for compress.up topk "
                      "or identity, not %s",
                      FS_CFG_NAME(cfg, comp_up));
  double alpha = (double)fs_comp_k(&up, (uint32_t)dim) / (double)dim;
  const fs_smoothness *sm = &w->smooth;
  int am = cfg->ef_l_tilde == FS_CFG_LT_AM ||
           (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_WEIGHTED);
  *lr = cfg->ef_factor * fs_ef21_gamma(sm->L, am ? sm->L_am : sm->L_qm, alpha);
  return FS_OK;
}

int64_t fs_fp_unit(const fs_config *cfg) {
  return cfg->clients > 1 ? 100 * (int64_t)(cfg->clients - 1) : 100;
}

int64_t fs_fp_ticks(const fs_config *cfg, uint32_t c) {
  return fs_fp_unit(cfg) - (int64_t)llround((double)c * cfg->sys_fp);
}

double fs_job_sim_seconds(const fs_config *cfg, const fs_world *w, uint32_t c,
                          uint64_t down_bits, uint64_t samples,
                          uint64_t up_bits) {
  if (cfg->sys_dist == FS_CFG_DIST_FP)
    return (double)fs_fp_ticks(cfg, c) / (double)fs_fp_unit(cfg);
  fs_profile pr = fs_profiles_get(w->profiles, c);
  return fs_job_seconds(&pr, down_bits, samples, up_bits);
}

double fs_dp_message_bound(const fs_config *cfg) {
  return cfg->dp_clip_norm * fs_clip_bound_factor(cfg); /* dice: 1 + ratio */
}

uint64_t fs_local_work_samples(const fs_config *cfg, size_t rows) {
  return fs_local_at((size_t)cfg->local_mode)->samples(cfg, rows);
}
