/*
 * eventq.h — the virtual clock's priority queue: events ordered by the total
 * order (time, id), so ties resolve the same way on every run. Times are
 * integer ticks (the clock's unit is chosen by the caller), so no rounding
 * can reorder two events.
 */
#ifndef FS_EVENTQ_H
#define FS_EVENTQ_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t t;   /* ticks */
  uint32_t id; /* client id, or a reserved id for timers */
  uint32_t tag;
} fs_event;

typedef struct fs_eventq fs_eventq;

fs_status fs_eventq_new(size_t cap_hint, fs_eventq **out);
void fs_eventq_free(fs_eventq *q);
fs_status fs_eventq_push(fs_eventq *q, fs_event e);
/* Smallest (t, id) without removing it; 0 if empty. */
int fs_eventq_peek(const fs_eventq *q, fs_event *e);
/* Remove and return the smallest; 0 if empty. */
int fs_eventq_pop(fs_eventq *q, fs_event *e);
size_t fs_eventq_size(const fs_eventq *q);
/* The events held, in no particular order (for checkpoints: pushing them
 * back gives a queue that pops in the same (t, id) order). Returns the
 * count; copies at most cap of them into out. */
size_t fs_eventq_items(const fs_eventq *q, fs_event *out, size_t cap);
/* (a.t, a.id) < (b.t, b.id) */
int fs_event_before(fs_event a, fs_event b);

#endif
