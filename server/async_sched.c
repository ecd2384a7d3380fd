/*
 * async_sched.c — see async_sched.h. Two heaps: reported finishes and timers
 * (`events`), and the finish lower bounds of jobs not yet reported (`lbq`, with
 * lazy deletion: an entry counts only while its job is still the client's
 * current unreported job).
 */
#include "async_sched.h"

#include "eventq.h"

#include <stdlib.h>
#include <string.h>

#define TIMER_ID UINT32_MAX

enum { IDLE = 0, RUNNING, REPORTED, RETURNED };

typedef struct {
  uint32_t c, stale;
} member;

struct fs_sched {
  fs_sched_spec spec;
  uint32_t n;
  uint8_t *state;
  uint32_t *seq;     /* job counter per client (lazy deletion tag) */
  uint64_t *version; /* version each running job started from */
  uint8_t *lost;     /* the current job of the client is lost */
  fs_eventq *events, *lbq;
  member *members; /* returned, waiting for aggregation */
  size_t nmembers;
  uint32_t *set, *stale; /* the last aggregation */
  uint64_t cur, aggs;
  size_t unreported;
  int timer_pending, done;
};

fs_status fs_strat_parse(const char *s, fs_strat *out) {
  if (!strcmp(s, "async"))
    *out = FS_STRAT_ASYNC;
  else if (!strcmp(s, "fedbuff"))
    *out = FS_STRAT_FEDBUFF;
  else if (!strcmp(s, "fedfix"))
    *out = FS_STRAT_FEDFIX;
  else
    return FS_EINVAL;
  return FS_OK;
}

void fs_sched_free(fs_sched *s) {
  if (s == NULL)
    return;
  free(s->state);
  free(s->seq);
  free(s->version);
  free(s->lost);
  free(s->members);
  free(s->set);
  free(s->stale);
  fs_eventq_free(s->events);
  fs_eventq_free(s->lbq);
  free(s);
}

fs_status fs_sched_new(const fs_sched_spec *spec, uint32_t clients,
                       fs_sched **out, fs_err *err) {
  *out = NULL;
  if (clients == 0 || clients == TIMER_ID)
    return fs_err_set(err, FS_ECONFIG, "scheduler: bad client count %u",
                      clients);
  if (spec->strat == FS_STRAT_FEDBUFF && spec->buffer == 0)
    return fs_err_set(err, FS_ECONFIG, "server.buffer: must be at least 1");
  if (spec->strat == FS_STRAT_FEDFIX && spec->delta <= 0)
    return fs_err_set(err, FS_ECONFIG, "server.fedfix_delta: must be > 0");
  if (spec->strat == FS_STRAT_FEDBUFF && spec->buffer > clients)
    return fs_err_set(err, FS_ECONFIG,
                      "server.buffer: %u is more than the %u clients that "
                      "can return",
                      spec->buffer, clients);
  fs_sched *s = calloc(1, sizeof *s);
  if (s == NULL)
    return fs_err_set(err, FS_ENOMEM, "scheduler: out of memory");
  s->spec = *spec;
  s->n = clients;
  s->state = calloc(clients, 1);
  s->seq = calloc(clients, sizeof *s->seq);
  s->version = calloc(clients, sizeof *s->version);
  s->lost = calloc(clients, 1);
  s->members = malloc(clients * sizeof *s->members);
  s->set = malloc(clients * sizeof *s->set);
  s->stale = malloc(clients * sizeof *s->stale);
  if (!s->state || !s->seq || !s->version || !s->lost || !s->members ||
      !s->set || !s->stale || fs_eventq_new(clients + 1, &s->events) != FS_OK ||
      fs_eventq_new(clients + 1, &s->lbq) != FS_OK) {
    fs_sched_free(s);
    return fs_err_set(err, FS_ENOMEM, "scheduler: out of memory");
  }
  if (spec->strat == FS_STRAT_FEDFIX &&
      (spec->budget == 0 || spec->delta <= spec->budget)) {
    fs_eventq_push(s->events, (fs_event){spec->delta, TIMER_ID, 0});
    s->timer_pending = 1;
  }
  *out = s;
  return FS_OK;
}

fs_status fs_sched_start(fs_sched *s, uint32_t c, int64_t t, int64_t lb,
                         uint64_t version) {
  if (c >= s->n || s->state[c] != IDLE || lb < t)
    return FS_EINVAL;
  s->state[c] = RUNNING;
  s->seq[c]++;
  s->version[c] = version;
  s->unreported++;
  return fs_eventq_push(s->lbq, (fs_event){lb, c, s->seq[c]});
}

fs_status fs_sched_finish(fs_sched *s, uint32_t c, int64_t t) {
  if (c >= s->n || s->state[c] != RUNNING)
    return FS_EINVAL;
  s->state[c] = REPORTED;
  s->unreported--;
  return fs_eventq_push(s->events, (fs_event){t, c, s->seq[c]});
}

fs_status fs_sched_lose(fs_sched *s, uint32_t c, int64_t t) {
  fs_status st = fs_sched_finish(s, c, t);
  if (st == FS_OK)
    s->lost[c] = 1;
  return st;
}

uint64_t fs_sched_version(const fs_sched *s) { return s->cur; }
size_t fs_sched_unreported(const fs_sched *s) { return s->unreported; }

static int cmp_member(const void *a, const void *b) {
  uint32_t x = ((const member *)a)->c, y = ((const member *)b)->c;
  return (x > y) - (x < y);
}

/* Aggregate the waiting members at t. */
static void aggregate(fs_sched *s, int64_t t, fs_sched_step *step) {
  qsort(s->members, s->nmembers, sizeof *s->members, cmp_member);
  for (size_t i = 0; i < s->nmembers; i++) {
    s->set[i] = s->members[i].c;
    s->stale[i] = s->members[i].stale;
    s->state[s->members[i].c] = IDLE;
  }
  step->action = FS_SCHED_AGGREGATE;
  step->t = t;
  step->set = s->set;
  step->stale = s->stale;
  step->nset = s->nmembers;
  s->nmembers = 0;
  s->cur++;
  s->aggs++;
  step->version = s->cur;
}

fs_status fs_sched_next(fs_sched *s, fs_sched_step *step) {
  memset(step, 0, sizeof *step);
  for (;;) {
    if (s->done || (s->spec.max_aggs && s->aggs >= s->spec.max_aggs) ||
        (s->spec.strat == FS_STRAT_FEDFIX && !s->timer_pending)) {
      s->done = 1;
      step->action = FS_SCHED_DONE;
      return FS_OK;
    }
    fs_event L, E;
    int have_l = 0;
    while (fs_eventq_peek(s->lbq, &L)) {
      if (s->state[L.id] == RUNNING && s->seq[L.id] == L.tag) {
        have_l = 1;
        break;
      }
      fs_eventq_pop(s->lbq, &L);
    }
    int have_e = fs_eventq_peek(s->events, &E);
    if (have_l && (!have_e || fs_event_before(L, E))) {
      step->action = FS_SCHED_NEED;
      step->client = L.id;
      return FS_OK;
    }
    if (!have_e) {
      s->done = 1;
      step->action = FS_SCHED_DONE;
      return FS_OK;
    }
    fs_eventq_pop(s->events, &E);
    int64_t t = E.t;
    if (E.id == TIMER_ID) {
      /* FedFix: every return so far, possibly none. */
      s->timer_pending = 0;
      if (s->spec.budget == 0 || t + s->spec.delta <= s->spec.budget) {
        fs_eventq_push(s->events, (fs_event){t + s->spec.delta, TIMER_ID, 0});
        s->timer_pending = 1;
      }
      aggregate(s, t, step);
      return FS_OK;
    }
    uint32_t c = E.id;
    int64_t B = s->spec.budget;
    if (B > 0 && t > B &&
        (s->spec.strat == FS_STRAT_ASYNC ||
         (s->spec.strat == FS_STRAT_FEDBUFF && s->nmembers == 0))) {
      s->done = 1;
      step->action = FS_SCHED_DONE;
      return FS_OK;
    }
    if (s->lost[c]) {
      s->lost[c] = 0;
      s->state[c] = IDLE;
      step->action = FS_SCHED_LOST;
      step->t = t;
      step->client = c;
      return FS_OK;
    }
    uint64_t st64 = s->cur - s->version[c];
    uint32_t stale = st64 > UINT32_MAX ? UINT32_MAX : (uint32_t)st64;
    if (stale > s->spec.max_staleness) {
      s->state[c] = IDLE;
      step->action = FS_SCHED_DROP;
      step->t = t;
      step->client = c;
      step->staleness = stale;
      return FS_OK;
    }
    s->state[c] = RETURNED;
    s->members[s->nmembers++] = (member){c, stale};
    if (s->spec.strat == FS_STRAT_ASYNC ||
        (s->spec.strat == FS_STRAT_FEDBUFF && s->nmembers == s->spec.buffer)) {
      aggregate(s, t, step);
      return FS_OK;
    }
  }
}

/* ---- checkpoints ---------------------------------------------------------
 */

static uint8_t *put(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  return p + n;
}

static uint64_t get(const uint8_t **p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)(*p)[i] << (8 * i);
  *p += n;
  return v;
}

#define SCHED_HEAD 38   /* n, cur, aggs, unreported, flags, nmembers */
#define SCHED_CLIENT 14 /* state, seq, version, lost */

fs_status fs_sched_export(const fs_sched *s, uint8_t **buf, size_t *len) {
  size_t ne = fs_eventq_size(s->events), nl = fs_eventq_size(s->lbq);
  size_t total = SCHED_HEAD + (size_t)s->n * SCHED_CLIENT + 8 * s->nmembers +
                 16 + 16 * (ne + nl);
  uint8_t *b = malloc(total);
  fs_event *ev = malloc((ne + nl + 1) * sizeof *ev);
  if (b == NULL || ev == NULL) {
    free(b);
    free(ev);
    return FS_ENOMEM;
  }
  uint8_t *p = b;
  p = put(p, s->n, 4);
  p = put(p, s->cur, 8);
  p = put(p, s->aggs, 8);
  p = put(p, s->unreported, 8);
  p = put(p, (uint64_t)(s->timer_pending | s->done << 1), 2);
  p = put(p, s->nmembers, 8);
  for (uint32_t c = 0; c < s->n; c++) {
    p = put(p, s->state[c], 1);
    p = put(p, s->seq[c], 4);
    p = put(p, s->version[c], 8);
    p = put(p, s->lost[c], 1);
  }
  for (size_t i = 0; i < s->nmembers; i++) {
    p = put(p, s->members[i].c, 4);
    p = put(p, s->members[i].stale, 4);
  }
  const fs_eventq *qs[2] = {s->events, s->lbq};
  for (int k = 0; k < 2; k++) {
    size_t m = fs_eventq_items(qs[k], ev, ne + nl + 1);
    p = put(p, m, 8);
    for (size_t i = 0; i < m; i++) {
      p = put(p, (uint64_t)ev[i].t, 8);
      p = put(p, ev[i].id, 4);
      p = put(p, ev[i].tag, 4);
    }
  }
  free(ev);
  *buf = b;
  *len = (size_t)(p - b);
  return FS_OK;
}

fs_status fs_sched_import(fs_sched *s, const uint8_t *buf, size_t len,
                          fs_err *err) {
  const uint8_t *p = buf, *end = buf + len;
  if (len < SCHED_HEAD || get(&p, 4) != s->n)
    return fs_err_set(err, FS_EFORMAT, "scheduler state: not for %u clients",
                      s->n);
  uint64_t cur = get(&p, 8), aggs = get(&p, 8), unrep = get(&p, 8);
  unsigned flags = (unsigned)get(&p, 2);
  uint64_t nm = get(&p, 8);
  if (nm > s->n || (size_t)(end - p) < (size_t)s->n * SCHED_CLIENT + 8 * nm + 8)
    return fs_err_set(err, FS_EFORMAT, "scheduler state: truncated");
  for (uint32_t c = 0; c < s->n; c++) {
    s->state[c] = (uint8_t)get(&p, 1);
    s->seq[c] = (uint32_t)get(&p, 4);
    s->version[c] = get(&p, 8);
    s->lost[c] = (uint8_t)get(&p, 1);
    if (s->state[c] > RETURNED)
      return fs_err_set(err, FS_EFORMAT, "scheduler state: bad client state");
  }
  for (size_t i = 0; i < nm; i++) {
    s->members[i].c = (uint32_t)get(&p, 4);
    s->members[i].stale = (uint32_t)get(&p, 4);
    if (s->members[i].c >= s->n)
      return fs_err_set(err, FS_EFORMAT, "scheduler state: bad member");
  }
  fs_eventq *qs[2] = {s->events, s->lbq};
  for (int k = 0; k < 2; k++) {
    fs_event e;
    while (fs_eventq_pop(qs[k], &e))
      ;
    if ((size_t)(end - p) < 8)
      return fs_err_set(err, FS_EFORMAT, "scheduler state: truncated");
    uint64_t m = get(&p, 8);
    if (m > (size_t)(end - p) / 16)
      return fs_err_set(err, FS_EFORMAT, "scheduler state: truncated");
    for (uint64_t i = 0; i < m; i++) {
      e.t = (int64_t)get(&p, 8);
      e.id = (uint32_t)get(&p, 4);
      e.tag = (uint32_t)get(&p, 4);
      if (fs_eventq_push(qs[k], e) != FS_OK)
        return fs_err_set(err, FS_ENOMEM, "scheduler state: out of memory");
    }
  }
  if (p != end)
    return fs_err_set(err, FS_EFORMAT, "scheduler state: trailing bytes");
  s->cur = cur;
  s->aggs = aggs;
  s->unreported = (size_t)unrep;
  s->timer_pending = (int)(flags & 1);
  s->done = (int)(flags >> 1 & 1);
  s->nmembers = (size_t)nm;
  return FS_OK;
}
