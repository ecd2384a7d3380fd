/*
 * sealer.c — sealing frames between the transport and the roles (sealer.h).
 *
 * Sessions are made on first use: on the server, for each client it sends
 * to or hears from (its own key pair and the client's public key); on a
 * worker, for each client it hosts (the client's key pair and the server's
 * public key). The tamper hook decides per uplink frame from the stream
 * (seed, TAMPER, client, counter), so which frames are altered does not
 * depend on the rank count, and alters them one of three ways: one byte
 * flipped, the ciphertext and tag replaced by random bytes (a forgery), or
 * the client's last delivered frame sent again (a replay). It leaves the
 * four bytes of the client id alone: a frame whose client id is altered is
 * still refused, but the server could not tell whose update is missing
 * (docs/sealed-frames.md).
 */
#include "sealer.h"

#include "frame.h"
#include "fs_rng.h"
#include "seal.h"
#include "wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct fs_sealer {
  fs_role role;
  uint64_t seed, epoch; /* keys of epoch `epoch` (cfg->seal_epoch) */
  double tamper;
  uint32_t n;
  uint8_t spk[32], ssk[32]; /* the server's key pair (ssk: server only) */
  fs_seal_session **sess;   /* n, made on first use */
  uint8_t *out, *gather, *plain;
  size_t out_cap, gather_cap, plain_cap;
  uint8_t **last; /* tamper replay: each client's last delivered frame */
  size_t *last_len;
  /* Counts: [0] frames refused, [1] tampered with, [2 + st] refused with
   * status st (one array, saved by checkpoints: fs_sealer_counts). */
  uint64_t cnt[2 + FS__STATUS_COUNT];
};

fs_status fs_sealer_new(const fs_config *cfg, fs_role role, uint32_t nclients,
                        fs_sealer **out, fs_err *err) {
  *out = NULL;
  if (!cfg->secure_seal)
    return FS_OK;
  fs_sealer *s = calloc(1, sizeof *s);
  if (s == NULL)
    return fs_err_set(err, FS_ENOMEM, "sealer: out of memory");
  s->role = role;
  s->seed = cfg->seed;
  s->epoch = cfg->seal_epoch;
  s->tamper = role == FS_ROLE_WORKER ? cfg->secure_tamper_rate : 0.0;
  s->n = nclients;
  s->sess = calloc(nclients ? nclients : 1, sizeof *s->sess);
  if (s->tamper > 0) {
    s->last = calloc(nclients ? nclients : 1, sizeof *s->last);
    s->last_len = calloc(nclients ? nclients : 1, sizeof *s->last_len);
  }
  if (s->sess == NULL || (s->tamper > 0 && (!s->last || !s->last_len))) {
    fs_sealer_free(s);
    return fs_err_set(err, FS_ENOMEM, "sealer: out of memory for %u sessions",
                      nclients);
  }
  fs_seal_keypair_epoch(s->seed, FS_SEAL_SERVER_ID, s->epoch, s->spk, s->ssk);
  if (role != FS_ROLE_SERVER)
    sodium_memzero(s->ssk, sizeof s->ssk); /* a worker never holds it */
  *out = s;
  return FS_OK;
}

void fs_sealer_free(fs_sealer *s) {
  if (s == NULL)
    return;
  if (s->sess != NULL)
    for (uint32_t c = 0; c < s->n; c++)
      if (s->sess[c] != NULL) {
        fs_seal_session_wipe(s->sess[c]);
        free(s->sess[c]);
      }
  if (s->last != NULL)
    for (uint32_t c = 0; c < s->n; c++)
      free(s->last[c]);
  free(s->sess);
  free(s->last);
  free(s->last_len);
  if (s->plain != NULL)
    sodium_memzero(s->plain, s->plain_cap);
  free(s->plain);
  free(s->out);
  if (s->gather != NULL)
    sodium_memzero(s->gather, s->gather_cap);
  free(s->gather);
  sodium_memzero(s, sizeof *s);
  free(s);
}

size_t fs_sealer_wire_bytes(const fs_sealer *s, size_t body_len) {
  return s != NULL ? fs_seal_size(body_len) : FS_FRAME_HEADER_BYTES + body_len;
}

uint64_t fs_sealer_rejected(const fs_sealer *s) {
  return s != NULL ? s->cnt[0] : 0;
}
uint64_t fs_sealer_tampered(const fs_sealer *s) {
  return s != NULL ? s->cnt[1] : 0;
}
uint64_t fs_sealer_rejected_by(const fs_sealer *s, fs_status st) {
  return s != NULL && (unsigned)st < FS__STATUS_COUNT ? s->cnt[2 + st] : 0;
}

static fs_status refuse(fs_sealer *s, fs_status st) {
  s->cnt[0]++;
  s->cnt[2 + st]++;
  return st;
}

static int grow(uint8_t **b, size_t *cap, size_t need) {
  if (need <= *cap)
    return 1;
  uint8_t *nb = realloc(*b, need);
  if (nb == NULL)
    return 0;
  *b = nb;
  *cap = need;
  return 1;
}

/* The session with client c, made on first use; NULL if c is not a client
 * of this run (or out of memory: *oom set). */
static fs_seal_session *session(fs_sealer *s, uint32_t c, int *oom) {
  *oom = 0;
  if (c >= s->n)
    return NULL;
  if (s->sess[c] != NULL)
    return s->sess[c];
  fs_seal_session *x = malloc(sizeof *x);
  if (x == NULL) {
    *oom = 1;
    return NULL;
  }
  uint8_t cpk[32], csk[32];
  fs_seal_keypair_epoch(s->seed, c, s->epoch, cpk, csk);
  fs_status st = s->role == FS_ROLE_SERVER
                     ? fs_seal_session_server(x, s->spk, s->ssk, cpk, c, NULL)
                     : fs_seal_session_client(x, cpk, csk, s->spk, c, NULL);
  sodium_memzero(csk, sizeof csk);
  if (st != FS_OK) { /* libsodium refused a derived key: cannot happen */
    free(x);
    return NULL;
  }
  s->sess[c] = x;
  return x;
}

/* secure.tamper_rate: maybe alter the sealed frame of client c (counter
 * ctr) in s->out; returns the bytes to post (s->out, or the replayed copy
 * through *post). */
static size_t tamper(fs_sealer *s, uint32_t c, uint64_t ctr, size_t len,
                     const uint8_t **post) {
  *post = s->out;
  fs_rng r;
  fs_rng_init(&r, s->seed, FS_RNG_TAMPER, c, ctr);
  if (!(fs_rng_uniform(&r) < s->tamper)) {
    /* Delivered as sealed: keep it for a later replay. */
    if (grow(&s->last[c], &s->last_len[c], len)) {
      memcpy(s->last[c], s->out, len);
      s->last_len[c] = len;
    }
    return len;
  }
  s->cnt[1]++;
  uint64_t how = fs_rng_below(&r, 3);
  if (how == 2 && s->last[c] != NULL && s->last_len[c] > 0) {
    *post = s->last[c]; /* replay the last frame delivered */
    return s->last_len[c];
  }
  if (how == 1) { /* forge: random ciphertext and tag */
    for (size_t i = FS_SEAL_AD_BYTES; i < len; i++)
      s->out[i] = (uint8_t)fs_rng_u32(&r);
    return len;
  }
  /* Flip one byte (not one of the client id's four). */
  const size_t cid = FS_SEAL_PREFIX_BYTES + 12;
  size_t pos = (size_t)fs_rng_below(&r, len - 4);
  if (pos >= cid)
    pos += 4;
  s->out[pos] ^= (uint8_t)(1 + fs_rng_below(&r, 255));
  return len;
}

fs_status fs_sealer_seal(fs_sealer *s, const fs_iov *iov, int n,
                         const uint8_t **out, size_t *out_len, fs_err *err) {
  const uint8_t *hdr, *body;
  size_t body_len;
  if (n == 2 && iov[0].len == FS_FRAME_HEADER_BYTES) {
    hdr = iov[0].base;
    body = iov[1].base;
    body_len = iov[1].len;
  } else if (n == 1 && iov[0].len >= FS_FRAME_HEADER_BYTES) {
    hdr = iov[0].base;
    body = hdr + FS_FRAME_HEADER_BYTES;
    body_len = iov[0].len - FS_FRAME_HEADER_BYTES;
  } else {
    size_t total = 0;
    for (int i = 0; i < n; i++)
      total += iov[i].len;
    if (total < FS_FRAME_HEADER_BYTES)
      return fs_err_set(err, FS_EFORMAT,
                        "sealer: a frame of %zu bytes has no header", total);
    if (!grow(&s->gather, &s->gather_cap, total))
      return fs_err_set(err, FS_ENOMEM, "sealer: out of memory");
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      memcpy(s->gather + at, iov[i].base, iov[i].len);
      at += iov[i].len;
    }
    hdr = s->gather;
    body = hdr + FS_FRAME_HEADER_BYTES;
    body_len = total - FS_FRAME_HEADER_BYTES;
  }
  /* The header's body_len must be this body's (fs_seal relies on it). */
  uint32_t claimed = fs_get_u32(hdr + 20);
  if (claimed != body_len)
    return fs_err_set(err, FS_EFORMAT,
                      "sealer: frame header says %u body bytes, %zu given",
                      claimed, body_len);
  uint32_t c = fs_get_u32(hdr + 12);
  int oom;
  fs_seal_session *x = session(s, c, &oom);
  if (x == NULL)
    return oom ? fs_err_set(err, FS_ENOMEM, "sealer: out of memory")
               : fs_err_set(err, FS_EFORMAT,
                            "sealer: frame for client %u, but the run has "
                            "%u",
                            c, s->n);
  size_t need = fs_seal_size(body_len);
  if (!grow(&s->out, &s->out_cap, need))
    return fs_err_set(err, FS_ENOMEM, "sealer: out of memory for %zu bytes",
                      need);
  size_t olen = 0;
  fs_status st = fs_seal(x, hdr, body, body_len, s->out, &olen, err);
  if (st != FS_OK)
    return st;
  const uint8_t *post = s->out;
  if (s->tamper > 0)
    olen = tamper(s, c, x->tx_next - 1, olen, &post);
  *out = post;
  *out_len = olen;
  return FS_OK;
}

