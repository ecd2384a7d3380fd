/*
 * test_proto.c — the wire format v1 (proto/frame.h): round trips, golden
 * bytes of a known frame, every rejection with its status and message, and
 * a corruption sweep (flip every byte of valid frames to every other value,
 * truncate and extend them) in which decoding must give a status or a frame
 * that re-encodes to exactly the bytes it came from. Bodies in the
 * compressed encodings (SPARSE ... BLOCK8) are decoded with payload.h here
 * and tested in depth in test_payload.c.
 *
 * The byte-by-byte path that big-endian hosts take is compiled in here a
 * second time (frame.c with FS__HOST_IS_WIRE 0 and its public names given
 * an fsfb_ prefix) so that it is tested against the memcpy path on any host.
 */
#include "fs_test.h"

#include "frame.h"
#include "fs_rng.h"
#include "fs_status.h"
#include "gcmsg.h"
#include "payload.h"

#include "secagg_msg.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- the fallback path, under other names ------------------------------ */

#define FS__HOST_IS_WIRE 0
#define fs_msg_type_name fsfb_msg_type_name
#define fs_encoding_name fsfb_encoding_name
#define fs_frame_header_encode fsfb_frame_header_encode
#define fs_frame_header_decode fsfb_frame_header_decode
#define fs_dense_size fsfb_dense_size
#define fs_update_body_size fsfb_update_body_size
#define fs_dense_encode fsfb_dense_encode
#define fs_dense_decode fsfb_dense_decode
#define fs_update_meta_encode fsfb_update_meta_encode
#define fs_update_meta_decode fsfb_update_meta_decode
#include "proto/frame.c"
#undef fs_msg_type_name
#undef fs_encoding_name
#undef fs_frame_header_encode
#undef fs_frame_header_decode
#undef fs_dense_size
#undef fs_update_body_size
#undef fs_dense_encode
#undef fs_dense_decode
#undef fs_update_meta_encode
#undef fs_update_meta_decode

/* ---- golden frame ------------------------------------------------------ */

/* An UPDATE frame from client 0x0a0b0c0d in round 0x01020304 against model
 * version 7: 600 samples, train_loss 0.5, vector {1.0f, -2.5f}. */
static const uint8_t golden_update[] = {
    /* header */
    0x46, 0x53, 0x49, 0x4d, /* magic "FSIM" */
    0x01,                   /* version */
    0x02,                   /* type UPDATE */
    0x01,                   /* encoding DENSE_F32 */
    0x00,                   /* flags */
    0x04, 0x03, 0x02, 0x01, /* round 0x01020304 */
    0x0d, 0x0c, 0x0b, 0x0a, /* client 0x0a0b0c0d */
    0x07, 0x00, 0x00, 0x00, /* model version 7 */
    0x18, 0x00, 0x00, 0x00, /* body length 24 */
    0x00, 0x00, 0x00, 0x00, /* reserved */
    /* body: meta */
    0x58, 0x02, 0x00, 0x00,                         /* num_samples 600 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, /* train_loss 0.5 */
    /* body: vector */
    0x02, 0x00, 0x00, 0x00, /* count 2 */
    0x00, 0x00, 0x80, 0x3f, /* 1.0f */
    0x00, 0x00, 0x20, 0xc0, /* -2.5f */
};

static const fs_frame_header golden_hdr = {
    .type = FS_MSG_UPDATE,
    .encoding = FS_PL_DENSE,
    .flags = 0,
    .round = 0x01020304u,
    .client = 0x0a0b0c0du,
    .model_version = 7,
    .body_len = 24,
};
static const fs_update_meta golden_meta = {600, 0.5};
static const float golden_vec[2] = {1.0f, -2.5f};

static void expect_header_eq(const fs_frame_header *a,
                             const fs_frame_header *b) {
  ck_assert_uint_eq(a->type, b->type);
  ck_assert_uint_eq(a->encoding, b->encoding);
  ck_assert_uint_eq(a->flags, b->flags);
  ck_assert_uint_eq(a->round, b->round);
  ck_assert_uint_eq(a->client, b->client);
  ck_assert_uint_eq(a->model_version, b->model_version);
  ck_assert_uint_eq(a->body_len, b->body_len);
}

/* A header-only buffer of FS_FRAME_HEADER_BYTES + body_len bytes (body
 * zero) from h, in caller-provided storage of cap bytes. */
static size_t make_frame(const fs_frame_header *h, uint8_t *buf, size_t cap) {
  size_t len = FS_FRAME_HEADER_BYTES + (size_t)h->body_len;
  ck_assert_uint_le(len, cap);
  memset(buf, 0, len);
  fs_frame_header_encode(h, buf);
  return len;
}

