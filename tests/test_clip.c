/*
 * test_clip.c — client-level clipping for differential privacy: the norms
 * after each kind, and the DiceSGD error-buffer recursion on hand-made
 * vectors.
 */
#include "clip.h"
#include "fs_test.h"

#include <math.h>

static double norm(const float *x, size_t n) {
  double s = 0;
  for (size_t j = 0; j < n; j++)
    s += (double)x[j] * x[j];
  return sqrt(s);
}

START_TEST(flat_clips_long_vectors_only) {
  float x[4] = {3, 4, 0, 0}; /* norm 5 */
  ck_assert_double_eq_tol(fs_clip_l2(x, 4, 1.0), 5.0, 1e-12);
  ck_assert_double_eq_tol(norm(x, 4), 1.0, 1e-6);
  ck_assert_float_eq_tol(x[0], 0.6f, 1e-6f); /* direction kept */
  float y[2] = {0.3f, 0.4f};                 /* norm 0.5 < 1 */
  fs_clip_l2(y, 2, 1.0);
  ck_assert_float_eq(y[0], 0.3f);
  ck_assert_float_eq(y[1], 0.4f);
  float z[3] = {0, 0, 0};
  ck_assert_double_eq(fs_clip_l2(z, 3, 1.0), 0.0);
  ck_assert_float_eq(z[0], 0.0f);
}
END_TEST

START_TEST(per_layer_bounds_square_sum_to_S2) {
  /* Layers of 1 and 3 entries, S = 2: bounds 2 sqrt(1/4) = 1 and
   * 2 sqrt(3/4) = sqrt 3. */
  float x[4] = {10, 10, 10, 10};
  size_t off[2] = {0, 1}, len[2] = {1, 3};
  fs_clip_per_layer(x, 4, off, len, 2, 2.0);
  ck_assert_double_eq_tol(norm(x, 1), 1.0, 1e-6);
  ck_assert_double_eq_tol(norm(x + 1, 3), sqrt(3.0), 1e-6);
  ck_assert_double_eq_tol(norm(x, 4), 2.0, 1e-6); /* = S when all clip */
  float y[4] = {0.1f, 0, 0, 0.1f}; /* both layers inside their bounds */
  fs_clip_per_layer(y, 4, off, len, 2, 2.0);
  ck_assert_float_eq(y[0], 0.1f);
  ck_assert_float_eq(y[3], 0.1f);
}
END_TEST

START_TEST(dice_recursion_by_hand) {
  /* C1 = 1, C2 = 0.5; d = (3, 4) (norm 5), e = 0:
   * v = (0.6, 0.8) + 0 ; e = 0 + (3,4) - (0.6,0.8) = (2.4, 3.2). */
  float d[2] = {3, 4}, e[2] = {0, 0}, tmp[4];
  fs_dice_step(d, e, 2, 1.0, 0.5, tmp);
  ck_assert_float_eq_tol(d[0], 0.6f, 1e-6f);
  ck_assert_float_eq_tol(d[1], 0.8f, 1e-6f);
  ck_assert_float_eq_tol(e[0], 2.4f, 1e-6f);
  ck_assert_float_eq_tol(e[1], 3.2f, 1e-6f);
  /* Next step, d = (0, 0): v = 0 + clip(e, 0.5) = (0.3, 0.4);
   * e = (2.4, 3.2) - (0.3, 0.4) = (2.1, 2.8). */
  float d2[2] = {0, 0};
  fs_dice_step(d2, e, 2, 1.0, 0.5, tmp);
  ck_assert_float_eq_tol(d2[0], 0.3f, 1e-6f);
  ck_assert_float_eq_tol(d2[1], 0.4f, 1e-6f);
  ck_assert_float_eq_tol(e[0], 2.1f, 1e-6f);
  ck_assert_float_eq_tol(e[1], 2.8f, 1e-6f);
}
END_TEST

START_TEST(dice_sends_everything_eventually) {
  /* Telescoping: sum of sent v + e = sum of d, and ||v|| <= C1 + C2. */
  float e[3] = {0, 0, 0}, tmp[6];
  double sent[3] = {0, 0, 0}, total[3] = {0, 0, 0};
  for (int t = 0; t < 50; t++) {
    float d[3] = {(float)(t % 7) - 3.0f, 2.0f, (float)(t % 3)};
    for (int j = 0; j < 3; j++)
      total[j] += d[j];
    fs_dice_step(d, e, 3, 0.7, 0.35, tmp);
    ck_assert(norm(d, 3) <= 0.7 + 0.35 + 1e-6);
    for (int j = 0; j < 3; j++)
      sent[j] += d[j];
  }
  for (int j = 0; j < 3; j++)
    ck_assert_double_eq_tol(sent[j] + e[j], total[j], 1e-3);
}
END_TEST

/* The rows of dp.clip run the functions above, and dice's bound is
 * C1 + C2 = S (1 + ratio) (clip.h). */
START_TEST(rows_dispatch_and_bound) {
  ck_assert(fs_clip_mode_none.clip == NULL);
  ck_assert_uint_eq(fs_clip_mode_dice.flags & FS_CLIP_MEMORY, FS_CLIP_MEMORY);
  float tmp[6];
  fs_clip_args a = {.dim = 3, .S = 1.0, .ratio = 0.5, .tmp = tmp};
  float d[3] = {3, 4, 0}, want[3] = {3, 4, 0};
  fs_clip_mode_flat.clip(&a, d, NULL);
  fs_clip_l2(want, 3, 1.0);
  for (int j = 0; j < 3; j++)
    ck_assert(d[j] == want[j]);
  float e[3] = {0, 0, 2}, e2[3] = {0, 0, 2}, v[3] = {3, 4, 0};
  float w[3] = {3, 4, 0}, t2[6];
  fs_clip_mode_dice.clip(&a, v, e);
  fs_dice_step(w, e2, 3, 1.0, 0.5, t2);
  for (int j = 0; j < 3; j++)
    ck_assert(v[j] == w[j] && e[j] == e2[j]);
  fs_config c = {.dp_clip = FS_CFG_CLIP_DICE, .dp_dice_ratio = 0.5};
  ck_assert(fs_clip_bound_factor(&c) == 1.5);
  c.dp_clip = FS_CFG_CLIP_FLAT;
  ck_assert(fs_clip_bound_factor(&c) == 1.0);
}
END_TEST

static Suite *clip_suite(void) {
  Suite *s = suite_create("clip");
  TCase *core = tcase_create("core");
  tcase_add_test(core, flat_clips_long_vectors_only);
  tcase_add_test(core, per_layer_bounds_square_sum_to_S2);
  tcase_add_test(core, dice_recursion_by_hand);
  tcase_add_test(core, dice_sends_everything_eventually);
  tcase_add_test(core, rows_dispatch_and_bound);
  suite_add_tcase(s, core);
  return s;
}

FS_TEST_MAIN(clip_suite)
