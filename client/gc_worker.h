/*
 * gc_worker.h — the worker side of gradient coding (server.strategy gc):
 * a GC_TASK frame lists tasks, each a weighted sum of loss-gradient sums
 * over row ranges of the training set at one of the frame's models; the
 * worker computes them and answers with one GC_RESULT frame.
 *
 * The worker needs no knowledge of the code or the scheduler: the server
 * writes every coefficient into the frame. Each rank holds the whole
 * training set (the world), so any virtual worker can live on any rank.
 */
#ifndef FS_GC_WORKER_H
#define FS_GC_WORKER_H

#include "frame.h"
#include "setup.h"

typedef struct fs_gc_worker fs_gc_worker;

/* A worker computing on w's training set (borrowed, must outlive it). */
fs_status fs_gc_worker_new(const fs_world *w, fs_gc_worker **out, fs_err *err);
void fs_gc_worker_free(fs_gc_worker *g);

/* Handle one GC_TASK frame whose header is h and body body (h->body_len
 * bytes): *out, *out_len receive the GC_RESULT frame (owned by g, valid
 * until the next call). A malformed body returns its status. */
fs_status fs_gc_worker_handle(fs_gc_worker *g, const fs_frame_header *h,
                              const uint8_t *body, const uint8_t **out,
                              size_t *out_len, fs_err *err);

#endif
