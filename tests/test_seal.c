/*
 * test_seal.c — sealed frames (proto/seal.h): round trips both ways, key
 * agreement, nonces never reused, and every way a frame can be refused:
 * each byte of a sealed frame flipped in turn, truncations and extensions,
 * replays (the same frame twice, an older frame after a newer one), a frame
 * sealed for another client, a reflected frame, forgeries, and malformed
 * clear headers.
 */
#include "fs_test.h"

#include "frame.h"
#include "fs_rng.h"
#include "seal.h"

#include <stdint.h>
#include <string.h>

#define SEED 42u

typedef struct {
  fs_seal_session srv, cli; /* the server's end and client's end */
} pair;

static void make_pair(pair *p, uint64_t seed, uint32_t client) {
  uint8_t spk[32], ssk[32], cpk[32], csk[32];
  fs_seal_keypair(seed, FS_SEAL_SERVER_ID, spk, ssk);
  fs_seal_keypair(seed, client, cpk, csk);
  ck_assert_int_eq(fs_seal_session_server(&p->srv, spk, ssk, cpk, client, NULL),
                   FS_OK);
  ck_assert_int_eq(fs_seal_session_client(&p->cli, cpk, csk, spk, client, NULL),
                   FS_OK);
}

/* A TRAIN (or UPDATE) frame for client c with n body bytes from (seed, c). */
static size_t make_frame(uint8_t *buf, uint8_t type, uint32_t c, uint32_t round,
                         size_t n) {
  fs_frame_header h = {.type = type,
                       .encoding = FS_PL_DENSE,
                       .round = round,
                       .client = c,
                       .model_version = round - 1,
                       .body_len = (uint32_t)n};
  fs_frame_header_encode(&h, buf);
  fs_rng r;
  fs_rng_init(&r, SEED, FS_RNG_TEST, c, round);
  for (size_t i = 0; i < n; i++)
    buf[FS_FRAME_HEADER_BYTES + i] = (uint8_t)fs_rng_u32(&r);
  return FS_FRAME_HEADER_BYTES + n;
}

static size_t seal_frame(fs_seal_session *s, const uint8_t *f, size_t flen,
                         uint8_t *out) {
  size_t olen = 0;
  ck_assert_int_eq(fs_seal(s, f, f + FS_FRAME_HEADER_BYTES,
                           flen - FS_FRAME_HEADER_BYTES, out, &olen, NULL),
                   FS_OK);
  ck_assert_uint_eq(olen, fs_seal_size(flen - FS_FRAME_HEADER_BYTES));
  ck_assert_uint_eq(olen, flen + FS_SEAL_OVERHEAD);
  return olen;
}

static int is_rejection(fs_status st) {
  return st == FS_EAUTH || st == FS_EREPLAY || st == FS_EFORMAT ||
         st == FS_ETRUNC || st == FS_EVERSION;
}