static fs_frame_header hdr_of(uint8_t type, uint8_t enc, uint32_t body_len) {
  fs_frame_header h = {type, enc, 0, 3, 5, 2, body_len};
  return h;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static double f64_from_bits(uint64_t u) {
  double f;
  memcpy(&f, &u, 8);
  return f;
}

/* Decode a whole frame the way a receiver does: header, then the body by
 * type, with a model of n_expect parameters. On FS_OK fills the outputs:
 * vec for DENSE_F32, pl (and coding, for SPARSE) for the other encodings.
 * pl's arrays are grown in place: zero pl first, free them afterwards. */
typedef struct {
  fs_frame_header h;
  fs_update_meta meta;
  float vec[8];
  fs_payload pl;
  fs_index_coding coding;
  int gc_task; /* a GC_TASK body that decoded (checked by test_gcmsg) */
} decoded_frame;

static void free_payload(fs_payload *p) {
  free(p->idx);
  free(p->val);
  free(p->codes);
  free(p->absmax);
  memset(p, 0, sizeof *p);
}

static fs_status decode_vector(const uint8_t *body, size_t len, size_t n,
                               decoded_frame *out, fs_err *err) {
  if (out->h.encoding == FS_PL_DENSE)
    return fs_dense_decode(body, len, out->vec, n, err);
  if (out->h.encoding == FS_PL_SPARSE && len > 8)
    out->coding = (fs_index_coding)body[8];
  return fs_payload_decode(body, len, (fs_payload_kind)out->h.encoding,
                           (uint32_t)n, &out->pl, err);
}

static fs_status decode_frame(const uint8_t *buf, size_t len, size_t n_expect,
                              decoded_frame *out, fs_err *err) {
  fs_status st = fs_frame_header_decode(buf, len, &out->h, err);
  if (st != FS_OK)
    return st;
  const uint8_t *body = buf + FS_FRAME_HEADER_BYTES;
  size_t body_len = out->h.body_len;
  switch (out->h.type) {
  case FS_MSG_TRAIN:
    return decode_vector(body, body_len, n_expect, out, err);
  case FS_MSG_GC_TASK: {
    fs_gcmsg_task tasks[4];
    fs_gcmsg_term terms[8];
    const uint8_t *at[4];
    size_t nt, nm;
    st = fs_gcmsg_task_decode(body, body_len, n_expect, 1000, tasks, 4, &nt,
                              terms, 8, at, 4, &nm, err);
    out->gc_task = st == FS_OK;
    return st;
  }
  case FS_MSG_UPDATE:
  case FS_MSG_GC_RESULT: /* the same body layout */
    st = fs_update_meta_decode(body, body_len, &out->meta, err);
    if (st != FS_OK)
      return st;
    return decode_vector(body + FS_UPDATE_META_BYTES,
                         body_len - FS_UPDATE_META_BYTES, n_expect, out, err);
  case FS_MSG_SHUTDOWN:
    return FS_OK;
  default: { /* secure aggregation: an opaque list body */
    fs_sam_view v;
    return fs_sam_decode((fs_msg_type)out->h.type, body, body_len, &v, err);
  }
  }
}

/* Encode d back into bytes (returns the length, at most cap). */
static size_t encode_frame(const decoded_frame *d, size_t n, uint8_t *buf,
                           size_t cap) {
  int dense = d->h.encoding == FS_PL_DENSE;
  size_t vec = 0;
  if (d->h.type != FS_MSG_SHUTDOWN)
    vec = dense ? fs_dense_size(n)
          : d->h.encoding == FS_PL_SPARSE
              ? fs_payload_sparse_size(&d->pl, d->coding)
              : fs_payload_encoded_size(&d->pl, NULL);
  size_t body = vec;
  int meta = d->h.type == FS_MSG_UPDATE || d->h.type == FS_MSG_GC_RESULT;
  if (meta)
    body += FS_UPDATE_META_BYTES;
  ck_assert_uint_le(FS_FRAME_HEADER_BYTES + body, cap);
  fs_frame_header h = d->h;
  h.body_len = (uint32_t)body;
  fs_frame_header_encode(&h, buf);
  uint8_t *p = buf + FS_FRAME_HEADER_BYTES;
  if (meta) {
    fs_update_meta_encode(&d->meta, p);
    p += FS_UPDATE_META_BYTES;
  }
  if (d->h.type != FS_MSG_SHUTDOWN) {
    if (dense)
      fs_dense_encode(d->vec, n, p);
    else if (d->h.encoding == FS_PL_SPARSE)
      fs_payload_encode_sparse(&d->pl, d->coding, p);
    else
      fs_payload_encode(&d->pl, p);
  }
  return FS_FRAME_HEADER_BYTES + body;
}

/* ---- core -------------------------------------------------------------- */

START_TEST(header_golden_bytes) {
  uint8_t out[FS_FRAME_HEADER_BYTES];
  memset(out, 0xaa, sizeof out);
  fs_frame_header_encode(&golden_hdr, out);
  ck_assert_mem_eq(out, golden_update, FS_FRAME_HEADER_BYTES);

  fs_frame_header h;
  fs_err err = {0};
  ck_assert_int_eq(
      fs_frame_header_decode(golden_update, sizeof golden_update, &h, &err),
      FS_OK);
  expect_header_eq(&h, &golden_hdr);
}
END_TEST

START_TEST(update_golden_bytes) {
  uint8_t out[sizeof golden_update];
  ck_assert_uint_eq(FS_FRAME_HEADER_BYTES + fs_update_body_size(2),
                    sizeof golden_update);
  fs_frame_header_encode(&golden_hdr, out);
  fs_update_meta_encode(&golden_meta, out + FS_FRAME_HEADER_BYTES);
  fs_dense_encode(golden_vec, 2,
                  out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES);
  ck_assert_mem_eq(out, golden_update, sizeof golden_update);

  decoded_frame d;
  fs_err err = {0};
  ck_assert_int_eq(
      decode_frame(golden_update, sizeof golden_update, 2, &d, &err), FS_OK);
  expect_header_eq(&d.h, &golden_hdr);
  ck_assert_uint_eq(d.meta.num_samples, 600);
  ck_assert(d.meta.train_loss == 0.5);
  ck_assert(d.vec[0] == 1.0f && d.vec[1] == -2.5f);
}
END_TEST

START_TEST(header_roundtrip) {
  const fs_frame_header cases[] = {
      {FS_MSG_TRAIN, FS_PL_DENSE, 0, 0, 0, 0, 4},
      {FS_MSG_TRAIN, FS_PL_DENSE, 0, UINT32_MAX, UINT32_MAX, UINT32_MAX, 40},
      {FS_MSG_UPDATE, FS_PL_DENSE, 0, 17, 123456, 16, 16},
      {FS_MSG_SHUTDOWN, FS_PL_NONE, 0, 99, 1, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[FS_FRAME_HEADER_BYTES + 64];
    size_t len = make_frame(&cases[i], buf, sizeof buf);
    fs_frame_header h;
    memset(&h, 0x5a, sizeof h);
    fs_err err = {0};
    ck_assert_int_eq(fs_frame_header_decode(buf, len, &h, &err), FS_OK);
    expect_header_eq(&h, &cases[i]);
  }
}
END_TEST

static void dense_roundtrip(size_t n, uint64_t seed) {
  float *v = malloc((n ? n : 1) * sizeof *v);
  float *w = malloc((n ? n : 1) * sizeof *w);
  size_t sz = fs_dense_size(n);
  uint8_t *buf = malloc(sz);
  ck_assert(v != NULL && w != NULL && buf != NULL);
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_TEST, n, 0);
  for (size_t i = 0; i < n; i++)
    v[i] = (float)fs_rng_normal(&r);
  /* Finite edge values (0x00400000 is a subnormal) pass bit for bit. */
  const float edge[] = {0.0f,
                        -0.0f,
                        FLT_MIN,
                        -FLT_MIN,
                        FLT_MAX,
                        -FLT_MAX,
                        f32_from_bits(0x00400000u),
                        FLT_TRUE_MIN};
  for (size_t i = 0; i < n && i < sizeof edge / sizeof edge[0]; i++)
    v[n - 1 - i] = edge[i];

  fs_dense_encode(v, n, buf);
  ck_assert_uint_eq(sz, 4 + 4 * n);
  ck_assert_uint_eq(
      buf[0] | (buf[1] << 8) | (buf[2] << 16) | ((uint32_t)buf[3] << 24), n);
  fs_err err = {0};
  ck_assert_int_eq(fs_dense_decode(buf, sz, w, n, &err), FS_OK);
  if (n > 0)
    ck_assert_mem_eq(v, w, n * sizeof *v);
  free(v);
  free(w);
  free(buf);
}

START_TEST(dense_roundtrip_empty) {
  dense_roundtrip(0, 1);
  /* n = 0 needs no output storage. */
  uint8_t buf[4];
  fs_dense_encode(NULL, 0, buf);
  ck_assert_mem_eq(buf, "\0\0\0\0", 4);
  ck_assert_int_eq(fs_dense_decode(buf, 4, NULL, 0, NULL), FS_OK);
}
END_TEST

START_TEST(dense_roundtrip_one) {
  dense_roundtrip(1, 2);
  uint8_t buf[8];
  const float v = -2.5f;
  fs_dense_encode(&v, 1, buf);
  ck_assert_mem_eq(buf, "\x01\0\0\0\0\0\x20\xc0", 8);
}
END_TEST

START_TEST(dense_roundtrip_large) {
  dense_roundtrip(235146, 3); /* the size of a typical MLP's parameters */
  dense_roundtrip(1000003, 4);
}
END_TEST

START_TEST(meta_roundtrip) {
  const fs_update_meta cases[] = {
      {0, 0.0},
      {1, -0.0},
      {UINT32_MAX, DBL_MAX},
      {42, 2.302585092994046},
      {7, f64_from_bits(1)}, /* smallest subnormal */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[FS_UPDATE_META_BYTES];
    fs_update_meta_encode(&cases[i], buf);
    fs_update_meta m;
    fs_err err = {0};
    ck_assert_int_eq(fs_update_meta_decode(buf, sizeof buf, &m, &err), FS_OK);
    ck_assert_uint_eq(m.num_samples, cases[i].num_samples);
    ck_assert_mem_eq(&m.train_loss, &cases[i].train_loss, sizeof(double));
  }
}
END_TEST

START_TEST(names) {
  ck_assert_str_eq(fs_msg_type_name(FS_MSG_TRAIN), "TRAIN");
  ck_assert_str_eq(fs_msg_type_name(FS_MSG_UPDATE), "UPDATE");
  ck_assert_str_eq(fs_msg_type_name(FS_MSG_SHUTDOWN), "SHUTDOWN");
  ck_assert_str_eq(fs_msg_type_name(0), "unknown");
  ck_assert_str_eq(fs_encoding_name(FS_PL_NONE), "NONE");
  ck_assert_str_eq(fs_encoding_name(FS_PL_DENSE), "DENSE_F32");
  ck_assert_str_eq(fs_encoding_name(FS_PL_SPARSE), "SPARSE");
  ck_assert_str_eq(fs_encoding_name(FS_PL_RANDK), "RANDK");
  ck_assert_str_eq(fs_encoding_name(FS_PL_QSGD), "QSGD");
  ck_assert_str_eq(fs_encoding_name(FS_PL_SIGN), "SIGN");
  ck_assert_str_eq(fs_encoding_name(FS_PL_NATURAL), "NATURAL");
  ck_assert_str_eq(fs_encoding_name(FS_PL_BLOCK8), "BLOCK8");
  ck_assert_str_eq(fs_encoding_name(FS_PL_MAX + 1), "unknown");
  ck_assert_str_eq(fs_encoding_name(200), "unknown");
}
END_TEST

static void expect_header_error(const uint8_t *buf, size_t len, fs_status st,
                                const char *msg);

/* TRAIN and UPDATE take any vector encoding; the header does not look at
 * the body, so a zero body of any length passes it. */
START_TEST(header_vector_encodings) {
  for (unsigned enc = FS_PL_DENSE; enc <= FS_PL_PAYLOAD_MAX; enc++) {
    for (uint8_t type = FS_MSG_TRAIN; type <= FS_MSG_UPDATE; type++) {
      uint8_t buf[FS_FRAME_HEADER_BYTES + 16];
      fs_frame_header h = hdr_of(type, (uint8_t)enc, 16), out;
      size_t len = make_frame(&h, buf, sizeof buf);
      fs_err err = {0};
      ck_assert_int_eq(fs_frame_header_decode(buf, len, &out, &err), FS_OK);
      expect_header_eq(&out, &h);
      ck_assert_int_eq(fsfb_frame_header_decode(buf, len, &out, &err), FS_OK);
    }
  } /* MASKED_U32 (secure aggregation) only in UPDATE; the SA_* types only
     * with encoding NONE. */
  uint8_t buf[FS_FRAME_HEADER_BYTES + 16];
  fs_frame_header h = hdr_of(FS_MSG_UPDATE, FS_PL_MASKED_U32, 16), out;
  size_t len = make_frame(&h, buf, sizeof buf);
  ck_assert_int_eq(fs_frame_header_decode(buf, len, &out, NULL), FS_OK);
  h = hdr_of(FS_MSG_TRAIN, FS_PL_MASKED_U32, 16);
  len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: TRAIN cannot carry a MASKED_U32 vector");
  for (uint8_t t = FS_MSG_SA_KEYS; t <= FS_MSG_MAX; t++) {
    h = hdr_of(t, FS_PL_NONE, 16);
    len = make_frame(&h, buf, sizeof buf);
    ck_assert_int_eq(fs_frame_header_decode(buf, len, &out, NULL), FS_OK);
    ck_assert_uint_eq(out.type, t);
    h = hdr_of(t, FS_PL_DENSE, 16);
    len = make_frame(&h, buf, sizeof buf);
    ck_assert_int_eq(fs_frame_header_decode(buf, len, &out, NULL), FS_EFORMAT);
  }
  /* GC_TASK and GC_RESULT only with DENSE_F32 (fuzz_header found them
   * accepted with any vector encoding). */
  for (uint8_t t = FS_MSG_GC_TASK; t <= FS_MSG_GC_RESULT; t++)
    for (unsigned enc = FS_PL_NONE; enc <= FS_PL_MAX; enc++) {
      h = hdr_of(t, (uint8_t)enc, 16);
      len = make_frame(&h, buf, sizeof buf);
      ck_assert_int_eq(fs_frame_header_decode(buf, len, &out, NULL),
                       enc == FS_PL_DENSE ? FS_OK : FS_EFORMAT);
    }
  h = hdr_of(FS_MSG_GC_TASK, FS_PL_SPARSE, 16);
  len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: GC_TASK needs encoding DENSE_F32, got SPARSE");
}
END_TEST

/* The byte-by-byte path writes and reads the same bytes as the memcpy path. */
START_TEST(fallback_matches) {
  uint8_t a[sizeof golden_update];
  fsfb_frame_header_encode(&golden_hdr, a);
  fsfb_update_meta_encode(&golden_meta, a + FS_FRAME_HEADER_BYTES);
  fsfb_dense_encode(golden_vec, 2,
                    a + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES);
  ck_assert_mem_eq(a, golden_update, sizeof a);

  size_t n = 4099;
  float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
  uint8_t *p = malloc(fs_dense_size(n)), *q = malloc(fs_dense_size(n));
  ck_assert(v && w && p && q);
  fs_rng r;
  fs_rng_init(&r, 9, FS_RNG_TEST, 1, 0);
  for (size_t i = 0; i < n; i++)
    v[i] = (float)fs_rng_normal(&r);
  fs_dense_encode(v, n, p);
  fsfb_dense_encode(v, n, q);
  ck_assert_mem_eq(p, q, fs_dense_size(n));
  ck_assert_int_eq(fsfb_dense_decode(p, fs_dense_size(n), w, n, NULL), FS_OK);
  ck_assert_mem_eq(v, w, n * sizeof *v);

  /* Same rejections and messages. */
  fs_err e1 = {0}, e2 = {0};
  fs_put_u32(p + 4 + 4 * 4000, 0xff800000u); /* -Inf */
  ck_assert_int_eq(fs_dense_decode(p, fs_dense_size(n), w, n, &e1),
                   FS_ENUMERIC);
  ck_assert_int_eq(fsfb_dense_decode(p, fs_dense_size(n), w, n, &e2),
                   FS_ENUMERIC);
  ck_assert_str_eq(e1.msg, e2.msg);
  ck_assert_str_eq(e1.msg, "dense vector: entry 4000 is -Inf");

  decoded_frame d;
  ck_assert_int_eq(fsfb_frame_header_decode(golden_update, 3, &d.h, &e2),
                   FS_ETRUNC);
  ck_assert_int_eq(fsfb_update_meta_decode(golden_update, 11, &d.meta, &e2),
                   FS_ETRUNC);
  ck_assert_uint_eq(fsfb_update_body_size(2), 24);
  ck_assert_str_eq(fsfb_msg_type_name(FS_MSG_UPDATE), "UPDATE");
  ck_assert_str_eq(fsfb_encoding_name(FS_PL_NONE), "NONE");
  free(v);
  free(w);
  free(p);
  free(q);
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

START_TEST(header_every_short_length) {
  for (size_t len = 0; len < FS_FRAME_HEADER_BYTES; len++) {
    uint8_t *buf = malloc(len ? len : 1); /* exact size: overreads show */
    ck_assert(buf != NULL);
    memcpy(buf, golden_update, len);
    fs_frame_header h;
    fs_err err = {0};
    ck_assert_int_eq(fs_frame_header_decode(buf, len, &h, &err), FS_ETRUNC);
    ck_assert_ptr_nonnull(strstr(err.msg, "shorter than the 28-byte header"));
    free(buf);
  }
}
END_TEST

START_TEST(header_huge_body_len) {
  uint8_t buf[FS_FRAME_HEADER_BYTES];
  fs_frame_header h = hdr_of(FS_MSG_TRAIN, FS_PL_DENSE, UINT32_MAX);
  fs_frame_header_encode(&h, buf);
  fs_err err = {0};
  ck_assert_int_eq(fs_frame_header_decode(buf, sizeof buf, &h, &err),
                   FS_ETRUNC);
  ck_assert_str_eq(err.msg,
                   "frame: body length 4294967295 but 0 bytes follow the "
                   "header");
}
END_TEST

START_TEST(dense_huge_count) {
  /* A count of 2^32-1 must not overflow the length arithmetic. */
  uint8_t buf[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  float out[1];
  fs_err err = {0};
  ck_assert_int_eq(fs_dense_decode(buf, sizeof buf, out, UINT32_MAX, &err),
                   FS_ETRUNC);
  ck_assert_str_eq(err.msg, "dense vector: count 4294967295 needs 17179869184 "
                            "bytes but 8 are present");
  ck_assert_int_eq(fs_dense_decode(buf, sizeof buf, out, 1, &err), FS_EFORMAT);
  ck_assert_str_eq(err.msg, "dense vector: count 4294967295 but expected 1");
}
END_TEST

START_TEST(dense_nonfinite_at_ends) {
  size_t n = 235146;
  float *v = calloc(n, sizeof *v), *w = malloc(n * sizeof *w);
  uint8_t *buf = malloc(fs_dense_size(n));
  ck_assert(v && w && buf);
  const size_t where[] = {0, 1, 7, 8, n / 2, n - 2, n - 1};
  for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
    fs_dense_encode(v, n, buf);
    fs_put_u32(buf + 4 + 4 * where[k], 0x7fc00000u); /* quiet NaN */
    fs_err err = {0};
    char want[64];
    snprintf(want, sizeof want, "dense vector: entry %zu is NaN", where[k]);
    ck_assert_int_eq(fs_dense_decode(buf, fs_dense_size(n), w, n, &err),
                     FS_ENUMERIC);
    ck_assert_str_eq(err.msg, want);
  }
  free(v);
  free(w);
  free(buf);
}
END_TEST

static int allowed_status(fs_status st) {
  return st == FS_OK || st == FS_EFORMAT || st == FS_ETRUNC ||
         st == FS_EVERSION || st == FS_ENUMERIC;
}

/* Decode buf (copied to an exactly sized heap block) and check the outcome:
 * a status from the allowed set with a message, or a frame that re-encodes
 * to the very same bytes. Returns the status. */
static fs_status check_one(const uint8_t *src, size_t len, size_t n) {
  uint8_t *buf = malloc(len ? len : 1);
  ck_assert(buf != NULL);
  if (len > 0)
    memcpy(buf, src, len);
  decoded_frame d;
  memset(&d, 0, sizeof d);
  fs_err err = {0};
  fs_status st = decode_frame(buf, len, n, &d, &err);
  ck_assert_msg(allowed_status(st), "status %d", (int)st);
  if (st != FS_OK) {
    ck_assert_int_eq(err.status, st);
    ck_assert_uint_gt(strlen(err.msg), 0);
  } else {
    /* Only what version 1 allows gets through. */
    ck_assert_uint_eq(d.h.flags, 0);
    int control = d.h.type == FS_MSG_SHUTDOWN || d.h.type >= FS_MSG_SA_KEYS;
    if (control)
      ck_assert_uint_eq(d.h.encoding, FS_PL_NONE);
    else
      ck_assert(d.h.type == FS_MSG_TRAIN || d.h.type == FS_MSG_UPDATE ||
                d.h.type == FS_MSG_GC_TASK || d.h.type == FS_MSG_GC_RESULT);
    if (d.gc_task) {
      free(buf);
      return st;
    }
    if (d.h.type >= FS_MSG_SA_KEYS) {
      ck_assert_uint_le(d.h.type, FS_MSG_MAX);
      goto done; /* the body is opaque records: nothing to re-encode */
    }
    if (d.h.type != FS_MSG_SHUTDOWN) {
      ck_assert(d.h.encoding >= FS_PL_DENSE && d.h.encoding <= FS_PL_MAX);
      if (d.h.encoding == FS_PL_DENSE)
        for (size_t i = 0; i < n; i++)
          ck_assert(isfinite(d.vec[i]));
      else
        ck_assert_uint_eq(d.pl.dim, n);
    }
    if (d.h.type == FS_MSG_UPDATE || d.h.type == FS_MSG_GC_RESULT)
      ck_assert(isfinite(d.meta.train_loss));
    uint8_t again[128];
    if (control && d.h.type != FS_MSG_SHUTDOWN) {
      /* Checkpoint bodies are opaque here (client_ckpt.c reads them): the
       * header must re-encode to the same bytes. */
      fs_frame_header_encode(&d.h, again);
      ck_assert_mem_eq(again, buf, FS_FRAME_HEADER_BYTES);
    } else {
      size_t len2 = encode_frame(&d, n, again, sizeof again);
      ck_assert_uint_eq(len2, len);
      ck_assert_mem_eq(again, buf, len);
    }
  }
done:
  free_payload(&d.pl);
  free(buf);
  return st;
}

/* Every single-byte change of each valid frame (all 255 other values), every
 * truncation and a few extensions. */
START_TEST(corrupt_sweep) {
  uint8_t train[FS_FRAME_HEADER_BYTES + 16], shutdown[FS_FRAME_HEADER_BYTES];
  const float tv[3] = {0.25f, -0.0f, 3.0e38f};
  fs_frame_header th = hdr_of(FS_MSG_TRAIN, FS_PL_DENSE, 16);
  fs_frame_header_encode(&th, train);
  fs_dense_encode(tv, 3, train + FS_FRAME_HEADER_BYTES);
  fs_frame_header sh = hdr_of(FS_MSG_SHUTDOWN, FS_PL_NONE, 0);
  fs_frame_header_encode(&sh, shutdown);

  const struct {
    const uint8_t *bytes;
    size_t len, n;
  } frames[] = {
      {golden_update, sizeof golden_update, 2},
      {train, sizeof train, 3},
      {shutdown, sizeof shutdown, 0},
  };
  for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
    size_t len = frames[f].len, n = frames[f].n;
    uint8_t work[64];
    ck_assert_uint_le(len + 8, sizeof work);
    ck_assert_int_eq(check_one(frames[f].bytes, len, n), FS_OK);
    size_t ok = 0;
    for (size_t i = 0; i < len; i++) {
      for (unsigned x = 1; x < 256; x++) {
        memcpy(work, frames[f].bytes, len);
        work[i] ^= (uint8_t)x;
        ok += check_one(work, len, n) == FS_OK;
      }
    }
    /* Changes to round, client, model version and the values decode. */
    ck_assert_uint_gt(ok, 0);
    for (size_t cut = 0; cut < len; cut++)
      ck_assert_int_eq(check_one(frames[f].bytes, cut, n), FS_ETRUNC);
    for (size_t extra = 1; extra <= 8; extra++) {
      memcpy(work, frames[f].bytes, len);
      memset(work + len, 0, extra);
      ck_assert_int_eq(check_one(work, len + extra, n), FS_EFORMAT);
    }
  }
}
END_TEST

/* Random multi-byte corruption of the golden frame (deterministic stream). */
START_TEST(corrupt_random) {
  fs_rng r;
  fs_rng_init(&r, 2024, FS_RNG_TEST, 77, 0);
  uint8_t work[sizeof golden_update];
  for (int iter = 0; iter < 20000; iter++) {
    memcpy(work, golden_update, sizeof work);
    unsigned flips = 1 + (unsigned)fs_rng_below(&r, 6);
    for (unsigned k = 0; k < flips; k++)
      work[fs_rng_below(&r, sizeof work)] = (uint8_t)fs_rng_u32(&r);
    size_t len = (size_t)fs_rng_below(&r, sizeof work + 1);
    check_one(work, len, 2);
  }
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

/* Decode a frame built from h (body zero) and expect st and message msg
 * (exact unless NULL); *h_out must be left alone. */
static void expect_header_error(const uint8_t *buf, size_t len, fs_status st,
                                const char *msg) {
  fs_frame_header h;
  memset(&h, 0x5a, sizeof h);
  fs_frame_header before = h;
  fs_err err = {0};
  ck_assert_int_eq(fs_frame_header_decode(buf, len, &h, &err), st);
  ck_assert_int_eq(err.status, st);
  if (msg != NULL)
    ck_assert_str_eq(err.msg, msg);
  ck_assert_mem_eq(&h, &before, sizeof h);
  /* A NULL err is allowed and gives the same status. */
  ck_assert_int_eq(fs_frame_header_decode(buf, len, &h, NULL), st);
}

START_TEST(err_short_frame) {
  expect_header_error(golden_update, 27, FS_ETRUNC,
                      "frame: 27 bytes, shorter than the 28-byte header");
  expect_header_error(golden_update, 0, FS_ETRUNC,
                      "frame: 0 bytes, shorter than the 28-byte header");
}
END_TEST

START_TEST(err_bad_magic) {
  uint8_t buf[sizeof golden_update];
  memcpy(buf, golden_update, sizeof buf);
  buf[3] = 'X';
  expect_header_error(buf, sizeof buf, FS_EFORMAT,
                      "frame: bad magic 0x46534958 (expected 0x4653494d, "
                      "\"FSIM\")");
  memcpy(buf, "MISF", 4);
  expect_header_error(buf, sizeof buf, FS_EFORMAT, NULL);
}
END_TEST

START_TEST(err_version) {
  uint8_t buf[sizeof golden_update];
  memcpy(buf, golden_update, sizeof buf);
  buf[4] = 2;
  expect_header_error(buf, sizeof buf, FS_EVERSION,
                      "frame: version 2 not supported (this build reads 1)");
  buf[4] = 0;
  expect_header_error(buf, sizeof buf, FS_EVERSION,
                      "frame: version 0 not supported (this build reads 1)");
  /* The version is checked before anything else that follows it. */
  buf[4] = 255;
  buf[5] = 99;
  buf[7] = 1;
  expect_header_error(buf, sizeof buf, FS_EVERSION,
                      "frame: version 255 not supported (this build reads 1)");
}
END_TEST

START_TEST(err_unknown_type) {
  const uint8_t bad[] = {0, 13, 255};
  for (size_t i = 0; i < sizeof bad; i++) {
    uint8_t buf[sizeof golden_update];
    memcpy(buf, golden_update, sizeof buf);
    buf[5] = bad[i];
    char want[64];
    snprintf(want, sizeof want, "frame: unknown message type %u",
             (unsigned)bad[i]);
    expect_header_error(buf, sizeof buf, FS_EFORMAT, want);
  }
}
END_TEST

START_TEST(err_unknown_encoding) {
  uint8_t buf[sizeof golden_update];
  memcpy(buf, golden_update, sizeof buf);
  for (unsigned enc = FS_PL_MAX + 1; enc < 256; enc++) {
    buf[6] = (uint8_t)enc;
    char want[64];
    snprintf(want, sizeof want, "frame: unknown encoding %u", enc);
    expect_header_error(buf, sizeof buf, FS_EFORMAT, want);
  }
  buf[6] = 9;
  expect_header_error(buf, sizeof buf, FS_EFORMAT, "frame: unknown encoding 9");
  buf[6] = 0xff;
  expect_header_error(buf, sizeof buf, FS_EFORMAT,
                      "frame: unknown encoding 255");
}
END_TEST

START_TEST(err_flags_reserved) {
  uint8_t buf[sizeof golden_update];
  memcpy(buf, golden_update, sizeof buf);
  buf[7] = 0x80;
  expect_header_error(buf, sizeof buf, FS_EFORMAT,
                      "frame: flags 0x80 set (must be 0 in version 1)");
  for (unsigned f = 1; f < 256; f++) {
    buf[7] = (uint8_t)f;
    expect_header_error(buf, sizeof buf, FS_EFORMAT, NULL);
  }
  for (int i = 0; i < 4; i++) {
    memcpy(buf, golden_update, sizeof buf);
    buf[24 + i] = 1;
    char want[64];
    snprintf(want, sizeof want, "frame: reserved field 0x%08lx (must be 0)",
             1ul << (8 * i));
    expect_header_error(buf, sizeof buf, FS_EFORMAT, want);
  }
}
END_TEST

START_TEST(err_type_encoding_pairs) {
  uint8_t buf[FS_FRAME_HEADER_BYTES + 16];
  fs_frame_header h = hdr_of(FS_MSG_TRAIN, FS_PL_NONE, 16);
  size_t len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: TRAIN needs a vector encoding, got NONE");
  h = hdr_of(FS_MSG_UPDATE, FS_PL_NONE, 16);
  len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: UPDATE needs a vector encoding, got NONE");
  h = hdr_of(FS_MSG_SHUTDOWN, FS_PL_DENSE, 0);
  len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: SHUTDOWN needs encoding NONE, got DENSE_F32");
  h = hdr_of(FS_MSG_SHUTDOWN, FS_PL_BLOCK8, 0);
  len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: SHUTDOWN needs encoding NONE, got BLOCK8");
}
END_TEST

START_TEST(err_shutdown_body) {
  uint8_t buf[FS_FRAME_HEADER_BYTES + 4];
  fs_frame_header h = hdr_of(FS_MSG_SHUTDOWN, FS_PL_NONE, 4);
  size_t len = make_frame(&h, buf, sizeof buf);
  expect_header_error(buf, len, FS_EFORMAT,
                      "frame: SHUTDOWN body length 4 (must be 0)");
}
END_TEST

START_TEST(err_body_len_mismatch) {
  uint8_t buf[FS_FRAME_HEADER_BYTES + 100];
  fs_frame_header h = hdr_of(FS_MSG_TRAIN, FS_PL_DENSE, 100);
  make_frame(&h, buf, sizeof buf);
  /* Fewer bytes than announced. */
  expect_header_error(buf, FS_FRAME_HEADER_BYTES + 96, FS_ETRUNC,
                      "frame: body length 100 but 96 bytes follow the header");
  /* More bytes than announced. */
  h.body_len = 96;
  fs_frame_header_encode(&h, buf);
  expect_header_error(buf, sizeof buf, FS_EFORMAT,
                      "frame: body length 96 but 100 bytes follow the header");
  /* A SHUTDOWN with trailing bytes. */
  h = hdr_of(FS_MSG_SHUTDOWN, FS_PL_NONE, 0);
  fs_frame_header_encode(&h, buf);
  expect_header_error(buf, FS_FRAME_HEADER_BYTES + 1, FS_EFORMAT,
                      "frame: body length 0 but 1 bytes follow the header");
}
END_TEST

START_TEST(err_dense_count) {
  float v[12] = {0}, out[12];
  uint8_t buf[4 + 4 * 12];
  fs_dense_encode(v, 10, buf);
  fs_err err = {0};
  ck_assert_int_eq(fs_dense_decode(buf, fs_dense_size(10), out, 12, &err),
                   FS_EFORMAT);
  ck_assert_str_eq(err.msg, "dense vector: count 10 but expected 12");
  fs_dense_encode(v, 12, buf);
  ck_assert_int_eq(fs_dense_decode(buf, fs_dense_size(12), out, 10, &err),
                   FS_EFORMAT);
  ck_assert_str_eq(err.msg, "dense vector: count 12 but expected 10");
}
END_TEST

START_TEST(err_dense_length) {
  float v[3] = {1, 2, 3}, out[3] = {7, 7, 7};
  uint8_t buf[4 + 4 * 3 + 4];
  fs_dense_encode(v, 3, buf);
  fs_err err = {0};
  ck_assert_int_eq(fs_dense_decode(buf, 15, out, 3, &err), FS_ETRUNC);
  ck_assert_str_eq(err.msg,
                   "dense vector: count 3 needs 16 bytes but 15 are present");
  ck_assert_int_eq(fs_dense_decode(buf, 20, out, 3, &err), FS_EFORMAT);
  ck_assert_str_eq(err.msg,
                   "dense vector: count 3 needs 16 bytes but 20 are present");
  for (size_t len = 0; len < 4; len++) {
    ck_assert_int_eq(fs_dense_decode(buf, len, out, 3, &err), FS_ETRUNC);
    ck_assert_ptr_nonnull(strstr(err.msg, "too short for the 4-byte count"));
  }
  ck_assert(out[0] == 7 && out[1] == 7 && out[2] == 7); /* untouched */
}
END_TEST

START_TEST(err_dense_nonfinite) {
  const struct {
    uint32_t bits;
    const char *name;
  } bad[] = {
      {0x7fc00000u, "NaN"},  {0xffc00000u, "NaN"}, /* quiet, both signs */
      {0x7f800001u, "NaN"},  {0x7fffffffu, "NaN"}, /* signalling, max */
      {0x7f800000u, "+Inf"}, {0xff800000u, "-Inf"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    float v[8] = {0}, out[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    uint8_t buf[4 + 4 * 8];
    fs_dense_encode(v, 8, buf);
    fs_put_u32(buf + 4 + 4 * 5, bad[k].bits);
    fs_put_u32(buf + 4 + 4 * 7, 0x7f800000u); /* a later one: not reported */
    fs_err err = {0};
    ck_assert_int_eq(fs_dense_decode(buf, sizeof buf, out, 8, &err),
                     FS_ENUMERIC);
    char want[64];
    snprintf(want, sizeof want, "dense vector: entry 5 is %s", bad[k].name);
    ck_assert_str_eq(err.msg, want);
    for (int i = 0; i < 8; i++)
      ck_assert(out[i] == 7); /* untouched */
  }
}
END_TEST

START_TEST(err_meta_truncated) {
  uint8_t buf[FS_UPDATE_META_BYTES];
  fs_update_meta_encode(&golden_meta, buf);
  for (size_t len = 0; len < FS_UPDATE_META_BYTES; len++) {
    fs_update_meta m = {9, 9.0};
    fs_err err = {0};
    ck_assert_int_eq(fs_update_meta_decode(buf, len, &m, &err), FS_ETRUNC);
    char want[96];
    snprintf(want, sizeof want,
             "update meta: %zu bytes, needs 12 (num_samples, train_loss)", len);
    ck_assert_str_eq(err.msg, want);
    ck_assert(m.num_samples == 9 && m.train_loss == 9.0);
  }
  /* An UPDATE frame whose body is too short for the meta. */
  uint8_t frame[FS_FRAME_HEADER_BYTES + 8];
  fs_frame_header h = hdr_of(FS_MSG_UPDATE, FS_PL_DENSE, 8);
  size_t len = make_frame(&h, frame, sizeof frame);
  decoded_frame d;
  ck_assert_int_eq(decode_frame(frame, len, 0, &d, NULL), FS_ETRUNC);
}
END_TEST

START_TEST(err_meta_nonfinite) {
  const struct {
    uint64_t bits;
    const char *msg;
  } bad[] = {
      {UINT64_C(0x7ff8000000000000), "update meta: train_loss is NaN"},
      {UINT64_C(0x7ff0000000000001), "update meta: train_loss is NaN"},
      {UINT64_C(0x7ff0000000000000), "update meta: train_loss is +Inf"},
      {UINT64_C(0xfff0000000000000), "update meta: train_loss is -Inf"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    fs_update_meta m = {5, f64_from_bits(bad[k].bits)}, out = {9, 9.0};
    uint8_t buf[FS_UPDATE_META_BYTES];
    fs_update_meta_encode(&m, buf);
    fs_err err = {0};
    ck_assert_int_eq(fs_update_meta_decode(buf, sizeof buf, &out, &err),
                     FS_ENUMERIC);
    ck_assert_str_eq(err.msg, bad[k].msg);
    ck_assert(out.num_samples == 9 && out.train_loss == 9.0);
  }
}
END_TEST

static Suite *proto_suite(void) {
  Suite *s = suite_create("proto");

  TCase *core = tcase_create("core");
  tcase_add_test(core, header_golden_bytes);
  tcase_add_test(core, update_golden_bytes);
  tcase_add_test(core, header_roundtrip);
  tcase_add_test(core, dense_roundtrip_empty);
  tcase_add_test(core, dense_roundtrip_one);
  tcase_add_test(core, dense_roundtrip_large);
  tcase_add_test(core, meta_roundtrip);
  tcase_add_test(core, names);
  tcase_add_test(core, header_vector_encodings);
  tcase_add_test(core, fallback_matches);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 120);
  tcase_add_test(limits, header_every_short_length);
  tcase_add_test(limits, header_huge_body_len);
  tcase_add_test(limits, dense_huge_count);
  tcase_add_test(limits, dense_nonfinite_at_ends);
  tcase_add_test(limits, corrupt_sweep);
  tcase_add_test(limits, corrupt_random);
  suite_add_tcase(s, limits);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, err_short_frame);
  tcase_add_test(errors, err_bad_magic);
  tcase_add_test(errors, err_version);
  tcase_add_test(errors, err_unknown_type);
  tcase_add_test(errors, err_unknown_encoding);
  tcase_add_test(errors, err_flags_reserved);
  tcase_add_test(errors, err_type_encoding_pairs);
  tcase_add_test(errors, err_shutdown_body);
  tcase_add_test(errors, err_body_len_mismatch);
  tcase_add_test(errors, err_dense_count);
  tcase_add_test(errors, err_dense_length);
  tcase_add_test(errors, err_dense_nonfinite);
  tcase_add_test(errors, err_meta_truncated);
  tcase_add_test(errors, err_meta_nonfinite);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(proto_suite)
