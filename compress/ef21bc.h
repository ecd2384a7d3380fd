/*
 * ef21bc.h — the model update of bidirectional EF21 (EF21-BC, Fatkhullin et
 * al. 2021), shared by the server and every worker so that all of them hold
 * the same x bit for bit.
 *
 * The server keeps b, its compressed copy of g, and broadcasts
 * m = C_M(g - b) each round; everyone then applies
 *     b <- b + m;   x <- x - lr * b
 * (in that order, in float32, coordinate by coordinate).
 */
#ifndef FS_EF21BC_H
#define FS_EF21BC_H

#include "fs_payload.h"

#include <stddef.h>

void fs_ef21bc_apply(float *x, float *b, const fs_payload *m, double lr,
                     size_t dim);

#endif
