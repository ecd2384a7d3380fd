/*
 * test_faulty.c — simulated faulty clients (client/faulty.h): the faulty
 * set (exact size, a function of the seed only), each attack on hand-made
 * vectors, and NaN/Inf messages that every payload decoder rejects, whatever
 * the compressor.
 */
#include "compress.h"
#include "faulty.h"
#include "fs_test.h"
#include "payload.h"

#include <math.h>
#include <string.h>

static fs_faults *make(uint64_t seed, uint32_t n, double frac,
                       fs_fault_kind kind) {
  fs_faults *f = NULL;
  ck_assert_int_eq(fs_faults_new(seed, n, frac, kind, 10.0, 2.0, &f, NULL),
                   FS_OK);
  return f;
}

START_TEST(parse_kinds) {
  const char *names[] = {"none",       "sign_flip", "scale", "noise",
                         "label_flip", "nan",       "inf"};
  for (int i = 0; i < 7; i++) {
    fs_fault_kind k;
    ck_assert_int_eq(fs_fault_kind_parse(names[i], &k), FS_OK);
    ck_assert_int_eq((int)k, i);
  }
  fs_fault_kind k;
  ck_assert_int_eq(fs_fault_kind_parse("NaN", &k), FS_EINVAL);
  ck_assert_int_eq(fs_fault_kind_parse("", &k), FS_EINVAL);
}
END_TEST

static uint32_t count_set(const fs_faults *f, uint32_t n) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n + 5; i++) /* ids past n are never faulty */
    c += (uint32_t)fs_faults_is_faulty(f, i);
  return c;
}

START_TEST(set_size_and_seed) {
  fs_faults *a = make(7, 100, 0.2, FS_FAULT_SIGN_FLIP);
  fs_faults *b = make(7, 100, 0.2, FS_FAULT_NOISE); /* same seed, same set */
  fs_faults *c = make(8, 100, 0.2, FS_FAULT_SIGN_FLIP);
  ck_assert_uint_eq(fs_faults_count(a), 20);
  ck_assert_uint_eq(count_set(a, 100), 20);
  ck_assert_uint_eq(count_set(c, 100), 20);
  int same_ab = 1, same_ac = 1;
  for (uint32_t i = 0; i < 100; i++) {
    same_ab &= fs_faults_is_faulty(a, i) == fs_faults_is_faulty(b, i);
    same_ac &= fs_faults_is_faulty(a, i) == fs_faults_is_faulty(c, i);
  }
  ck_assert(same_ab);
  ck_assert(!same_ac);
  fs_faults_free(a);
  fs_faults_free(b);
  fs_faults_free(c);
  /* Rounding and the ends: 0.2 * 7 = 1.4 -> 1; fraction 1 -> all; 0 and
   * kind none -> nobody. */
  fs_faults *d = make(1, 7, 0.2, FS_FAULT_SCALE);
  ck_assert_uint_eq(count_set(d, 7), 1);
  fs_faults_free(d);
  fs_faults *e = make(1, 33, 1.0, FS_FAULT_NAN);
  ck_assert_uint_eq(count_set(e, 33), 33);
  fs_faults_free(e);
  fs_faults *g = make(1, 33, 0.0, FS_FAULT_NAN);
  ck_assert_uint_eq(count_set(g, 33), 0);
  fs_faults_free(g);
  fs_faults *h = make(1, 33, 0.5, FS_FAULT_NONE);
  ck_assert_uint_eq(count_set(h, 33), 0);
  fs_faults_free(h);
  fs_faults_free(NULL);
}
END_TEST

/* The first faulty and the first honest client of f (n clients). */
static void pick(const fs_faults *f, uint32_t n, uint32_t *bad,
                 uint32_t *good) {
  *bad = *good = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    if (fs_faults_is_faulty(f, i) && *bad == UINT32_MAX)
      *bad = i;
    if (!fs_faults_is_faulty(f, i) && *good == UINT32_MAX)
      *good = i;
  }
  ck_assert_uint_ne(*bad, UINT32_MAX);
  ck_assert_uint_ne(*good, UINT32_MAX);
}

