/*
 * test_sealer.c — the sealing hook (sim/sealer.h) without MPI: off means
 * frames pass through; on, what a server sealer seals a worker sealer opens
 * (and back), for frames given in one, two or three pieces; the bytes do
 * not depend on which sealer instance (rank) sealed them; the tamper hook
 * alters the chosen uplink frames, each of which the server refuses and
 * attributes to the right client, while every other frame opens; and bad
 * frames are refused with a status.
 */
#include "fs_test.h"

#include "config.h"
#include "frame.h"
#include "seal.h"
#include "sealer.h"

#include <string.h>

enum { NCLI = 6 };

static fs_config cfg_with(int seal, double tamper) {
  fs_config c;
  fs_config_defaults(&c);
  c.seed = 77;
  c.secure_seal = seal;
  c.secure_tamper_rate = tamper;
  return c;
}

/* An UPDATE (or TRAIN) frame for client c in round r: 12 + 4 * 5 bytes. */
static size_t frame(uint8_t *f, uint8_t type, uint32_t c, uint32_t r) {
  size_t body = FS_UPDATE_META_BYTES + fs_dense_size(5);
  fs_frame_header h = {.type = type,
                       .encoding = FS_PL_DENSE,
                       .round = r,
                       .client = c,
                       .model_version = r - 1,
                       .body_len = (uint32_t)body};
  fs_frame_header_encode(&h, f);
  for (size_t i = 0; i < body; i++)
    f[FS_FRAME_HEADER_BYTES + i] = (uint8_t)(i * 7 + c + r);
  return FS_FRAME_HEADER_BYTES + body;
}

START_TEST(off_passes_through) {
  fs_config c = cfg_with(0, 0);
  fs_sealer *s = (fs_sealer *)1;
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_SERVER, NCLI, &s, NULL), FS_OK);
  ck_assert_ptr_null(s);
  uint8_t f[128];
  size_t len = frame(f, FS_MSG_UPDATE, 1, 1), l2 = len;
  const uint8_t *p = f;
  uint32_t who = 0;
  ck_assert_int_eq(fs_sealer_open(NULL, &p, &l2, &who, NULL), FS_OK);
  ck_assert_ptr_eq(p, f);
  ck_assert_uint_eq(l2, len);
  ck_assert_uint_eq(fs_sealer_wire_bytes(NULL, 100), 128);
  ck_assert_uint_eq(fs_sealer_rejected(NULL), 0);
  fs_sealer_free(NULL);
}
END_TEST

START_TEST(both_ways_any_pieces) {
  fs_config c = cfg_with(1, 0);
  fs_sealer *srv, *wk;
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_SERVER, NCLI, &srv, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_WORKER, NCLI, &wk, NULL), FS_OK);
  ck_assert_uint_eq(fs_sealer_wire_bytes(srv, 100), 128 + FS_SEAL_OVERHEAD);
  uint8_t f[128];
  for (uint32_t r = 1; r <= 3; r++)
    for (uint32_t cl = 0; cl < NCLI; cl++) {
      /* down: header and body as two pieces */
      size_t len = frame(f, FS_MSG_TRAIN, cl, r);
      fs_iov two[2] = {
          {f, FS_FRAME_HEADER_BYTES},
          {f + FS_FRAME_HEADER_BYTES, len - FS_FRAME_HEADER_BYTES}};
      const uint8_t *out;
      size_t olen;
      ck_assert_int_eq(fs_sealer_seal(srv, two, 2, &out, &olen, NULL), FS_OK);
      ck_assert_uint_eq(olen, len + FS_SEAL_OVERHEAD);
      uint8_t wire[256];
      memcpy(wire, out, olen);
      const uint8_t *p = wire;
      uint32_t who;
      ck_assert_int_eq(fs_sealer_open(wk, &p, &olen, &who, NULL), FS_OK);
      ck_assert_uint_eq(olen, len);
      ck_assert_mem_eq(p, f, len);
      /* up: three uneven pieces */
      len = frame(f, FS_MSG_UPDATE, cl, r);
      fs_iov three[3] = {{f, 5}, {f + 5, 40}, {f + 45, len - 45}};
      ck_assert_int_eq(fs_sealer_seal(wk, three, 3, &out, &olen, NULL), FS_OK);
      memcpy(wire, out, olen);
      p = wire;
      ck_assert_int_eq(fs_sealer_open(srv, &p, &olen, &who, NULL), FS_OK);
      ck_assert_mem_eq(p, f, len);
    }
  ck_assert_uint_eq(fs_sealer_rejected(srv) + fs_sealer_rejected(wk), 0);
  fs_sealer_free(srv);
  fs_sealer_free(wk);
}
END_TEST

