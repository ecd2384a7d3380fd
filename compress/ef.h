/*
 * ef.h — error feedback around a compressor: the error-feedback methods as a
 * table (compress/ef_methods.def, one file per row: ef.method), and the
 * steps they are made of, pure functions on one client's state vectors (the
 * caller stores them; docs/compression.md, "Error feedback").
 *
 *   EF14 (Seide et al. 2014; Stich et al. 2018), on an update d:
 *       u = e + d;  send c = C(u);  e <- u - c
 *   EF21 (Richtarik, Sokolov, Fatkhullin 2021), on a target t (the gradient,
 *   the update, or for EF21-W the scaled gradient t = grad_i / (n w_i)):
 *       send c = C(t - g);  g <- g + c
 *
 * tmp is caller-owned scratch of dim floats. On failure (FS_ENOMEM from
 * fs_compress) e or g is left unchanged.
 */
#ifndef FS_EF_H
#define FS_EF_H

#include "compress.h"

/* Row flags: what the rest of the code asks a method instead of naming it. */
#define FS_EF_MEMORY                                                           \
  1u /* keeps one vector per client (e or g), from the                         \
        client's first message on */
#define FS_EF_21                                                               \
  2u /* the EF21 family: a message is an increment of the                      \
        client's estimate g (the first is g^0, sent whole);                    \
        synchronous FedAvg with plain SGD (docs/ef21.md) */
#define FS_EF_WEIGHTED                                                         \
  4u /* EF21-W: the target is grad_i / (n w_i), w_i =                          \
        L_i / sum_j L_j; needs the clients' L_i and                            \
        uses their arithmetic mean in the step size */

typedef struct fs_ef_method fs_ef_method;

/*
 * One row of the error-feedback table (compress/ef_methods.def lists the
 * rows; each lives in compress/ef_<name>.c). Row i is the value
 * FS_CFG_EF_* = i of fs_config.ef_method (same order).
 */
struct fs_ef_method {
  fs_choice base; /* name (ef.method <name>), help, the method's rules
                     against the rest of the configuration */
  unsigned flags; /* FS_EF_* */
  /* The client's message for its update or target d (dim floats): out
   * becomes the payload to send. mem is the client's memory (dim floats,
   * zero before its first message; NULL for rows without FS_EF_MEMORY),
   * first says this is the client's first message. tmp: dim floats of
   * scratch. FS_ENOMEM is the only failure, leaving mem unchanged. */
  fs_status (*message)(const fs_comp_spec *s, float *mem, int first,
                       const float *d, uint32_t dim, fs_rng *rng,
                       fs_payload *out, float *tmp);
};

/* The rows: fs_ef_method_none, fs_ef_method_ef14, ... */
#define FS_EF_METHOD(name) extern const fs_ef_method fs_ef_method_##name;
#include "ef_methods.def"
#undef FS_EF_METHOD

/* Row i (fs_config.ef_method), NULL beyond the table. */
const fs_ef_method *fs_ef_method_at(size_t i);
/* The table for the configuration (ef.method, app/tables.c). */
fs_choice_set fs_ef_method_choices(void);

fs_status fs_ef14_step(const fs_comp_spec *s, float *e, const float *d,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp);

fs_status fs_ef21_step(const fs_comp_spec *s, float *g, const float *t,
                       uint32_t dim, fs_rng *rng, fs_payload *out, float *tmp);

/* The message of the EF21 family (a row's `message`): the first sends the
 * target t uncompressed (identity) and sets g = t; later ones are
 * fs_ef21_step. */
fs_status fs_ef21_message(const fs_comp_spec *s, float *g, int first,
                          const float *t, uint32_t dim, fs_rng *rng,
                          fs_payload *out, float *tmp);

#endif