START_TEST(round_trip_both_ways) {
  pair p;
  make_pair(&p, SEED, 7);
  uint8_t f[200], sealed[300], plain[300];
  for (uint32_t round = 1; round <= 5; round++) {
    /* server -> client: TRAIN */
    size_t flen = make_frame(f, FS_MSG_TRAIN, 7, round, 100 + round);
    size_t slen = seal_frame(&p.srv, f, flen, sealed);
    /* The header travels in clear, the body does not. */
    ck_assert_mem_eq(sealed + FS_SEAL_PREFIX_BYTES, f, FS_FRAME_HEADER_BYTES);
    ck_assert(memcmp(sealed + FS_SEAL_AD_BYTES, f + FS_FRAME_HEADER_BYTES,
                     flen - FS_FRAME_HEADER_BYTES) != 0);
    fs_seal_info info;
    ck_assert_int_eq(fs_seal_peek(sealed, slen, &info, NULL), FS_OK);
    ck_assert_uint_eq(info.dir, FS_SEAL_DOWN);
    ck_assert_uint_eq(info.counter, round);
    ck_assert_uint_eq(info.client, 7);
    size_t plen = 0;
    fs_err e = {0};
    ck_assert_int_eq(fs_seal_open(&p.cli, sealed, slen, plain, &plen, &e),
                     FS_OK);
    ck_assert_uint_eq(plen, flen);
    ck_assert_mem_eq(plain, f, flen);
    fs_frame_header h;
    ck_assert_int_eq(fs_frame_header_decode(plain, plen, &h, NULL), FS_OK);
    /* client -> server: UPDATE */
    flen = make_frame(f, FS_MSG_UPDATE, 7, round, 60);
    slen = seal_frame(&p.cli, f, flen, sealed);
    ck_assert_int_eq(fs_seal_open(&p.srv, sealed, slen, plain, &plen, &e),
                     FS_OK);
    ck_assert_mem_eq(plain, f, flen);
  }
  ck_assert_uint_eq(p.srv.tx_next, 6);
  ck_assert_uint_eq(p.cli.rx_last, 5);
  fs_seal_session_wipe(&p.srv);
  fs_seal_session_wipe(&p.cli);
  ck_assert_uint_eq(p.srv.tx_next, 0);
  fs_seal_session_wipe(NULL);
}
END_TEST

START_TEST(empty_body_and_shutdown) {
  pair p;
  make_pair(&p, SEED, 0);
  uint8_t f[FS_FRAME_HEADER_BYTES], sealed[64], plain[64];
  fs_frame_header h = {.type = FS_MSG_SHUTDOWN, .encoding = FS_PL_NONE};
  fs_frame_header_encode(&h, f);
  size_t slen = seal_frame(&p.srv, f, sizeof f, sealed);
  ck_assert_uint_eq(slen, FS_FRAME_HEADER_BYTES + FS_SEAL_OVERHEAD);
  size_t plen = 0;
  ck_assert_int_eq(fs_seal_open(&p.cli, sealed, slen, plain, &plen, NULL),
                   FS_OK);
  ck_assert_uint_eq(plen, FS_FRAME_HEADER_BYTES);
  ck_assert_mem_eq(plain, f, sizeof f);
}
END_TEST

START_TEST(keys_deterministic_and_distinct) {
  uint8_t a[32], as[32], b[32], bs[32], c[32], cs[32];
  fs_seal_keypair(SEED, 3, a, as);
  fs_seal_keypair(SEED, 3, b, bs);
  ck_assert_mem_eq(a, b, 32);
  ck_assert_mem_eq(as, bs, 32);
  fs_seal_keypair(SEED, 4, c, cs);
  ck_assert(memcmp(a, c, 32) != 0);
  fs_seal_keypair(SEED + 1, 3, c, cs);
  ck_assert(memcmp(a, c, 32) != 0);
  fs_seal_keypair(SEED, FS_SEAL_SERVER_ID, c, cs);
  ck_assert(memcmp(a, c, 32) != 0);
  /* The two ends agree; the two directions use different keys; two clients
   * get different keys. */
  pair p, q;
  make_pair(&p, SEED, 3);
  make_pair(&q, SEED, 4);
  ck_assert_mem_eq(p.srv.tx_key, p.cli.rx_key, 32);
  ck_assert_mem_eq(p.srv.rx_key, p.cli.tx_key, 32);
  ck_assert(memcmp(p.srv.tx_key, p.srv.rx_key, 32) != 0);
  ck_assert(memcmp(p.srv.tx_key, q.srv.tx_key, 32) != 0);
  ck_assert(memcmp(p.srv.rx_key, q.srv.rx_key, 32) != 0);
}
END_TEST

static int cmp_blk(const void *a, const void *b) { return memcmp(a, b, 48); }

/* The nonce is (direction, counter, client): the same plaintext sealed
 * again must never give the same bytes, and the counters the frames carry
 * must be 1, 2, 3, ... without a repeat. Equal (key, nonce) would give equal
 * ciphertexts for equal plaintexts, so all distinct means no nonce reuse. */
START_TEST(nonces_never_reused) {
  enum { M = 20000 };
  pair p;
  make_pair(&p, SEED, 9);
  uint8_t f[FS_FRAME_HEADER_BYTES + 32], sealed[FS_SEAL_AD_BYTES + 48];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 9, 1, 32);
  uint8_t *blk = malloc((size_t)M * 48);
  ck_assert_ptr_nonnull(blk);
  for (uint64_t i = 0; i < M; i++) {
    size_t slen = seal_frame(&p.cli, f, flen, sealed);
    fs_seal_info info;
    ck_assert_int_eq(fs_seal_peek(sealed, slen, &info, NULL), FS_OK);
    ck_assert_uint_eq(info.counter, i + 1);
    memcpy(blk + i * 48, sealed + FS_SEAL_AD_BYTES, 48); /* body + tag */
  }
  qsort(blk, M, 48, cmp_blk);
  for (size_t i = 1; i < M; i++)
    ck_assert(memcmp(blk + (i - 1) * 48, blk + i * 48, 48) != 0);
  free(blk);
  /* The server's downlink counter is separate from the client's uplink
   * one, but the keys differ too: the same counter in both directions does
   * not repeat a (key, nonce) pair. */
  ck_assert_uint_eq(p.srv.tx_next, 1);
  /* An exhausted counter refuses to seal rather than wrap. */
  p.cli.tx_next = UINT64_MAX;
  size_t olen = 0;
  fs_err e = {0};
  ck_assert_int_eq(
      fs_seal(&p.cli, f, f + FS_FRAME_HEADER_BYTES, 32, sealed, &olen, &e),
      FS_ERANGE);
  ck_assert_ptr_nonnull(strstr(e.msg, "exhausted"));
}
END_TEST

/* Every byte of a sealed frame flipped in turn (three ways) is refused, the
 * session is left unchanged, and the genuine frame still opens after. */
START_TEST(every_byte_flipped_rejected) {
  pair p;
  make_pair(&p, SEED, 11);
  uint8_t f[FS_FRAME_HEADER_BYTES + 57], sealed[200], bad[200], plain[200];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 11, 3, 57);
  size_t slen = seal_frame(&p.cli, f, flen, sealed);
  static const uint8_t masks[] = {0x01, 0x80, 0xff};
  unsigned n_auth = 0, n_fmt = 0;
  for (size_t i = 0; i < slen; i++)
    for (size_t m = 0; m < sizeof masks; m++) {
      memcpy(bad, sealed, slen);
      bad[i] ^= masks[m];
      size_t plen = 12345;
      fs_err e = {0};
      fs_status st = fs_seal_open(&p.srv, bad, slen, plain, &plen, &e);
      ck_assert_msg(is_rejection(st), "byte %zu ^ 0x%02x: status %s", i,
                    masks[m], fs_status_name(st));
      ck_assert_msg(e.msg[0] != '\0', "byte %zu: no message", i);
      ck_assert_uint_eq(plen, 12345);
      ck_assert_uint_eq(p.srv.rx_last, 0);
      n_auth += st == FS_EAUTH;
      n_fmt += st == FS_EFORMAT || st == FS_EVERSION;
    }
  /* The body, the tag and the counter can only be caught by the tag. */
  ck_assert_uint_ge(n_auth, 3 * (57 + FS_SEAL_TAG_BYTES + 8));
  ck_assert_uint_gt(n_fmt, 0);
  size_t plen = 0;
  ck_assert_int_eq(fs_seal_open(&p.srv, sealed, slen, plain, &plen, NULL),
                   FS_OK);
  ck_assert_mem_eq(plain, f, flen);
}
END_TEST

