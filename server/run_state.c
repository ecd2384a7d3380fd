/*
 * run_state.c — the server's part of a checkpoint (docs/reliability.md):
 * every piece of the run's state as a list of tagged fields (the model,
 * EF21's estimate, the optimiser's moments, counters, the clock, targets,
 * the asynchronous strategies' per-client state, robust and secure
 * aggregation's totals), plus records of variable length (the scheduler,
 * buffered updates, EF21-BC's next downlink); saving at an aggregation
 * boundary and restoring on --resume (server_ckpt.h does the files and the
 * workers' part).
 */
#include "srv.h"

#include "ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every piece of the run's state that a checkpoint saves and a resume
 * restores (server_ckpt.h), into f (room for STATE_FIELDS_MAX); returns how
 * many. */
#define STATE_FIELDS_MAX 64
static size_t state_fields(fs_srv_run *c, fs_ckpt_field *f) {
  fs_srv *s = c->s;
  size_t n = 0, d = s->dim;
  int mom = (s->opt.row->flags & FS_OPTIM_MOMENTS) != 0;
#define FLD(a, b, cc, dd, type, p, cnt)                                        \
  f[n++] = (fs_ckpt_field){FS_CKPT_TAG(a, b, cc, dd), type, p, cnt}
  FLD('X', 'M', 'O', 'D', FS_F_F32, s->x, d);
  FLD('G', 'E', 'S', 'T', FS_F_F64, s->g, s->ef21 ? d : 1);
  FLD('O', 'P', 'T', 'M', FS_F_F64, s->opt.m, mom ? d : 1);
  FLD('O', 'P', 'T', 'V', FS_F_F64, s->opt.v, mom ? d : 1);
  FLD('O', 'P', 'T', 'T', FS_F_U64, &s->opt.t, 1);
  FLD('S', 'E', 'E', 'N', FS_F_U8, s->seen, (s->N + 7) / 8);
  FLD('R', 'E', 'J', 'D', FS_F_U64, &s->rejected, 1);
  FLD('I', 'D', 'L', 'B', FS_F_F64, &s->ideal_bits, 1);
  FLD('D', 'R', 'O', 'U', FS_F_U64, &s->dropouts, 1);
  FLD('U', 'P', 'C', 'M', FS_F_U64, &c->up_cum, 1);
  FLD('D', 'N', 'C', 'M', FS_F_U64, &c->down_cum, 1);
  FLD('P', 'P', 'C', 'M', FS_F_U64, &c->paper_cum, 1);
  FLD('V', 'T', 'I', 'M', FS_F_F64, &c->vtime, 1);
  FLD('V', 'T', 'C', 'K', FS_F_I64, &c->vticks, 1);
  FLD('R', 'R', 'U', 'N', FS_F_U64, &c->rounds_run, 1);
  FLD('L', 'E', 'V', 'L', FS_F_U64, &c->last_eval, 1);
  FLD('E', 'V', 'T', 'R', FS_F_F64, &c->ev.train_loss, 1);
  FLD('E', 'V', 'T', 'L', FS_F_F64, &c->ev.test_loss, 1);
  FLD('E', 'V', 'T', 'A', FS_F_F64, &c->ev.test_acc, 1);
  FLD('E', 'V', 'G', 'N', FS_F_F64, &c->ev.grad_norm_sq, 1);
  FLD('B', 'E', 'S', 'T', FS_F_F64, &c->best_acc, 1);
  FLD('B', 'R', 'N', 'D', FS_F_U64, &c->best_round, 1);
  FLD('L', 'C', 'L', 'S', FS_F_F64, &c->last_client_loss, 1);
  FLD('D', 'R', 'P', 'D', FS_F_U64, &c->dropped, 1);
  FLD('E', 'P', 'S', ' ', FS_F_F64, &c->eps, 1);
  FLD('E', 'P', 'S', 'O', FS_F_F64, &c->eps_order, 1);
  FLD('A', 'C', 'S', 'T', FS_F_U64, &c->acct_steps, 1);
  FLD('W', 'A', 'L', 'L', FS_F_F64, &c->wall, 1);
  FLD('T', 'G', 'T', 'S', FS_F_F64, c->tgt, 2 * FS_CFG_MAX_LIST * 7);
  /* Asynchronous strategies (arrays of one entry otherwise). */
  size_t na = (c->row->flags & FS_STRATEGY_ASYNC) ? s->N : 1;
  FLD('A', 'S', 'T', 'A', FS_F_I64, s->as.start, na);
  FLD('A', 'V', 'E', 'R', FS_F_U64, s->as.ver, na);
  FLD('A', 'L', 'E', 'N', FS_F_U64, s->as.len, na);
  FLD('A', 'L', 'O', 'S', FS_F_F64, s->as.loss, na);
  FLD('A', 'N', 'S', ' ', FS_F_F64, s->as.ns, na);
  FLD('A', 'T', 'A', 'U', FS_F_F64, s->as.tau, na);
  FLD('A', 'S', 'E', 'Q', FS_F_U32, s->as.seq, na);
  FLD('N', 'R', 'C', 'V', FS_F_U64, &s->as.n_recv, 1);
  FLD('N', 'A', 'G', 'G', FS_F_U64, &s->as.n_agg, 1);
  FLD('A', 'U', 'P', ' ', FS_F_U64, &s->as.up, 1);
  FLD('A', 'D', 'N', ' ', FS_F_U64, &s->as.down, 1);
  FLD('I', 'T', 'A', 'U', FS_F_F64, &c->inv_tau, 1);
  FLD('B', 'C', 'B', ' ', FS_F_F32, s->bc.b, s->bc.on ? d : 1); /* EF21-BC */
  size_t nsc; /* secure.seal: frames refused, by status (summary.json) */
  uint64_t *sc = fs_sealer_counts(s->seal, &nsc);
  FLD('S', 'E', 'A', 'L', FS_F_U64, sc != NULL ? sc : c->seal_none, nsc);
  /* Robust aggregation: the previous aggregate (server.nna_pivot
   * previous), peer-to-peer's models (own), the skipped rounds. */
  size_t np = 1;
  float *pm = s->p2p != NULL ? fs_p2p_models(s->p2p, &np) : &c->none_f;
  FLD('R', 'P', 'R', 'V', FS_F_F32,
      s->rob != NULL ? fs_robust_round_prev(s->rob) : &c->none_f,
      s->rob != NULL ? d : 1);
  FLD('R', 'S', 'K', 'P', FS_F_U64,
      s->rob != NULL ? fs_robust_round_skipped_count(s->rob) : &c->none_u[0],
      1);
  FLD('P', '2', 'P', 'X', FS_F_F32, pm, np);
  FLD('P', '2', 'P', 'S', FS_F_U64,
      s->p2p != NULL ? fs_p2p_skipped_count(s->p2p) : &c->none_u[1], 1);
  /* Secure aggregation: its running totals (summary.json). */
  FLD('S', 'A', 'B', 'T', FS_F_U64, &c->sa_bits, 1);
  FLD('S', 'A', 'M', 'S', FS_F_F64, &c->sa_ms, 1);
  FLD('S', 'A', 'A', 'B', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 0) : &c->none_u[2], 1);
  FLD('S', 'A', 'D', 'R', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 1) : &c->none_u[3], 1);
  FLD('S', 'A', 'R', 'F', FS_F_U64,
      s->sa != NULL ? fs_sa_server_counter(s->sa, 2) : &c->none_u[4],
      s->sa != NULL ? 4 : 1);
