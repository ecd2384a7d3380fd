/*
 * secagg.c — pairwise-masked secure aggregation on libsodium (see
 * secagg.h): X25519 (crypto_scalarmult) + BLAKE2b (crypto_generichash) for
 * the pairwise keys, ChaCha20 (crypto_stream_chacha20) for the masks,
 * XSalsa20-Poly1305 (crypto_secretbox) for the shares in transit, and the
 * hand-written Shamir sharing of shamir.h for dropout recovery.
 *
 * Every key, seed and mask buffer is zeroed with sodium_memzero before it
 * goes out of scope.
 */
#include "secagg.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(FS_SA_MAC_BYTES == crypto_secretbox_MACBYTES,
               "secretbox MAC size");
_Static_assert(FS_SA_KEY_BYTES == crypto_scalarmult_BYTES, "X25519 size");

static void misuse(const char *what) {
  fprintf(stderr, "fedsim: secagg misuse: %s\n", what);
  abort();
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t fs_sa_stream_id(fs_sa_tag tag, uint32_t client) {
  return ((uint64_t)tag << 32) | client;
}

/* log P[Bin(k, q) = i] */
static double log_binom_pmf(uint32_t k, uint32_t i, double q) {
  double lc = lgamma(k + 1.0) - lgamma(i + 1.0) - lgamma(k - i + 1.0);
  return lc + i * log(q) + (k - i) * log1p(-q);
}

uint32_t fs_sa_auto_degree(uint32_t n, double dropout) {
  if (n <= 1)
    return 0;
  uint32_t lg = 0;
  while (lg < 32 && (1ull << lg) < n)
    lg++;
  uint32_t k = 2 * (lg > 0 ? lg : 1);
  double q = 1.0 - dropout;
  for (; k < n - 1; k += 2) {
    if (dropout <= 0.0)
      return k;
    double tail = 0.0; /* P[Bin(k, q) <= k/2] */
    for (uint32_t i = 0; i <= k / 2; i++)
      tail += exp(log_binom_pmf(k, i, q));
    if ((double)n * tail <= 1e-6)
      return k;
  }
  return n - 1;
}

fs_status fs_sa_params_make(uint32_t n, uint32_t bits, double clip,
                            uint32_t degree, double dropout, fs_sa_params *out,
                            fs_err *err) {
  if (n < 2)
    return fs_err_set(err, FS_ERANGE,
                      "secure aggregation: a cohort of %u client(s); it needs "
                      "at least 2 (the sum of one update is that update)",
                      n);
  if (bits < 1 || bits > 31)
    return fs_err_set(err, FS_ERANGE, "secure.bits: %u is outside 1..31", bits);
  if (((uint64_t)n << bits) >= (UINT64_C(1) << 32)) {
    uint32_t most = 0;
    while (most < 31 && ((uint64_t)n << (most + 1)) < (UINT64_C(1) << 32))
      most++;
    return fs_err_set(err, FS_ERANGE,
                      "secure.bits: %u clients x 2^%u levels would overflow "
                      "Z_2^32 (n 2^bits must stay below 2^32: at most %u "
                      "bits for %u clients)",
                      n, bits, most, n);
  }
  if (!(clip > 0.0) || !isfinite(clip))
    return fs_err_set(err, FS_EINVAL,
                      "secure.clip: %g is not a finite "
                      "positive number",
                      clip);
  if (!(dropout >= 0.0 && dropout < 1.0))
    return fs_err_set(err, FS_EINVAL, "secure.dropout: %g is outside [0, 1)",
                      dropout);
  uint32_t k = degree == 0 ? fs_sa_auto_degree(n, dropout) : degree;
  if (k >= n - 1)
    k = n - 1;
  else if (k % 2)
    k++; /* the ring joins h on either side: k = 2h (k + 1 <= n - 1 here) */
  fs_sa_params p = {.n = n, .degree = k, .bits = bits, .clip = clip};
  p.threshold = k / 2 + 1 <= k ? k / 2 + 1 : k;
  if (p.threshold < 1)
    p.threshold = 1;
  *out = p;
  return FS_OK;
}

struct fs_sa_graph {
  uint32_t n, k;
  uint32_t *perm; /* ring position -> cohort position */
  uint32_t *pos;  /* cohort position -> ring position */
};

fs_status fs_sa_graph_new(uint64_t seed, uint32_t round, const fs_sa_params *p,
                          fs_sa_graph **out) {
  *out = NULL;
  fs_sa_graph *g = calloc(1, sizeof *g);
  if (g == NULL)
    return FS_ENOMEM;
  g->n = p->n;
  g->k = p->degree;
  g->perm = malloc((size_t)p->n * sizeof *g->perm);
  g->pos = malloc((size_t)p->n * sizeof *g->pos);
  if (g->perm == NULL || g->pos == NULL) {
    fs_sa_graph_free(g);
    return FS_ENOMEM;
  }
  for (uint32_t i = 0; i < p->n; i++)
    g->perm[i] = i;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SECAGG, fs_sa_stream_id(FS_SA_TAG_GRAPH, 0),
              round);
  fs_rng_shuffle_u32(&r, g->perm, p->n);
  for (uint32_t i = 0; i < p->n; i++)
    g->pos[g->perm[i]] = i;
  *out = g;
  return FS_OK;
}