fs_status fs_sealer_post(fs_sealer *s, fs_transport *t, fs_role from, int dest,
                         const fs_iov *iov, int n, int copy, fs_err *err) {
  if (s == NULL)
    return copy ? fs_transport_post_copy(t, from, dest, iov, n, err)
                : fs_transport_post(t, from, dest, iov, n, err);
  const uint8_t *b = NULL;
  size_t len = 0;
  fs_status st = fs_sealer_seal(s, iov, n, &b, &len, err);
  if (st != FS_OK)
    return st;
  fs_iov one = {b, len};
  return fs_transport_post_copy(t, from, dest, &one, 1, err);
}

fs_status fs_sealer_send(fs_sealer *s, fs_transport *t, fs_role from, int dest,
                         const fs_iov *iov, int n, fs_err *err) {
  fs_status st = fs_sealer_post(s, t, from, dest, iov, n, 0, err);
  return st != FS_OK ? st : fs_transport_flush(t, err);
}

fs_status fs_sealer_open(fs_sealer *s, const uint8_t **frame, size_t *len,
                         uint32_t *client, fs_err *err) {
  if (s == NULL)
    return FS_OK;
  const uint8_t *in = *frame;
  size_t n = *len;
  const size_t cid = FS_SEAL_PREFIX_BYTES + 12;
  *client = n >= cid + 4 ? fs_get_u32(in + cid) : UINT32_MAX;
  fs_seal_info info;
  fs_status st = fs_seal_peek(in, n, &info, err);
  if (st != FS_OK)
    return refuse(s, st);
  int oom;
  fs_seal_session *x = session(s, info.client, &oom);
  if (x == NULL) {
    if (oom)
      return fs_err_set(err, FS_ENOMEM, "sealer: out of memory");
    return refuse(
        s, fs_err_set(err, FS_EAUTH,
                      "sealed frame: names client %u, not a client of this "
                      "run (%u)",
                      info.client, s->n));
  }
  if (!grow(&s->plain, &s->plain_cap, n - FS_SEAL_OVERHEAD))
    return fs_err_set(err, FS_ENOMEM, "sealer: out of memory for %zu bytes", n);
  size_t plen = 0;
  st = fs_seal_open(x, in, n, s->plain, &plen, err);
  if (st != FS_OK)
    return refuse(s, st);
  *frame = s->plain;
  *len = plen;
  return FS_OK;
}

fs_status fs_sealer_recv(fs_sealer *s, fs_transport *t, fs_role to, int wait,
                         fs_sealed_frame *f, fs_err *err) {
  f->frame = NULL;
  f->len = f->wire = 0;
  f->refused = FS_OK;
  f->named = UINT32_MAX;
  f->first_refusal = 0;
  f->why.status = FS_OK;
  f->why.msg[0] = '\0';
  fs_status st =
      wait ? fs_transport_recv(t, to, &f->src, &f->frame, &f->len, err)
           : fs_transport_try_recv(t, to, &f->src, &f->frame, &f->len, err);
  if (st != FS_OK || f->frame == NULL)
    return st;
  f->wire = f->len;
  st = fs_sealer_open(s, &f->frame, &f->len, &f->named, &f->why);
  if (st == FS_ENOMEM)
    return fs_err_set(err, st, "%s", f->why.msg);
  if (st != FS_OK) {
    f->refused = st;
    f->first_refusal = fs_sealer_rejected(s) == 1;
  }
  return FS_OK;
}

uint64_t *fs_sealer_counts(fs_sealer *s, size_t *n) {
  *n = 2 + FS__STATUS_COUNT;
  return s != NULL ? s->cnt : NULL;
}
