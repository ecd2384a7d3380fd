/*
 * gcmsg.h — bodies of the gradient-coding frames (docs/wire-format.md).
 *
 * GC_TASK (server -> worker, encoding DENSE_F32): u32 ntasks; per task u32
 * model (an index into the models that follow) and u32 nterms, then nterms
 * terms (u32 row0, u32 rows, f64 coef): the task is
 * sum_terms coef * (sum over rows row0..row0+rows-1 of the loss gradient);
 * then u32 nmodels and that many DENSE_F32 vectors of d floats (the model
 * each job started from). GC_RESULT (worker -> server, DENSE_F32): the
 * UPDATE metadata (u32 num_samples, f64 train_loss) then one DENSE_F32
 * vector of ntasks * d floats, task k's result at [k d, (k+1) d).
 * Bytes in, structs out: every malformed body gives a status.
 */
#ifndef FS_GCMSG_H
#define FS_GCMSG_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t model;  /* which model of the frame */
  uint32_t nterms; /* terms term0..term0+nterms-1 of the term array */
  uint32_t term0;
} fs_gcmsg_task;

typedef struct {
  uint32_t row0, rows;
  double coef;
} fs_gcmsg_term;

/* Bytes of a GC_TASK body. */
size_t fs_gcmsg_task_size(size_t ntasks, size_t nterms, size_t nmodels,
                          size_t d);

/* Write a GC_TASK body into out (fs_gcmsg_task_size bytes, the caller's).
 * tasks[k] uses terms[term0 .. term0+nterms-1]; models[m] points to d
 * floats. A task's model >= nmodels is a programmer mistake and aborts. */
void fs_gcmsg_task_encode(const fs_gcmsg_task *tasks, size_t ntasks,
                          const fs_gcmsg_term *terms,
                          const float *const *models, size_t nmodels, size_t d,
                          uint8_t *out);

/* Read a GC_TASK body of len bytes for models of d floats: tasks into
 * tasks[] (at most max_tasks), their terms into terms[] (at most max_terms
 * in all), and where each model's floats start in buf into model_at[] (at
 * most max_models; read them with fs_gcmsg_model_get). Too many entries,
 * rows = 0, a row range past max_row, a non-finite coefficient or model
 * value, a model index out of range or a wrong length give FS_EFORMAT,
 * FS_ETRUNC or FS_ENUMERIC with a message. */
fs_status fs_gcmsg_task_decode(const uint8_t *buf, size_t len, size_t d,
                               uint64_t max_row, fs_gcmsg_task *tasks,
                               size_t max_tasks, size_t *ntasks,
                               fs_gcmsg_term *terms, size_t max_terms,
                               const uint8_t **model_at, size_t max_models,
                               size_t *nmodels, fs_err *err);

/* Copy d floats of a model found by fs_gcmsg_task_decode into out. */
void fs_gcmsg_model_get(const uint8_t *at, size_t d, float *out);

#endif
