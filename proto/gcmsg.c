/*
 * gcmsg.c — GC_TASK bodies (see gcmsg.h); GC_RESULT bodies are the UPDATE
 * metadata and a DENSE_F32 vector, read with frame.h's functions.
 */
#include "gcmsg.h"

#include "frame.h"
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TERM_BYTES 16

size_t fs_gcmsg_task_size(size_t ntasks, size_t nterms, size_t nmodels,
                          size_t d) {
  return 4 + 8 * ntasks + TERM_BYTES * nterms + 4 + nmodels * fs_dense_size(d);
}

void fs_gcmsg_task_encode(const fs_gcmsg_task *tasks, size_t ntasks,
                          const fs_gcmsg_term *terms,
                          const float *const *models, size_t nmodels, size_t d,
                          uint8_t *out) {
  fs_put_u32(out, (uint32_t)ntasks);
  out += 4;
  for (size_t k = 0; k < ntasks; k++) {
    if (tasks[k].model >= nmodels) {
      fprintf(stderr, "fedsim: gcmsg misuse: model %u of %zu\n", tasks[k].model,
              nmodels);
      abort();
    }
    fs_put_u32(out, tasks[k].model);
    fs_put_u32(out + 4, tasks[k].nterms);
    out += 8;
    for (uint32_t q = 0; q < tasks[k].nterms; q++) {
      const fs_gcmsg_term *t = &terms[tasks[k].term0 + q];
      fs_put_u32(out, t->row0);
      fs_put_u32(out + 4, t->rows);
      fs_put_f64(out + 8, t->coef);
      out += TERM_BYTES;
    }
  }
  fs_put_u32(out, (uint32_t)nmodels);
  out += 4;
  for (size_t m = 0; m < nmodels; m++) {
    fs_dense_encode(models[m], d, out);
    out += fs_dense_size(d);
  }
}

fs_status fs_gcmsg_task_decode(const uint8_t *buf, size_t len, size_t d,
                               uint64_t max_row, fs_gcmsg_task *tasks,
                               size_t max_tasks, size_t *ntasks,
                               fs_gcmsg_term *terms, size_t max_terms,
                               const uint8_t **model_at, size_t max_models,
                               size_t *nmodels, fs_err *err) {
  size_t pos = 0, nterm = 0;
  if (len < 4)
    return fs_err_set(err, FS_ETRUNC, "GC_TASK: %zu bytes, no task count", len);
  uint32_t nt = fs_get_u32(buf);
  pos = 4;
  if (nt > max_tasks)
    return fs_err_set(err, FS_EFORMAT, "GC_TASK: %lu tasks (at most %zu)",
                      (unsigned long)nt, max_tasks);
  for (size_t k = 0; k < nt; k++) {
    if (len - pos < 8)
      return fs_err_set(err, FS_ETRUNC, "GC_TASK: task %zu truncated", k);
    tasks[k].model = fs_get_u32(buf + pos);
    tasks[k].nterms = fs_get_u32(buf + pos + 4);
    tasks[k].term0 = (uint32_t)nterm;
    pos += 8;
    if (tasks[k].nterms > max_terms - nterm)
      return fs_err_set(err, FS_EFORMAT,
                        "GC_TASK: task %zu has %lu terms (at most %zu left)", k,
                        (unsigned long)tasks[k].nterms, max_terms - nterm);
    if ((uint64_t)(len - pos) < (uint64_t)tasks[k].nterms * TERM_BYTES)
      return fs_err_set(err, FS_ETRUNC, "GC_TASK: terms of task %zu truncated",
                        k);
    for (uint32_t q = 0; q < tasks[k].nterms; q++) {
      fs_gcmsg_term *t = &terms[nterm++];
      t->row0 = fs_get_u32(buf + pos);
      t->rows = fs_get_u32(buf + pos + 4);
      t->coef = fs_get_f64(buf + pos + 8);
      pos += TERM_BYTES;
      if (t->rows == 0 || (uint64_t)t->row0 + t->rows > max_row)
        return fs_err_set(err, FS_EFORMAT,
                          "GC_TASK: task %zu term %lu: rows %lu..%lu outside "
                          "0..%llu",
                          k, (unsigned long)q, (unsigned long)t->row0,
                          (unsigned long)t->row0 + t->rows,
                          (unsigned long long)max_row);
      if (!isfinite(t->coef))
        return fs_err_set(err, FS_ENUMERIC,
                          "GC_TASK: task %zu term %lu: coefficient is not "
                          "finite",
                          k, (unsigned long)q);
    }
  }
  if (len - pos < 4)
    return fs_err_set(err, FS_ETRUNC, "GC_TASK: no model count");
  uint32_t nm = fs_get_u32(buf + pos);
  pos += 4;
  if (nm > max_models)
    return fs_err_set(err, FS_EFORMAT, "GC_TASK: %lu models (at most %zu)",
                      (unsigned long)nm, max_models);
  uint64_t need = (uint64_t)pos + (uint64_t)nm * fs_dense_size(d);
  if ((uint64_t)len != need)
    return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                      "GC_TASK: %lu models of %zu floats need %llu bytes, "
                      "%zu present",
                      (unsigned long)nm, d, (unsigned long long)need, len);
  for (size_t k = 0; k < nt; k++)
    if (tasks[k].model >= nm)
      return fs_err_set(err, FS_EFORMAT,
                        "GC_TASK: task %zu uses model %lu of %lu", k,
                        (unsigned long)tasks[k].model, (unsigned long)nm);
  for (size_t m = 0; m < nm; m++) {
    const uint8_t *v = buf + pos + m * fs_dense_size(d);
    if (fs_get_u32(v) != d)
      return fs_err_set(err, FS_EFORMAT,
                        "GC_TASK: model %zu has %lu floats, want %zu", m,
                        (unsigned long)fs_get_u32(v), d);
    for (size_t j = 0; j < d; j++)
      if (!isfinite(fs_get_f32(v + 4 + 4 * j)))
        return fs_err_set(err, FS_ENUMERIC,
                          "GC_TASK: model %zu entry %zu is not finite", m, j);
    model_at[m] = v + 4;
  }
  *ntasks = nt;
  *nmodels = nm;
  return FS_OK;
}

void fs_gcmsg_model_get(const uint8_t *at, size_t d, float *out) {
  for (size_t j = 0; j < d; j++)
    out[j] = fs_get_f32(at + 4 * j);
}
