/*
 * test_shamir.c — Shamir sharing over GF(2^61 - 1): the field arithmetic,
 * that any t shares rebuild the secret, that t - 1 shares are consistent
 * with every secret, and that bad shares are caught.
 */
#include "fs_test.h"
#include "shamir.h"

#include <string.h>

#define P FS_SHAMIR_P

static void random_secret(fs_rng *r, uint8_t *s) {
  for (int i = 0; i < FS_SHAMIR_SECRET_BYTES; i++)
    s[i] = (uint8_t)fs_rng_u32(r);
}

START_TEST(field_arithmetic) {
  ck_assert_uint_eq(fs_gf61_add(P - 1, 1), 0);
  ck_assert_uint_eq(fs_gf61_sub(0, 1), P - 1);
  ck_assert_uint_eq(fs_gf61_mul(P - 1, P - 1), 1);         /* (-1)^2 */
  ck_assert_uint_eq(fs_gf61_mul(UINT64_C(1) << 60, 2), 1); /* 2^61 = 1 */
  fs_rng r;
  fs_rng_init(&r, 1, FS_RNG_TEST, 0, 0);
  for (int i = 0; i < 1000; i++) {
    uint64_t a = 1 + fs_rng_below(&r, P - 1), b = fs_rng_below(&r, P);
    ck_assert_uint_eq(fs_gf61_mul(a, fs_gf61_inv(a)), 1);
    /* against 128-bit arithmetic */
    __extension__ typedef unsigned __int128 u128;
    u128 z = (u128)a * b;
    ck_assert_uint_eq(fs_gf61_mul(a, b), (uint64_t)(z % P));
    ck_assert_uint_eq(fs_gf61_add(a, b), (uint64_t)(((u128)a + b) % P));
  }
}
END_TEST

/* Every t-subset (of a few) and the full set of 7 shares rebuild the secret;
 * t - 1 shares are refused with FS_ERANGE. */
START_TEST(any_t_shares_rebuild) {
  fs_rng r;
  fs_rng_init(&r, 2, FS_RNG_TEST, 0, 0);
  uint64_t xs[7] = {5, 9, 1000001, 4294967296ull, 3, 77, 12};
  for (uint32_t t = 1; t <= 7; t++) {
    uint8_t secret[32], back[32];
    random_secret(&r, secret);
    fs_shamir_share sh[7], pick[7];
    fs_shamir_split(secret, t, xs, 7, &r, sh);
    /* every subset of size t (7 choose t <= 35) */
    for (unsigned mask = 0; mask < 128; mask++) {
      if ((unsigned)__builtin_popcount(mask) != t)
        continue;
      size_t m = 0;
      for (int i = 0; i < 7; i++)
        if (mask & (1u << i))
          pick[m++] = sh[i];
      memset(back, 0, 32);
      ck_assert_int_eq(fs_shamir_reconstruct(pick, m, t, back, NULL), FS_OK);
      ck_assert_mem_eq(back, secret, 32);
    }
    /* all 7 (extra shares are checked for consistency) */
    ck_assert_int_eq(fs_shamir_reconstruct(sh, 7, t, back, NULL), FS_OK);
    ck_assert_mem_eq(back, secret, 32);
    if (t > 1) {
      fs_err e = {0};
      ck_assert_int_eq(fs_shamir_reconstruct(sh, t - 1, t, back, &e),
                       FS_ERANGE);
      ck_assert_ptr_nonnull(strstr(e.msg, "threshold"));
    }
  }
}
END_TEST

/* t - 1 shares do not determine the secret: for ANY other secret s' there
 * is a share at a new point which, with the t - 1 given ones, rebuilds s'
 * (the polynomial through (0, s') and the t - 1 points). So every secret is
 * equally consistent with what t - 1 holders know. */
START_TEST(t_minus_1_shares_fit_every_secret) {
  fs_rng r;
  fs_rng_init(&r, 3, FS_RNG_TEST, 0, 0);
  const uint32_t t = 4;
  uint64_t xs[4] = {11, 22, 33, 44};
  uint8_t secret[32], other[32], back[32];
  random_secret(&r, secret);
  fs_shamir_share sh[4];
  fs_shamir_split(secret, t, xs, 4, &r, sh);
  for (int trial = 0; trial < 20; trial++) {
    random_secret(&r, other);
    /* chunk values of s' */
    fs_shamir_share fake = {.x = 99};
    for (int c = 0; c < FS_SHAMIR_CHUNKS; c++) {
      uint64_t px[4] = {0, sh[0].x, sh[1].x, sh[2].x};
      uint64_t v = 0;
      for (int i = 0; i < 7 && c * 7 + i < 32; i++)
        v |= (uint64_t)other[c * 7 + i] << (8 * i);
      uint64_t py[4] = {v, sh[0].y[c], sh[1].y[c], sh[2].y[c]};
      fake.y[c] = fs_gf61_interpolate(px, py, 4, fake.x);
    }
    fs_shamir_share set[4] = {sh[0], sh[1], sh[2], fake};
    ck_assert_int_eq(fs_shamir_reconstruct(set, 4, t, back, NULL), FS_OK);
    ck_assert_mem_eq(back, other, 32);
    ck_assert_int_ne(memcmp(back, secret, 32), 0);
  }
  /* And the real fourth share gives the real secret. */
  ck_assert_int_eq(fs_shamir_reconstruct(sh, 4, t, back, NULL), FS_OK);
  ck_assert_mem_eq(back, secret, 32);
}
END_TEST

