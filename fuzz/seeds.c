/*
 * seeds.c — seed inputs of every fuzz target, made from valid frames by the
 * encoders themselves (so nothing binary is committed): small payloads of
 * every encoding and index coding, whole TRAIN, UPDATE and SHUTDOWN frames,
 * sealed frames (of every frame type), GC_TASK bodies (fs_gcmsg_task_encode),
 * secure-aggregation bodies (fs_sam_begin, fs_sam_put_*) and MASKED_U32
 * vectors, and GC_*, SA_* and MASKED_U32 UPDATE frames around them.
 * scripts/fuzz.sh writes them out as libFuzzer corpora (fuzz_seeds); the meson
 * replay programs run them directly.
 */
#include "fuzz.h"

#include "frame.h"
#include "gcmsg.h"
#include "payload.h"
#include "seal.h"
#include "secagg_msg.h"
#include "wire.h"

#include <string.h>

const char *const fs_fuzz_targets[] = {
    "header",        "frame",           "dense",          "update_meta",
    "payload_dense", "payload_sparse",  "payload_randk",  "payload_qsgd",
    "payload_sign",  "payload_natural", "payload_block8", "seal_open",
    "gcmsg",         "secagg_msg",      "secagg_masked",  NULL};

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
  int seal; /* give_body_frame: as seal_open seeds (client 3) */
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

static void give_seal_modes(out *o, size_t n);

/* Frames for the seal target: sealed by client 3 (mode 0), or plain for
 * it to seal (modes 1 and 2). */
static void give_sealed(out *o, const fs_payload *p, size_t at, size_t len) {
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
  give_seal_modes(o, at + len);
}

/* The seal target's three seeds of the plain frame of n bytes in o->buf
 * (naming client 3). */