#undef FLD
  if (n > STATE_FIELDS_MAX)
    abort(); /* a programmer's mistake: raise STATE_FIELDS_MAX */
  return n;
}

/* Targets to and from c->tgt (7 numbers each). */
static void pack_targets(fs_srv_run *c, int unpack) {
  for (size_t i = 0; i < 2 * FS_CFG_MAX_LIST; i++) {
    fs_srv_target *t =
        i < FS_CFG_MAX_LIST ? &c->acc_t[i] : &c->grad_t[i - FS_CFG_MAX_LIST];
    double *v = c->tgt + 7 * i;
    if (unpack) {
      *t = (fs_srv_target){v[0], v[1] != 0, (uint64_t)v[2], v[3], v[4],
                           v[5], v[6]};
    } else {
      double w[7] = {t->target, t->reached, (double)t->round, t->vtime,
                     t->up,     t->down,    t->paper};
      memcpy(v, w, sizeof w);
    }
  }
}

#define TAG_SCHED FS_CKPT_TAG('S', 'C', 'H', 'D')
#define TAG_ARES FS_CKPT_TAG('A', 'R', 'E', 'S')
#define TAG_BCM FS_CKPT_TAG('B', 'C', 'M', ' ')

/* Asynchronous strategies: the scheduler's state, and each update received
 * but not yet consumed on the virtual clock (u32 client, u8 encoding,
 * payload bytes). */
