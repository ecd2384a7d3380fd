/*
 * compress_impl.h — what the files of compress/ share and nothing outside
 * compress/ may use: growing a payload's arrays, the abort for programmer
 * mistakes, and RandK's index walk (randk.c), which compress.c's expanders
 * replay instead of storing the indices.
 */
#ifndef FS_COMPRESS_IMPL_H
#define FS_COMPRESS_IMPL_H

#include "compress.h"

/* Make p's array hold at least n elements (old contents dropped); 0 on
 * success, -1 when out of memory (the old array is kept). */
int fs__payload_grow_idx(fs_payload *p, size_t n);
int fs__payload_grow_val(fs_payload *p, size_t n);
int fs__payload_grow_codes(fs_payload *p, size_t n);
int fs__payload_grow_absmax(fs_payload *p, size_t n);

/* The check of rows that keep k entries (topk, randk): k <= dim, or k = 0
 * and ratio in (0, 1]. FS_ECONFIG with a message naming the row. */
fs_status fs__comp_check_k(const fs_comp_spec *s, uint32_t dim, fs_err *err);

/* ceil(log2 n) for n >= 1. */
static inline unsigned fs__ceil_log2(uint64_t n) {
  unsigned b = 0;
  while (b < 64 && (UINT64_C(1) << b) < n)
    b++;
  return b;
}

/* Print "fedsim: compress: what" and abort. */
_Noreturn void fs__comp_misuse(const char *what);

/* RandK's k distinct indices of [0, dim), increasing, from its seed: emit is
 * called with the position (0..k-1) and the index. */
typedef struct {
  void (*emit)(void *ctx, uint32_t pos, uint32_t j);
  void *ctx;
  uint32_t pos;
} fs__randk_sink;
void fs__randk_visit(uint64_t seed, uint32_t dim, uint32_t k,
                     fs__randk_sink *s);

#endif