/* A single share (t = 2) of two different secrets is uniform: the chunk
 * values of many shares of one fixed secret spread over the field (their
 * top bits are balanced). */
START_TEST(one_share_looks_uniform) {
  fs_rng r;
  fs_rng_init(&r, 4, FS_RNG_TEST, 0, 0);
  uint8_t secret[32] = {0}; /* all zero: the worst case for leaks */
  uint64_t xs[2] = {1, 2};
  int high = 0, n = 4000;
  for (int i = 0; i < n; i++) {
    fs_shamir_share sh[2];
    fs_shamir_split(secret, 2, xs, 2, &r, sh);
    high += sh[0].y[0] >= P / 2;
  }
  /* Binomial(4000, 1/2): sd 31.6; 5 sd either side. */
  ck_assert_int_gt(high, 2000 - 158);
  ck_assert_int_lt(high, 2000 + 158);
}
END_TEST

START_TEST(share_codec_round_trip) {
  fs_rng r;
  fs_rng_init(&r, 5, FS_RNG_TEST, 0, 0);
  uint8_t secret[32];
  random_secret(&r, secret);
  uint64_t xs[3] = {8, 9, 10};
  fs_shamir_share sh[3], back;
  fs_shamir_split(secret, 2, xs, 3, &r, sh);
  uint8_t buf[FS_SHAMIR_SHARE_BYTES];
  fs_shamir_share_encode(&sh[1], buf);
  ck_assert_int_eq(fs_shamir_share_decode(buf, 9, &back, NULL), FS_OK);
  ck_assert_uint_eq(back.x, 9);
  for (int c = 0; c < FS_SHAMIR_CHUNKS; c++)
    ck_assert_uint_eq(back.y[c], sh[1].y[c]);
}
END_TEST

START_TEST(bad_shares_are_caught) {
  fs_rng r;
  fs_rng_init(&r, 6, FS_RNG_TEST, 0, 0);
  uint8_t secret[32], back[32];
  random_secret(&r, secret);
  memset(back, 0xAA, 32);
  uint64_t xs[5] = {1, 2, 3, 4, 5};
  fs_shamir_share sh[5];
  fs_shamir_split(secret, 3, xs, 5, &r, sh);
  fs_err e = {0};
  /* a corrupted extra share */
  fs_shamir_share bad[5];
  memcpy(bad, sh, sizeof sh);
  bad[4].y[2] = fs_gf61_add(bad[4].y[2], 1);
  ck_assert_int_eq(fs_shamir_reconstruct(bad, 5, 3, back, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "not on the polynomial"));
  /* the output is untouched on failure */
  for (int i = 0; i < 32; i++)
    ck_assert_uint_eq(back[i], 0xAA);
  /* two shares at one point */
  memcpy(bad, sh, sizeof sh);
  bad[1] = bad[0];
  ck_assert_int_eq(fs_shamir_reconstruct(bad, 3, 3, back, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "same point"));
  /* point 0, value >= p */
  memcpy(bad, sh, sizeof sh);
  bad[0].x = 0;
  ck_assert_int_eq(fs_shamir_reconstruct(bad, 3, 3, back, &e), FS_EFORMAT);
  memcpy(bad, sh, sizeof sh);
  bad[2].y[0] = P;
  ck_assert_int_eq(fs_shamir_reconstruct(bad, 3, 3, back, &e), FS_EFORMAT);
  /* a wire value >= p */
  uint8_t buf[FS_SHAMIR_SHARE_BYTES];
  memset(buf, 0xff, sizeof buf);
  fs_shamir_share s;
  ck_assert_int_eq(fs_shamir_share_decode(buf, 1, &s, &e), FS_EFORMAT);
}
END_TEST

static Suite *shamir_suite(void) {
  Suite *s = suite_create("shamir");
  TCase *core = tcase_create("core");
  tcase_add_test(core, field_arithmetic);
  tcase_add_test(core, any_t_shares_rebuild);
  tcase_add_test(core, t_minus_1_shares_fit_every_secret);
  tcase_add_test(core, one_share_looks_uniform);
  tcase_add_test(core, share_codec_round_trip);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, bad_shares_are_caught);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(shamir_suite)
