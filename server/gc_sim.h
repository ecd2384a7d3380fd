/*
 * gc_sim.h — `fedsim stragglers`: run a straggler-mitigation scheduler on
 * the virtual clock without training (no data, no model, no MPI), to
 * compare total run times of no coding, GC, SR-SGC and M-SGC under a
 * straggler model. See docs/stragglers.md. The command line is parsed by
 * the driver (app/stragglers.c).
 */
#ifndef FS_GC_SIM_H
#define FS_GC_SIM_H

#include "sgc.h"
#include "straggler.h"

#include <stdint.h>

/* Run the scheduler sp under the straggler model mp (mp's zero B, W and
 * lambda take sp's) for the seeds seed0 .. seed0+seeds-1: prints a CSV
 * header and one row per seed. Returns the process exit code (1 out of
 * memory, 2 on parameters the scheduler or model refuses, with a
 * message). */
int fs_gc_sim_run(fs_sgc_params *sp, fs_strag_params *mp, double overhead,
                  double job_time, double seed0, double seeds);

/* --print-code: print the code's matrix B and, for the survivors given
 * ("i,j,..." or NULL), the decoding vector. Returns the exit code. */
int fs_gc_sim_print_code(const fs_sgc_params *sp, uint64_t seed,
                         const char *survivors);

/* --decode-stats: decode `sets` random survivor sets of size n - s and
 * print the largest residual and |a_i|. Returns the exit code. */
int fs_gc_sim_decode_stats(const fs_sgc_params *sp, uint64_t seed, int sets);

#endif