static fs_status save_async(void *ctx, fs_ckpt_writer *w, fs_err *err) {
  fs_srv_run *c = ctx;
  fs_srv *s = c->s;
  if (s->bc.on && s->bc.mbody != NULL) {
    /* EF21-BC: next round's downlink C(g - b), u8 encoding + bytes. */
    size_t ml = fs_payload_encoded_size(&s->bc.m, NULL);
    uint8_t *r = malloc(1 + ml);
    if (r == NULL)
      return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
    r[0] = (uint8_t)fs_payload_encoding(s->bc.m.kind);
    memcpy(r + 1, s->bc.mbody, ml);
    fs_ckpt_put(w, TAG_BCM, r, 1 + ml);
    free(r);
  }
  if (c->sc == NULL)
    return FS_OK;
  uint8_t *b = NULL;
  size_t len = 0;
  if (fs_sched_export(c->sc, &b, &len) != FS_OK)
    return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
  fs_ckpt_put(w, TAG_SCHED, b, len);
  free(b);
  for (uint32_t i = 0; i < s->N; i++) {
    const fs_payload *p = s->as.res[i];
    if (p == NULL)
      continue;
    size_t pl = fs_payload_encoded_size(p, NULL);
    uint8_t *r = malloc(5 + pl);
    if (r == NULL)
      return fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
    for (int k = 0; k < 4; k++)
      r[k] = (uint8_t)(i >> (8 * k));
    r[4] = (uint8_t)fs_payload_encoding(p->kind);
    fs_payload_encode(p, r + 5);
    fs_ckpt_put(w, TAG_ARES, r, 5 + pl);
    free(r);
  }
  return FS_OK;
}

static fs_status load_async(void *ctx, const fs_ckpt_reader *r, fs_err *err) {
  fs_srv_run *c = ctx;
  fs_srv *s = c->s;
  const uint8_t *p;
  size_t len, pos = 0;
  uint32_t tag;
  fs_status st;
  if (s->bc.on && fs_ckpt_get(r, TAG_BCM, &p, &len, NULL) == FS_OK) {
    if (len < 1)
      return fs_err_set(err, FS_EFORMAT, "server.bin: empty EF21-BC record");
    st = fs_payload_decode(p + 1, len - 1, (fs_payload_kind)p[0],
                           (uint32_t)s->dim, &s->bc.m, err);
    if (st != FS_OK)
      return st;
    if ((s->bc.mbody = malloc(len - 1)) == NULL)
      return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
    memcpy(s->bc.mbody, p + 1, len - 1);
    s->bc.mcap = len - 1;
  }
  if (!(c->row->flags & FS_STRATEGY_ASYNC))
    return FS_OK;
  st = fs_ckpt_get(r, TAG_SCHED, &p, &len, err);
  if (st != FS_OK)
    return st;
  if ((c->sched_blob = malloc(len ? len : 1)) == NULL)
    return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
  memcpy(c->sched_blob, p, len);
  c->sched_len = len;
  while (fs_ckpt_next(r, &pos, &tag, &p, &len)) {
    if (tag != TAG_ARES)
      continue;
    uint32_t i = len >= 5 ? fs_ckpt_le32(p) : UINT32_MAX;
    if (i >= s->N || s->as.res[i] != NULL)
      return fs_err_set(err, FS_EFORMAT, "server.bin: bad buffered update");
    fs_payload *pl = fs_srv_pool_get(s);
    if (pl == NULL)
      return fs_err_set(err, FS_ENOMEM, "resume: out of memory");
    st = fs_payload_decode(p + 5, len - 5, (fs_payload_kind)p[4],
                           (uint32_t)s->dim, pl, err);
    if (st != FS_OK) {
      fs_srv_pool_put(s, pl);
      return st;
    }
    s->as.res[i] = pl;
  }
  return FS_OK;
}

