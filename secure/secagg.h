/*
 * secagg.h — pairwise-masked secure aggregation (Bonawitz et al., CCS 2017;
 * SecAgg+ of Bell et al., CCS 2020: masks only between neighbours of a
 * sparse random graph), as pure functions: no MPI, no files, no clock.
 * The client and server roles glue them to proto/ frames
 * (docs/secure-aggregation.md has the protocol, the costs and the threat
 * model).
 *
 * One round with a cohort of n clients (client ids, increasing):
 *  - every client u has two X25519 key pairs, (c_sk, c_pk) to encrypt the
 *    shares it sends and (s_sk, s_pk) for its pairwise masks, and a 32-byte
 *    self-mask seed b_u (fs_sa_keys_derive);
 *  - the neighbour graph is a Harary graph (a ring where each node is
 *    joined to its h nearest on either side, degree k = 2h) over a random
 *    permutation of the cohort drawn from the round's stream (fs_sa_graph);
 *    k >= n - 1 gives the complete graph of the original protocol;
 *  - u Shamir-shares b_u and s_sk_u t-of-k among its neighbours, each pair
 *    of shares encrypted to the neighbour (fs_sa_share / fs_sa_open);
 *  - u quantises its update into Z_{2^32} (fs_sa_quantise) and sends
 *    y_u = q_u + PRG(b_u) + sum_{v in N(u), v < u} PRG(s_uv)
 *                         - sum_{v in N(u), v > u} PRG(s_uv)   (mod 2^32)
 *    with s_uv = H(X25519(s_sk_u, s_pk_v), ids, round) and PRG the ChaCha20
 *    keystream read as little-endian uint32 words (fs_sa_mask);
 *  - the server sums the y_u of the survivors; the pairwise masks between
 *    two survivors cancel. From t shares it rebuilds b_u of each survivor
 *    (removes PRG(b_u)) and s_sk_v of each client v that dropped after
 *    masking (removes the masks its surviving neighbours added for it), then
 *    dequantises (fs_sa_unmask_self, fs_sa_unmask_dropped,
 *    fs_sa_dequantise).
 *
 * Quantisation: x -> clip(f x, -c, c), then stochastic rounding of
 * (x + c) / delta, delta = 2c / (2^bits - 1), to an integer in
 * [0, 2^bits - 1]. A sum of m such integers is exact in Z_{2^32} when
 * m 2^bits < 2^32, which fs_sa_params_make enforces for the cohort size.
 *
 * Every secret comes from the fs_rng stream (seed, FS_RNG_SECAGG,
 * fs_sa_stream_id(tag, client), round), so runs reproduce on any number of
 * ranks; a deployment would draw them from randombytes instead.
 */
#ifndef FS_SECAGG_H
#define FS_SECAGG_H

#include "fs_rng.h"
#include "fs_status.h"
#include "shamir.h"

#include <stddef.h>
#include <stdint.h>

#define FS_SA_KEY_BYTES 32
#define FS_SA_MAC_BYTES 16 /* crypto_secretbox_MACBYTES */
/* An encrypted pair of shares (of b and of s_sk) from one client to one
 * neighbour. */
#define FS_SA_CT_BYTES (2 * FS_SHAMIR_SHARE_BYTES + FS_SA_MAC_BYTES)

/* Sub-streams of FS_RNG_SECAGG (the id is tag << 32 | client). */
typedef enum {
  FS_SA_TAG_KEYS = 0,   /* a client's key pairs and b */
  FS_SA_TAG_SHARES = 1, /* its polynomial coefficients */
  FS_SA_TAG_QUANT = 2,  /* its stochastic rounding */
  FS_SA_TAG_DROP = 3,   /* whether it drops after masking (simulation) */
  FS_SA_TAG_GRAPH = 4   /* the round's neighbour graph (client 0) */
} fs_sa_tag;

uint64_t fs_sa_stream_id(fs_sa_tag tag, uint32_t client);

/* Which secret a share is of. */
typedef enum { FS_SA_SECRET_B = 0, FS_SA_SECRET_SK = 1 } fs_sa_secret;

typedef struct {
  uint32_t n;         /* cohort size */
  uint32_t degree;    /* k: neighbours of each client */
  uint32_t threshold; /* t: shares needed to rebuild a secret */
  uint32_t bits;      /* quantisation bits */
  double clip;        /* c */
} fs_sa_params;

