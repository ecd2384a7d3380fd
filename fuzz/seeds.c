/*
 * seeds.c — seed inputs of every fuzz target, made from valid frames by the
 * encoders themselves (so nothing binary is committed): small payloads of
 * every encoding and index coding, whole TRAIN, UPDATE and SHUTDOWN frames,
 * and sealed frames. scripts/fuzz.sh writes them out as libFuzzer corpora
 * (fuzz_seeds); the meson replay programs run them directly.
 */
#include "fuzz.h"

#include "frame.h"
#include "payload.h"
#include "seal.h"
#include "wire.h"

#include <string.h>

const char *const fs_fuzz_targets[] = {"header",
                                       "frame",
                                       "dense",
                                       "update_meta",
                                       "payload_dense",
                                       "payload_sparse",
                                       "payload_randk",
                                       "payload_qsgd",
                                       "payload_sign",
                                       "payload_natural",
                                       "payload_block8",
                                       "seal_open",
                                       NULL};

enum { MAXP = 16 };

typedef struct {
  fs_payload p[MAXP];
  int n;
  /* storage */
  uint32_t idx[MAXP][8];
  float val[MAXP][16];
  int8_t codes[MAXP][16];
  float absmax[MAXP][8];
} pset;

static fs_payload *add(pset *s, fs_payload_kind k, uint32_t dim) {
  fs_payload *p = &s->p[s->n];
  memset(p, 0, sizeof *p);
  p->kind = k;
  p->dim = dim;
  p->idx = s->idx[s->n];
  p->val = s->val[s->n];
  p->codes = s->codes[s->n];
  p->absmax = s->absmax[s->n];
  s->n++;
  return p;
}

/* Small valid payloads of every kind. */
static void payloads(pset *s) {
  static const float v[] = {1.0f,  -2.5f, 0.5f, 3.25f, -0.125f, 7.0f,
                            0.0f,  -1.0f, 2.0f, 1e-3f, -4.0f,   8.5f,
                            0.75f, -6.0f, 9.0f, 1.5f};
  s->n = 0;
  fs_payload *p = add(s, FS_PL_DENSE, 3);
  memcpy(p->val, v, 3 * sizeof(float));
  p = add(s, FS_PL_DENSE, 0);
  p = add(s, FS_PL_SPARSE, 10); /* indices {1, 2, 7} */
  p->nnz = 3;
  p->idx[0] = 1, p->idx[1] = 2, p->idx[2] = 7;
  memcpy(p->val, v, 3 * sizeof(float));
  p = add(s, FS_PL_SPARSE, 300000); /* multi-byte varint gaps */
  p->nnz = 4;
  p->idx[0] = 0, p->idx[1] = 200, p->idx[2] = 40000, p->idx[3] = 299999;
  memcpy(p->val, v + 4, 4 * sizeof(float));
  p = add(s, FS_PL_SPARSE, 16); /* dense enough for the bitmap */
  p->nnz = 8;
  for (uint32_t i = 0; i < 8; i++)
    p->idx[i] = 2 * i;
  memcpy(p->val, v, 8 * sizeof(float));
  p = add(s, FS_PL_RANDK, 10);
  p->nnz = 3;
  p->seed = 0x0123456789abcdefull;
  memcpy(p->val, v, 3 * sizeof(float));
  p = add(s, FS_PL_QSGD, 5);
  p->levels = 2;
  p->scale = 2.0f;
  for (int j = 0; j < 5; j++)
    p->codes[j] = (int8_t)(j - 2);
  p = add(s, FS_PL_QSGD, 9);
  p->levels = 1;
  p->scale = 0.5f;
  for (int j = 0; j < 9; j++)
    p->codes[j] = (int8_t)(j % 3 - 1);
  p = add(s, FS_PL_QSGD, 7);
  p->levels = 127;
  p->scale = 3.0f;
  for (int j = 0; j < 7; j++)
    p->codes[j] = (int8_t)(40 * j - 120);
  p = add(s, FS_PL_SIGN, 11);
  p->scale = 0.25f;
  for (int j = 0; j < 11; j++)
    p->codes[j] = (int8_t)(j % 3 ? 1 : -1);
  p = add(s, FS_PL_NATURAL, 6);
  static const float nat[] = {1.0f, -2.0f, 0.0f, 0.125f, -0.0f, 1024.0f};
  memcpy(p->val, nat, sizeof nat);
  p = add(s, FS_PL_BLOCK8, 5);
  p->block = 2;
  p->absmax[0] = 1.0f, p->absmax[1] = 0.5f, p->absmax[2] = 2.0f;
  for (int j = 0; j < 5; j++)
    p->codes[j] = (int8_t)(60 * j - 127);
  p = add(s, FS_PL_BLOCK8, 7);
  p->block = 64;
  p->absmax[0] = 4.0f;
  for (int j = 0; j < 7; j++)
    p->codes[j] = (int8_t)(127 - 30 * j);
}