fs_status fs_srv_resume(fs_srv_run *c, fs_err *err) {
  const fs_config *cfg = c->s->cfg;
  char ckdir[1100], rdir[1100];
  uint64_t agg = 0;
  char *text = NULL;
  fs_status st = fs_ckpt_find(cfg->resume, ckdir, sizeof ckdir, rdir,
                              sizeof rdir, &agg, &text, err);
  free(text);
  if (st != FS_OK)
    return st;
  if (agg > (uint64_t)cfg->rounds)
    return fs_err_set(err, FS_ECONFIG,
                      "--resume: the checkpoint is after aggregation %llu, "
                      "past run.rounds = %lld",
                      (unsigned long long)agg, (long long)cfg->rounds);
  fs_ckpt_field f[STATE_FIELDS_MAX];
  size_t n = state_fields(c, f);
  st = fs_ckpt_restore_run(c->s->t, cfg, ckdir, c->a->run_dir, agg, f, n,
                           load_async, c, err);
  if (st != FS_OK)
    return st;
  pack_targets(c, 1);
  if (c->s->p2p != NULL)
    fs_p2p_restored(c->s->p2p); /* the nodes' models, encoded to send */
  for (uint64_t i = 0; c->acct != NULL && i < c->acct_steps; i++)
    fs_dp_accountant_step(c->acct, 1); /* the same sums, in the same order */
  c->t0 = fs_transport_wtime() - c->wall;
  c->start = agg;
  c->resumed = 1;
  return fs_metrics_open_append(c->a->run_dir, &c->mw, err);
}

int fs_srv_ckpt_due(const fs_srv_run *c, uint64_t agg) {
  const fs_config *cfg = c->s->cfg;
  return fs_ckpt_stop_requested != 0 ||
         (cfg->checkpoint_every > 0 &&
          agg % (uint64_t)cfg->checkpoint_every == 0);
}

fs_status fs_srv_boundary(fs_srv_run *c, uint64_t agg, fs_err *err) {
  const fs_config *cfg = c->s->cfg;
  int sig = fs_ckpt_stop_requested != 0;
  if (!fs_srv_ckpt_due(c, agg))
    return FS_OK;
  pack_targets(c, 0);
  c->wall = fs_transport_wtime() - c->t0;
  c->acct_steps = c->acct != NULL ? fs_dp_accountant_steps(c->acct) : 0;
  fs_ckpt_field f[STATE_FIELDS_MAX];
  size_t n = state_fields(c, f);
  fs_status st = fs_ckpt_save_run(c->s->t, cfg, c->a->run_dir, agg, f, n,
                                  save_async, c, err);
  if (st == FS_OK && sig)
    c->stopped = 1;
  if (st != FS_OK && err != NULL) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    fs_err_set(err, st,
               "checkpoint after aggregation %llu failed: %s. Complete "
               "checkpoints written before are intact: make room (or fix "
               "the folder) and continue with: fedsim --resume %s",
               (unsigned long long)agg, msg, c->a->run_dir);
  }
  return st;
}
