/*
 * async_sched.h — when to aggregate, and whom: the asynchronous strategies on
 * the virtual clock (docs/async.md; Fraboni et al. 2023, Nguyen et
 * al. 2022). Pure logic on integer ticks: no MPI, no models, no bytes.
 *
 * The caller starts jobs (client, start tick, a lower bound on the finish,
 * model version), reports each job's exact finish once it knows it (when the
 * client's update has arrived and its size is known), and asks fs_sched_next
 * what happens next. The scheduler consumes events in (time, client id)
 * order and never decides before every job that could come earlier is known
 * (it answers NEED with that client instead), so the run does not depend on
 * real arrival order.
 *
 *   ASYNC   each return is aggregated alone, at its time;
 *   FEDBUFF the `buffer` earliest returns are aggregated together at the last
 *           one's time; returned clients wait idle until then; stop once the
 *           earliest pending return is past the budget;
 *   FEDFIX  at t = delta, 2 delta, ... (up to the budget) every return so far
 *           is aggregated (possibly none); returned clients wait idle.
 * Returns staler than max_staleness (versions) are dropped (DROP).
 */
#ifndef FS_SCHED_H
#define FS_SCHED_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_STRAT_ASYNC = 1,
  FS_STRAT_FEDBUFF = 2,
  FS_STRAT_FEDFIX = 3
} fs_strat;

typedef struct {
  fs_strat strat;
  uint32_t buffer;        /* FEDBUFF: returns per aggregation (>= 1) */
  int64_t delta;          /* FEDFIX: period in ticks (> 0) */
  int64_t budget;         /* time budget in ticks; 0: none */
  uint64_t max_aggs;      /* aggregations to run; 0: no limit */
  uint32_t max_staleness; /* UINT32_MAX: never drop */
} fs_sched_spec;

typedef enum {
  FS_SCHED_NEED = 1, /* the finish of `client` must be reported first */
  FS_SCHED_AGGREGATE,
  FS_SCHED_DROP, /* `client` returned too stale: not aggregated */
  FS_SCHED_LOST, /* `client` dropped out of its job: nothing came back */
  FS_SCHED_DONE
} fs_sched_action;

typedef struct {
  fs_sched_action action;
  int64_t t;             /* when (AGGREGATE, DROP) */
  uint32_t client;       /* NEED, DROP */
  uint32_t staleness;    /* DROP */
  const uint32_t *set;   /* AGGREGATE: clients, increasing id (valid until the
                            next call) */
  const uint32_t *stale; /* AGGREGATE: staleness of each, same order */
  size_t nset;
  uint64_t version; /* AGGREGATE: the new model version */
} fs_sched_step;

typedef struct fs_sched fs_sched;

fs_status fs_sched_new(const fs_sched_spec *spec, uint32_t clients,
                       fs_sched **out, fs_err *err);
void fs_sched_free(fs_sched *s);

/* Client c starts a job at tick t from model `version`; it finishes no
 * earlier than lb (>= t). A client runs one job at a time. */
fs_status fs_sched_start(fs_sched *s, uint32_t c, int64_t t, int64_t lb,
                         uint64_t version);
/* The job of c finishes at tick t (>= its lower bound). */
fs_status fs_sched_finish(fs_sched *s, uint32_t c, int64_t t);
/* The job of c, just started, is lost (the client drops out of it): at its
 * finish time, fs_sched_next returns LOST for c instead of its return. The
 * finish is reported at once with this call. */
fs_status fs_sched_lose(fs_sched *s, uint32_t c, int64_t t);

/* What happens next (see above). */
fs_status fs_sched_next(fs_sched *s, fs_sched_step *step);
/* The current model version (aggregations so far). */
uint64_t fs_sched_version(const fs_sched *s);
/* Jobs started whose finish has not been reported. */
size_t fs_sched_unreported(const fs_sched *s);

fs_status fs_strat_parse(const char *s, fs_strat *out);

/* The scheduler's whole state (per-client states, job counters, versions,
 * lost flags, buffered returns, both event queues, counters) as bytes,
 * little-endian, into a malloc'ed *buf of *len bytes (for checkpoints).
 * FS_ENOMEM on failure. */
fs_status fs_sched_export(const fs_sched *s, uint8_t **buf, size_t *len);
/* Replace the state of s (new, same spec and clients) by an export.
 * FS_EFORMAT with a message if the bytes do not fit. */
fs_status fs_sched_import(fs_sched *s, const uint8_t *buf, size_t len,
                          fs_err *err);

#endif
