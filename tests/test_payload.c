#include "fs_test.h"
START_TEST(placeholder) { ck_assert_int_eq(1, 1); }
END_TEST
static Suite *s(void) { Suite *su = suite_create("payload"); TCase *tc = tcase_create("core"); tcase_add_test(tc, placeholder); suite_add_tcase(su, tc); return su; }
FS_TEST_MAIN(s)
