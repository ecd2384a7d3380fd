/*
 * oracle.c — the re-encode oracles of oracle.h.
 */
#include "oracle.h"

#include "fuzz.h"
#include "wire.h"

#include <math.h>
#include <string.h>

static void check_failure(fs_status st, const fs_err *e) {
  FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_EFORMAT || st == FS_ENUMERIC);
  FS_FUZZ_CHECK(e->status == st && e->msg[0] != '\0');
}

fs_status fs_fuzz_gc_task(const uint8_t *body, size_t len, size_t d,
                          uint64_t max_row, size_t cap) {
  if (cap == 0)
    cap = len / 8 + 1;
  fs_gcmsg_task *tasks = malloc(cap * sizeof *tasks);
  fs_gcmsg_term *terms = malloc(cap * sizeof *terms);
  const uint8_t **at = malloc(cap * sizeof *at);
  FS_FUZZ_CHECK(tasks && terms && at);
  size_t nt = SIZE_MAX, nm = SIZE_MAX;
  fs_err e = {0};
  fs_status st = fs_gcmsg_task_decode(body, len, d, max_row, tasks, cap, &nt,
                                      terms, cap, at, cap, &nm, &e);
  if (st != FS_OK) {
    check_failure(st, &e);
    goto out;
  }
  FS_FUZZ_CHECK(nt <= cap && nm <= cap);
  size_t nterms = 0;
  for (size_t k = 0; k < nt; k++) {
    FS_FUZZ_CHECK(tasks[k].model < nm && tasks[k].term0 == nterms);
    FS_FUZZ_CHECK(tasks[k].nterms <= cap - nterms);
    for (uint32_t q = 0; q < tasks[k].nterms; q++) {
      const fs_gcmsg_term *t = &terms[nterms + q];
      FS_FUZZ_CHECK(t->rows > 0 && (uint64_t)t->row0 + t->rows <= max_row);
      FS_FUZZ_CHECK(isfinite(t->coef));
    }
    nterms += tasks[k].nterms;
  }
  FS_FUZZ_CHECK(len == fs_gcmsg_task_size(nt, nterms, nm, d));
  /* The models' floats, through fs_gcmsg_model_get as a worker reads them. */
  float *m = malloc((nm * d + 1) * sizeof *m);
  const float **models = malloc((nm ? nm : 1) * sizeof *models);
  uint8_t *again = malloc(len);
  FS_FUZZ_CHECK(m && models && again);
  for (size_t i = 0; i < nm; i++) {
    FS_FUZZ_CHECK(at[i] >= body && at[i] + 4 * d <= body + len);
    fs_gcmsg_model_get(at[i], d, m + i * d);
    for (size_t j = 0; j < d; j++)
      FS_FUZZ_CHECK(isfinite(m[i * d + j]));
    models[i] = m + i * d;
  }
  fs_gcmsg_task_encode(tasks, nt, terms, models, nm, d, again);
  FS_FUZZ_CHECK(memcmp(again, body, len) == 0);
  free(again);
  free(models);
  free(m);
out:
  free(tasks);
  free(terms);
  free(at);
  return st;
}

fs_status fs_fuzz_sam(unsigned t, const uint8_t *body, size_t len) {
  fs_sam_view v;
  fs_err e = {0};
  fs_status st = fs_sam_decode((fs_msg_type)t, body, len, &v, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_EFORMAT);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    return st;
  }
  FS_FUZZ_CHECK(t >= FS_MSG_SA_KEYS && t <= FS_MSG_SA_REVEAL);
  FS_FUZZ_CHECK(len == fs_sam_size((fs_msg_type)t, v.count));
  FS_FUZZ_CHECK(t != FS_MSG_SA_KEYS || v.count == 1);
  uint8_t *again = malloc(len ? len : 1);
  FS_FUZZ_CHECK(again != NULL);
  uint8_t *rec = fs_sam_begin((fs_msg_type)t, v.count, v.threshold, again);
  FS_FUZZ_CHECK(rec - again == v.recs - body);
  for (uint32_t i = 0; i < v.count; i++, rec += v.rec) {
    const uint8_t *data = fs_sam_data(&v, i);
    switch (t) {
    case FS_MSG_SA_KEYS:
      memcpy(rec, data, 2 * FS_SAM_KEY);
      break;
    case FS_MSG_SA_ADVERTISE:
      fs_sam_put_advertise(rec, fs_sam_id(&v, i), data, data + FS_SAM_KEY);
      break;
    case FS_MSG_SA_SHARES:
      fs_sam_put_share(rec, fs_sam_id(&v, i), data);
      break;
    case FS_MSG_SA_UNMASK:
      FS_FUZZ_CHECK(fs_sam_secret(&v, i) <= 1);
      fs_sam_put_unmask(rec, fs_sam_id(&v, i), fs_sam_secret(&v, i), data);
      break;
    default:
      FS_FUZZ_CHECK(fs_sam_secret(&v, i) <= 1);
      fs_sam_put_reveal(rec, fs_sam_id(&v, i), fs_sam_secret(&v, i), data);
    }
  }
  FS_FUZZ_CHECK(memcmp(again, body, len) == 0);
  free(again);
  return st;
}

fs_status fs_fuzz_masked(const uint8_t *buf, size_t len, size_t n) {
  size_t fit = len >= 4 ? (len - 4) / 4 : 0;
  uint32_t *out = malloc((fit ? fit : 1) * sizeof *out);
  FS_FUZZ_CHECK(out != NULL);
  memset(out, 0xa5, (fit ? fit : 1) * sizeof *out);
  fs_err e = {0};
  fs_status st = fs_masked_decode(buf, len, out, n, &e);
  if (st != FS_OK) {
    FS_FUZZ_CHECK(st == FS_ETRUNC || st == FS_EFORMAT);
    FS_FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
    for (size_t j = 0; j < (fit ? fit : 1); j++)
      FS_FUZZ_CHECK(out[j] == 0xa5a5a5a5u); /* written only on success */
  } else {
    FS_FUZZ_CHECK(n == fit && len == fs_masked_size(n));
    uint8_t *again = malloc(len);
    FS_FUZZ_CHECK(again != NULL);
    fs_masked_encode(out, n, again);
    FS_FUZZ_CHECK(memcmp(again, buf, len) == 0);
    free(again);
  }
  free(out);
  return st;
}
