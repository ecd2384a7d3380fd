/*
 * client_ckpt.c — a worker's part of a checkpoint (see client_ckpt.h):
 * its clients' state out to its own file, and back in from every worker
 * file of a checkpoint, keeping the clients this worker hosts now.
 */
#include "client_ckpt.h"

#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_EF FS_CKPT_TAG('C', 'L', 'E', 'F')   /* u32 client, dim floats */
#define R_DICE FS_CKPT_TAG('C', 'L', 'D', 'C') /* u32 client, dim floats */
#define R_MOM FS_CKPT_TAG('C', 'L', 'M', 'O')  /* u32 client, dim floats */
#define R_BCRD FS_CKPT_TAG('B', 'C', 'R', 'D') /* u64 EF21-BC round */
#define R_BCX FS_CKPT_TAG('B', 'C', 'X', ' ')  /* dim floats */
#define R_BCB FS_CKPT_TAG('B', 'C', 'B', ' ')  /* dim floats */

enum { OP_SAVE = 1, OP_RESTORE = 2 };

static fs_status save(const fs_client_state *s, const char *dir, uint64_t hash,
                      uint64_t agg, uint32_t *crc, uint64_t *len, fs_err *err) {
  fs_ckpt_writer *w = fs_ckpt_writer_new(FS_CKPT_WORKER, hash, agg);
  if (w == NULL)
    return fs_err_set(err, FS_ENOMEM, "worker %d: out of memory", s->rank);
  for (size_t i = 0; i < s->nclients; i++) {
    uint32_t id = (uint32_t)(s->first + i * s->stride);
    if (s->ef != NULL && s->ef[i] != NULL)
      fs_ckpt_put_id_f32s(w, R_EF, id, s->ef[i], s->dim);
    if (s->dice != NULL && s->dice[i] != NULL)
      fs_ckpt_put_id_f32s(w, R_DICE, id, s->dice[i], s->dim);
    if (s->mom != NULL && s->mom[i] != NULL)
      fs_ckpt_put_id_f32s(w, R_MOM, id, s->mom[i], s->dim);
  }
  if (s->bc) {
    fs_ckpt_put_u64(w, R_BCRD, *s->bc_round);
    fs_ckpt_put_f32s(w, R_BCX, s->bc_x, s->dim);
    fs_ckpt_put_f32s(w, R_BCB, s->bc_b, s->dim);
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/worker-%04d.bin", dir, s->rank);
  fs_status st = fs_ckpt_writer_save(w, path, crc, len, err);
  fs_ckpt_writer_free(w);
  return st;
}

/* Load the records of one worker file that belong to clients hosted here. */
static fs_status load_file(fs_client_state *s, const fs_ckpt_reader *r,
                           int *bc_done, fs_err *err) {
  size_t pos = 0, len;
  uint32_t tag;
  const uint8_t *p;
  while (fs_ckpt_next(r, &pos, &tag, &p, &len)) {
    if (tag == R_EF || tag == R_DICE || tag == R_MOM) {
      if (len != 4 + 4 * s->dim)
        return fs_err_set(err, FS_EFORMAT,
                          "worker %d: client record of %zu bytes, the model "
                          "has %zu parameters",
                          s->rank, len, s->dim);
      uint32_t id = fs_ckpt_le32(p);
      if (id >= s->nglobal)
        return fs_err_set(err, FS_EFORMAT,
                          "worker %d: checkpoint names client %u of %zu",
                          s->rank, id, s->nglobal);
      if (id < s->first || (id - s->first) % s->stride != 0)
        continue; /* hosted elsewhere now */
      size_t li = (id - s->first) / s->stride;
      float **arr = tag == R_EF ? s->ef : tag == R_DICE ? s->dice : s->mom;
      if (arr == NULL)
        return fs_err_set(err, FS_EFORMAT,
                          "worker %d: checkpoint has %s state this "
                          "configuration does not use",
                          s->rank,
                          tag == R_EF     ? "error-feedback"
                          : tag == R_DICE ? "DiceSGD"
                                          : "momentum");
      if (arr[li] == NULL && (arr[li] = malloc(s->dim * sizeof(float))) == NULL)
        return fs_err_set(err, FS_ENOMEM, "worker %d: out of memory", s->rank);
      fs_ckpt_f32s_from(p + 4, arr[li], s->dim);
    }
  }
  if (s->bc && !*bc_done) {
    uint64_t rd;
    fs_status st = fs_ckpt_get_u64(r, R_BCRD, &rd, err);
    if (st == FS_OK)
      st = fs_ckpt_get_f32s(r, R_BCX, s->bc_x, s->dim, err);
    if (st == FS_OK)
      st = fs_ckpt_get_f32s(r, R_BCB, s->bc_b, s->dim, err);
    if (st != FS_OK)
      return st;
    *s->bc_round = (uint32_t)rd;
    *bc_done = 1;
  }
  return FS_OK;
}

static fs_status restore(fs_client_state *s, const char *dir, uint64_t hash,
                         uint64_t agg, fs_err *err) {
  char path[1200];
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  fs_ckpt_reader *m = NULL;
  fs_status st =
      fs_ckpt_reader_open(path, FS_CKPT_MANIFEST, &hash, &agg, &m, err);
  if (st != FS_OK)
    return st;
  size_t pos = 0, len;
  uint32_t tag;
  const uint8_t *p;
  int bc_done = 0;
  while (st == FS_OK && fs_ckpt_next(m, &pos, &tag, &p, &len)) {
    if (tag != FS_CKR_FILE || len < 12 || len - 12 > 200 ||
        strncmp((const char *)p + 12, "worker-", 7) != 0)
      continue;
    uint32_t crc = fs_ckpt_le32(p);
    uint64_t flen = fs_ckpt_le32(p + 4) | (uint64_t)fs_ckpt_le32(p + 8) << 32;
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)(len - 12),
             (const char *)p + 12);
    fs_ckpt_reader *r = NULL;
    st = fs_ckpt_reader_open(path, FS_CKPT_WORKER, &hash, &agg, &r, err);
    if (st == FS_OK &&
        (fs_ckpt_reader_crc(r) != crc || fs_ckpt_reader_length(r) != flen))
      st = fs_err_set(err, FS_EFORMAT,
                      "%s: not the file the MANIFEST names (crc32 %08x, %llu "
                      "bytes; the MANIFEST says %08x, %llu bytes)",
                      path, fs_ckpt_reader_crc(r),
                      (unsigned long long)fs_ckpt_reader_length(r), crc,
                      (unsigned long long)flen);
    if (st == FS_OK)
      st = load_file(s, r, &bc_done, err);
    fs_ckpt_reader_free(r);
  }
  fs_ckpt_reader_free(m);
  if (st == FS_OK && s->bc && !bc_done)
    st = fs_err_set(err, FS_EFORMAT, "%s: no worker file in the MANIFEST", dir);
  return st;
}