/* The smallest even degree k >= 2 ceil(log2 n) for which, with every client
 * dropping independently with probability dropout, the chance that some
 * client keeps fewer than t = floor(k/2) + 1 surviving neighbours is below
 * 1e-6 (union bound: n P[Bin(k, 1 - dropout) <= k/2]); n - 1 (the complete
 * graph) when that is not smaller. n >= 1, 0 <= dropout < 1. */
uint32_t fs_sa_auto_degree(uint32_t n, double dropout);

/* Parameters for a cohort of n clients: degree (0: fs_sa_auto_degree with
 * dropout; else min(degree, n - 1), made even unless it is n - 1),
 * threshold floor(k/2) + 1 (at most k; 1 when n = 1).
 * Errors: FS_ERANGE (n = 0, bits outside 1..31, n 2^bits >= 2^32: the sum
 * could wrap around; the message gives the largest bits for n), FS_EINVAL
 * (clip not finite and > 0, dropout outside [0, 1)). */
fs_status fs_sa_params_make(uint32_t n, uint32_t bits, double clip,
                            uint32_t degree, double dropout, fs_sa_params *out,
                            fs_err *err);

/* The neighbour graph of one round (opaque). */
typedef struct fs_sa_graph fs_sa_graph;

/* Draw the graph for p->n cohort positions from the stream (seed,
 * FS_RNG_SECAGG, fs_sa_stream_id(FS_SA_TAG_GRAPH, 0), round).
 * Errors: FS_ENOMEM. */
fs_status fs_sa_graph_new(uint64_t seed, uint32_t round, const fs_sa_params *p,
                          fs_sa_graph **out);
void fs_sa_graph_free(fs_sa_graph *g);
/* Neighbours of cohort position i (< n), increasing, into out (room for
 * p->degree); returns how many (p->degree). */
size_t fs_sa_graph_neighbours(const fs_sa_graph *g, uint32_t i, uint32_t *out);

typedef struct {
  uint8_t c_sk[FS_SA_KEY_BYTES], c_pk[FS_SA_KEY_BYTES]; /* share encryption */
  uint8_t s_sk[FS_SA_KEY_BYTES], s_pk[FS_SA_KEY_BYTES]; /* pairwise masks */
  uint8_t b[FS_SA_KEY_BYTES];                           /* self-mask seed */
} fs_sa_keys;

/* The keys of client in round (stream tag KEYS). */
void fs_sa_keys_derive(uint64_t seed, uint32_t client, uint32_t round,
                       fs_sa_keys *k);
/* Zero the keys (sodium_memzero). */
void fs_sa_keys_wipe(fs_sa_keys *k);

/* The 32-byte key that clients a and b agree on in round from sk (one's
 * secret key) and peer_pk (the other's public key): BLAKE2b-256 of label (8
 * bytes), X25519(sk, peer_pk), min(a, b), max(a, b) and round. Symmetric
 * in the two sides. Errors: FS_EFORMAT (peer_pk of small order: the X25519
 * output is all zero). */
fs_status fs_sa_agree(const uint8_t sk[FS_SA_KEY_BYTES],
                      const uint8_t peer_pk[FS_SA_KEY_BYTES], uint32_t a,
                      uint32_t b, uint32_t round, const char label[8],
                      uint8_t out[FS_SA_KEY_BYTES], fs_err *err);

/* Client me: share b and s_sk with threshold t among its m neighbours nb
 * (client ids; the share of nb[i] is at point nb[i] + 1) and encrypt each
 * pair to nb[i] (crypto_secretbox under fs_sa_agree(c_sk, nb_cpk[i],
 * "fsshare"), nonce from (me, nb[i], round)) into ct[i]. Coefficients from
 * the stream tag SHARES. Errors: FS_EFORMAT (a neighbour's c_pk of small
 * order), FS_ENOMEM. */
fs_status fs_sa_share(const fs_sa_keys *k, uint64_t seed, uint32_t me,
                      uint32_t round, uint32_t t, const uint32_t *nb,
                      const uint8_t (*nb_cpk)[FS_SA_KEY_BYTES], size_t m,
                      uint8_t (*ct)[FS_SA_CT_BYTES], fs_err *err);
