/*
 * shamir.h — t-of-n Shamir secret sharing of a 32-byte seed over the prime
 * field GF(p), p = 2^61 - 1 (a Mersenne prime: reduction is a shift and an
 * add, and p is larger than every share point x = client id + 1 < 2^32 + 1).
 *
 * A 32-byte secret is cut into FS_SHAMIR_CHUNKS chunks of at most 7 bytes
 * (56 bits < 61), each a field element shared with its own random
 * polynomial of degree t - 1 whose constant term is the chunk. A share is
 * the point x and the FS_SHAMIR_CHUNKS values of the polynomials at x.
 * Any t shares give the secret back by Lagrange interpolation at 0; t - 1
 * shares are consistent with every secret (each polynomial value at a new
 * point is uniform given them), so they say nothing about it.
 *
 * libsodium has no secret sharing; this module is written by hand (Shamir,
 * "How to share a secret", CACM 1979). The random coefficients come from an
 * fs_rng stream passed by the caller. Pure functions: no MPI, no files.
 */
#ifndef FS_SHAMIR_H
#define FS_SHAMIR_H

#include "fs_rng.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_SHAMIR_P ((UINT64_C(1) << 61) - 1)
#define FS_SHAMIR_SECRET_BYTES 32
#define FS_SHAMIR_CHUNKS 5 /* ceil(32 / 7) */
/* Wire size of a share's values (the point travels beside it). */
#define FS_SHAMIR_SHARE_BYTES (8 * FS_SHAMIR_CHUNKS)

typedef struct {
  uint64_t x;                   /* share point, 1 <= x < p */
  uint64_t y[FS_SHAMIR_CHUNKS]; /* values, each < p */
} fs_shamir_share;

/* Field arithmetic mod p (inputs < p, results < p). fs_gf61_inv(0) aborts. */
uint64_t fs_gf61_add(uint64_t a, uint64_t b);
uint64_t fs_gf61_sub(uint64_t a, uint64_t b);
uint64_t fs_gf61_mul(uint64_t a, uint64_t b);
uint64_t fs_gf61_inv(uint64_t a);

/* The value at x0 of the polynomial of degree < m through the m points
 * (xs[i], ys[i]) (xs distinct, < p; ys < p). Duplicate xs abort. */
uint64_t fs_gf61_interpolate(const uint64_t *xs, const uint64_t *ys, size_t m,
                             uint64_t x0);

/* Share secret among n points xs (distinct, 1 <= x < p) with threshold t
 * (1 <= t <= n): out[i] gets the share at xs[i]. Coefficients are drawn
 * from r. Bad t or points are programmer mistakes and abort. */
void fs_shamir_split(const uint8_t secret[FS_SHAMIR_SECRET_BYTES], uint32_t t,
                     const uint64_t *xs, size_t n, fs_rng *r,
                     fs_shamir_share *out);

/* Rebuild the secret from m shares with threshold t: interpolates at 0
 * through the first t shares, then checks that every further share lies on
 * the same polynomials (so a corrupted or forged share among more than t is
 * detected). secret is written only on success.
 * Errors: FS_ERANGE (m < t: too few shares), FS_EFORMAT (a point 0 or >= p,
 * a value >= p, two shares at one point, shares on different polynomials,
 * or a result that is not a 7-byte chunk). */
fs_status fs_shamir_reconstruct(const fs_shamir_share *shares, size_t m,
                                uint32_t t,
                                uint8_t secret[FS_SHAMIR_SECRET_BYTES],
                                fs_err *err);

/* The values of a share as FS_SHAMIR_SHARE_BYTES little-endian bytes, and
 * back (the point is given by the caller: it is the receiver's id + 1).
 * Decoding checks that every value is < p (FS_EFORMAT otherwise). */
void fs_shamir_share_encode(const fs_shamir_share *s, uint8_t *out);
fs_status fs_shamir_share_decode(const uint8_t *in, uint64_t x,
                                 fs_shamir_share *s, fs_err *err);

#endif