/* Two workers (ranks) that host the same client seal the same bytes. */
START_TEST(bytes_independent_of_instance) {
  fs_config c = cfg_with(1, 0.5);
  fs_sealer *a, *b;
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_WORKER, NCLI, &a, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_WORKER, NCLI, &b, NULL), FS_OK);
  uint8_t f[128], wa[256];
  for (uint32_t r = 1; r <= 20; r++) {
    size_t len = frame(f, FS_MSG_UPDATE, 2, r);
    fs_iov one = {f, len};
    const uint8_t *oa, *ob;
    size_t la, lb;
    ck_assert_int_eq(fs_sealer_seal(a, &one, 1, &oa, &la, NULL), FS_OK);
    memcpy(wa, oa, la);
    ck_assert_int_eq(fs_sealer_seal(b, &one, 1, &ob, &lb, NULL), FS_OK);
    ck_assert_uint_eq(la, lb);
    ck_assert_mem_eq(wa, ob, la);
  }
  ck_assert_uint_eq(fs_sealer_tampered(a), fs_sealer_tampered(b));
  ck_assert_uint_gt(fs_sealer_tampered(a), 0);
  fs_sealer_free(a);
  fs_sealer_free(b);
}
END_TEST

/* secure.tamper_rate 0.4 over many frames: each altered frame is refused
 * and attributed to its client; every other frame opens; all three kinds
 * of alteration occur. */
START_TEST(tampered_refused_and_attributed) {
  fs_config c = cfg_with(1, 0.4);
  fs_sealer *srv, *wk;
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_SERVER, NCLI, &srv, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_WORKER, NCLI, &wk, NULL), FS_OK);
  uint8_t f[128], wire[256];
  uint64_t opened = 0, refused = 0;
  for (uint32_t r = 1; r <= 100; r++)
    for (uint32_t cl = 0; cl < NCLI; cl++) {
      size_t len = frame(f, FS_MSG_UPDATE, cl, r);
      fs_iov one = {f, len};
      const uint8_t *out;
      size_t olen;
      uint64_t before = fs_sealer_tampered(wk);
      ck_assert_int_eq(fs_sealer_seal(wk, &one, 1, &out, &olen, NULL), FS_OK);
      int altered = fs_sealer_tampered(wk) > before;
      memcpy(wire, out, olen);
      const uint8_t *p = wire;
      uint32_t who = UINT32_MAX;
      fs_err e = {0};
      fs_status st = fs_sealer_open(srv, &p, &olen, &who, &e);
      if (altered) {
        ck_assert_msg(st != FS_OK, "round %u client %u: altered but opened", r,
                      cl);
        ck_assert_uint_eq(who, cl);
        ck_assert(e.msg[0] != '\0');
        refused++;
      } else {
        ck_assert_msg(st == FS_OK, "round %u client %u: %s", r, cl, e.msg);
        ck_assert_mem_eq(p, f, len);
        opened++;
      }
    }
  ck_assert_uint_eq(refused, fs_sealer_tampered(wk));
  ck_assert_uint_eq(refused, fs_sealer_rejected(srv));
  ck_assert_uint_gt(refused, 150);
  ck_assert_uint_gt(opened, 300);
  ck_assert_uint_gt(fs_sealer_rejected_by(srv, FS_EAUTH), 0);
  ck_assert_uint_gt(fs_sealer_rejected_by(srv, FS_EREPLAY), 0);
  fs_sealer_free(srv);
  fs_sealer_free(wk);
}
END_TEST

START_TEST(bad_frames) {
  fs_config c = cfg_with(1, 0);
  fs_sealer *srv, *wk;
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_SERVER, NCLI, &srv, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c, FS_ROLE_WORKER, NCLI, &wk, NULL), FS_OK);
  uint8_t f[128];
  const uint8_t *out;
  size_t olen, len = frame(f, FS_MSG_UPDATE, 1, 1);
  fs_err e = {0};
  /* Sealing: a body that disagrees with the header, a client not in the
   * run, a frame without a header. */
  fs_iov cut = {f, len - 1};
  ck_assert_int_eq(fs_sealer_seal(wk, &cut, 1, &out, &olen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "body bytes"));
  len = frame(f, FS_MSG_UPDATE, NCLI, 1);
  fs_iov one = {f, len};
  ck_assert_int_eq(fs_sealer_seal(wk, &one, 1, &out, &olen, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "client 6"));
  fs_iov tiny[2] = {{f, 10}, {f + 10, 5}};
  ck_assert_int_eq(fs_sealer_seal(wk, tiny, 2, &out, &olen, &e), FS_EFORMAT);
  /* Opening: a plain frame (a peer that does not seal), a sealed frame
   * naming a client outside the run, a frame too short for a client id. */
  len = frame(f, FS_MSG_UPDATE, 1, 1);
  const uint8_t *p = f;
  size_t l = len;
  uint32_t who;
  ck_assert_int_eq(fs_sealer_open(srv, &p, &l, &who, &e), FS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "is the peer sealing"));
  ck_assert_ptr_eq(p, f);
  one = (fs_iov){f, len};
  ck_assert_int_eq(fs_sealer_seal(wk, &one, 1, &out, &olen, NULL), FS_OK);
  uint8_t wire[256];
  memcpy(wire, out, olen);
  wire[FS_SEAL_PREFIX_BYTES + 12] = 200; /* client 200 */
  p = wire;
  l = olen;
  ck_assert_int_eq(fs_sealer_open(srv, &p, &l, &who, &e), FS_EAUTH);
  ck_assert_uint_eq(who, 200);
  ck_assert_ptr_nonnull(strstr(e.msg, "not a client of this run"));
  p = wire;
  l = 20;
  ck_assert_int_eq(fs_sealer_open(srv, &p, &l, &who, &e), FS_ETRUNC);
  ck_assert_uint_eq(who, UINT32_MAX);
  ck_assert_uint_eq(fs_sealer_rejected(srv), 3);
  ck_assert_uint_eq(fs_sealer_rejected_by(srv, FS_EFORMAT), 1);
  ck_assert_uint_eq(fs_sealer_rejected_by(srv, FS_EAUTH), 1);
  ck_assert_uint_eq(fs_sealer_rejected_by(srv, FS_ETRUNC), 1);
  fs_sealer_free(srv);
  fs_sealer_free(wk);
}
END_TEST