/* The same, also writing the m pairwise encryption keys into keys (the
 * key of a pair is symmetric: keeping it spares fs_sa_open_key an X25519
 * per share it opens later). The caller wipes keys after use. */
fs_status fs_sa_share_keep(const fs_sa_keys *k, uint64_t seed, uint32_t me,
                           uint32_t round, uint32_t t, const uint32_t *nb,
                           const uint8_t (*nb_cpk)[FS_SA_KEY_BYTES], size_t m,
                           uint8_t (*ct)[FS_SA_CT_BYTES],
                           uint8_t (*keys)[FS_SA_KEY_BYTES], fs_err *err);

/* Client me: open ct, which client from (with public key from_cpk) sent it,
 * and give the share of the secret `which` (its point is me + 1).
 * Errors: FS_EFORMAT (forged or corrupted ciphertext, small-order key, a
 * share value >= p). */
fs_status fs_sa_open(const fs_sa_keys *k, uint32_t me, uint32_t round,
                     uint32_t from, const uint8_t from_cpk[FS_SA_KEY_BYTES],
                     const uint8_t ct[FS_SA_CT_BYTES], fs_sa_secret which,
                     fs_shamir_share *out, fs_err *err);
/* fs_sa_open with the pair's encryption key given (from fs_sa_share_keep). */
fs_status fs_sa_open_key(const uint8_t key[FS_SA_KEY_BYTES], uint32_t me,
                         uint32_t round, uint32_t from,
                         const uint8_t ct[FS_SA_CT_BYTES], fs_sa_secret which,
                         fs_shamir_share *out, fs_err *err);

/* Quantise scale * v (d floats) into q (d words) with the stream r.
 * Non-finite products become 0. Returns the entries clipped to [-c, c];
 * *nonfinite (if not NULL) gets the entries that were not finite. */
size_t fs_sa_quantise(const float *v, size_t d, double scale,
                      const fs_sa_params *p, fs_rng *r, uint32_t *q,
                      size_t *nonfinite);

/* y += sign * PRG(seed) (mod 2^32, d words); sign is +1 or -1. */
void fs_sa_prg_add(const uint8_t seed[FS_SA_KEY_BYTES], int sign, uint32_t *y,
                   size_t d);

/* Client me: mask y (its quantised update on entry) with PRG(b) and the
 * pairwise masks with its m neighbours nb (ids != me) whose mask public
 * keys are nb_spk. Errors: FS_EFORMAT (small-order key), FS_EINVAL (a
 * neighbour is me). */
fs_status fs_sa_mask(const fs_sa_keys *k, uint32_t me, uint32_t round,
                     const uint32_t *nb,
                     const uint8_t (*nb_spk)[FS_SA_KEY_BYTES], size_t m,
                     uint32_t *y, size_t d, fs_err *err);

/* Server: remove from sum the masks that the m surviving neighbours nb
 * (mask public keys nb_spk) of dropped client v added for v, given v's
 * rebuilt s_sk. Errors: FS_EFORMAT (small-order key). */
fs_status fs_sa_unmask_dropped(const uint8_t v_sk[FS_SA_KEY_BYTES], uint32_t v,
                               uint32_t round, const uint32_t *nb,
                               const uint8_t (*nb_spk)[FS_SA_KEY_BYTES],
                               size_t m, uint32_t *sum, size_t d, fs_err *err);

/* Server: rebuild the mask secret key of client v from m >= t shares and
 * check it against v's public key s_pk (so a wrong share is caught, not
 * turned into a wrong sum). out is written only on success.
 * Errors: those of fs_shamir_reconstruct, FS_EFORMAT (key mismatch). */
fs_status fs_sa_rebuild_sk(const fs_shamir_share *shares, size_t m, uint32_t t,
                           uint32_t v, const uint8_t s_pk[FS_SA_KEY_BYTES],
                           uint8_t out[FS_SA_KEY_BYTES], fs_err *err);

/* out[j] = sum[j] delta - m c: the sum of m dequantised updates. */
void fs_sa_dequantise(const uint32_t *sum, size_t d, uint32_t m,
                      const fs_sa_params *p, double *out);

/* Does client drop after masking in round (probability dropout, stream tag
 * DROP)? Used by both sides of the simulation. */
int fs_sa_drops(uint64_t seed, uint32_t client, uint32_t round, double dropout);

#endif