typedef struct {
  fs_fuzz_emit emit;
  void *ctx;
  int count;
  const char *target;
  uint8_t buf[4096];
} out;

static void give(out *o, const uint8_t *d, size_t n) {
  o->emit(d, n, o->ctx);
  o->count++;
}

/* The vector of p in every coding it has (SPARSE: the three) into o->buf
 * at offset at; calls fn for each. */
typedef void (*vec_fn)(out *o, const fs_payload *p, size_t at, size_t len);

static void each_coding(out *o, const fs_payload *p, size_t at, vec_fn fn) {
  if (p->kind == FS_PL_SPARSE) {
    for (int c = FS_IDX_RAW32; c <= FS_IDX_DELTA_VARINT; c++) {
      size_t n = fs_payload_sparse_size(p, (fs_index_coding)c);
      if (at + n > sizeof o->buf)
        continue; /* a bitmap of 300000 bits: too big for a seed */
      fs_payload_encode_sparse(p, (fs_index_coding)c, o->buf + at);
      fn(o, p, at, n);
    }
    return;
  }
  size_t n = fs_payload_encoded_size(p, NULL);
  fs_payload_encode(p, o->buf + at);
  fn(o, p, at, n);
}

static void give_vector(out *o, const fs_payload *p, size_t at, size_t len) {
  (void)p;
  give(o, o->buf + at, len);
}

/* A whole frame around the vector at o->buf + at (at = 28 for TRAIN, 40
 * for UPDATE, chosen by the caller through o->target[0]). */
static void give_frame(out *o, const fs_payload *p, size_t at, size_t len) {
  int update = at == FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES;
  fs_frame_header h = {.type = update ? FS_MSG_UPDATE : FS_MSG_TRAIN,
                       .encoding = (uint8_t)fs_payload_encoding(p->kind),
                       .round = 3,
                       .client = 5,
                       .model_version = 2,
                       .body_len =
                           (uint32_t)(at - FS_FRAME_HEADER_BYTES + len)};
  fs_frame_header_encode(&h, o->buf);
  if (update) {
    fs_update_meta m = {.num_samples = 600, .train_loss = 0.5};
    fs_update_meta_encode(&m, o->buf + FS_FRAME_HEADER_BYTES);
  }
  give(o, o->buf, at + len);
}

/* Frames for the seal target: sealed by client 3 (mode 0), or plain for
 * it to seal (modes 1 and 2). */
static void give_sealed(out *o, const fs_payload *p, size_t at, size_t len) {
  static uint8_t f[4096], s[4200];
  int update = at == FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES;
  fs_frame_header h = {.type = update ? FS_MSG_UPDATE : FS_MSG_TRAIN,
                       .encoding = (uint8_t)fs_payload_encoding(p->kind),
                       .round = 1,
                       .client = 3,
                       .model_version = 0,
                       .body_len =
                           (uint32_t)(at - FS_FRAME_HEADER_BYTES + len)};
  fs_frame_header_encode(&h, o->buf);
  if (update) {
    fs_update_meta m = {.num_samples = 60, .train_loss = 1.25};
    fs_update_meta_encode(&m, o->buf + FS_FRAME_HEADER_BYTES);
  }
  size_t n = at + len;
  if (n + 64 > sizeof f)
    return;
  /* mode 1: the plain frame */
  f[0] = 1;
  memcpy(f + 1, o->buf, n);
  give(o, f, n + 1);
  /* mode 2: the plain frame and a byte to flip (in the body, the header,
   * the prefix) */
  static const uint16_t pos[] = {0, 9, 30, 50};
  for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
    f[0] = 2;
    fs_put_u16(f + 1, pos[i]);
    f[3] = (uint8_t)(0x01 << i);
    memcpy(f + 4, o->buf, n);
    give(o, f, n + 4);
  }
  /* mode 0: the frame sealed by client 3 with counter 1 */
  uint8_t spk[32], ssk[32], cpk[32], csk[32];
  fs_seal_keypair(1, FS_SEAL_SERVER_ID, spk, ssk);
  fs_seal_keypair(1, 3, cpk, csk);
  fs_seal_session cli;
  if (fs_seal_session_client(&cli, cpk, csk, spk, 3, NULL) != FS_OK)
    return;
  size_t slen = 0;
  s[0] = 0;
  if (fs_seal(&cli, o->buf, o->buf + FS_FRAME_HEADER_BYTES,
              n - FS_FRAME_HEADER_BYTES, s + 1, &slen, NULL) == FS_OK)
    give(o, s, slen + 1);
}

