/*
 * srv.h — internal to the server role: the state every strategy's loop
 * shares (fs_srv: the model, the round's slots, and sub-structs for the
 * asynchronous strategies, the server optimiser and EF21-BC's compressed
 * downlink), what one run reports (fs_srv_run), and the shared services
 * the strategies use: the virtual clock's ticks and job durations
 * (srv.c), evaluation (eval.c), metrics rows, targets and summary.json
 * (report.c), checkpointed run state (run_state.c), the asynchronous
 * engine (async_engine.c) and the wall-clock loop (wall.c).
 *
 * Dependencies run one way: server.c (the role's skeleton) picks a row of
 * the strategy table (strategy.h); the strategies' files use the services
 * above; no service calls a strategy's file. Not a public header: only
 * files of server/ include it.
 */
#ifndef FS_SRV_H
#define FS_SRV_H

#include "accountant.h"
#include "async_sched.h"
#include "compress.h"
#include "config.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "p2p.h"
#include "payload.h"
#include "robust_round.h"
#include "sealer.h"
#include "secagg_server.h"
#include "server.h"
#include "server_ckpt.h"
#include "setup.h"
#include "strategy.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

/* Asynchronous strategies: one entry per client (N), docs/async.md. */
typedef struct {
  int64_t *start;    /* tick the client's job started */
  uint64_t *ver;     /* model version it started from */
  fs_payload **res;  /* its decoded update, once received */
  uint64_t *len;     /* bytes of that UPDATE frame */
  double *loss, *ns; /* its reported training loss and rows */
  double *tau;       /* nominal job duration (ticks) for Fraboni weights */
  uint32_t *seq;     /* jobs started per client (dropout stream) */
  size_t inflight;   /* jobs sent whose update has not arrived */
  uint64_t n_recv;   /* updates received */
  uint64_t n_agg;    /* updates folded into the model */
  uint64_t up, down; /* bits since the last metrics row */
} fs_srv_async;

/* EF21-BC: the compressed downlink (docs/ef21.md). */
typedef struct {
  int on;            /* compress.down is not identity */
  fs_comp_spec down; /* its compressor */
  float *b, *dtmp;   /* b, and g - b */
  fs_payload m;      /* C(g - b), next round's downlink */
  uint8_t *mbody;    /* its encoding */
  size_t mcap;
} fs_srv_bc;

/* The server's state, shared by the strategies' loops. */
typedef struct {
  const fs_config *cfg;
  const fs_world *w;
  fs_transport *t;
  fs_model *model;
  size_t dim;
  uint32_t N, K;
  float *x, *grad, *gtmp; /* model, gradient, per-client gradient */
  float *cbuf;            /* rows of one client (eval.objective = clients) */
  int32_t *cy;
  double *acc; /* sum_i p_i c_i of this round */
  double *g;   /* EF21 family: the server's estimate */
  int ef21;    /* 1 for ef21 / ef21w */
  double lr;   /* server step (server.lr, or the theory step size) */
  fs_comp_spec comp;
  fs_srv_bc bc;
  fs_optim_state opt; /* server optimiser (optim.h) */
  uint32_t *sel;
  uint8_t *hdrs;     /* K headers */
  uint8_t *body;     /* shared TRAIN body */
  fs_payload **slot; /* K decoded updates (NULL until arrived) */
  uint8_t *state;    /* K: 0 waiting, 1 arrived, 2 folded */
  double *slot_w;    /* K: weight p_i, 0 when rejected */
  double *slot_loss; /* K: reported loss x rows, folded in client-id order */
  double *slot_ns;   /* K: reported rows */
  double *job_s;     /* K: virtual seconds of the job */
  uint64_t *up_len;  /* K: bytes of the UPDATE frame received */
  fs_payload **pool; /* free payloads */
  size_t npool;
  uint8_t *seen; /* N bits: client has sent before */
  uint64_t rejected;
  uint64_t paper_bits;     /* this round, EF21 papers' convention */
  size_t down_body_len;    /* this round's TRAIN body */
  double ideal_bits;       /* since the start: ideal encoding of each message */
  double loss_sum, loss_w; /* clients' reported training losses this round */
  uint64_t dropouts;       /* jobs a client dropped out of */
  fs_srv_async as;         /* asynchronous strategies */
  fs_robust_round *rob;    /* robust aggregation: the round's updates apart */
  int rob_applied;         /* this round's robust aggregate is in acc */
  fs_p2p *p2p;             /* peer-to-peer NNA / MoNNA (server.nna_pivot own) */
  fs_faults *p2p_faulty;   /* its honest / faulty nodes */
  fs_sa_server *sa;        /* secure aggregation, or NULL */
  fs_sealer *seal;         /* secure.seal: frames sealed and opened here */
  const struct fs_sync_hooks *sync; /* fedavg.c's rounds for another row */
} fs_srv;

