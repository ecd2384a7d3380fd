/*
 * metrics.h — what a run leaves behind: metrics.csv (one row per
 * aggregation) and JSON files written atomically (temporary file, fsync,
 * rename), plus the folder they live in.
 */
#ifndef FS_METRICS_H
#define FS_METRICS_H

#include "fs_status.h"

#include <stdint.h>
#include <stdio.h>

#define FS_METRICS_COLUMNS                                                     \
  "round,vtime_s,wall_s,clients,bits_up,bits_down,bits_up_cum,bits_down_cum,"  \
  "train_loss,test_loss,test_acc,grad_norm_sq,bits_up_paper_cum,"              \
  "staleness_mean,staleness_max,epsilon,rejected_nonfinite,gc_load,"           \
  "gc_stragglers,gc_exact,bits_secagg,secagg_ms,rejected_frames"

typedef struct {
  uint64_t round;
  double vtime_s; /* virtual clock at the end of the round */
  double wall_s;  /* wall seconds since the start of training */
  uint32_t clients;
  uint64_t bits_up, bits_down;         /* this round, all clients */
  uint64_t bits_up_cum, bits_down_cum; /* since the start */
  int has_eval;                        /* losses and accuracy present */
  double train_loss, test_loss, test_acc;
  int has_grad;
  double grad_norm_sq;
  uint64_t bits_up_paper_cum; /* uplink bits in the EF21 papers' convention */
  double staleness_mean;      /* of the updates aggregated (versions) */
  uint32_t staleness_max;
  int has_eps; /* epsilon present (differential privacy with central noise) */
  double epsilon;
  uint64_t rejected_nonfinite; /* updates rejected for NaN/Inf, this row */
  int has_gc;     /* gradient-coding columns present (server.strategy gc) */
  double gc_load; /* mean share of one job's data a worker processed */
  uint32_t gc_stragglers; /* workers whose round's work was lost */
  int gc_exact; /* 1: every job decoded this round is the exact gradient */
  int has_sa;   /* secure aggregation: the two columns below */
  uint64_t bits_secagg; /* bits of the SA_* frames (keys, shares), both ways */
  double secagg_ms;     /* wall ms of the secure-aggregation phases */
  uint64_t rejected_frames; /* sealed frames refused so far (secure.seal) */
} fs_metrics_row;

typedef struct fs_metrics fs_metrics;

/* Create dir/metrics.csv and write its header. */
fs_status fs_metrics_open(const char *dir, fs_metrics **out, fs_err *err);
/* Open an existing dir/metrics.csv to append rows (a resumed run). */
fs_status fs_metrics_open_append(const char *dir, fs_metrics **out,
                                 fs_err *err);
/* Append one row (flushed, so a killed run keeps its rows). */
fs_status fs_metrics_write(fs_metrics *m, const fs_metrics_row *row,
                           fs_err *err);
/* Format one row as CSV (no newline) into buf. */
void fs_metrics_format(const fs_metrics_row *row, char *buf, size_t len);
void fs_metrics_close(fs_metrics *m);

/* mkdir -p. */
fs_status fs_mkdir_p(const char *path, fs_err *err);

/* Write text to path atomically (path.tmp, fsync, rename). */
fs_status fs_write_file_atomic(const char *path, const void *data, size_t len,
                               fs_err *err);

#endif