static void give_seal_modes(out *o, size_t n) {
  static uint8_t f[4096], s[4200];
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

/* Valid GC_TASK body number i (0..2) into b; its d and the rows it needs.
 * Returns its length, 0 past the last. */
static size_t gc_body(int i, uint8_t *b, size_t *d, uint32_t *rows) {
  static const float m0[3] = {1, 2, 3}, m1[3] = {-1, 0.5f, 4},
                     m2[1] = {1e-40f}; /* a subnormal float */
  const float *two[2] = {m0, m1}, *one[1] = {m2};
  if (i == 0) { /* no task, no model */
    *d = 4, *rows = 1;
    fs_gcmsg_task_encode(NULL, 0, NULL, NULL, 0, 4, b);
    return fs_gcmsg_task_size(0, 0, 0, 4);
  }
  if (i == 1) { /* two tasks on two models, as gc.c sends them */
    static const fs_gcmsg_term t[3] = {{0, 5, 0.5}, {5, 5, -1.25}, {10, 2, 1}};
    static const fs_gcmsg_task k[2] = {{1, 2, 0}, {0, 1, 2}};
    *d = 3, *rows = 12;
    fs_gcmsg_task_encode(k, 2, t, two, 2, 3, b);
    return fs_gcmsg_task_size(2, 3, 2, 3);
  }
  if (i == 2) { /* three tasks on one model, edge coefficients and rows */
    static const fs_gcmsg_term t[4] = {{0, 1, -0.0},
                                       {UINT32_MAX - 1, 1, 1e-310},
                                       {7, 100, 1e300},
                                       {0, UINT32_MAX, -2}};
    static const fs_gcmsg_task k[3] = {{0, 1, 0}, {0, 2, 1}, {0, 1, 3}};
    *d = 1, *rows = UINT32_MAX;
    fs_gcmsg_task_encode(k, 3, t, one, 1, 1, b);
    return fs_gcmsg_task_size(3, 4, 1, 1);
  }
  return 0;
}

/* Valid secure-aggregation body number i (0..8) into b and its type;
 * returns its length, 0 past the last. */
static size_t sam_body(int i, uint8_t *b, fs_msg_type *t) {
  static const struct {
    fs_msg_type t;
    uint32_t count, threshold;
  } bodies[] = {{FS_MSG_SA_KEYS, 1, 0},      {FS_MSG_SA_ADVERTISE, 0, 0},
                {FS_MSG_SA_ADVERTISE, 3, 2}, {FS_MSG_SA_SHARES, 0, 0},
                {FS_MSG_SA_SHARES, 2, 0},    {FS_MSG_SA_UNMASK, 0, 0},
                {FS_MSG_SA_UNMASK, 2, 0},    {FS_MSG_SA_REVEAL, 0, 0},
                {FS_MSG_SA_REVEAL, 3, 0}};
  if (i < 0 || (size_t)i >= sizeof bodies / sizeof bodies[0])
    return 0;
  uint8_t data[2 * FS_SAM_CT];
  for (size_t j = 0; j < sizeof data; j++)
    data[j] = (uint8_t)(37 * j + 11 * (size_t)i + 1);
  *t = bodies[i].t;
  uint8_t *r = fs_sam_begin(*t, bodies[i].count, bodies[i].threshold, b);
  size_t rec = (fs_sam_size(*t, 2) - fs_sam_size(*t, 1));
  if (*t == FS_MSG_SA_KEYS)
    memcpy(r, data, 2 * FS_SAM_KEY);
  for (uint32_t j = 0; *t != FS_MSG_SA_KEYS && j < bodies[i].count; j++) {
    uint8_t *x = r + j * rec;
    uint32_t id = j == 2 ? UINT32_MAX : 4 * j + 1;
    if (*t == FS_MSG_SA_ADVERTISE)
      fs_sam_put_advertise(x, id, data + j, data + 64 + j);
    else if (*t == FS_MSG_SA_SHARES)
      fs_sam_put_share(x, id, data + j);
    else if (*t == FS_MSG_SA_UNMASK)
      fs_sam_put_unmask(x, id, (uint8_t)(j & 1), data + j);
    else
      fs_sam_put_reveal(x, id, (uint8_t)((j + 1) & 1), data + j);
  }
  return fs_sam_size(*t, bodies[i].count);
}

/* Valid MASKED_U32 vector number i (0..2) into b; 0 past the last. */
static size_t masked_vec(int i, uint8_t *b) {
  static const uint32_t y[6] = {0, 1, UINT32_MAX, 0x80000000u, 12345, 7};
  static const size_t n[3] = {0, 3, 6};
  if (i < 0 || i >= 3)
    return 0;
  fs_masked_encode(y, n[i], b);
  return fs_masked_size(n[i]);
}

/* A frame of type t and encoding enc around body (len bytes), after the
 * UPDATE metadata when meta. */
static void give_body_frame(out *o, fs_msg_type t, fs_payload_kind enc,
                            int meta, const uint8_t *body, size_t len) {
  size_t at = FS_FRAME_HEADER_BYTES + (meta ? FS_UPDATE_META_BYTES : 0);
  if (at + len > sizeof o->buf)
    return;
  fs_frame_header h = {.type = (uint8_t)t,
                       .encoding = (uint8_t)enc,
                       .round = 2,
                       .client = o->seal ? 3 : 4,
                       .model_version = 1,
                       .body_len =
                           (uint32_t)(at - FS_FRAME_HEADER_BYTES + len)};
  fs_frame_header_encode(&h, o->buf);
  if (meta) {
    fs_update_meta m = {.num_samples = 36, .train_loss = 0.75};
    fs_update_meta_encode(&m, o->buf + FS_FRAME_HEADER_BYTES);
  }
  memcpy(o->buf + at, body, len);
  if (o->seal)
    give_seal_modes(o, at + len);
  else
    give(o, o->buf, at + len);
}

/* GC_TASK, GC_RESULT, SA_* and MASKED_U32 UPDATE frames (for seal_open,
 * sealed and plain, as give_seal_modes gives them). */
static void give_new_frames(out *o) {
  static uint8_t b[2048];
  static float r[8];
  size_t len, d;
  uint32_t rows;
  for (int i = 0; (len = gc_body(i, b, &d, &rows)) > 0; i++) {
    give_body_frame(o, FS_MSG_GC_TASK, FS_PL_DENSE, 0, b, len);
    size_t ntasks = fs_get_u32(b); /* a result of ntasks * d floats */
    for (size_t j = 0; j < ntasks * d && j < 8; j++)
      r[j] = 0.25f * (float)j - 1.0f;
    fs_dense_encode(r, ntasks * d, b);
    give_body_frame(o, FS_MSG_GC_RESULT, FS_PL_DENSE, 1, b,
                    fs_dense_size(ntasks * d));
  }
  fs_msg_type t;
  for (int i = 0; (len = sam_body(i, b, &t)) > 0; i++)
    give_body_frame(o, t, FS_PL_NONE, 0, b, len);
  for (int i = 0; (len = masked_vec(i, b)) > 0; i++)
    give_body_frame(o, FS_MSG_UPDATE, FS_PL_MASKED_U32, 1, b, len);
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
  fs_frame_header sh = {.type = FS_MSG_SHUTDOWN, .encoding = FS_PL_NONE};
  fs_frame_header_encode(&sh, shutdown);
  if (!strcmp(name, "header") || !strcmp(name, "frame")) {
    /* Whole frames for both: the header decoder checks the length too. */
    give(&o, shutdown, sizeof shutdown);
    for (int i = 0; i < ps.n; i++)
      for (int u = 0; u < 2; u++)
        each_coding(&o, &ps.p[i],
                    FS_FRAME_HEADER_BYTES + (u ? FS_UPDATE_META_BYTES : 0),
                    give_frame);
    give_new_frames(&o);
    return o.count;
  }
  if (!strcmp(name, "gcmsg")) {
    /* prefix: u8 d, u8 cap (0: the worker's), u32 max_row; then the body */
    size_t len, d;
    uint32_t rows;
    for (int i = 0; (len = gc_body(i, o.buf + 6, &d, &rows)) > 0; i++) {
      o.buf[0] = (uint8_t)d;
      fs_put_u32(o.buf + 2, rows);
      for (int cap = 0; cap <= 4; cap += 4) {
        o.buf[1] = (uint8_t)cap;
        give(&o, o.buf, 6 + len);
      }
    }
    return o.count;
  }
  if (!strcmp(name, "secagg_msg")) {
    size_t len;
    fs_msg_type t;
    for (int i = 0; (len = sam_body(i, o.buf + 1, &t)) > 0; i++) {
      o.buf[0] = (uint8_t)t;
      give(&o, o.buf, 1 + len);
    }
    return o.count;
  }
  if (!strcmp(name, "secagg_masked")) {
    size_t len;
    for (int i = 0; (len = masked_vec(i, o.buf)) > 0; i++)
      give(&o, o.buf, len);
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
    o.seal = 1; /* every frame secure.seal seals: GC_*, SA_*, MASKED_U32 */
    give_new_frames(&o);
    return o.count;
  }
  return -1;
}
