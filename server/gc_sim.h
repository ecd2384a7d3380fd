/*
 * gc_sim.h — `fedsim stragglers`: run a straggler-mitigation scheduler on
 * the virtual clock without training (no data, no model, no MPI), to
 * compare total run times of no coding, GC, SR-SGC and M-SGC under a
 * straggler model. See docs/stragglers.md.
 */
#ifndef FS_GC_SIM_H
#define FS_GC_SIM_H

/* argv[0] is "stragglers"; prints a CSV header and one row per seed.
 * Returns the process exit code (2 on bad arguments, with a message). */
int fs_gc_sim_main(int argc, char **argv);

#endif
