/*
 * gc_loop.h — the server role for server.strategy = gc: distributed
 * gradient descent over clients.num workers with straggler mitigation (no
 * coding, ignore-stragglers, gradient coding, SR-SGC, M-SGC) on the virtual
 * clock. See docs/stragglers.md.
 */
#ifndef FS_GC_LOOP_H
#define FS_GC_LOOP_H

#include "server.h"

/* Run the whole gc training (J = run.rounds jobs, J + T rounds), write
 * metrics.csv and summary.json into a->run_dir and shut the workers down.
 * Impossible gc.* parameters return FS_ECONFIG with the reason. Takes over
 * a->build_info. */
fs_status fs_gc_server_run(const fs_server_args *a, fs_err *err);

#endif
