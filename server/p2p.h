/*
 * p2p.h — the peer-to-peer mode of NNA and MoNNA (server.nna_pivot = own):
 * every client keeps a model of its own and mixes it with its own model as
 * the pivot, as in Farhadkhani et al. (ICML 2023). The star topology of
 * fedsim simulates the all-to-all exchange: rank 0 relays.
 *
 * Every round every client i (all N take part):
 *   trains from its own model X_i, sends u_i (after local momentum, and the
 *   attack if it is faulty);
 *   the half-step model is Y_i = X_i - lr u_i (lr = server.lr);
 *   an honest i takes X_i <- mean of the N - f (nna) or N - 2f (monna)
 *   models Y_j nearest to its own Y_i (ties: lower id);
 *   a faulty i restarts from the mean of the honest models (it knows them:
 *   its attacks are relative to the honest consensus).
 * Updates rejected as non-finite are left out, and f is lowered by their
 * number; if the rule cannot take the models left, nobody mixes (each
 * honest node keeps Y_i) and the round counts as skipped. The server's
 * evaluated model is the mean of the honest models.
 *
 * Every model lives on rank 0 (N * d floats, and N encoded bodies): this is
 * a simulation of the paper's setting, not a deployment. A faulty node
 * sends the same vector to every node (a weaker adversary than the paper's,
 * which may send different vectors to different nodes).
 */
#ifndef FS_P2P_H
#define FS_P2P_H

#include "faulty.h"
#include "robust.h"
#include "robust_round.h"

#include <stdint.h>

typedef struct fs_p2p fs_p2p;

/* State for n nodes of dim parameters mixing with rule r (nna or monna)
 * and f; faulty says which nodes are faulty (borrowed, must outlive p).
 * Errors: FS_ENOMEM with the sizes. */
fs_status fs_p2p_new(const fs_robust_rule *r, size_t f, double lr, size_t n,
                     size_t dim, const fs_faults *faulty, fs_p2p **out,
                     fs_err *err);
void fs_p2p_free(fs_p2p *p);

/* Every node starts from x0 (dim floats). */
void fs_p2p_start(fs_p2p *p, const float *x0);

/* The DENSE_F32 body of node c's model, fs_dense_size(dim) bytes, valid
 * until the next fs_p2p_mix. */
const uint8_t *fs_p2p_body(const fs_p2p *p, uint32_t c);

/* One mixing step. Slot c of rr holds node c's update (none if it was
 * rejected or never came); rejected is how many were rejected as
 * non-finite. Writes the mean of the honest models to xbar (dim floats);
 * *skipped = 1 when the rule could not take the models left (err says why,
 * and the skip is counted). Errors: FS_ENUMERIC, FS_ENOMEM. */
fs_status fs_p2p_mix(fs_p2p *p, const fs_robust_round *rr, size_t rejected,
                     float *xbar, int *skipped, fs_err *err);

/* Rounds skipped so far. */
uint64_t fs_p2p_skipped(const fs_p2p *p);

/* Checkpoints: every node's model (n * dim floats, node c at c * dim) and
 * the count of skipped rounds, in place; after writing the models back,
 * fs_p2p_restored re-encodes the bodies fs_p2p_body hands out. */
float *fs_p2p_models(fs_p2p *p, size_t *n);
uint64_t *fs_p2p_skipped_count(fs_p2p *p);
void fs_p2p_restored(fs_p2p *p);

#endif