START_TEST(truncated_and_extended_rejected) {
  pair p;
  make_pair(&p, SEED, 2);
  uint8_t f[FS_FRAME_HEADER_BYTES + 40], sealed[200], bad[220], plain[220];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 2, 1, 40);
  size_t slen = seal_frame(&p.cli, f, flen, sealed);
  for (size_t n = 0; n < slen; n++) {
    size_t plen;
    fs_status st = fs_seal_open(&p.srv, sealed, n, plain, &plen, NULL);
    ck_assert_msg(is_rejection(st), "cut to %zu: %s", n, fs_status_name(st));
  }
  for (size_t k = 1; k <= 16; k++) {
    memcpy(bad, sealed, slen);
    memset(bad + slen, 0, k);
    size_t plen;
    fs_status st = fs_seal_open(&p.srv, bad, slen + k, plain, &plen, NULL);
    ck_assert_msg(is_rejection(st), "extended by %zu: %s", k,
                  fs_status_name(st));
  }
  ck_assert_uint_eq(p.srv.rx_last, 0);
}
END_TEST

START_TEST(replay_rejected) {
  pair p;
  make_pair(&p, SEED, 5);
  uint8_t f[100], s1[200], s2[200], plain[200];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 5, 1, 30);
  size_t l1 = seal_frame(&p.cli, f, flen, s1);
  flen = make_frame(f, FS_MSG_UPDATE, 5, 2, 30);
  size_t l2 = seal_frame(&p.cli, f, flen, s2);
  size_t plen;
  fs_err e = {0};
  ck_assert_int_eq(fs_seal_open(&p.srv, s1, l1, plain, &plen, &e), FS_OK);
  /* The same frame again. */
  ck_assert_int_eq(fs_seal_open(&p.srv, s1, l1, plain, &plen, &e), FS_EREPLAY);
  ck_assert_ptr_nonnull(strstr(e.msg, "replay"));
  ck_assert_ptr_nonnull(strstr(e.msg, "round 1"));
  ck_assert_int_eq(fs_seal_open(&p.srv, s2, l2, plain, &plen, &e), FS_OK);
  ck_assert_uint_eq(p.srv.rx_last, 2);
  /* An older frame (round 1) after a newer one (round 2). */
  e.msg[0] = '\0';
  ck_assert_int_eq(fs_seal_open(&p.srv, s1, l1, plain, &plen, &e), FS_EREPLAY);
  ck_assert_ptr_nonnull(strstr(e.msg, "last accepted 2"));
  ck_assert_int_eq(fs_seal_open(&p.srv, s2, l2, plain, &plen, &e), FS_EREPLAY);
  ck_assert_uint_eq(p.srv.rx_last, 2);
  /* Changing the counter to look new breaks the tag. */
  s1[8] = 9;
  ck_assert_int_eq(fs_seal_open(&p.srv, s1, l1, plain, &plen, &e), FS_EAUTH);
}
END_TEST

START_TEST(other_client_rejected) {
  pair p3, p5;
  make_pair(&p3, SEED, 3);
  make_pair(&p5, SEED, 5);
  uint8_t f[100], s[200], plain[200];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 3, 1, 30);
  size_t l = seal_frame(&p3.cli, f, flen, s);
  size_t plen;
  fs_err e = {0};
  /* Client 3's frame opened by the server's session with client 5. */
  ck_assert_int_eq(fs_seal_open(&p5.srv, s, l, plain, &plen, &e), FS_EAUTH);
  ck_assert_ptr_nonnull(strstr(e.msg, "names client 3"));
  /* ... with its header rewritten to claim client 5: the tag fails. */
  s[FS_SEAL_PREFIX_BYTES + 12] = 5;
  ck_assert_int_eq(fs_seal_open(&p5.srv, s, l, plain, &plen, &e), FS_EAUTH);
  ck_assert_ptr_nonnull(strstr(e.msg, "authentication failed"));
  /* A frame sealed under another run's keys (seed) for the same client. */
  pair q;
  make_pair(&q, SEED + 1, 3);
  l = seal_frame(&q.cli, f, flen, s);
  ck_assert_int_eq(fs_seal_open(&p3.srv, s, l, plain, &plen, &e), FS_EAUTH);
  /* The server's own frame sent back to it (reflection). */
  flen = make_frame(f, FS_MSG_TRAIN, 3, 1, 30);
  l = seal_frame(&p3.srv, f, flen, s);
  ck_assert_int_eq(fs_seal_open(&p3.srv, s, l, plain, &plen, &e), FS_EAUTH);
  ck_assert_ptr_nonnull(strstr(e.msg, "reflected"));
  ck_assert_uint_eq(p3.srv.rx_last, 0);
  ck_assert_uint_eq(p5.srv.rx_last, 0);
}
END_TEST

