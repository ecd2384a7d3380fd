/*
 * wall.c — the asynchronous strategies on the wall clock (run.clock =
 * wall; docs/async.md): the same server code in real arrival order, with
 * measured durations, for runs on real heterogeneous hardware. Not
 * reproducible by nature, and summary.json says so. FedFix's period and
 * the time budget are wall seconds; checkpoints are not offered.
 */
#include "srv.h"

#include "frame.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

/* Send client cl the current model (s->body, encoded) of version
 * `version`; its start is measured in microseconds since T0. */
static fs_status dispatch(fs_srv *s, uint32_t cl, uint64_t version, double T0,
                          fs_err *err) {
  const int64_t us = 1000000;
  size_t body_len = fs_dense_size(s->dim);
  fs_status st = fs_srv_send_model(s, cl, version, body_len, err);
  s->as.down += 8ull * fs_sealer_wire_bytes(s->seal, body_len);
  s->as.start[cl] = (int64_t)((fs_transport_wtime() - T0) * us);
  s->as.ver[cl] = version;
  s->as.inflight++;
  return st;
}

/* Wall clock: the same strategies in real arrival order, with measured
 * durations (seconds since training started). Not reproducible by nature.
 * FedFix's period and the time budget are wall seconds. */
fs_status fs_srv_wall_loop(fs_srv_run *c, fs_err *err) {
  fs_srv *s = c->s;
  const fs_config *cfg = s->cfg;
  fs_strat strat = c->row->sched;
  if (cfg->checkpoint_every > 0 || cfg->resume[0] != '\0')
    return fs_err_set(err, FS_EUNSUPPORTED,
                      "checkpoints do not cover the asynchronous strategies "
                      "on the wall clock (run.clock = wall)");
  uint32_t N = s->N, *set = malloc(N * sizeof *set),
           *stale = malloc(N * sizeof *stale);
  uint8_t *waiting = calloc(N, 1);
  if (set == NULL || stale == NULL || waiting == NULL) {
    free(set);
    free(stale);
    free(waiting);
    return fs_err_set(err, FS_ENOMEM, "server: out of memory");
  }
  const double T0 = c->t0, budget = cfg->time_budget;
  const int64_t us = 1000000; /* a_start holds microseconds here */
  uint64_t version = 0;
  size_t nwait = 0;
  fs_status st = FS_OK;
  double inv_tau = 0.0;
  int have_tau = 0;
  /* Dispatch everyone with the initial model. */
  fs_dense_encode(s->x, s->dim, s->body);
  for (uint32_t i = 0; i < N && st == FS_OK; i++)
    st = dispatch(s, i, version, T0, err);
  double next_fix = cfg->fedfix_delta;
  unsigned nap_us = 20;
  while (st == FS_OK && version < (uint64_t)cfg->rounds) {
    double now = fs_transport_wtime() - T0;
    if (budget > 0 && now > budget)
      break;
    int agg = 0;
    if (strat == FS_STRAT_FEDFIX && now >= next_fix) {
      agg = 1;
      next_fix += cfg->fedfix_delta;
    } else {
      fs_sealed_frame f;
      st = fs_sealer_recv(s->seal, s->t, FS_ROLE_SERVER,
                          fs_transport_is_local(s->t), &f, err);
      if (st != FS_OK)
        break;
      if (f.frame == NULL) {
        struct timespec ts = {0, (long)nap_us * 1000L};
        nanosleep(&ts, NULL);
        continue;
      }
      uint32_t cl;
      if ((st = fs_srv_async_decode(s, &f, &cl, err)) != FS_OK)
        break;
      double dur = fs_transport_wtime() - T0 - (double)s->as.start[cl] / us;
      if (s->as.tau[cl] == 0.0)
        s->as.tau[cl] = dur > 0 ? dur : 1e-9;
      uint64_t st64 = version - s->as.ver[cl];
      if (cfg->max_staleness >= 0 && st64 > (uint64_t)cfg->max_staleness) {
        c->dropped++;
        s->as.up += 8ull * s->as.len[cl];
        fs_srv_pool_put(s, s->as.res[cl]);
        s->as.res[cl] = NULL;
        st = dispatch(s, cl, version, T0, err);
        continue;
      }
      waiting[cl] = 1;
      stale[nwait] = (uint32_t)st64;
      set[nwait++] = cl;
      agg = strat == FS_STRAT_ASYNC ||
            (strat == FS_STRAT_FEDBUFF && nwait == (size_t)cfg->buffer);
    }
    if (!agg)
      continue;
    if (!have_tau) {
      /* Fraboni's async weights need every tau_j: use the first measured
       * duration of each client, and 1/N of the mean for those not back. */
      double sum = 0.0;
      for (uint32_t i = 0; i < N; i++)
        if (s->as.tau[i] > 0)
          sum += 1.0 / s->as.tau[i];
      inv_tau = sum;
      have_tau = 1;
    }
    /* Fold in client-id order. */
    for (size_t a = 1; a < nwait; a++)
      for (size_t b = a; b > 0 && set[b - 1] > set[b]; b--) {
        uint32_t t1 = set[b], t2 = stale[b];
        set[b] = set[b - 1];
        stale[b] = stale[b - 1];
        set[b - 1] = t1;
        stale[b - 1] = t2;
      }
    version++;
    st = fs_srv_async_aggregate(
        c, (int64_t)llround(cfg->fedfix_delta / fs_srv_tick_s(s)), set, stale,
        nwait, version, fs_transport_wtime() - T0, inv_tau, err);
    fs_dense_encode(s->x, s->dim, s->body);
    for (size_t k = 0; k < nwait && st == FS_OK; k++) {
      waiting[set[k]] = 0;
      st = dispatch(s, set[k], version, T0, err);
    }
    nwait = 0;
  }
  /* Collect what is still in flight, so every worker can stop. */
  while (st == FS_OK && s->as.inflight > 0) {
    fs_sealed_frame f;
    uint32_t cl;
    st = fs_sealer_recv(s->seal, s->t, FS_ROLE_SERVER, 1, &f, err);
    if (st == FS_OK)
      st = fs_srv_async_decode(s, &f, &cl, err);
  }
  for (uint32_t i = 0; i < N; i++)
    if (s->as.res[i] != NULL) {
      fs_srv_pool_put(s, s->as.res[i]);
      s->as.res[i] = NULL;
    }
  free(set);
  free(stale);
  free(waiting);
  return st;
}
