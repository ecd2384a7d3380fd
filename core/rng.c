/*
 * rng.c — counter-based random streams on libsodium's ChaCha20.
 *
 * The key of a stream is BLAKE2b-256 of the 32 bytes
 * "fsrng1\0\0" || seed || purpose || id || round (each 8 bytes, little-endian),
 * so any stream can be re-created from its four numbers alone.
 */
#include "fs_rng.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void refill(fs_rng *r) {
  static const uint8_t zeros[sizeof r->buf];
  static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
  crypto_stream_chacha20_xor_ic(r->buf, zeros, sizeof r->buf, nonce, r->block,
                                r->key);
  r->block += sizeof r->buf / 64;
  r->pos = 0;
}

void fs_rng_init(fs_rng *r, uint64_t seed, fs_rng_purpose purpose, uint64_t id,
                 uint64_t round) {
  uint8_t msg[40] = {'f', 's', 'r', 'n', 'g', '1', 0, 0};
  put_le64(msg + 8, seed);
  put_le64(msg + 16, (uint64_t)purpose);
  put_le64(msg + 24, id);
  put_le64(msg + 32, round);
  crypto_generichash(r->key, sizeof r->key, msg, sizeof msg, NULL, 0);
  r->block = 0;
  r->has_spare = 0;
  r->spare = 0.0;
  refill(r);
}

uint64_t fs_rng_u64(fs_rng *r) {
  if (r->pos + 8 > sizeof r->buf)
    refill(r);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
  r->pos += 8;
  return v;
}

uint32_t fs_rng_u32(fs_rng *r) {
  if (r->pos + 4 > sizeof r->buf)
    refill(r);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)r->buf[r->pos + i] << (8 * i);
  r->pos += 4;
  return v;
}

double fs_rng_uniform(fs_rng *r) {
  return (double)(fs_rng_u64(r) >> 11) * 0x1.0p-53;
}

double fs_rng_uniform_pos(fs_rng *r) {
  return ((double)(fs_rng_u64(r) >> 12) + 0.5) * 0x1.0p-52;
}

uint64_t fs_rng_below(fs_rng *r, uint64_t n) {
  /* Lemire, "Fast random integer generation in an interval" (2019). */
  uint64_t x = fs_rng_u64(r);
  __extension__ typedef unsigned __int128 u128;
  u128 m = (u128)x * n;
  uint64_t l = (uint64_t)m;
  if (l < n) {
    uint64_t t = -n % n;
    while (l < t) {
      x = fs_rng_u64(r);
      m = (u128)x * n;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

double fs_rng_normal(fs_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  do {
    u = 2.0 * fs_rng_uniform(r) - 1.0;
    v = 2.0 * fs_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double f = sqrt(-2.0 * log(s) / s);
  r->spare = v * f;
  r->has_spare = 1;
  return u * f;
}

double fs_rng_gamma(fs_rng *r, double shape) {
  if (shape < 1.0) {
    /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
    double g = fs_rng_gamma(r, shape + 1.0);
    return g * pow(fs_rng_uniform_pos(r), 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = fs_rng_normal(r);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = fs_rng_uniform_pos(r);
    if (u < 1.0 - 0.0331 * x * x * x * x)
      return d * v;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
      return d * v;
  }
}

void fs_rng_shuffle_u32(fs_rng *r, uint32_t *v, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)fs_rng_below(r, i);
    uint32_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}