void fs_sa_graph_free(fs_sa_graph *g) {
  if (g == NULL)
    return;
  free(g->perm);
  free(g->pos);
  free(g);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

size_t fs_sa_graph_neighbours(const fs_sa_graph *g, uint32_t i, uint32_t *out) {
  if (i >= g->n)
    misuse("graph position out of range");
  size_t m = 0;
  if (g->k >= g->n - 1) {
    for (uint32_t j = 0; j < g->n; j++)
      if (j != i)
        out[m++] = j;
    return m;
  }
  uint32_t at = g->pos[i], h = g->k / 2;
  for (uint32_t j = 1; j <= h; j++) {
    out[m++] = g->perm[(at + j) % g->n];
    out[m++] = g->perm[(at + g->n - j) % g->n];
  }
  qsort(out, m, sizeof *out, cmp_u32);
  return m;
}

void fs_sa_keys_derive(uint64_t seed, uint32_t client, uint32_t round,
                       fs_sa_keys *k) {
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SECAGG, fs_sa_stream_id(FS_SA_TAG_KEYS, client),
              round);
  for (int i = 0; i < FS_SA_KEY_BYTES; i += 4) {
    put32(k->c_sk + i, fs_rng_u32(&r));
    put32(k->s_sk + i, fs_rng_u32(&r));
    put32(k->b + i, fs_rng_u32(&r));
  }
  crypto_scalarmult_base(k->c_pk, k->c_sk);
  crypto_scalarmult_base(k->s_pk, k->s_sk);
  sodium_memzero(&r, sizeof r);
}

void fs_sa_keys_wipe(fs_sa_keys *k) { sodium_memzero(k, sizeof *k); }

fs_status fs_sa_agree(const uint8_t sk[FS_SA_KEY_BYTES],
                      const uint8_t peer_pk[FS_SA_KEY_BYTES], uint32_t a,
                      uint32_t b, uint32_t round, const char label[8],
                      uint8_t out[FS_SA_KEY_BYTES], fs_err *err) {
  uint8_t msg[8 + crypto_scalarmult_BYTES + 12];
  memcpy(msg, label, 8);
  if (crypto_scalarmult(msg + 8, sk, peer_pk) != 0) {
    sodium_memzero(msg, sizeof msg);
    return fs_err_set(err, FS_EFORMAT,
                      "secagg: public key of client %u is of small order "
                      "(X25519 gives zero)",
                      a == b ? a : b);
  }
  put32(msg + 8 + crypto_scalarmult_BYTES, a < b ? a : b);
  put32(msg + 12 + crypto_scalarmult_BYTES, a < b ? b : a);
  put32(msg + 16 + crypto_scalarmult_BYTES, round);
  crypto_generichash(out, FS_SA_KEY_BYTES, msg, sizeof msg, NULL, 0);
  sodium_memzero(msg, sizeof msg);
  return FS_OK;
}

static void share_nonce(uint32_t from, uint32_t to, uint32_t round,
                        uint8_t nonce[crypto_secretbox_NONCEBYTES]) {
  memset(nonce, 0, crypto_secretbox_NONCEBYTES);
  memcpy(nonce, "fsshare1", 8);
  put32(nonce + 8, from);
  put32(nonce + 12, to);
  put32(nonce + 16, round);
}

fs_status fs_sa_share(const fs_sa_keys *k, uint64_t seed, uint32_t me,
                      uint32_t round, uint32_t t, const uint32_t *nb,
                      const uint8_t (*nb_cpk)[FS_SA_KEY_BYTES], size_t m,
                      uint8_t (*ct)[FS_SA_CT_BYTES], fs_err *err) {
  return fs_sa_share_keep(k, seed, me, round, t, nb, nb_cpk, m, ct, NULL, err);
}

