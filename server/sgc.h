/*
 * sgc.h — round-by-round schedulers for straggler-tolerant distributed
 * gradient descent: no coding, ignore-stragglers, gradient coding (GC,
 * Tandon et al. 2017) and sequential gradient coding (SR-SGC and M-SGC,
 * Krishnan, Ebrahimi, Khisti, ICLR 2023). See docs/stragglers.md.
 *
 * Jobs t = 0..J-1 (one gradient each) start in round t and are decoded by the
 * end of round t + T. Each round the scheduler says which tasks every worker
 * runs; the caller reports which workers straggled (they lose everything they
 * computed in that round); the scheduler then says which jobs decoded. It
 * also applies the round-time rule of the paper's experiment: worker i
 * straggles iff d_i > 2 min_j d_j; an admissible round lasts
 * min(2 min d, max d); a round whose stragglers would break the scheme's
 * model waits for every worker (lasts max d, no stragglers).
 *
 * Data layout. A job's data is cut into pieces. GC, SR-SGC, none and ignore
 * use n pieces of weight 1 (part j); a task is row i of the code's B. M-SGC
 * uses n(W-1) D1 pieces of weight lambda+1 (worker i's chunk k is piece
 * i(W-1)+k) followed by B D2 groups of n pieces of weight 1 (group g, part j
 * is piece n(W-1) + g n + j), each group coded against lambda stragglers.
 * Pure logic: no MPI, no files, no clock.
 */
#ifndef FS_SGC_H
#define FS_SGC_H

#include "fs_status.h"
#include "gcode.h"

#include <stdint.h>

typedef enum {
  FS_SGC_NONE = 0,   /* no coding: wait for all n */
  FS_SGC_IGNORE = 1, /* take the fastest n - s, rescale by n/|F| (biased) */
  FS_SGC_GC = 2,     /* gradient coding, tolerance s */
  FS_SGC_SR = 3,     /* selective-repetition SGC, (B, W, lambda) */
  FS_SGC_M = 4       /* multiplexed SGC, (B, W, lambda) */
} fs_sgc_scheme;

typedef struct {
  fs_sgc_scheme scheme;
  fs_gcode_kind code; /* FS_GCODE_FR or FS_GCODE_CR for the coded parts */
  int n;              /* workers */
  int s;              /* tolerance for IGNORE and GC */
  int B, W, lambda;   /* bursty model for SR and M */
  int jobs;           /* J */
  uint64_t seed;      /* for the cyclic code's random H */
} fs_sgc_params;

typedef enum {
  FS_SGC_TASK_GC = 0, /* row `worker` of the job's code (GC, SR, none) */
  FS_SGC_TASK_D1 = 1, /* M-SGC: the worker's D1 chunk `index` */
  FS_SGC_TASK_D2 = 2  /* M-SGC: row `worker` of D2 group `index`'s code */
} fs_sgc_task_kind;

typedef struct {
  int job;
  fs_sgc_task_kind kind;
  int index; /* D1 chunk or D2 group; 0 for GC */
  int redo;  /* 1 if it re-does work lost in an earlier round */
} fs_sgc_task;

typedef struct fs_sgc fs_sgc;

/* Check the parameters and build a scheduler at round 0. Impossible ones
 * (n < 1, s outside [0, n-1], FR with (s+1) not dividing n, B < 1, W <= B,
 * lambda outside [0, n-1], jobs < 1, M-SGC with W < 2) return FS_EINVAL with
 * a message naming them. *out is the caller's (fs_sgc_free). */
fs_status fs_sgc_new(const fs_sgc_params *p, fs_sgc **out, fs_err *err);
void fs_sgc_free(fs_sgc *g);

/* Parse "none", "ignore", "gc", "sr-sgc", "m-sgc". */
fs_status fs_sgc_scheme_parse(const char *name, fs_sgc_scheme *out);
const char *fs_sgc_scheme_name(fs_sgc_scheme s);

/* Normalised load: the fraction of one job's data one worker processes in
 * one round. GC: (s+1)/n; SR: (s+1)/n with s = ceil(B lambda/(W-1+B));
 * M: (lambda+1)(W-1+B)/(n[(W-1)(lambda+1)+B]); none, ignore: 1/n. */
double fs_sgc_load(const fs_sgc *g);
/* Decoding delay T in rounds: 0 (none, ignore, GC), B (SR), W-2+B (M). */
int fs_sgc_delay(const fs_sgc *g);
/* Straggler tolerance of each coded part: s (none: 0; SR: its s; M: lambda).
 */
int fs_sgc_tolerance(const fs_sgc *g);
/* J + T: the rounds of a run. */
int fs_sgc_rounds(const fs_sgc *g);
/* The round the scheduler is in (0 after new). */
int fs_sgc_round(const fs_sgc *g);
int fs_sgc_workers(const fs_sgc *g);
/* The code used for coded tasks (n workers, fs_sgc_tolerance); owned. */
const fs_gcode *fs_sgc_code(const fs_sgc *g);

/* Pieces of a job's data and their relative weights (sizes). */
int fs_sgc_pieces(const fs_sgc *g);
double fs_sgc_piece_weight(const fs_sgc *g, int piece);
/* The pieces and coefficients of a task of `worker`: at most n entries
 * written to piece[], coef[]; returns how many. */
int fs_sgc_task_terms(const fs_sgc *g, int worker, const fs_sgc_task *t,
                      int *piece, double *coef);

/* Worker i's tasks in the current round (*count of them, possibly 0); valid
 * until fs_sgc_end_round. */
const fs_sgc_task *fs_sgc_tasks(const fs_sgc *g, int worker, int *count);

/* Whether this set of stragglers (flags over workers) keeps the scheme's
 * model: none: nobody; ignore and GC: at most s; SR and M: the
 * (B, W, lambda)-bursty model over the rounds so far. */
int fs_sgc_admissible(const fs_sgc *g, const unsigned char *straggled);

/* The paper's round rule on durations d[0..n-1] (only workers with tasks
 * count): fills straggled[], sets *waited when the round waits for all, and
 * returns the round's duration (0 for a round where nobody has work). */
double fs_sgc_round_time(const fs_sgc *g, const double *d,
                         unsigned char *straggled, int *waited);

/* Close the current round: stragglers lose the round's tasks. Writes the
 * jobs that decode at the end of this round to decoded[] (at most
 * 1 + T entries) and their count to *ndecoded, and the jobs due now that
 * cannot decode to *nfailed (0 when the stragglers were admissible: the
 * schemes' guarantee). Then moves to the next round. FS_ERANGE past the last
 * round. */
fs_status fs_sgc_end_round(fs_sgc *g, const unsigned char *straggled,
                           int *decoded, int *ndecoded, int *nfailed);

/* For a job that decoded in the round just closed: the coefficient of each
 * delivered result. coef_gc[i] (n entries): GC task of worker i (none,
 * ignore, GC, SR). coef_d2[g n + i] (B n entries, M only): worker i's task of
 * D2 group g; D1 chunks always have coefficient 1. Entries for results not
 * delivered are 0. *exact is 0 when the combination is not the exact full
 * gradient (ignore with stragglers). FS_ERANGE if the job is not decodable
 * or no longer held. */
fs_status fs_sgc_job_coefs(const fs_sgc *g, int job, double *coef_gc,
                           double *coef_d2, int *exact, fs_err *err);

#endif
