/*
 * config_check.c — the checks across options made once a configuration is
 * complete (fs_config_validate): every chosen row's own rules first, then
 * the combinations the simulator does not support, each with a message
 * naming the option to change (docs/compatibility.md lists them).
 */
#include "config_impl.h"
#include "ef.h"

#include "secagg.h"

#include <stdint.h>

/* Every chosen row's own rules (fs_choice.check). */
static fs_status check_rows(const fs_config *cfg, fs_err *err) {
  for (size_t i = 0; i < fs_config__n_options; i++) {
    if (fs_config__options[i].type != FS_CONFIG__T_TABLE)
      continue;
    const fs_choice *row = fs_config_row(cfg, fs_config__options[i].key);
    if (row->check != NULL) {
      fs_status st = row->check(cfg, err);
      if (st != FS_OK)
        return st;
    }
  }
  return FS_OK;
}

/* Secure aggregation: what it supports, and no overflow in Z_2^32 for the
 * largest cohort (clients.num with Poisson sampling). */
static fs_status sa_config_check(const fs_config *cfg, fs_err *err) {
  const char *why =
      cfg->strategy != FS_CFG_STRATEGY_FEDAVG ? "server.strategy must be fedavg"
      : cfg->comp_up != FS_CFG_COMP_IDENTITY
          ? "compress.up must be identity (a masked vector is dense)"
      : cfg->ef_method != FS_CFG_EF_NONE ? "ef.method must be none"
      : cfg->comp_down != FS_CFG_COMP_IDENTITY
          ? "compress.down must be identity"
      : cfg->dp_clip != FS_CFG_CLIP_NONE
          ? "dp.clip must be none (secure aggregation with DP noise is not "
            "supported yet)"
      : (cfg->sa_dropout > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
          ? "secure.dropout needs the virtual clock"
          : NULL;
  if (why != NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "secure.aggregation: secagg is not supported here: %s",
                      why);
  int64_t n =
      cfg->sampling == FS_CFG_SAMPLING_POISSON ? cfg->clients : cfg->per_round;
  if (n > UINT32_MAX)
    n = UINT32_MAX;
  fs_sa_params p;
  fs_err e = {0};
  fs_status st = fs_sa_params_make(
      (uint32_t)(n < 2 ? 2 : n), (uint32_t)cfg->sa_bits, cfg->sa_clip,
      (uint32_t)cfg->sa_degree, cfg->sa_dropout, &p, &e);
  if (st != FS_OK)
    return fs_err_set(err, FS_ECONFIG, "%s (cohorts of up to %lld clients)",
                      e.msg, (long long)n);
  return FS_OK;
}

const char *fs_config_ckpt_unsupported(const fs_config *cfg) {
  if (cfg->strategy == FS_CFG_STRATEGY_GC)
    return "server.strategy gc (its models and straggler schedule)";
  if (cfg->strategy == FS_CFG_STRATEGY_SCAFFOLD)
    return "server.strategy scaffold (its control variates c and c_i)";
  if (cfg->clock == FS_CFG_CLOCK_WALL &&
      cfg->strategy != FS_CFG_STRATEGY_FEDAVG)
    return "the asynchronous strategies on the wall clock (run.clock wall)";
  if (cfg->secure_tamper_rate > 0)
    return "secure.tamper_rate (a test hook: which frames it alters follows "
           "the sessions' counters, which restart under a resumed run's "
           "fresh keys)";
  return NULL;
}

/* The clients and the data source. */
static fs_status check_data(const fs_config *cfg, fs_err *err) {
  if (cfg->per_round > cfg->clients)
    return fs_err_set(err, FS_ECONFIG,
                      "clients.per_round: %lld is more than clients.num (%lld)",
                      (long long)cfg->per_round, (long long)cfg->clients);
  if (cfg->data_source == FS_CFG_DATA_LIBSVM && cfg->data_path[0] == '\0')
    return fs_err_set(err, FS_ECONFIG,
                      "data.path: data.source is libsvm but no file is given");
  if (cfg->data_source == FS_CFG_DATA_IDX &&
      (cfg->data_path[0] == '\0' || cfg->data_labels_path[0] == '\0'))
    return fs_err_set(err, FS_ECONFIG,
                      "data.path, data.labels_path: data.source is idx but "
                      "the image or label file is missing");
  return FS_OK;
}

/* The theory step size (the strategies' and optimisers' rules about
 * error feedback are their rows' checks, server/). */
static fs_status check_ef(const fs_config *cfg, fs_err *err) {
  if (cfg->ef_stepsize == FS_CFG_STEPSIZE_THEORY &&
      (cfg->model_kind != FS_CFG_MODEL_LOGREG ||
       (cfg->local_mode != FS_CFG_LOCAL_FULL_GRADIENT &&
        cfg->local_mode != FS_CFG_LOCAL_STOCHASTIC_GRADIENT)))
    return fs_err_set(err, FS_ECONFIG,
                      "ef.stepsize: 'theory' needs model.type logreg and "
                      "local.mode full_gradient or stochastic_gradient");
  return FS_OK;
}

/* DP noise, client sampling and the simulated system (virtual clock). */
static fs_status check_system(const fs_config *cfg, int dp, fs_err *err) {
  if (cfg->dp_noise != FS_CFG_NOISE_NONE && !dp)
    return fs_err_set(err, FS_ECONFIG,
                      "dp.noise: noise without clipping protects nothing "
                      "(set dp.clip)");
  if (cfg->sys_offline_fraction > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
    return fs_err_set(err, FS_ECONFIG,
                      "system.offline_fraction: simulated availability needs "
                      "the virtual clock");
  if (cfg->sys_dropout > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
    return fs_err_set(err, FS_ECONFIG,
                      "system.dropout: simulated dropouts need the virtual "
                      "clock (on real hardware, clients drop out by "
                      "themselves)");
  return FS_OK;
}

/* Robust aggregation rules and simulated faults. */
static fs_status check_aggregation(const fs_config *cfg, int ef21, int dp,
                                   fs_err *err) {
  if (cfg->aggregator != FS_CFG_AGG_FEDAVG) {
    const char *why =
        cfg->strategy != FS_CFG_STRATEGY_FEDAVG
            ? "aggregates the separate updates of a synchronous round "
              "(server.strategy fedavg)"
        : ef21 ? "needs messages that are updates; EF21 messages are "
                 "increments of each client's estimate (use ef.method none "
                 "or ef14)"
        : dp   ? "is not combined with differential privacy (dp.clip): "
                 "its sensitivity analysis assumes the mean"
        : cfg->sa_mode == FS_CFG_SA_SECAGG
            ? "needs the separate updates, which secure aggregation "
              "(secure.aggregation secagg) hides from the server"
        : cfg->sampling == FS_CFG_SAMPLING_POISSON
            ? "needs a fixed number of clients per round (clients.sampling "
              "fixed)"
            : NULL;
    if (why != NULL)
      return fs_err_set(err, FS_ECONFIG, "server.aggregator: %s %s",
                        FS_CFG_NAME(cfg, aggregator), why);
  }
  if (cfg->nna_pivot == FS_CFG_PIVOT_OWN &&
      ((cfg->aggregator != FS_CFG_AGG_NNA &&
        cfg->aggregator != FS_CFG_AGG_MONNA) ||
       cfg->per_round != cfg->clients))
    return fs_err_set(err, FS_ECONFIG,
                      "server.nna_pivot: own (peer-to-peer) needs "
                      "server.aggregator nna or monna and every client in "
                      "every round (clients.per_round = clients.num)");
  if (cfg->fault_fraction > 0 && cfg->fault_kind == FS_CFG_FAULT_NONE)
    return fs_err_set(err, FS_ECONFIG,
                      "faults.kind: faults.fraction is %g but faults.kind is "
                      "none (sign_flip, scale, noise, label_flip, nan, inf)",
                      cfg->fault_fraction);
  return FS_OK;
}

/* Secure aggregation, the compressed downlink, gradient coding,
 * checkpoints and tampering. */
static fs_status check_modes(const fs_config *cfg, int ef21, fs_err *err) {
  if (cfg->sa_mode == FS_CFG_SA_SECAGG) {
    fs_status st = sa_config_check(cfg, err);
    if (st != FS_OK)
      return st;
  }
  if (cfg->comp_down != FS_CFG_COMP_IDENTITY &&
      (!ef21 || cfg->per_round != cfg->clients))
    return fs_err_set(err, FS_ECONFIG,
                      "compress.down: a compressed downlink is EF21-BC: it "
                      "needs ef.method ef21 or ef21w and clients.per_round = "
                      "clients.num (every client follows every broadcast)");
  const char *nock = fs_config_ckpt_unsupported(cfg);
  if (nock != NULL && (cfg->checkpoint_every > 0 || cfg->resume[0] != '\0'))
    return fs_err_set(err, FS_ECONFIG, "%s: checkpoints do not cover %s yet",
                      cfg->checkpoint_every > 0 ? "run.checkpoint_every"
                                                : "run.resume",
                      nock);
  if (cfg->secure_tamper_rate > 0 && !cfg->secure_seal)
    return fs_err_set(err, FS_ECONFIG,
                      "secure.tamper_rate: tampering tests sealed frames; "
                      "set secure.seal: true (unsealed frames altered in "
                      "flight cannot be detected)");
  return FS_OK;
  return FS_OK;
}

fs_status fs_config_validate(const fs_config *cfg, fs_err *err) {
  fs_status rst = check_rows(cfg, err);
  if (rst != FS_OK)
    return rst;
  if ((rst = check_data(cfg, err)) != FS_OK)
    return rst;
  /* The EF21 family (its rows' flag; compress/ef.h). ef.method's and
   * dp.clip's own rules are their rows' checks (check_rows, above). */
  int ef21 = (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_21) != 0;
  if ((rst = check_ef(cfg, err)) != FS_OK)
    return rst;
  int dp = cfg->dp_clip != FS_CFG_CLIP_NONE;
  if ((rst = check_system(cfg, dp, err)) != FS_OK)
    return rst;
  if ((rst = check_aggregation(cfg, ef21, dp, err)) != FS_OK)
    return rst;
  return check_modes(cfg, ef21, err);
}