int fs_fuzz_seeds(const char *name, fs_fuzz_emit emit, void *ctx) {
  static out o;
  static pset ps;
  memset(&o, 0, sizeof o);
  o.emit = emit;
  o.ctx = ctx;
  o.target = name;
  payloads(&ps);
  uint8_t shutdown[FS_FRAME_HEADER_BYTES];
  fs_frame_header sh = {.type = FS_MSG_SHUTDOWN, .encoding = FS_ENC_NONE};
  fs_frame_header_encode(&sh, shutdown);
  if (!strcmp(name, "header") || !strcmp(name, "frame")) {
    /* Whole frames for both: the header decoder checks the length too. */
    give(&o, shutdown, sizeof shutdown);
    for (int i = 0; i < ps.n; i++)
      for (int u = 0; u < 2; u++)
        each_coding(&o, &ps.p[i],
                    FS_FRAME_HEADER_BYTES + (u ? FS_UPDATE_META_BYTES : 0),
                    give_frame);
    return o.count;
  }
  if (!strcmp(name, "dense")) {
    for (int i = 0; i < ps.n; i++)
      if (ps.p[i].kind == FS_PL_DENSE)
        each_coding(&o, &ps.p[i], 0, give_vector);
    float ones[5] = {1, 1, 1, 1, 1};
    fs_dense_encode(ones, 5, o.buf);
    give(&o, o.buf, fs_dense_size(5));
    return o.count;
  }
  if (!strcmp(name, "update_meta")) {
    static const fs_update_meta m[] = {
        {600, 0.5}, {0, 0.0}, {UINT32_MAX, -1e300}, {7, 2.5e-310}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
      fs_update_meta_encode(&m[i], o.buf);
      give(&o, o.buf, FS_UPDATE_META_BYTES);
    }
    return o.count;
  }
  if (!strncmp(name, "payload_", 8)) {
    static const struct {
      const char *n;
      fs_payload_kind k;
    } kinds[] = {{"dense", FS_PL_DENSE},  {"sparse", FS_PL_SPARSE},
                 {"randk", FS_PL_RANDK},  {"qsgd", FS_PL_QSGD},
                 {"sign", FS_PL_SIGN},    {"natural", FS_PL_NATURAL},
                 {"block8", FS_PL_BLOCK8}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
      if (strcmp(name + 8, kinds[k].n) != 0)
        continue;
      for (int i = 0; i < ps.n; i++)
        if (ps.p[i].kind == kinds[k].k)
          each_coding(&o, &ps.p[i], 0, give_vector);
      return o.count;
    }
    return -1;
  }
  if (!strcmp(name, "seal_open")) {
    uint8_t f[1 + FS_FRAME_HEADER_BYTES];
    f[0] = 1;
    memcpy(f + 1, shutdown, sizeof shutdown);
    give(&o, f, sizeof f);
    for (int i = 0; i < ps.n; i++)
      for (int u = 0; u < 2; u++)
        each_coding(&o, &ps.p[i],
                    FS_FRAME_HEADER_BYTES + (u ? FS_UPDATE_META_BYTES : 0),
                    give_sealed);
    return o.count;
  }
  return -1;
}