/* A strategy that runs fedavg.c's synchronous rounds with vectors of its
 * own on the wire (server/scaffold.c); s->sync is NULL for FedAvg itself. */
typedef struct fs_sync_hooks {
  void *ctx;
  size_t up_dim; /* floats of a dense update; s->acc holds as many */
  /* The round's TRAIN body (dense), its length in *len. */
  const uint8_t *(*down)(void *ctx, fs_srv *s, size_t *len);
  /* After the model's step: the rest of acc (acc[dim..up_dim)). */
  void (*after_step)(void *ctx, fs_srv *s);
} fs_sync_hooks;

/* Evaluation of a model (eval.c). */
typedef struct {
  double train_loss, test_loss, test_acc, grad_norm_sq;
  int has_grad;
} fs_srv_eval;

/* A target of eval.targets or eval.grad_targets, and where it was reached. */
typedef struct {
  double target;
  int reached;
  uint64_t round;
  double vtime, up, down, paper; /* per client */
} fs_srv_target;

/* What one run reports, shared by the synchronous and asynchronous loops. */
typedef struct fs_srv_run {
  fs_srv *s;
  const fs_server_args *a;
  const fs_strategy *row; /* the configured strategy (looked up once) */
  int wall_clock;         /* run.clock = wall */
  fs_metrics *mw;
  fs_dp_accountant *acct; /* central DP noise: the RDP accountant */
  double eps, eps_order;
  int progress, gn;
  uint64_t up_cum, down_cum, paper_cum;
  double t0, vtime;
  uint64_t rounds_run, last_eval;
  fs_srv_eval ev;
  double best_acc, last_client_loss;
  uint64_t best_round, dropped;
  uint64_t rejected_last; /* s->rejected at the last metrics row */
  uint64_t sa_bits;       /* secure aggregation: SA_* frame bits, and ms */
  double sa_ms;
  fs_srv_target acc_t[FS_CFG_MAX_LIST], grad_t[FS_CFG_MAX_LIST];
  size_t n_acc, n_grad;
  /* Checkpoints (server_ckpt.h): where the loop starts, its clock, and
   * scratch for what is saved. */
  uint64_t start;
  int64_t vticks;
  int stopped; /* stopped at a boundary after SIGINT/SIGTERM */
  uint64_t acct_steps;
  double wall, tgt[2 * FS_CFG_MAX_LIST * 7];
  /* Asynchronous strategies: the scheduler, and its saved state. */
  fs_sched *sc;
  uint8_t *sched_blob;
  size_t sched_len;
  double inv_tau;
  int resumed;
  uint64_t seal_none[2 + FS__STATUS_COUNT]; /* the sealer's counts if off */
  float none_f;                             /* robust state if unused */
  uint64_t none_u[5];
} fs_srv_run;

/* --- srv.c: payload pool, weights, the virtual clock ------------------- */

/* A free payload from the pool, or a new one (NULL when out of memory). */
fs_payload *fs_srv_pool_get(fs_srv *s);
/* Give a payload back to the pool (room for K + N is allocated). */
void fs_srv_pool_put(fs_srv *s, fs_payload *p);
/* qsort / bsearch order of uint32_t. */
int fs_srv_cmp_u32(const void *a, const void *b);
/* The fixed aggregation weight p_i of client c with n_rows rows:
 * n_i / n, 1/N (server.weighting uniform) or EF21-W's L_i / (N L_am). */
double fs_srv_client_weight(const fs_srv *s, uint32_t c, uint32_t n_rows);
/* Seconds per tick of the virtual clock: 1 ns, or in Fraboni et al.'s F-P
 * scenario (system.dist fp) 1/(100(N-1)) s, in which every job duration is
 * a whole number of ticks (docs/async.md). */
double fs_srv_tick_s(const fs_srv *s);
/* Ticks of client c's job: its profile's downlink, compute and uplink
 * (up_bits < 0: a lower bound without the uplink), or its fixed F-P time. */
/* Send client c the model of version v (s->body, body_len bytes, dense) in
 * a TRAIN frame of round v + 1, sealed as the run asks: the asynchronous
 * engine and the wall-clock loop both dispatch through it. */
