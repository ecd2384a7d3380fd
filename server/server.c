/*
 * server.c — synchronous FedAvg on the virtual clock.
 *
 * Round r (1-based): sample K clients (sorted by id); send each the model in
 * a TRAIN frame (one shared body, one header per client); collect their
 * UPDATE frames in any arrival order, and fold them into the average in
 * client-id order (so the sum, and the run, do not depend on arrival order
 * or rank count); x <- x - server_lr * sum_i p_i Delta_i with p_i = n_i/sum n
 * (server.weighting = samples) or 1/K (uniform). The virtual duration of the
 * round is the longest job: latency + downlink bits / bandwidth + compute +
 * latency + uplink bits / bandwidth, with the real frame sizes.
 *
 * An update that fails to decode because of non-finite numbers is rejected,
 * counted, and left out of the average; any other malformed frame stops the
 * run with an error.
 */
#include "server.h"

#include "client.h"
#include "frame.h"
#include "fs_build.h"
#include "fs_rng.h"
#include "metrics.h"
#include "model.h"
#include "profile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

fs_status fs_sample_clients(uint64_t seed, uint64_t round, uint32_t n,
                            uint32_t k, uint32_t *out) {
  if (k > n || k == 0)
    return FS_EINVAL;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SAMPLE, 0, round);
  if (k == n) {
    for (uint32_t i = 0; i < n; i++)
      out[i] = i;
    return FS_OK;
  }
  /* Floyd: for j = n-k .. n-1, pick t in [0, j]; take t unless taken, else j.
   * Membership through an open-addressing set of 2^b >= 2k slots. */
  size_t cap = 1;
  while (cap < 2 * (size_t)k)
    cap <<= 1;
  uint32_t *set = malloc(cap * sizeof *set);
  if (set == NULL)
    return FS_ENOMEM;
  memset(set, 0xff, cap * sizeof *set);
  uint32_t m = 0;
  for (uint64_t j = (uint64_t)n - k; j < n; j++) {
    uint32_t t = (uint32_t)fs_rng_below(&r, j + 1);
    for (int pass = 0; pass < 2; pass++) {
      size_t h = ((size_t)t * 0x9E3779B1u) & (cap - 1);
      int found = 0;
      while (set[h] != UINT32_MAX) {
        if (set[h] == t) {
          found = 1;
          break;
        }
        h = (h + 1) & (cap - 1);
      }
      if (!found) {
        set[h] = t;
        out[m++] = t;
        break;
      }
      t = (uint32_t)j; /* j itself is never taken yet */
    }
  }
  free(set);
  qsort(out, k, sizeof *out, cmp_u32);
  return FS_OK;
}

typedef struct {
  const fs_config *cfg;
  const fs_world *w;
  fs_transport *t;
  fs_model *model;
  size_t dim;
  float *x, *grad;
  double *acc;
  uint32_t *sel;
  uint8_t *hdrs;    /* K headers */
  uint8_t *body;    /* shared TRAIN body */
  float **slot;     /* K decoded updates (NULL until arrived) */
  uint8_t *state;   /* K: 0 waiting, 1 arrived, 2 folded */
  double *slot_w;   /* K: weight (num_samples), 0 when rejected */
  double *job_s;    /* K: virtual seconds of the job */
  uint64_t *up_len; /* K: bytes of the UPDATE frame received */
  float **pool;     /* free update buffers */
  size_t npool;
  uint64_t rejected;
  double loss_sum, loss_w; /* clients' reported training losses this round */
} srv;

static float *pool_get(srv *s) {
  if (s->npool > 0)
    return s->pool[--s->npool];
  return malloc(s->dim * sizeof(float));
}

static void pool_put(srv *s, float *b) { s->pool[s->npool++] = b; }

typedef struct {
  double train_loss, test_loss, test_acc, grad_norm_sq;
  int has_grad;
} eval_out;