fs_status fs_client_ckpt_handle(fs_client_state *s, fs_transport *t,
                                const fs_config *cfg, uint32_t round,
                                const uint8_t *body, size_t len, fs_err *err) {
  if (len < 2 || len > 1024 || (body[0] != OP_SAVE && body[0] != OP_RESTORE))
    return fs_err_set(err, FS_EFORMAT, "worker %d: malformed CHECKPOINT frame",
                      s->rank);
  char dir[1100];
  memcpy(dir, body + 1, len - 1);
  dir[len - 1] = '\0';
  fs_err e = {0};
  uint32_t crc = 0;
  uint64_t flen = 0;
  fs_status st = FS_OK;
  char *text = fs_ckpt_config_text(cfg);
  if (text == NULL) {
    st = fs_err_set(&e, FS_ENOMEM, "worker %d: out of memory", s->rank);
  } else {
    uint64_t hash = fs_ckpt_config_hash(text);
    free(text);
    st = body[0] == OP_SAVE ? save(s, dir, hash, round, &crc, &flen, &e)
                            : restore(s, dir, hash, round, &e);
  }
  const char *msg = st == FS_OK ? "" : fs_err_msg(&e, st);
  size_t ml = strlen(msg);
  uint8_t out[FS_FRAME_HEADER_BYTES + 16 + sizeof e.msg];
  fs_frame_header h = {.type = FS_MSG_CHECKPOINT_DONE,
                       .encoding = FS_PL_NONE,
                       .client = s->ctrl_client,
                       .round = round,
                       .body_len = (uint32_t)(16 + ml)};
  fs_frame_header_encode(&h, out);
  uint8_t *b = out + FS_FRAME_HEADER_BYTES;
  uint64_t v[3] = {(uint64_t)st, crc, flen};
  for (int i = 0; i < 4; i++) {
    b[i] = (uint8_t)(v[0] >> (8 * i));
    b[4 + i] = (uint8_t)(v[1] >> (8 * i));
  }
  for (int i = 0; i < 8; i++)
    b[8 + i] = (uint8_t)(v[2] >> (8 * i));
  memcpy(b + 16, msg, ml);
  fs_iov iov = {out, FS_FRAME_HEADER_BYTES + 16 + ml};
  return fs_sealer_send(s->seal, t, FS_ROLE_WORKER, 0, &iov, 1, err);
}