fs_status fs_srv_send_model(fs_srv *s, uint32_t c, uint64_t v, size_t body_len,
                            fs_err *err);

int64_t fs_srv_job_ticks(const fs_srv *s, uint32_t c, uint64_t down_bits,
                         int64_t up_bits);
/* Does client c drop out of its job number j? (stream (seed, FAULT, c, j)) */
int fs_srv_drops_out(const fs_srv *s, uint32_t c, uint64_t j);
/* The first tick >= t at which client c is online (system.offline_*). */
int64_t fs_srv_online_from(const fs_srv *s, uint32_t c, int64_t t);
/* Rounds a robust rule or peer-to-peer mixing skipped (summary.json). */
uint64_t fs_srv_robust_skipped(const fs_srv *s);

/* --- eval.c ------------------------------------------------------------ */

/* Evaluate model x on the pooled training rows (loss, and with want_grad
 * the gradient into grad, d floats, and its squared norm) and on the test
 * set. */
void fs_srv_eval_pooled(fs_model *m, const fs_world *w, const float *x,
                        float *grad, size_t d, int want_grad, fs_srv_eval *e);
/* Evaluate the server's model s->x with the training objective of
 * eval.objective (pooled rows, or the mean of the clients' losses). */
void fs_srv_evaluate(fs_srv *s, int want_grad, fs_srv_eval *e);

/* --- report.c ---------------------------------------------------------- */

/* run.progress: on, off, or auto (a terminal). */
int fs_srv_want_progress(const fs_config *cfg);
/* "12.3 MB" from a number of bits. */
void fs_srv_human_bits(double bits, char *buf, size_t len);
/* Finish and write one metrics row (evaluating if due), track targets and
 * the best accuracy, print progress. row->round, vtime_s, clients and the
 * bits of this row are filled by the caller; cumulative fields here. */
fs_status fs_srv_emit_row(fs_srv_run *c, fs_metrics_row *row, int last,
                          fs_err *err);
/* Build summary.json's body for a strategy (sections after the header). */
typedef void (*fs_srv_summary_fn)(void *ctx, void *json_object);
/* The one summary.json writer: the header (build, ranks, clock, strategy,
 * reproducible: no with wall set), body(ctx, object), the configuration
 * echoed; written atomically into a->run_dir. Takes over a->build_info. */
fs_status fs_srv_summary_write(const fs_server_args *a, const char *strategy,
                               int wall, fs_srv_summary_fn body, void *ctx,
                               fs_err *err);
/* The end of a run of the shared loops: evaluate if the last row did not,
 * write summary.json and print the final lines. */
fs_status fs_srv_report_end(fs_srv_run *c, fs_err *err);

/* --- run_state.c: checkpoints (docs/reliability.md) -------------------- */

/* Continue from the checkpoint cfg->resume names: restore the state, cut
 * metrics.csv back to it and open it to append. */
fs_status fs_srv_resume(fs_srv_run *c, fs_err *err);
/* Is a checkpoint due after aggregation agg (or did a signal ask)? */
int fs_srv_ckpt_due(const fs_srv_run *c, uint64_t agg);
/* At the end of aggregation agg: checkpoint if due; after a signal, set
 * c->stopped. */
fs_status fs_srv_boundary(fs_srv_run *c, uint64_t agg, fs_err *err);

/* --- fedavg.c ---------------------------------------------------------- */
/* Synchronous rounds on the shared state, with s->sync's hooks if set. */
fs_status fs_srv_sync_loop(fs_srv_run *c, fs_err *err);
/* --- async_engine.c (docs/async.md) ------------------------------------ */

/* The asynchronous strategies on the virtual clock (the row's loop). */
fs_status fs_srv_async_loop(fs_srv_run *c, fs_err *err);
/* Take one received UPDATE of a client in flight into s->as.res[client]. */
fs_status fs_srv_async_decode(fs_srv *s, fs_sealed_frame *f, uint32_t *client,
                              fs_err *err);
/* Fold the updates of set (increasing client id) with the row's weights,
 * step the server optimiser and write the metrics row. */
fs_status fs_srv_async_aggregate(fs_srv_run *c, int64_t delta,
                                 const uint32_t *set, const uint32_t *stale,
                                 size_t nset, uint64_t version, double now_s,
                                 double inv_tau, fs_err *err);

/* --- wall.c ------------------------------------------------------------ */

/* The asynchronous strategies on the wall clock (run.clock = wall). */
fs_status fs_srv_wall_loop(fs_srv_run *c, fs_err *err);

#endif