static void evaluate(srv *s, int want_grad, eval_out *e) {
  const fs_dataset *tr = &s->w->train, *te = &s->w->test;
  e->has_grad = want_grad;
  e->train_loss = fs_model_loss_grad(s->model, s->x, tr->x, tr->y, tr->n,
                                     want_grad ? s->grad : NULL);
  if (want_grad) {
    double g = 0.0;
    for (size_t j = 0; j < s->dim; j++)
      g += (double)s->grad[j] * s->grad[j];
    e->grad_norm_sq = g;
  }
  e->test_loss = fs_model_loss_grad(s->model, s->x, te->x, te->y, te->n, NULL);
  size_t ok = fs_model_correct(s->model, s->x, te->x, te->y, te->n);
  e->test_acc = te->n ? (double)ok / (double)te->n : 0.0;
}

static void human_bits(double bits, char *buf, size_t len) {
  double bytes = bits / 8.0;
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >= 1000.0 && i < 4) {
    bytes /= 1000.0;
    i++;
  }
  snprintf(buf, len, "%.1f %s", bytes, u[i]);
}

static fs_status write_model(const char *dir, const float *x, size_t dim,
                             fs_err *err) {
  size_t len = 20 + 4 * dim;
  uint8_t *b = malloc(len);
  if (b == NULL)
    return fs_err_set(err, FS_ENOMEM, "model.bin: out of memory");
  memcpy(b, "FSMODEL1", 8);
  for (int i = 0; i < 4; i++)
    b[8 + i] = (uint8_t)(1u >> (8 * i));
  for (int i = 0; i < 8; i++)
    b[12 + i] = (uint8_t)((uint64_t)dim >> (8 * i));
  for (size_t j = 0; j < dim; j++) {
    uint32_t u;
    memcpy(&u, &x[j], 4);
    for (int i = 0; i < 4; i++)
      b[20 + 4 * j + (size_t)i] = (uint8_t)(u >> (8 * i));
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/model.bin", dir);
  fs_status st = fs_write_file_atomic(path, b, len, err);
  free(b);
  return st;
}

/* Fold arrived updates into the average, in order, as far as possible. */
static void fold_ready(srv *s, uint32_t K, uint32_t *next) {
  while (*next < K && s->state[*next] == 1) {
    uint32_t i = (*next)++;
    s->state[i] = 2;
    if (s->slot[i] == NULL)
      continue; /* rejected */
    double wi = s->slot_w[i];
    const float *u = s->slot[i];
    for (size_t j = 0; j < s->dim; j++)
      s->acc[j] += wi * (double)u[j];
    pool_put(s, s->slot[i]);
    s->slot[i] = NULL;
  }
}

static fs_status receive_update(srv *s, uint32_t K, uint32_t round,
                                uint32_t version, fs_err *err) {
  int src;
  const uint8_t *buf;
  size_t len;
  fs_status st = fs_transport_recv(s->t, FS_ROLE_SERVER, &src, &buf, &len, err);
  if (st != FS_OK)
    return st;
  fs_frame_header h;
  if ((st = fs_frame_header_decode(buf, len, &h, err)) != FS_OK)
    return st;
  if (h.type != FS_MSG_UPDATE || h.round != round || h.model_version != version)
    return fs_err_set(err, FS_EFORMAT,
                      "server: unexpected frame (type %u, round %u, version "
                      "%u) while waiting for updates of round %u",
                      h.type, h.round, h.model_version, round);
  uint32_t *hit = bsearch(&h.client, s->sel, K, sizeof *s->sel, cmp_u32);
  if (hit == NULL)
    return fs_err_set(err, FS_EFORMAT,
                      "server: update from client %u, which was not sampled "
                      "in round %u",
                      h.client, round);
  uint32_t i = (uint32_t)(hit - s->sel);
  if (s->state[i] != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "server: second update from client %u in round %u",
                      h.client, round);
  s->state[i] = 1;
  fs_update_meta meta;
  const uint8_t *body = buf + FS_FRAME_HEADER_BYTES;
  fs_err e2 = {0};
  st = fs_update_meta_decode(body, h.body_len, &meta, &e2);
  float *u = NULL;
  if (st == FS_OK) {
    u = pool_get(s);
    if (u == NULL)
      return fs_err_set(err, FS_ENOMEM, "server: out of memory");
    st = fs_dense_decode(body + FS_UPDATE_META_BYTES,
                         h.body_len - FS_UPDATE_META_BYTES, u, s->dim, &e2);
  }
  if (st == FS_ENUMERIC) {
    if (s->rejected == 0)
      fprintf(stderr,
              "fedsim: warning: rejected the update of client %u in "
              "round %u: %s (rejected updates are counted in "
              "summary.json)\n",
              h.client, round, e2.msg);
    s->rejected++;
    if (u)
      pool_put(s, u);
    s->slot[i] = NULL;
  } else if (st != FS_OK) {
    if (u)
      pool_put(s, u);
    return fs_err_set(err, st, "server: update of client %u: %s", h.client,
                      e2.msg);
  } else {
    s->slot[i] = u;
    s->loss_sum += meta.train_loss * meta.num_samples;
    s->loss_w += meta.num_samples;
  }
  const fs_config *cfg = s->cfg;
  double wi = !strcmp(cfg->server_weighting, "uniform")
                  ? 1.0
                  : (double)meta.num_samples;
  s->slot_w[i] = s->slot[i] != NULL ? wi : 0.0;
  /* Virtual duration of this job, from the real frame sizes. */
  size_t rows = s->w->part.offset[h.client + 1] - s->w->part.offset[h.client];
  fs_profile pr = fs_profiles_get(s->w->profiles, h.client);
  uint64_t down_bits = 8ull * (FS_FRAME_HEADER_BYTES + fs_dense_size(s->dim));
  s->up_len[i] = len;
  s->job_s[i] = fs_job_seconds(&pr, down_bits, fs_local_work_samples(cfg, rows),
                               8ull * len);
  return FS_OK;
}

static fs_status shutdown_workers(fs_transport *t, fs_err *err) {
  uint8_t hdr[FS_FRAME_HEADER_BYTES];
  fs_frame_header h = {.type = FS_MSG_SHUTDOWN, .encoding = FS_ENC_NONE};
  fs_frame_header_encode(&h, hdr);
  fs_iov iov = {hdr, sizeof hdr};
  int W = fs_transport_workers(t);
  for (int k = 0; k < W; k++) {
    int dest = fs_transport_is_local(t) ? 0 : k + 1;
    fs_status st = fs_transport_post(t, FS_ROLE_SERVER, dest, &iov, 1, err);
    if (st != FS_OK)
      return st;
  }
  fs_status st = fs_transport_flush(t, err);
  if (st == FS_OK && fs_transport_is_local(t)) {
    /* Let the local worker see its SHUTDOWN. */
    int src;
    const uint8_t *b;
    size_t l;
    fs_transport_try_recv(t, FS_ROLE_WORKER, &src, &b, &l, NULL);
  }
  return st;
}

static int want_progress(const fs_config *cfg) {
  if (!strcmp(cfg->progress, "on"))
    return 1;
  if (!strcmp(cfg->progress, "off"))
    return 0;
  return isatty(STDOUT_FILENO);
}

static fs_status run_rounds(srv *s, const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  fs_status st;
  fs_metrics *mw = NULL;
  if ((st = fs_metrics_open(a->run_dir, &mw, err)) != FS_OK)
    return st;
  uint32_t N = (uint32_t)cfg->clients, K = (uint32_t)cfg->per_round;
  int progress = want_progress(cfg);
  int gn = !strcmp(cfg->eval_grad_norm, "on") ||
           (!strcmp(cfg->eval_grad_norm, "auto") &&
            (int64_t)s->dim <= cfg->eval_grad_norm_max_dim);
  size_t body_len = fs_dense_size(s->dim);
  uint64_t up_cum = 0, down_cum = 0;
  double vtime = 0.0, t0 = fs_transport_wtime();
  eval_out ev = {0};
  double best_acc = -1.0;
  uint64_t best_round = 0;

  /* Round 0: the initial model. */
  evaluate(s, gn, &ev);
  fs_metrics_row row = {.round = 0,
                        .has_eval = 1,
                        .train_loss = ev.train_loss,
                        .test_loss = ev.test_loss,
                        .test_acc = ev.test_acc,
                        .has_grad = gn,
                        .grad_norm_sq = ev.grad_norm_sq};
  if ((st = fs_metrics_write(mw, &row, err)) != FS_OK)
    goto out;
  best_acc = ev.test_acc;
  double last_client_loss = NAN;

  for (int64_t r = 1; r <= cfg->rounds; r++) {
    uint32_t round = (uint32_t)r, version = (uint32_t)(r - 1);
    if ((st = fs_sample_clients(cfg->seed, (uint64_t)r, N, K, s->sel)) !=
        FS_OK) {
      st = fs_err_set(err, st, "server: cannot sample clients");
      goto out;
    }
    fs_dense_encode(s->x, s->dim, s->body);
    for (uint32_t i = 0; i < K; i++) {
      fs_frame_header h = {.type = FS_MSG_TRAIN,
                           .encoding = FS_ENC_DENSE_F32,
                           .round = round,
                           .client = s->sel[i],
                           .model_version = version,
                           .body_len = (uint32_t)body_len};
      uint8_t *hb = s->hdrs + (size_t)i * FS_FRAME_HEADER_BYTES;
      fs_frame_header_encode(&h, hb);
      fs_iov iov[2] = {{hb, FS_FRAME_HEADER_BYTES}, {s->body, body_len}};
      st = fs_transport_post(s->t, FS_ROLE_SERVER,
                             fs_transport_worker_of(s->t, s->sel[i]), iov, 2,
                             err);
      if (st != FS_OK)
        goto out;
      s->state[i] = 0;
      s->slot[i] = NULL;
    }
    memset(s->acc, 0, s->dim * sizeof(double));
    s->loss_sum = s->loss_w = 0.0;
    uint64_t up_bits = 0;
    uint32_t next = 0;
    for (uint32_t got = 0; got < K; got++) {
      if ((st = receive_update(s, K, round, version, err)) != FS_OK)
        goto out;
      fold_ready(s, K, &next);
    }
    if ((st = fs_transport_flush(s->t, err)) != FS_OK)
      goto out;
    double wsum = 0.0, round_s = 0.0;
    for (uint32_t i = 0; i < K; i++) {
      wsum += s->slot_w[i];
      if (s->job_s[i] > round_s)
        round_s = s->job_s[i];
    }
    for (uint32_t i = 0; i < K; i++)
      up_bits += 8ull * s->up_len[i];
    uint64_t down_bits =
        (uint64_t)K * 8ull * (FS_FRAME_HEADER_BYTES + body_len);
    if (wsum > 0.0) {
      double scale = cfg->server_lr / wsum;
      for (size_t j = 0; j < s->dim; j++)
        s->x[j] = (float)((double)s->x[j] - scale * s->acc[j]);
    }
    up_cum += up_bits;
    down_cum += down_bits;
    vtime += round_s;
    if (s->loss_w > 0)
      last_client_loss = s->loss_sum / s->loss_w;

    int do_eval = (r % cfg->eval_every == 0) || r == cfg->rounds;
    row = (fs_metrics_row){.round = (uint64_t)r,
                           .vtime_s = vtime,
                           .wall_s = fs_transport_wtime() - t0,
                           .clients = K,
                           .bits_up = up_bits,
                           .bits_down = down_bits,
                           .bits_up_cum = up_cum,
                           .bits_down_cum = down_cum};
    if (do_eval) {
      evaluate(s, gn, &ev);
      row.has_eval = 1;
      row.train_loss = ev.train_loss;
      row.test_loss = ev.test_loss;
      row.test_acc = ev.test_acc;
      row.has_grad = gn;
      row.grad_norm_sq = ev.grad_norm_sq;
      if (ev.test_acc > best_acc) {
        best_acc = ev.test_acc;
        best_round = (uint64_t)r;
      }
      if (!isfinite(ev.train_loss))
        fprintf(stderr,
                "fedsim: warning: training loss is %g at round %lld: "
                "the run diverged (lower local.lr or server.lr)\n",
                ev.train_loss, (long long)r);
    }
    row.wall_s = fs_transport_wtime() - t0;
    if ((st = fs_metrics_write(mw, &row, err)) != FS_OK)
      goto out;
    if (progress || r == cfg->rounds ||
        r % (cfg->rounds >= 10 ? cfg->rounds / 10 : 1) == 0) {
      char ub[32], db[32];
      human_bits((double)up_cum, ub, sizeof ub);
      human_bits((double)down_cum, db, sizeof db);
      fprintf(stdout,
              "%sround %lld/%lld  acc %.4f  loss %.4f  up %s  down %s  "
              "vtime %.1fs  wall %.1fs%s",
              progress ? "\r\033[K" : "", (long long)r, (long long)cfg->rounds,
              ev.test_acc, ev.test_loss, ub, db, vtime, row.wall_s,
              progress && r < cfg->rounds ? "" : "\n");
      fflush(stdout);
    }
  }

  /* Summary. */
  {
    cJSON *sum = cJSON_CreateObject();
    if (a->build_info != NULL)
      cJSON_AddItemToObject(sum, "fedsim", (cJSON *)a->build_info);
    cJSON_AddNumberToObject(sum, "ranks", fs_transport_size(s->t));
    cJSON_AddStringToObject(sum, "clock", "virtual");
    cJSON_AddStringToObject(sum, "reproducible",
                            "yes: bit-identical for this seed on any number "
                            "of ranks (wall_s excepted)");
    cJSON *d = cJSON_AddObjectToObject(sum, "data");
    cJSON_AddStringToObject(d, "source", s->w->data_desc);
    cJSON_AddNumberToObject(d, "train_rows", (double)s->w->train.n);
    cJSON_AddNumberToObject(d, "test_rows", (double)s->w->test.n);
    cJSON_AddNumberToObject(d, "features", (double)s->w->train.dim);
    cJSON_AddNumberToObject(d, "classes", (double)s->w->train.classes);
    cJSON *m = cJSON_AddObjectToObject(sum, "model");
    cJSON_AddStringToObject(m, "type", cfg->model_kind);
    cJSON_AddNumberToObject(m, "parameters", (double)s->dim);
    cJSON *f = cJSON_AddObjectToObject(sum, "final");
    cJSON_AddNumberToObject(f, "round", (double)cfg->rounds);
    cJSON_AddNumberToObject(f, "test_acc", ev.test_acc);
    cJSON_AddNumberToObject(f, "test_loss", ev.test_loss);
    cJSON_AddNumberToObject(f, "train_loss", ev.train_loss);
    if (isfinite(last_client_loss))
      cJSON_AddNumberToObject(f, "clients_train_loss", last_client_loss);
    if (gn)
      cJSON_AddNumberToObject(f, "grad_norm_sq", ev.grad_norm_sq);
    cJSON_AddNumberToObject(f, "best_test_acc", best_acc);
    cJSON_AddNumberToObject(f, "best_round", (double)best_round);
    cJSON_AddNumberToObject(f, "bits_up", (double)up_cum);
    cJSON_AddNumberToObject(f, "bits_down", (double)down_cum);
    cJSON_AddNumberToObject(f, "bits_total", (double)(up_cum + down_cum));
    cJSON_AddNumberToObject(f, "bits_up_per_client", (double)up_cum / N);
    cJSON_AddNumberToObject(f, "bits_down_per_client", (double)down_cum / N);
    cJSON_AddNumberToObject(f, "vtime_s", vtime);
    cJSON_AddNumberToObject(f, "wall_s", fs_transport_wtime() - t0);
    cJSON_AddNumberToObject(f, "rejected_updates", (double)s->rejected);
    cJSON_AddItemToObject(sum, "config", (cJSON *)fs_config_to_json(cfg));
    char *text = cJSON_Print(sum);
    cJSON_Delete(sum);
    if (text == NULL) {
      st = fs_err_set(err, FS_ENOMEM, "summary.json: out of memory");
      goto out;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/summary.json", a->run_dir);
    size_t tl = strlen(text);
    text[tl] = '\n';
    st = fs_write_file_atomic(path, text, tl + 1, err);
    free(text);
    if (st != FS_OK)
      goto out;
    char ub[32], db[32];
    human_bits((double)up_cum, ub, sizeof ub);
    human_bits((double)down_cum, db, sizeof db);
    printf("fedsim: %lld rounds, %lld clients (%lld per round): test accuracy "
           "%.4f (best %.4f at round %llu), test loss %.4f\n"
           "fedsim: sent %s up + %s down (%.4g bits per client in all), "
           "virtual time %.1f s, wall %.1f s\n"
           "fedsim: results in %s/ (metrics.csv, summary.json%s)\n",
           (long long)cfg->rounds, (long long)cfg->clients,
           (long long)cfg->per_round, ev.test_acc, best_acc,
           (unsigned long long)best_round, ev.test_loss, ub, db,
           (double)(up_cum + down_cum) / N, vtime, fs_transport_wtime() - t0,
           a->run_dir, cfg->save_model ? ", model.bin" : "");
  }
  if (cfg->save_model)
    st = write_model(a->run_dir, s->x, s->dim, err);
out:
  fs_metrics_close(mw);
  return st;
}

fs_status fs_server_run(const fs_server_args *a, fs_err *err) {
  const fs_config *cfg = a->cfg;
  srv s = {.cfg = cfg, .w = a->world, .t = a->t};
  fs_status st = fs_model_new(&a->world->mspec, 1024, &s.model, err);
  if (st != FS_OK) {
    cJSON_Delete((cJSON *)a->build_info);
    shutdown_workers(a->t, NULL);
    return st;
  }
  s.dim = fs_model_dim(s.model);
  size_t K = (size_t)cfg->per_round;
  s.x = malloc(s.dim * sizeof(float));
  s.grad = malloc(s.dim * sizeof(float));
  s.acc = malloc(s.dim * sizeof(double));
  s.sel = malloc(K * sizeof *s.sel);
  s.hdrs = malloc(K * FS_FRAME_HEADER_BYTES);
  s.body = malloc(fs_dense_size(s.dim));
  s.slot = calloc(K, sizeof *s.slot);
  s.state = calloc(K, 1);
  s.slot_w = calloc(K, sizeof *s.slot_w);
  s.job_s = calloc(K, sizeof *s.job_s);
  s.up_len = calloc(K, sizeof *s.up_len);
  s.pool = calloc(K, sizeof *s.pool);
  if (!s.x || !s.grad || !s.acc || !s.sel || !s.hdrs || !s.body || !s.slot ||
      !s.state || !s.slot_w || !s.job_s || !s.up_len || !s.pool) {
    st = fs_err_set(err, FS_ENOMEM,
                    "server: out of memory (model of %zu "
                    "parameters, %zu clients per round)",
                    s.dim, K);
    cJSON_Delete((cJSON *)a->build_info);
  } else {
    fs_rng r;
    fs_rng_init(&r, cfg->seed, FS_RNG_MODEL_INIT, 0, 0);
    fs_model_init_params(s.model, s.x, &r);
    fs_server_args a2 = *a;
    st = run_rounds(&s, &a2, err);
  }
  fs_status st2 = shutdown_workers(a->t, st == FS_OK ? err : NULL);
  if (st == FS_OK)
    st = st2;
  for (size_t i = 0; i < K && s.slot; i++)
    free(s.slot[i]);
  for (size_t i = 0; i < s.npool; i++)
    free(s.pool[i]);
  free(s.pool);
  free(s.x);
  free(s.grad);
  free(s.acc);
  free(s.sel);
  free(s.hdrs);
  free(s.body);
  free(s.slot);
  free(s.state);
  free(s.slot_w);
  free(s.job_s);
  free(s.up_len);
  fs_model_free(s.model);
  return st;
}