fs_status fs_sa_share_keep(const fs_sa_keys *k, uint64_t seed, uint32_t me,
                           uint32_t round, uint32_t t, const uint32_t *nb,
                           const uint8_t (*nb_cpk)[FS_SA_KEY_BYTES], size_t m,
                           uint8_t (*ct)[FS_SA_CT_BYTES],
                           uint8_t (*keys)[FS_SA_KEY_BYTES], fs_err *err) {
  if (m == 0)
    return FS_OK;
  uint64_t *xs = malloc(m * sizeof *xs);
  fs_shamir_share *sb = malloc(2 * m * sizeof *sb);
  if (xs == NULL || sb == NULL) {
    free(xs);
    free(sb);
    return fs_err_set(err, FS_ENOMEM, "secagg: out of memory");
  }
  fs_shamir_share *ss = sb + m;
  for (size_t i = 0; i < m; i++)
    xs[i] = (uint64_t)nb[i] + 1;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SECAGG, fs_sa_stream_id(FS_SA_TAG_SHARES, me),
              round);
  fs_shamir_split(k->b, t, xs, m, &r, sb);
  fs_shamir_split(k->s_sk, t, xs, m, &r, ss);
  fs_status st = FS_OK;
  uint8_t plain[2 * FS_SHAMIR_SHARE_BYTES], key[FS_SA_KEY_BYTES];
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  for (size_t i = 0; i < m && st == FS_OK; i++) {
    st =
        fs_sa_agree(k->c_sk, nb_cpk[i], me, nb[i], round, "fsshare1", key, err);
    if (st != FS_OK)
      break;
    fs_shamir_share_encode(&sb[i], plain);
    fs_shamir_share_encode(&ss[i], plain + FS_SHAMIR_SHARE_BYTES);
    share_nonce(me, nb[i], round, nonce);
    crypto_secretbox_easy(ct[i], plain, sizeof plain, nonce, key);
    if (keys != NULL)
      memcpy(keys[i], key, sizeof key);
  }
  sodium_memzero(plain, sizeof plain);
  sodium_memzero(key, sizeof key);
  sodium_memzero(sb, 2 * m * sizeof *sb);
  sodium_memzero(&r, sizeof r);
  free(xs);
  free(sb);
  return st;
}

fs_status fs_sa_open(const fs_sa_keys *k, uint32_t me, uint32_t round,
                     uint32_t from, const uint8_t from_cpk[FS_SA_KEY_BYTES],
                     const uint8_t ct[FS_SA_CT_BYTES], fs_sa_secret which,
                     fs_shamir_share *out, fs_err *err) {
  uint8_t key[FS_SA_KEY_BYTES];
  fs_status st =
      fs_sa_agree(k->c_sk, from_cpk, me, from, round, "fsshare1", key, err);
  if (st == FS_OK)
    st = fs_sa_open_key(key, me, round, from, ct, which, out, err);
  sodium_memzero(key, sizeof key);
  return st;
}

fs_status fs_sa_open_key(const uint8_t key[FS_SA_KEY_BYTES], uint32_t me,
                         uint32_t round, uint32_t from,
                         const uint8_t ct[FS_SA_CT_BYTES], fs_sa_secret which,
                         fs_shamir_share *out, fs_err *err) {
  uint8_t plain[2 * FS_SHAMIR_SHARE_BYTES];
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  fs_status st;
  share_nonce(from, me, round, nonce);
  if (crypto_secretbox_open_easy(plain, ct, FS_SA_CT_BYTES, nonce, key) != 0)
    st = fs_err_set(err, FS_EFORMAT,
                    "secagg: the shares client %u sent to client %u in round "
                    "%u fail authentication (forged or corrupted)",
                    from, me, round);
  else
    st = fs_shamir_share_decode(
        plain + (which == FS_SA_SECRET_SK ? FS_SHAMIR_SHARE_BYTES : 0),
        (uint64_t)me + 1, out, err);
  sodium_memzero(plain, sizeof plain);
  return st;
}

size_t fs_sa_quantise(const float *v, size_t d, double scale,
                      const fs_sa_params *p, fs_rng *r, uint32_t *q,
                      size_t *nonfinite) {
  double c = p->clip;
  double top = (double)((UINT32_C(1) << p->bits) - 1);
  double inv_delta = top / (2.0 * c);
  size_t clipped = 0, bad = 0;
  for (size_t j = 0; j < d; j++) {
    double x = (double)v[j] * scale;
    if (!isfinite(x)) {
      bad++;
      x = 0.0;
    }
    if (x > c) {
      x = c;
      clipped++;
    } else if (x < -c) {
      x = -c;
      clipped++;
    }
    double z = (x + c) * inv_delta;
    double fl = floor(z);
    double u = fs_rng_uniform(r);
    double k = fl + (u < z - fl ? 1.0 : 0.0);
    if (k > top)
      k = top;
    if (k < 0.0)
      k = 0.0;
    q[j] = (uint32_t)k;
  }
  if (nonfinite != NULL)
    *nonfinite = bad;
  return clipped;
}

