/*
 * shamir.c — Shamir secret sharing over GF(2^61 - 1) (see shamir.h).
 *
 * Products of two field elements fit in 122 bits; since 2^61 = 1 (mod p),
 * a 128-bit product reduces as (lo 61 bits) + (the rest), then one
 * conditional subtraction. Inverses are a^(p-2) (Fermat). Lagrange
 * interpolation at x0 uses one inversion per basis polynomial; m is a
 * client's neighbour count (tens to hundreds), so O(m^2) is fine.
 */
#include "shamir.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 fs__u128;

#define P FS_SHAMIR_P
#define CHUNK_BYTES 7

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void misuse(const char *what) {
  fprintf(stderr, "fedsim: shamir misuse: %s\n", what);
  abort();
}

uint64_t fs_gf61_add(uint64_t a, uint64_t b) {
  uint64_t s = a + b; /* < 2^62: no overflow */
  return s >= P ? s - P : s;
}

uint64_t fs_gf61_sub(uint64_t a, uint64_t b) {
  return a >= b ? a - b : a + P - b;
}

uint64_t fs_gf61_mul(uint64_t a, uint64_t b) {
  fs__u128 z = (fs__u128)a * b;
  uint64_t lo = (uint64_t)z & P;
  uint64_t hi = (uint64_t)(z >> 61);
  uint64_t s = lo + hi; /* < 2^62 */
  s = (s & P) + (s >> 61);
  return s >= P ? s - P : s;
}

uint64_t fs_gf61_inv(uint64_t a) {
  if (a == 0 || a >= P)
    misuse("inverse of 0");
  uint64_t e = P - 2, r = 1, b = a;
  while (e) {
    if (e & 1)
      r = fs_gf61_mul(r, b);
    b = fs_gf61_mul(b, b);
    e >>= 1;
  }
  return r;
}

uint64_t fs_gf61_interpolate(const uint64_t *xs, const uint64_t *ys, size_t m,
                             uint64_t x0) {
  uint64_t acc = 0;
  for (size_t i = 0; i < m; i++) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < m; j++) {
      if (j == i)
        continue;
      if (xs[j] == xs[i])
        misuse("interpolation through two values at one point");
      num = fs_gf61_mul(num, fs_gf61_sub(x0, xs[j]));
      den = fs_gf61_mul(den, fs_gf61_sub(xs[i], xs[j]));
    }
    acc = fs_gf61_add(acc,
                      fs_gf61_mul(ys[i], fs_gf61_mul(num, fs_gf61_inv(den))));
  }
  return acc;
}

/* Chunk c of the secret as a field element (7 bytes little-endian; the last
 * chunk has 32 - 4*7 = 4 bytes). */
static uint64_t chunk_get(const uint8_t *s, int c) {
  uint64_t v = 0;
  for (int i = 0; i < CHUNK_BYTES; i++) {
    int at = c * CHUNK_BYTES + i;
    if (at < FS_SHAMIR_SECRET_BYTES)
      v |= (uint64_t)s[at] << (8 * i);
  }
  return v;
}

static int chunk_put(uint8_t *s, int c, uint64_t v) {
  int bytes = FS_SHAMIR_SECRET_BYTES - c * CHUNK_BYTES;
  if (bytes > CHUNK_BYTES)
    bytes = CHUNK_BYTES;
  if (v >> (8 * bytes))
    return -1;
  for (int i = 0; i < bytes; i++)
    s[c * CHUNK_BYTES + i] = (uint8_t)(v >> (8 * i));
  return 0;
}

void fs_shamir_split(const uint8_t secret[FS_SHAMIR_SECRET_BYTES], uint32_t t,
                     const uint64_t *xs, size_t n, fs_rng *r,
                     fs_shamir_share *out) {
  if (t < 1 || t > n)
    misuse("threshold outside 1..n");
  for (size_t i = 0; i < n; i++)
    if (xs[i] == 0 || xs[i] >= P)
      misuse("share point 0 or >= p");
  uint64_t *coef = malloc((size_t)t * sizeof *coef);
  if (coef == NULL)
    misuse("out of memory");
  for (int c = 0; c < FS_SHAMIR_CHUNKS; c++) {
    coef[0] = chunk_get(secret, c);
    for (uint32_t k = 1; k < t; k++)
      coef[k] = fs_rng_below(r, P);
    for (size_t i = 0; i < n; i++) {
      uint64_t y = 0; /* Horner */
      for (uint32_t k = t; k-- > 0;)
        y = fs_gf61_add(fs_gf61_mul(y, xs[i]), coef[k]);
      out[i].x = xs[i];
      out[i].y[c] = y;
    }
  }
  sodium_memzero(coef, (size_t)t * sizeof *coef);
  free(coef);
}

/* Invert the m nonzero elements of a in place with one field inversion
 * (Montgomery's trick); tmp has room for m. */
static void batch_inv(uint64_t *a, size_t m, uint64_t *tmp) {
  uint64_t acc = 1;
  for (size_t i = 0; i < m; i++) {
    tmp[i] = acc;
    acc = fs_gf61_mul(acc, a[i]);
  }
  acc = fs_gf61_inv(acc);
  for (size_t i = m; i-- > 0;) {
    uint64_t ai = a[i];
    a[i] = fs_gf61_mul(acc, tmp[i]);
    acc = fs_gf61_mul(acc, ai);
  }
}

