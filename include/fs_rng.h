/*
 * fs_rng.h — counter-based random streams.
 *
 * Every random stream in fedsim is a function of (seed, purpose, id, round),
 * never of the MPI rank or of arrival order: that is what makes a run
 * bit-identical on any number of ranks and after a resume. A stream is the
 * ChaCha20 keystream (libsodium) under a key derived with BLAKE2b
 * (crypto_generichash) from those four numbers; the stream state is a plain
 * value (no allocation), cheap to create per client and round.
 */
#ifndef FS_RNG_H
#define FS_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is for. Append only: the numbers are part of every result. */
typedef enum {
  FS_RNG_MODEL_INIT = 1,
  FS_RNG_SAMPLE = 2,     /* which clients take part in a round */
  FS_RNG_SHUFFLE = 3,    /* a client's minibatch order */
  FS_RNG_PARTITION = 4,  /* splitting data over clients */
  FS_RNG_PROFILE = 5,    /* a client's system profile */
  FS_RNG_SYNTH_DATA = 6, /* generated data sets */
  FS_RNG_TEST = 7,       /* tests only */
  FS_RNG_SPLIT = 8,      /* train/test splits */
  FS_RNG_COMPRESS = 9,   /* randomised compressors */
  FS_RNG_NOISE = 10,     /* DP noise */
  FS_RNG_FAULT = 11,     /* faulty-client and straggler models */
  FS_RNG_STRAGGLER = 12, /* gradient-coding straggler models and codes */
  FS_RNG_SECAGG = 13,    /* secure aggregation (secure/secagg.h sub-ids) */
  FS_RNG_SEAL = 14,      /* sealed frames: key pairs (docs/sealed-frames.md) */
  FS_RNG_TAMPER = 15     /* secure.tamper_rate: frames altered in flight */
} fs_rng_purpose;

typedef struct {
  uint8_t key[32];
  uint64_t block;   /* next ChaCha20 block counter */
  uint8_t buf[256]; /* buffered keystream */
  unsigned pos;     /* bytes of buf used */
  double spare;     /* cached second normal deviate */
  int has_spare;
} fs_rng;

/* Start the stream for (seed, purpose, id, round). */
void fs_rng_init(fs_rng *r, uint64_t seed, fs_rng_purpose purpose, uint64_t id,
                 uint64_t round);

uint32_t fs_rng_u32(fs_rng *r);
uint64_t fs_rng_u64(fs_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double fs_rng_uniform(fs_rng *r);
/* Uniform in (0, 1): never exactly 0 (for logarithms). */
double fs_rng_uniform_pos(fs_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint64_t fs_rng_below(fs_rng *r, uint64_t n);
/* Standard normal (Marsaglia's polar method on 53-bit uniforms). */
double fs_rng_normal(fs_rng *r);
/* Gamma(shape, 1) (Marsaglia and Tsang); shape > 0. */
double fs_rng_gamma(fs_rng *r, double shape);
/* Fisher-Yates shuffle of n uint32 values in place. */
void fs_rng_shuffle_u32(fs_rng *r, uint32_t *v, size_t n);

#endif
