/*
 * gcode.h — gradient codes against stragglers (Tandon, Lei, Dimakis,
 * Karampatziakis, "Gradient Coding", ICML 2017).
 *
 * n workers, n data parts, tolerance s. Worker i sends sum_j B_ij g_j (g_j
 * the gradient on part j); for any set F of n - s survivors a decoding vector
 * a with a_F^T B_F = 1^T gives back the full gradient sum_j g_j exactly. A
 * code is an opaque handle holding B (n x n, row-major, double) and each
 * row's support. Pure arithmetic: no MPI, no files, no clock. Decoding uses
 * LAPACK's dgelsy (rank-revealing least squares, through LAPACKE) and then
 * checks the residual, so a survivor set that cannot decode is reported, not
 * guessed.
 */
#ifndef FS_GCODE_H
#define FS_GCODE_H

#include "fs_status.h"

#include <stdint.h>

typedef enum {
  FS_GCODE_FR = 0,    /* fractional repetition, needs (s + 1) | n */
  FS_GCODE_CR = 1,    /* cyclic repetition, any n > s */
  FS_GCODE_MATRIX = 2 /* a B given by the caller */
} fs_gcode_kind;

typedef struct fs_gcode fs_gcode;

/* Build a code of the given kind for n workers and tolerance s (0 <= s < n).
 * Cyclic repetition draws its random H from fs_rng(seed, FS_RNG_STRAGGLER,
 * 2^48 + n, s),
 * so the same seed gives the same B on every rank. Impossible parameters
 * (n < 1, s < 0, s >= n, FR with (s + 1) not dividing n) return FS_EINVAL
 * with a message naming them. *out is owned by the caller (fs_gcode_free). */
fs_status fs_gcode_new(fs_gcode_kind kind, int n, int s, uint64_t seed,
                       fs_gcode **out, fs_err *err);

/* A code from a caller's B (n x n row-major, copied) claimed to tolerate s
 * stragglers; the claim is checked only when decoding. */
fs_status fs_gcode_from_matrix(int n, int s, const double *B, fs_gcode **out,
                               fs_err *err);

void fs_gcode_free(fs_gcode *c);

int fs_gcode_n(const fs_gcode *c);
int fs_gcode_s(const fs_gcode *c);
fs_gcode_kind fs_gcode_kind_of(const fs_gcode *c);
/* B, n x n row-major; owned by the code. */
const double *fs_gcode_matrix(const fs_gcode *c);
/* The parts worker i's row uses (B_ij != 0), ascending; *count entries. The
 * array is owned by the code. */
const int *fs_gcode_support(const fs_gcode *c, int i, int *count);

/* Decoding vector for the survivors alive[0..n-1] (non-zero = delivered):
 * fills a[0..n-1] with a_i = 0 for the others and sum_i a_i B_i = 1^T.
 * Needs at least n - s survivors in principle, but any set is tried: it
 * returns FS_ERANGE (with the residual in the message) when no such a
 * exists. Fractional repetition decodes by picking one survivor per group. */
fs_status fs_gcode_decode(const fs_gcode *c, const unsigned char *alive,
                          double *a, fs_err *err);

/* max_j |sum_i a_i B_ij - 1|: how far a is from decoding exactly. */
double fs_gcode_residual(const fs_gcode *c, const double *a);

#endif