/* Forgeries: a valid clear part with random ciphertext and tag, for many
 * counters; and a genuine prefix and header with the body of another frame. */
START_TEST(forgery_rejected) {
  pair p;
  make_pair(&p, SEED, 6);
  uint8_t f[100], s[200], plain[200];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 6, 1, 40);
  size_t l = seal_frame(&p.cli, f, flen, s);
  fs_rng r;
  fs_rng_init(&r, SEED, FS_RNG_TEST, 99, 0);
  for (int t = 0; t < 2000; t++) {
    uint64_t ctr = fs_rng_u64(&r) | 1;
    for (int i = 0; i < 8; i++)
      s[8 + i] = (uint8_t)(ctr >> (8 * i));
    for (size_t i = FS_SEAL_AD_BYTES; i < l; i++)
      s[i] = (uint8_t)fs_rng_u32(&r);
    size_t plen;
    ck_assert_int_eq(fs_seal_open(&p.srv, s, l, plain, &plen, NULL), FS_EAUTH);
  }
  ck_assert_uint_eq(p.srv.rx_last, 0);
}
END_TEST

START_TEST(malformed_clear_part) {
  pair p;
  make_pair(&p, SEED, 1);
  uint8_t f[100], s[200], b[200], plain[200];
  size_t flen = make_frame(f, FS_MSG_UPDATE, 1, 1, 20);
  size_t l = seal_frame(&p.cli, f, flen, s);
  fs_seal_info info;
  fs_err e = {0};
  size_t plen;
  ck_assert_int_eq(fs_seal_peek(s, 10, &info, &e), FS_ETRUNC);
  ck_assert_ptr_nonnull(strstr(e.msg, "shorter than"));
  /* A plain (unsealed) frame. */
  ck_assert_int_eq(fs_seal_open(&p.srv, f, flen, plain, &plen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "bad magic"));
  memcpy(b, s, l);
  b[4] = 2;
  ck_assert_int_eq(fs_seal_open(&p.srv, b, l, plain, &plen, &e), FS_EVERSION);
  memcpy(b, s, l);
  b[5] = 3;
  ck_assert_int_eq(fs_seal_open(&p.srv, b, l, plain, &plen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "direction 3"));
  memcpy(b, s, l);
  b[7] = 1;
  ck_assert_int_eq(fs_seal_open(&p.srv, b, l, plain, &plen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "reserved"));
  memcpy(b, s, l);
  b[FS_SEAL_PREFIX_BYTES + 20] ^= 1; /* body_len */
  ck_assert_int_eq(fs_seal_open(&p.srv, b, l, plain, &plen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "clear header"));
  ck_assert_int_eq(fs_seal_open(&p.srv, s, l, plain, &plen, NULL), FS_OK);
}
END_TEST

static Suite *seal_suite(void) {
  Suite *s = suite_create("seal");
  TCase *core = tcase_create("core");
  tcase_add_test(core, round_trip_both_ways);
  tcase_add_test(core, empty_body_and_shutdown);
  tcase_add_test(core, keys_deterministic_and_distinct);
  tcase_add_test(core, nonces_never_reused);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, every_byte_flipped_rejected);
  tcase_add_test(errors, truncated_and_extended_rejected);
  tcase_add_test(errors, replay_rejected);
  tcase_add_test(errors, other_client_rejected);
  tcase_add_test(errors, forgery_rejected);
  tcase_add_test(errors, malformed_clear_part);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(seal_suite)