/* Lagrange coefficients L_i(x0) of the t points xs (x0 not among them, or
 * 0), given the barycentric weights w_i = 1 / prod_{j != i}(x_i - x_j). */
static void lagrange_at(const uint64_t *xs, const uint64_t *w, uint32_t t,
                        uint64_t x0, uint64_t *L, uint64_t *tmp) {
  uint64_t all = 1;
  for (uint32_t i = 0; i < t; i++) {
    L[i] = fs_gf61_sub(x0, xs[i]);
    all = fs_gf61_mul(all, L[i]);
  }
  batch_inv(L, t, tmp);
  for (uint32_t i = 0; i < t; i++)
    L[i] = fs_gf61_mul(fs_gf61_mul(w[i], all), L[i]);
}

fs_status fs_shamir_reconstruct(const fs_shamir_share *shares, size_t m,
                                uint32_t t,
                                uint8_t secret[FS_SHAMIR_SECRET_BYTES],
                                fs_err *err) {
  if (t < 1 || m < t)
    return fs_err_set(err, FS_ERANGE, "shamir: %zu shares, the threshold is %u",
                      m, t);
  for (size_t i = 0; i < m; i++) {
    if (shares[i].x == 0 || shares[i].x >= P)
      return fs_err_set(err, FS_EFORMAT, "shamir: share %zu at point %llu", i,
                        (unsigned long long)shares[i].x);
    for (int c = 0; c < FS_SHAMIR_CHUNKS; c++)
      if (shares[i].y[c] >= P)
        return fs_err_set(err, FS_EFORMAT, "shamir: share %zu has a value >= p",
                          i);
  }
  /* Duplicate points: sort a copy of the points. */
  uint64_t *xs = malloc((size_t)(4 * t + m) * sizeof *xs);
  if (xs == NULL)
    return fs_err_set(err, FS_ENOMEM, "shamir: out of memory");
  uint64_t *w = xs + t, *L = w + t, *tmp = L + t, *sorted = tmp + t;
  for (size_t i = 0; i < m; i++)
    sorted[i] = shares[i].x;
  qsort(sorted, m, sizeof *sorted, cmp_u64);
  for (size_t i = 1; i < m; i++)
    if (sorted[i] == sorted[i - 1]) {
      unsigned long long dup = (unsigned long long)sorted[i];
      free(xs);
      return fs_err_set(err, FS_EFORMAT,
                        "shamir: two shares at the same point %llu", dup);
    }
  for (uint32_t i = 0; i < t; i++)
    xs[i] = shares[i].x;
  for (uint32_t i = 0; i < t; i++) {
    w[i] = 1;
    for (uint32_t j = 0; j < t; j++)
      if (j != i)
        w[i] = fs_gf61_mul(w[i], fs_gf61_sub(xs[i], xs[j]));
  }
  batch_inv(w, t, tmp);
  fs_status st = FS_OK;
  /* Every share beyond the first t must lie on the same polynomials. */
  for (size_t i = t; i < m && st == FS_OK; i++) {
    lagrange_at(xs, w, t, shares[i].x, L, tmp);
    for (int c = 0; c < FS_SHAMIR_CHUNKS && st == FS_OK; c++) {
      uint64_t v = 0;
      for (uint32_t j = 0; j < t; j++)
        v = fs_gf61_add(v, fs_gf61_mul(L[j], shares[j].y[c]));
      if (v != shares[i].y[c])
        st = fs_err_set(err, FS_EFORMAT,
                        "shamir: share %zu (point %llu) is not on the "
                        "polynomial of the first %u shares (corrupted or "
                        "forged share)",
                        i, (unsigned long long)shares[i].x, t);
    }
  }
  uint8_t out[FS_SHAMIR_SECRET_BYTES] = {0};
  if (st == FS_OK)
    lagrange_at(xs, w, t, 0, L, tmp);
  for (int c = 0; c < FS_SHAMIR_CHUNKS && st == FS_OK; c++) {
    uint64_t v = 0;
    for (uint32_t j = 0; j < t; j++)
      v = fs_gf61_add(v, fs_gf61_mul(L[j], shares[j].y[c]));
    if (chunk_put(out, c, v))
      st = fs_err_set(err, FS_EFORMAT,
                      "shamir: chunk %d of the secret is out of range (the "
                      "shares are inconsistent, or fewer than the real "
                      "threshold)",
                      c);
  }
  free(xs);
  if (st == FS_OK)
    memcpy(secret, out, sizeof out);
  sodium_memzero(out, sizeof out);
  return st;
}

void fs_shamir_share_encode(const fs_shamir_share *s, uint8_t *out) {
  for (int c = 0; c < FS_SHAMIR_CHUNKS; c++)
    for (int i = 0; i < 8; i++)
      out[8 * c + i] = (uint8_t)(s->y[c] >> (8 * i));
}

fs_status fs_shamir_share_decode(const uint8_t *in, uint64_t x,
                                 fs_shamir_share *s, fs_err *err) {
  fs_shamir_share v = {.x = x};
  for (int c = 0; c < FS_SHAMIR_CHUNKS; c++) {
    uint64_t y = 0;
    for (int i = 0; i < 8; i++)
      y |= (uint64_t)in[8 * c + i] << (8 * i);
    if (y >= P)
      return fs_err_set(err, FS_EFORMAT,
                        "shamir: share value %d is %llu, not below 2^61 - 1", c,
                        (unsigned long long)y);
    v.y[c] = y;
  }
  *s = v;
  return FS_OK;
}
