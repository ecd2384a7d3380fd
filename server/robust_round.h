/*
 * robust_round.h — the server's side of robust aggregation: it keeps one
 * round's updates as separate dense vectors (slot i = the i-th sampled
 * client, in client-id order), and aggregates them with a rule of robust.h.
 *
 * What it adds to the pure rules:
 *   - f is reduced by the updates rejected this round (non-finite: surely
 *     faulty), since f bounds the faulty clients among those sampled;
 *   - a round whose remaining updates are too few for the rule (e.g. Krum
 *     with k <= 2f + 2 after dropouts) is skipped: no aggregate, the model
 *     stays, the skip is counted;
 *   - the pivot of nna and monna: "previous" is the last applied aggregate
 *     (the zero update before the first), "model" is the zero update, i.e.
 *     the server's current model (client i's model x - u_i is at distance
 *     ||u_i|| from x).
 * Memory: kmax * dim floats, plus dim for the pivot.
 */
#ifndef FS_ROBUST_ROUND_H
#define FS_ROBUST_ROUND_H

#include "fs_payload.h"
#include "robust.h"

#include <stdint.h>

typedef enum { FS_PIVOT_PREVIOUS = 0, FS_PIVOT_MODEL } fs_pivot_kind;

typedef struct fs_robust_round fs_robust_round;

/* A collector for up to kmax updates of dim entries, aggregated with rule
 * r, f and m (m: multikrum). Errors: FS_ENOMEM (with the sizes). */
fs_status fs_robust_round_new(const fs_robust_rule *r, size_t f, size_t m,
                              fs_pivot_kind pivot, size_t kmax, size_t dim,
                              fs_robust_round **out, fs_err *err);
void fs_robust_round_free(fs_robust_round *rr);

/* Start a round: forget the updates of the last one. */
void fs_robust_round_begin(fs_robust_round *rr);

/* Store update p as slot i (< kmax) of this round (expanded to dense). */
void fs_robust_round_put(fs_robust_round *rr, size_t i, const fs_payload *p);

/* Aggregate the slots stored since fs_robust_round_begin, in slot order,
 * with f reduced by `rejected` (not below 0), into out (dim doubles).
 * *applied = 1 on success; *applied = 0 when the rule cannot take that many
 * updates (the round is skipped and counted; err says why) and out is
 * unchanged. Errors: FS_ENUMERIC (a stored update is not finite), FS_ENOMEM.
 */
fs_status fs_robust_round_aggregate(fs_robust_round *rr, size_t rejected,
                                    double *out, int *applied, fs_err *err);

/* Slot i's update of this round (dim floats), or NULL if none was stored
 * since fs_robust_round_begin (or i >= kmax). */
const float *fs_robust_round_row(const fs_robust_round *rr, size_t i);

/* Rounds skipped so far. */
uint64_t fs_robust_round_skipped(const fs_robust_round *rr);

/* Checkpoints: the state carried from round to round, in place: the last
 * applied aggregate (dim floats; the pivot "previous") and the count of
 * skipped rounds. */
float *fs_robust_round_prev(fs_robust_round *rr);
uint64_t *fs_robust_round_skipped_count(fs_robust_round *rr);

#endif
