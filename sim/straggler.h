/*
 * straggler.h — straggler models on the virtual clock: for every round r a
 * duration factor f_i(r) per worker (1 = healthy; a worker's round lasts
 * f_i(r) times its nominal time).
 *
 *   none       f = 1
 *   iid        each worker straggles independently per round with
 *              probability p; a straggler's factor is `slowdown`
 *   bursty     (B, W, lambda)-bursty patterns: a worker not in a burst starts
 *              one with probability p, of length uniform in 1..B, if the
 *              pattern stays inside the model (in every window of W rounds
 *              at most lambda distinct stragglers, each one's straggling
 *              rounds within B consecutive rounds)
 *   exp        f = 1 + Exp(mean = param)
 *   pareto     f = Pareto(shape = param, scale 1) = U^(-1/param)
 *   lognormal  f = exp(param * Z), Z standard normal
 *   trace      f read from a CSV file `round,worker,factor` (header line
 *              first; pairs not listed are 1; rounds past the last listed
 *              one repeat the trace from round 0)
 *
 * Every draw comes from fs_rng(seed, FS_RNG_STRAGGLER, worker, round); the
 * bursty model is generated round by round in worker-id order, so a given
 * seed gives the same pattern on any rank.
 */
#ifndef FS_STRAGGLER_H
#define FS_STRAGGLER_H

#include "fs_status.h"

#include <stdint.h>

typedef enum {
  FS_STRAG_NONE = 0,
  FS_STRAG_IID = 1,
  FS_STRAG_BURSTY = 2,
  FS_STRAG_EXP = 3,
  FS_STRAG_PARETO = 4,
  FS_STRAG_LOGNORMAL = 5,
  FS_STRAG_TRACE = 6
} fs_strag_kind;

typedef struct {
  fs_strag_kind kind;
  int n;             /* workers */
  double p;          /* iid: straggle probability; bursty: start prob. */
  double slowdown;   /* iid, bursty: a straggler's factor (> 0) */
  int B, W, lambda;  /* bursty */
  double param;      /* exp: mean; pareto: shape; lognormal: sigma */
  const char *trace; /* trace: CSV path */
  uint64_t seed;
} fs_strag_params;

typedef struct fs_strag fs_strag;

/* Check the parameters (and read the trace). Bad values return FS_EINVAL,
 * a malformed trace FS_EFORMAT or FS_EIO, each with a message naming the
 * option, or the file and line. *out is the caller's (fs_strag_free). */
fs_status fs_strag_new(const fs_strag_params *p, fs_strag **out, fs_err *err);
void fs_strag_free(fs_strag *s);

/* Parse "none", "iid", "bursty", "exp", "pareto", "lognormal", "trace". */
fs_status fs_strag_kind_parse(const char *name, fs_strag_kind *out);
const char *fs_strag_kind_name(fs_strag_kind k);

/* The factors of all n workers in round r >= 0 into f[0..n-1]. Any order of
 * rounds is allowed (the bursty model regenerates from round 0 when asked
 * for an earlier round than the last one). */
void fs_strag_factors(fs_strag *s, int r, double *f);

#endif