START_TEST(update_attacks) {
  uint32_t bad, good;
  fs_faults *f = make(3, 10, 0.5, FS_FAULT_SIGN_FLIP);
  pick(f, 10, &bad, &good);
  float u[3] = {1, -2, 0.5f}, w[3] = {1, -2, 0.5f};
  fs_faults_attack_update(f, bad, 1, u, 3);
  fs_faults_attack_update(f, good, 1, w, 3);
  ck_assert_float_eq(u[0], -1.0f);
  ck_assert_float_eq(u[1], 2.0f);
  ck_assert_float_eq(u[2], -0.5f);
  ck_assert_float_eq(w[1], -2.0f); /* honest: untouched */
  fs_faults_free(f);

  f = make(3, 10, 0.5, FS_FAULT_SCALE); /* scale 10 */
  float s[2] = {1, -0.25f};
  fs_faults_attack_update(f, bad, 1, s, 2);
  ck_assert_float_eq(s[0], 10.0f);
  ck_assert_float_eq(s[1], -2.5f);
  /* Payload attacks of another kind do nothing. */
  float val[2] = {1, 2};
  fs_payload p = {.kind = FS_PL_DENSE, .dim = 2, .val = val};
  fs_faults_attack_payload(f, bad, &p);
  ck_assert_float_eq(val[0], 1.0f);
  fs_faults_free(f);

  /* Label flip does not touch updates. */
  f = make(3, 10, 0.5, FS_FAULT_LABEL_FLIP);
  float l[2] = {1, 2};
  fs_faults_attack_update(f, bad, 1, l, 2);
  ck_assert_float_eq(l[0], 1.0f);
  fs_faults_free(f);
}
END_TEST

START_TEST(noise_attack_stream) {
  uint32_t bad, good;
  fs_faults *f = make(3, 10, 0.5, FS_FAULT_NOISE); /* std 2 */
  pick(f, 10, &bad, &good);
  enum { D = 20000 };
  static float a[D], b[D], c[D];
  for (size_t j = 0; j < D; j++)
    a[j] = b[j] = c[j] = 1.0f;
  fs_faults_attack_update(f, bad, 4, a, D);
  fs_faults_attack_update(f, bad, 4, b, D); /* same client and round */
  fs_faults_attack_update(f, bad, 5, c, D); /* next round */
  ck_assert(memcmp(a, b, sizeof a) == 0);
  ck_assert(memcmp(a, c, sizeof a) != 0);
  double m = 0, v = 0;
  for (size_t j = 0; j < D; j++)
    m += a[j];
  m /= D;
  for (size_t j = 0; j < D; j++)
    v += (a[j] - m) * (a[j] - m);
  v /= D - 1;
  /* The update is replaced: mean ~ 0 (not 1), std ~ 2. */
  ck_assert(fabs(m) < 0.1);
  ck_assert(fabs(sqrt(v) - 2.0) < 0.1);
  float h[3] = {1, 1, 1};
  fs_faults_attack_update(f, good, 4, h, 3);
  ck_assert_float_eq(h[2], 1.0f);
  fs_faults_free(f);
}
END_TEST

START_TEST(label_flip) {
  uint32_t bad, good;
  fs_faults *f = make(5, 20, 0.5, FS_FAULT_LABEL_FLIP);
  pick(f, 20, &bad, &good);
  int32_t y[5] = {0, 3, 9, -1, 10}, z[2] = {0, 3};
  fs_faults_flip_labels(f, bad, y, 5, 10);
  fs_faults_flip_labels(f, good, z, 2, 10);
  ck_assert_int_eq(y[0], 9);
  ck_assert_int_eq(y[1], 6);
  ck_assert_int_eq(y[2], 0);
  ck_assert_int_eq(y[3], -1); /* out of range: left alone */
  ck_assert_int_eq(y[4], 10);
  ck_assert_int_eq(z[1], 3);
  int32_t bin[2] = {0, 1}; /* two classes: 0 <-> 1 */
  fs_faults_flip_labels(f, bad, bin, 2, 2);
  ck_assert_int_eq(bin[0], 1);
  ck_assert_int_eq(bin[1], 0);
  fs_faults_free(f);
}
END_TEST

