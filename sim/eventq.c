/*
 * eventq.c — a binary min-heap of fs_event keyed by (t, id).
 */
#include "eventq.h"

#include <stdlib.h>

struct fs_eventq {
  fs_event *h;
  size_t n, cap;
};

int fs_event_before(fs_event a, fs_event b) {
  return a.t < b.t || (a.t == b.t && a.id < b.id);
}

fs_status fs_eventq_new(size_t cap_hint, fs_eventq **out) {
  fs_eventq *q = calloc(1, sizeof *q);
  if (q == NULL)
    return FS_ENOMEM;
  q->cap = cap_hint ? cap_hint : 16;
  q->h = malloc(q->cap * sizeof *q->h);
  if (q->h == NULL) {
    free(q);
    return FS_ENOMEM;
  }
  *out = q;
  return FS_OK;
}

void fs_eventq_free(fs_eventq *q) {
  if (q == NULL)
    return;
  free(q->h);
  free(q);
}

fs_status fs_eventq_push(fs_eventq *q, fs_event e) {
  if (q->n == q->cap) {
    fs_event *h = realloc(q->h, 2 * q->cap * sizeof *h);
    if (h == NULL)
      return FS_ENOMEM;
    q->h = h;
    q->cap *= 2;
  }
  size_t i = q->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!fs_event_before(e, q->h[p]))
      break;
    q->h[i] = q->h[p];
    i = p;
  }
  q->h[i] = e;
  return FS_OK;
}

int fs_eventq_peek(const fs_eventq *q, fs_event *e) {
  if (q->n == 0)
    return 0;
  *e = q->h[0];
  return 1;
}

int fs_eventq_pop(fs_eventq *q, fs_event *e) {
  if (q->n == 0)
    return 0;
  *e = q->h[0];
  fs_event last = q->h[--q->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    fs_event best = last;
    if (l < q->n && fs_event_before(q->h[l], best)) {
      m = l;
      best = q->h[l];
    }
    if (r < q->n && fs_event_before(q->h[r], best))
      m = r;
    if (m == i)
      break;
    q->h[i] = q->h[m];
    i = m;
  }
  if (q->n > 0)
    q->h[i] = last;
  return 1;
}

size_t fs_eventq_size(const fs_eventq *q) { return q->n; }

size_t fs_eventq_items(const fs_eventq *q, fs_event *out, size_t cap) {
  for (size_t i = 0; i < q->n && i < cap; i++)
    out[i] = q->h[i];
  return q->n;
}