void fs_sa_prg_add(const uint8_t seed[FS_SA_KEY_BYTES], int sign, uint32_t *y,
                   size_t d) {
  enum { WORDS = 1024 }; /* 4096 bytes = 64 ChaCha20 blocks */
  static const uint8_t zeros[4 * WORDS];
  static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
  uint8_t buf[4 * WORDS];
  uint64_t block = 0;
  for (size_t at = 0; at < d; at += WORDS) {
    size_t w = d - at < WORDS ? d - at : WORDS;
    crypto_stream_chacha20_xor_ic(buf, zeros, 4 * w, nonce, block, seed);
    block += 4 * WORDS / 64;
    for (size_t i = 0; i < w; i++) {
      uint32_t m = (uint32_t)buf[4 * i] | ((uint32_t)buf[4 * i + 1] << 8) |
                   ((uint32_t)buf[4 * i + 2] << 16) |
                   ((uint32_t)buf[4 * i + 3] << 24);
      y[at + i] = sign > 0 ? y[at + i] + m : y[at + i] - m;
    }
  }
  sodium_memzero(buf, sizeof buf);
}

fs_status fs_sa_mask(const fs_sa_keys *k, uint32_t me, uint32_t round,
                     const uint32_t *nb,
                     const uint8_t (*nb_spk)[FS_SA_KEY_BYTES], size_t m,
                     uint32_t *y, size_t d, fs_err *err) {
  for (size_t i = 0; i < m; i++)
    if (nb[i] == me)
      return fs_err_set(err, FS_EINVAL,
                        "secagg: client %u is its own neighbour", me);
  fs_sa_prg_add(k->b, +1, y, d);
  uint8_t s[FS_SA_KEY_BYTES];
  fs_status st = FS_OK;
  for (size_t i = 0; i < m && st == FS_OK; i++) {
    st = fs_sa_agree(k->s_sk, nb_spk[i], me, nb[i], round, "fsmask01", s, err);
    if (st == FS_OK)
      fs_sa_prg_add(s, nb[i] < me ? +1 : -1, y, d);
  }
  sodium_memzero(s, sizeof s);
  return st;
}

fs_status fs_sa_unmask_dropped(const uint8_t v_sk[FS_SA_KEY_BYTES], uint32_t v,
                               uint32_t round, const uint32_t *nb,
                               const uint8_t (*nb_spk)[FS_SA_KEY_BYTES],
                               size_t m, uint32_t *sum, size_t d, fs_err *err) {
  uint8_t s[FS_SA_KEY_BYTES];
  fs_status st = FS_OK;
  for (size_t i = 0; i < m && st == FS_OK; i++) {
    st = fs_sa_agree(v_sk, nb_spk[i], v, nb[i], round, "fsmask01", s, err);
    /* Survivor u = nb[i] added +PRG(s_uv) if v < u, -PRG if v > u. */
    if (st == FS_OK)
      fs_sa_prg_add(s, v < nb[i] ? -1 : +1, sum, d);
  }
  sodium_memzero(s, sizeof s);
  return st;
}

fs_status fs_sa_rebuild_sk(const fs_shamir_share *shares, size_t m, uint32_t t,
                           uint32_t v, const uint8_t s_pk[FS_SA_KEY_BYTES],
                           uint8_t out[FS_SA_KEY_BYTES], fs_err *err) {
  uint8_t sk[FS_SA_KEY_BYTES], pk[FS_SA_KEY_BYTES];
  fs_status st = fs_shamir_reconstruct(shares, m, t, sk, err);
  if (st == FS_OK) {
    crypto_scalarmult_base(pk, sk);
    if (sodium_memcmp(pk, s_pk, FS_SA_KEY_BYTES) != 0)
      st = fs_err_set(err, FS_EFORMAT,
                      "secagg: the mask key rebuilt for client %u does not "
                      "match its public key (a wrong share)",
                      v);
    else
      memcpy(out, sk, sizeof sk);
  }
  sodium_memzero(sk, sizeof sk);
  return st;
}

void fs_sa_dequantise(const uint32_t *sum, size_t d, uint32_t m,
                      const fs_sa_params *p, double *out) {
  double top = (double)((UINT32_C(1) << p->bits) - 1);
  double delta = 2.0 * p->clip / top;
  for (size_t j = 0; j < d; j++)
    out[j] = (double)sum[j] * delta - (double)m * p->clip;
}

int fs_sa_drops(uint64_t seed, uint32_t client, uint32_t round,
                double dropout) {
  if (dropout <= 0.0)
    return 0;
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SECAGG, fs_sa_stream_id(FS_SA_TAG_DROP, client),
              round);
  return fs_rng_uniform(&r) < dropout;
}
