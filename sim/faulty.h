/*
 * faulty.h — simulated faulty (or malicious) clients.
 *
 * A fixed set of round(fraction * N) of the N clients is faulty for the
 * whole run, drawn without replacement from the stream
 * (seed, FS_RNG_FAULT, id 2^41, round 0): it depends on the seed only, never
 * on the rank count. Each faulty client misbehaves in one way (the kind):
 *   sign_flip   sends -u instead of its update u
 *   scale       sends s * u (s = faults.scale)
 *   noise       sends Gaussian noise N(0, sigma^2 I) instead of u, from the
 *               stream (seed, FS_RNG_FAULT, 2^42 + client, round)
 *   label_flip  trains honestly on its rows with labels y -> C - 1 - y
 *   nan, inf    every value of its message is NaN (or +Inf); quantised
 *               payloads get a NaN (+Inf) scale
 * Update attacks act on the update before compression; nan and inf act on
 * the compressed message, so that they reach the wire whatever the
 * compressor (and leave the client's error-feedback memory alone).
 */
#ifndef FS_FAULTY_H
#define FS_FAULTY_H

#include "fs_payload.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_FAULT_NONE = 0,
  FS_FAULT_SIGN_FLIP,
  FS_FAULT_SCALE,
  FS_FAULT_NOISE,
  FS_FAULT_LABEL_FLIP,
  FS_FAULT_NAN,
  FS_FAULT_INF
} fs_fault_kind;

/* Parse "none", "sign_flip", "scale", "noise", "label_flip", "nan", "inf";
 * FS_EINVAL for anything else. */
fs_status fs_fault_kind_parse(const char *s, fs_fault_kind *out);

typedef struct fs_faults fs_faults;

/* The faulty clients of a run of n clients (see the file comment), and how
 * they misbehave. fraction in [0, 1]; scale any finite number; noise_std
 * >= 0. Errors: FS_EINVAL (a parameter out of range), FS_ENOMEM. The set
 * costs n bits. */
fs_status fs_faults_new(uint64_t seed, uint32_t n, double fraction,
                        fs_fault_kind kind, double scale, double noise_std,
                        fs_faults **out, fs_err *err);
void fs_faults_free(fs_faults *f);

/* Is client c faulty? (0 for c >= n, and for every client with kind none) */
int fs_faults_is_faulty(const fs_faults *f, uint32_t c);
/* How many clients are faulty. */
uint32_t fs_faults_count(const fs_faults *f);
fs_fault_kind fs_faults_kind(const fs_faults *f);

/* Replace client c's update u (dim floats) in round `round` by what a
 * faulty client sends (sign_flip, scale, noise); does nothing for an honest
 * client or another kind. */
void fs_faults_attack_update(const fs_faults *f, uint32_t c, uint32_t round,
                             float *u, size_t dim);

/* Poison client c's compressed message p (nan, inf); does nothing for an
 * honest client or another kind. */
void fs_faults_attack_payload(const fs_faults *f, uint32_t c, fs_payload *p);

/* Flip the n labels y of client c's rows to classes - 1 - y (label_flip);
 * does nothing for an honest client or another kind. Labels outside
 * [0, classes) are left alone. */
void fs_faults_flip_labels(const fs_faults *f, uint32_t c, int32_t *y, size_t n,
                           size_t classes);

#endif