/* A resumed run seals under a fresh key epoch (cfg->seal_epoch): the same
 * frame with the same counter gives other bytes, a frame of one epoch does
 * not open in another, and within one epoch any two instances agree. */
START_TEST(epochs_never_share_keys) {
  fs_config c0 = cfg_with(1, 0), c1 = cfg_with(1, 0);
  c1.seal_epoch = 0x9e3779b97f4a7c15ull;
  fs_sealer *s0, *s1, *w0, *w1;
  ck_assert_int_eq(fs_sealer_new(&c0, FS_ROLE_SERVER, NCLI, &s0, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c1, FS_ROLE_SERVER, NCLI, &s1, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c0, FS_ROLE_WORKER, NCLI, &w0, NULL), FS_OK);
  ck_assert_int_eq(fs_sealer_new(&c1, FS_ROLE_WORKER, NCLI, &w1, NULL), FS_OK);
  uint8_t f[128], a[256], b[256];
  size_t len = frame(f, FS_MSG_TRAIN, 2, 1), la, lb;
  fs_iov iov = {f, len};
  const uint8_t *o;
  ck_assert_int_eq(fs_sealer_seal(s0, &iov, 1, &o, &la, NULL), FS_OK);
  memcpy(a, o, la);
  ck_assert_int_eq(fs_sealer_seal(s1, &iov, 1, &o, &lb, NULL), FS_OK);
  memcpy(b, o, lb);
  ck_assert_uint_eq(la, lb); /* same size: the bits counted do not change */
  ck_assert_int_eq(memcmp(a, b, FS_SEAL_AD_BYTES), 0); /* same counter */
  ck_assert_int_ne(
      memcmp(a + FS_SEAL_AD_BYTES, b + FS_SEAL_AD_BYTES, la - FS_SEAL_AD_BYTES),
      0);
  /* Epoch 0's frame does not open under the resumed epoch, and back. */
  const uint8_t *p = a;
  size_t pl = la;
  uint32_t who;
  ck_assert_int_eq(fs_sealer_open(w1, &p, &pl, &who, NULL), FS_EAUTH);
  p = b;
  pl = lb;
  ck_assert_int_eq(fs_sealer_open(w0, &p, &pl, &who, NULL), FS_EAUTH);
  /* Each opens its own epoch's frame. */
  p = b;
  pl = lb;
  ck_assert_int_eq(fs_sealer_open(w1, &p, &pl, &who, NULL), FS_OK);
  ck_assert_int_eq(memcmp(p, f, len), 0);
  p = a;
  pl = la;
  ck_assert_int_eq(fs_sealer_open(w0, &p, &pl, &who, NULL), FS_OK);
  /* The counts a checkpoint saves: one array, the refusals above in it. */
  size_t n;
  uint64_t *cnt = fs_sealer_counts(w1, &n);
  ck_assert_uint_eq(n, 2 + FS__STATUS_COUNT);
  ck_assert_uint_eq(cnt[0], 1);
  ck_assert_uint_eq(cnt[2 + FS_EAUTH], 1);
  ck_assert_ptr_null(fs_sealer_counts(NULL, &n));
  fs_sealer_free(s0);
  fs_sealer_free(s1);
  fs_sealer_free(w0);
  fs_sealer_free(w1);
}
END_TEST

static Suite *sealer_suite(void) {
  Suite *s = suite_create("sealer");
  TCase *core = tcase_create("core");
  tcase_add_test(core, off_passes_through);
  tcase_add_test(core, both_ways_any_pieces);
  tcase_add_test(core, bytes_independent_of_instance);
  tcase_add_test(core, epochs_never_share_keys);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, tampered_refused_and_attributed);
  tcase_add_test(errors, bad_frames);
  suite_add_tcase(s, errors);
  return s;
}

FS_TEST_MAIN(sealer_suite)
