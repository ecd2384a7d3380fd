/*
 * fuzz.h — what the proto/ fuzz targets share (docs/fuzzing.md).
 *
 * Each target is one file defining LLVMFuzzerTestOneInput. Built with clang
 * -fsanitize=fuzzer,address,undefined (scripts/fuzz.sh) it is a libFuzzer
 * binary; built by meson with replay_main.c it is a plain program that runs
 * the seed inputs (seeds.c) and every file of the folders it is given (the
 * named regression cases in fuzz/regressions/<target>/), so any compiler
 * replays them. A target aborts (a crash) when a decoder breaks a promise:
 * an unexpected status, an empty message, or a frame accepted that does not
 * re-encode to the very bytes it came from.
 */
#ifndef FS_FUZZ_H
#define FS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Give each seed input of target `name` ("header", "payload_sparse", ...)
 * to emit; returns the number given, or -1 for an unknown target. */
typedef void (*fs_fuzz_emit)(const uint8_t *data, size_t size, void *ctx);
int fs_fuzz_seeds(const char *name, fs_fuzz_emit emit, void *ctx);

/* The names of every target, NULL-terminated. */
extern const char *const fs_fuzz_targets[];

#define FS_FUZZ_CHECK(cond)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__,    \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif
