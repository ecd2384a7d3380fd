/*
 * fs_test.h — what every Check suite shares: a main() that runs one suite,
 * and the paths to test data (set by meson).
 */
#ifndef FS_TEST_H
#define FS_TEST_H

#include "app.h"

#include <check.h>
#include <sodium.h>
#include <stdlib.h>

#ifndef FS_TEST_DATA_DIR
#define FS_TEST_DATA_DIR "tests/data"
#endif
#ifndef FS_SHARED_DATA_DIR
#define FS_SHARED_DATA_DIR "../shared/data"
#endif

#define FS_TEST_MAIN(suite_fn)                                                 \
  int main(void) {                                                             \
    if (sodium_init() < 0)                                                     \
      return 2;                                                                \
    fs_app_register_tables();                                                  \
    SRunner *sr = srunner_create(suite_fn());                                  \
    srunner_run_all(sr, CK_NORMAL);                                            \
    int failed = srunner_ntests_failed(sr);                                    \
    srunner_free(sr);                                                          \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                          \
  }

#endif
