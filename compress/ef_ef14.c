/*
 * ef_ef14.c — ef.method ef14, classic error feedback (Seide et al. 2014;
 * Stich et al. 2018): the client keeps the compression error e and adds it
 * to its next update, u = e + d, send C(u), e <- u - C(u)
 * (docs/compression.md, "Error feedback").
 */
#include "ef.h"

static fs_status ef14_message(const fs_comp_spec *s, float *e, int first,
                              const float *d, uint32_t dim, fs_rng *rng,
                              fs_payload *out, float *tmp) {
  (void)first; /* e starts at zero */
  return fs_ef14_step(s, e, d, dim, rng, out, tmp);
}

const fs_ef_method fs_ef_method_ef14 = {
    .base = {.name = "ef14",
             .help = "classic error feedback: the compression error is "
                     "added to the next update"},
    .flags = FS_EF_MEMORY,
    .message = ef14_message,
};
