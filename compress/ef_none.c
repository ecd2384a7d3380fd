/*
 * ef_none.c — ef.method none: the update is compressed and sent as it is,
 * and the compression error is lost (docs/compression.md, "Error
 * feedback").
 */
#include "ef.h"

static fs_status none_message(const fs_comp_spec *s, float *mem, int first,
                              const float *d, uint32_t dim, fs_rng *rng,
                              fs_payload *out, float *tmp) {
  (void)mem;
  (void)first;
  (void)tmp;
  return fs_compress(s, d, dim, rng, out);
}

const fs_ef_method fs_ef_method_none = {
    .base = {.name = "none", .help = "no error feedback: send C(update)"},
    .message = none_message,
};