START_TEST(nonfinite_messages_rejected_by_every_decoder) {
  /* Whatever the compressor, a nan/inf client's message reaches the wire
   * and the server's decoder rejects it with FS_ENUMERIC. */
  const fs_compressor *kinds[] = {
      &fs_compressor_identity, &fs_compressor_topk, &fs_compressor_randk,
      &fs_compressor_qsgd,     &fs_compressor_sign, &fs_compressor_natural,
      &fs_compressor_block8};
  enum { D = 64 };
  float v[D];
  for (int j = 0; j < D; j++)
    v[j] = (float)(j % 7) - 3.0f;
  for (int bad_kind = 0; bad_kind < 2; bad_kind++) {
    fs_faults *f = make(1, 4, 1.0, bad_kind ? FS_FAULT_INF : FS_FAULT_NAN);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
      fs_comp_spec sp = {.kind = kinds[i], .k = 8, .levels = 4, .block = 16};
      fs_rng r;
      fs_rng_init(&r, 1, FS_RNG_TEST, i, 0);
      fs_payload p = {0}, q = {0};
      ck_assert_int_eq(fs_compress(&sp, v, D, &r, &p), FS_OK);
      fs_faults_attack_payload(f, 2, &p);
      size_t n = fs_payload_encoded_size(&p, NULL);
      uint8_t *buf = malloc(n);
      fs_payload_encode(&p, buf);
      fs_err e = {0};
      ck_assert_int_eq(
          fs_payload_decode(buf, n, fs_payload_encoding(p.kind), D, &q, &e),
          FS_ENUMERIC);
      free(buf);
      fs_payload_free(&p);
      fs_payload_free(&q);
    }
    fs_faults_free(f);
  }
}
END_TEST

START_TEST(bad_parameters) {
  fs_faults *f = (fs_faults *)1;
  fs_err e = {0};
  ck_assert_int_eq(fs_faults_new(1, 10, 1.5, FS_FAULT_NAN, 1, 1, &f, &e),
                   FS_EINVAL);
  ck_assert_ptr_null(f);
  ck_assert_ptr_nonnull(strstr(e.msg, "faults.fraction"));
  ck_assert_int_eq(fs_faults_new(1, 10, NAN, FS_FAULT_NAN, 1, 1, &f, &e),
                   FS_EINVAL);
  ck_assert_int_eq(
      fs_faults_new(1, 10, 0.1, FS_FAULT_SCALE, INFINITY, 1, &f, &e),
      FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "faults.scale"));
  ck_assert_int_eq(fs_faults_new(1, 10, 0.1, FS_FAULT_NOISE, 1, -1, &f, &e),
                   FS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "faults.noise_std"));
  ck_assert_int_eq(fs_faults_new(1, 10, 0.1, (fs_fault_kind)99, 1, 1, &f, &e),
                   FS_EINVAL);
}
END_TEST

static Suite *faulty_suite(void) {
  Suite *s = suite_create("faulty");
  TCase *core = tcase_create("core");
  tcase_add_test(core, parse_kinds);
  tcase_add_test(core, set_size_and_seed);
  tcase_add_test(core, update_attacks);
  tcase_add_test(core, noise_attack_stream);
  tcase_add_test(core, label_flip);
  tcase_add_test(core, nonfinite_messages_rejected_by_every_decoder);
  suite_add_tcase(s, core);
  TCase *errs = tcase_create("errors");
  tcase_add_test(errs, bad_parameters);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(faulty_suite)
