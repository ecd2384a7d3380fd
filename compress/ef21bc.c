/*
 * ef21bc.c — see ef21bc.h.
 */
#include "ef21bc.h"

#include "compress.h"

void fs_ef21bc_apply(float *x, float *b, const fs_payload *m, double lr,
                     size_t dim) {
  fs_payload_add_to(m, b);
  for (size_t j = 0; j < dim; j++)
    x[j] = (float)((double)x[j] - lr * (double)b[j]);
}
