/*
 * secagg_client.c — the client side of secure aggregation (see
 * secagg_client.h). Keys are re-derived from (seed, client, round) at each
 * step rather than stored: the same values, and nothing secret stays in
 * memory between frames but the quantised update and the neighbour list.
 */
#include "secagg_client.h"

#include "secagg.h"
#include "secagg_msg.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t round, version;
  int stage;   /* 0 idle, 1 keys sent, 2 masked update sent */
  uint32_t *q; /* dim: the quantised update */
  uint32_t num_samples;
  double loss;
  uint32_t *nb;                       /* neighbours (ids, increasing) */
  uint8_t (*nb_key)[FS_SA_KEY_BYTES]; /* pairwise share-encryption keys */
  size_t nnb, cap;
} pending;

struct fs_sa_client {
  const fs_config *cfg;
  size_t n, dim;
  pending *p;
  fs_sa_params par; /* bits and clip (n, degree are the server's) */
  uint8_t *out;     /* frame being built */
  size_t out_cap;
  uint32_t *y; /* dim: masked vector */
  uint8_t (*ct)[FS_SA_CT_BYTES];
  uint8_t (*spk)[FS_SA_KEY_BYTES];
  uint8_t (*cpk)[FS_SA_KEY_BYTES];
  size_t ct_cap;
  fs_sealer *seal; /* secure.seal: every frame sent is sealed (NULL: off) */
};

fs_status fs_sa_client_new(const fs_config *cfg, size_t nclients, size_t dim,
                           fs_sa_client **out, fs_err *err) {
  *out = NULL;
  fs_sa_client *c = calloc(1, sizeof *c);
  if (c == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  c->cfg = cfg;
  c->n = nclients;
  c->dim = dim;
  c->par.bits = (uint32_t)cfg->sa_bits;
  c->par.clip = cfg->sa_clip;
  c->p = calloc(nclients ? nclients : 1, sizeof *c->p);
  c->y = malloc((dim ? dim : 1) * sizeof *c->y);
  if (c->p == NULL || c->y == NULL) {
    fs_sa_client_free(c);
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  }
  *out = c;
  return FS_OK;
}

void fs_sa_client_set_sealer(fs_sa_client *c, fs_sealer *seal) {
  c->seal = seal;
}

static void pending_clear(pending *p) {
  free(p->q);
  free(p->nb);
  if (p->nb_key != NULL)
    sodium_memzero(p->nb_key, p->cap * sizeof *p->nb_key);
  free(p->nb_key);
  memset(p, 0, sizeof *p);
}

void fs_sa_client_free(fs_sa_client *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; c->p && i < c->n; i++)
    pending_clear(&c->p[i]);
  free(c->p);
  free(c->out);
  free(c->y);
  free(c->ct);
  free(c->spk);
  free(c->cpk);
  free(c);
}

static uint8_t *frame_buf(fs_sa_client *c, size_t need) {
  if (need > c->out_cap) {
    uint8_t *b = realloc(c->out, need);
    if (b == NULL)
      return NULL;
    c->out = b;
    c->out_cap = need;
  }
  return c->out;
}

/* Header + body of body_len bytes into c->out, sent to the server. */
static fs_status send_frame(fs_sa_client *c, fs_transport *t, uint8_t type,
                            uint8_t enc, const fs_frame_header *in,
                            size_t body_len, fs_err *err) {
  fs_frame_header h = {.type = type,
                       .encoding = enc,
                       .round = in->round,
                       .client = in->client,
                       .model_version = in->model_version,
                       .body_len = (uint32_t)body_len};
  fs_frame_header_encode(&h, c->out);
  fs_iov iov = {c->out, FS_FRAME_HEADER_BYTES + body_len};
  return fs_sealer_send(c->seal, t, FS_ROLE_WORKER, 0, &iov, 1, err);
}

fs_status fs_sa_client_trained(fs_sa_client *c, fs_transport *t, size_t li,
                               const fs_frame_header *h, const float *delta,
                               double scale, uint32_t num_samples,
                               double train_loss, fs_err *err) {
  pending *p = &c->p[li];
  if (p->q == NULL && (p->q = malloc(c->dim * sizeof *p->q)) == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  fs_rng r;
  fs_rng_init(&r, c->cfg->seed, FS_RNG_SECAGG,
              fs_sa_stream_id(FS_SA_TAG_QUANT, h->client), h->round);
  fs_sa_quantise(delta, c->dim, scale, &c->par, &r, p->q, NULL);
  p->round = h->round;
  p->version = h->model_version;
  p->num_samples = num_samples;
  p->loss = train_loss;
  p->stage = 1;
  p->nnb = 0;
  fs_sa_keys k;
  fs_sa_keys_derive(c->cfg->seed, h->client, h->round, &k);
  if (frame_buf(c, FS_FRAME_HEADER_BYTES + 2 * FS_SAM_KEY) == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  memcpy(c->out + FS_FRAME_HEADER_BYTES, k.c_pk, FS_SAM_KEY);
  memcpy(c->out + FS_FRAME_HEADER_BYTES + FS_SAM_KEY, k.s_pk, FS_SAM_KEY);
  fs_sa_keys_wipe(&k);
  return send_frame(c, t, FS_MSG_SA_KEYS, FS_PL_NONE, h, 2 * FS_SAM_KEY, err);
}

static fs_status on_advertise(fs_sa_client *c, fs_transport *t, pending *p,
                              const fs_frame_header *h, const fs_sam_view *v,
                              fs_err *err) {
  uint32_t me = h->client, m = v->count;
  if (m == 0 || v->threshold < 1 || v->threshold > m)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg client %u: %u neighbours with threshold %u", me,
                      m, v->threshold);
  if (m > p->cap) {
    uint32_t *nb = realloc(p->nb, m * sizeof *nb);
    if (nb != NULL)
      p->nb = nb;
    if (p->nb_key != NULL)
      sodium_memzero(p->nb_key, p->cap * sizeof *p->nb_key);
    free(p->nb_key);
    p->nb_key = malloc(m * sizeof *p->nb_key);
    if (nb == NULL || p->nb_key == NULL) {
      p->cap = 0;
      return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
    }
    p->cap = m;
  }
  if (m > c->ct_cap) {
    free(c->ct);
    free(c->spk);
    free(c->cpk);
    c->ct = malloc(m * sizeof *c->ct);
    c->spk = malloc(m * sizeof *c->spk);
    c->cpk = malloc(m * sizeof *c->cpk);
    c->ct_cap = c->ct && c->spk && c->cpk ? m : 0;
    if (c->ct_cap == 0)
      return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  }
  for (uint32_t i = 0; i < m; i++) {
    uint32_t id = fs_sam_id(v, i);
    if (id == me || (i > 0 && id <= p->nb[i - 1]))
      return fs_err_set(err, FS_EFORMAT,
                        "secagg client %u: neighbour list not increasing, or "
                        "naming the client itself (entry %u: %u)",
                        me, i, id);
    p->nb[i] = id;
    memcpy(c->cpk[i], fs_sam_data(v, i), FS_SAM_KEY);
    memcpy(c->spk[i], fs_sam_data(v, i) + FS_SAM_KEY, FS_SAM_KEY);
  }
  p->nnb = m;
  fs_sa_keys k;
  fs_sa_keys_derive(c->cfg->seed, me, h->round, &k);
  fs_status st = fs_sa_share_keep(
      &k, c->cfg->seed, me, h->round, v->threshold, p->nb,
      (const uint8_t(*)[FS_SA_KEY_BYTES])c->cpk, m, c->ct, p->nb_key, err);
  if (st == FS_OK) {
    memcpy(c->y, p->q, c->dim * sizeof *c->y);
    st = fs_sa_mask(&k, me, h->round, p->nb,
                    (const uint8_t(*)[FS_SA_KEY_BYTES])c->spk, m, c->y, c->dim,
                    err);
  }
  fs_sa_keys_wipe(&k);
  if (st != FS_OK)
    return st;
  /* The shares first, then (unless the client drops now) the update. */
  size_t body = fs_sam_size(FS_MSG_SA_SHARES, m);
  if (frame_buf(c, FS_FRAME_HEADER_BYTES + body) == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  uint8_t *rec =
      fs_sam_begin(FS_MSG_SA_SHARES, m, 0, c->out + FS_FRAME_HEADER_BYTES);
  for (uint32_t i = 0; i < m; i++)
    fs_sam_put_share(rec + (size_t)i * (4 + FS_SAM_CT), p->nb[i], c->ct[i]);
  if ((st = send_frame(c, t, FS_MSG_SA_SHARES, FS_PL_NONE, h, body, err)) !=
      FS_OK)
    return st;
  if (fs_sa_drops(c->cfg->seed, me, h->round, c->cfg->sa_dropout)) {
    pending_clear(p); /* gone: it will not answer SA_UNMASK */
    return FS_OK;
  }
  body = FS_UPDATE_META_BYTES + fs_masked_size(c->dim);
  if (frame_buf(c, FS_FRAME_HEADER_BYTES + body) == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  fs_update_meta meta = {.num_samples = p->num_samples, .train_loss = p->loss};
  fs_update_meta_encode(&meta, c->out + FS_FRAME_HEADER_BYTES);
  fs_masked_encode(c->y, c->dim,
                   c->out + FS_FRAME_HEADER_BYTES + FS_UPDATE_META_BYTES);
  p->stage = 2;
  return send_frame(c, t, FS_MSG_UPDATE, FS_PL_MASKED_U32, h, body, err);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static fs_status on_unmask(fs_sa_client *c, fs_transport *t, pending *p,
                           const fs_frame_header *h, const fs_sam_view *v,
                           fs_err *err) {
  uint32_t me = h->client, m = v->count;
  if (m > p->nnb)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg client %u: %u shares requested, it has %zu "
                      "neighbours",
                      me, m, p->nnb);
  size_t body = fs_sam_size(FS_MSG_SA_REVEAL, m);
  if (frame_buf(c, FS_FRAME_HEADER_BYTES + body) == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  uint8_t *rec =
      fs_sam_begin(FS_MSG_SA_REVEAL, m, 0, c->out + FS_FRAME_HEADER_BYTES);
  uint8_t *asked = calloc(p->nnb, 1);
  if (asked == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg client: out of memory");
  fs_status st = FS_OK;
  for (uint32_t i = 0; i < m && st == FS_OK; i++) {
    uint32_t from = fs_sam_id(v, i);
    uint32_t *hit = bsearch(&from, p->nb, p->nnb, sizeof *p->nb, cmp_u32);
    if (hit == NULL || asked[hit - p->nb]) {
      /* Never open both shares of one neighbour, nor a stranger's. */
      st = fs_err_set(err, FS_EFORMAT,
                      "secagg client %u: share of client %u requested %s", me,
                      from, hit == NULL ? "but it is no neighbour" : "twice");
      break;
    }
    asked[hit - p->nb] = 1;
    fs_shamir_share sh;
    uint8_t which = fs_sam_secret(v, i);
    st = fs_sa_open_key(p->nb_key[hit - p->nb], me, h->round, from,
                        fs_sam_data(v, i), (fs_sa_secret)which, &sh, err);
    if (st != FS_OK)
      break;
    uint8_t enc[FS_SHAMIR_SHARE_BYTES];
    fs_shamir_share_encode(&sh, enc);
    fs_sam_put_reveal(rec + (size_t)i * (5 + FS_SAM_SHARE), from, which, enc);
    sodium_memzero(&sh, sizeof sh);
    sodium_memzero(enc, sizeof enc);
  }
  free(asked);
  pending_clear(p);
  if (st != FS_OK)
    return st;
  return send_frame(c, t, FS_MSG_SA_REVEAL, FS_PL_NONE, h, body, err);
}

fs_status fs_sa_client_handle(fs_sa_client *c, fs_transport *t, size_t li,
                              const fs_frame_header *h, const uint8_t *body,
                              fs_err *err) {
  pending *p = &c->p[li];
  int want = h->type == FS_MSG_SA_ADVERTISE ? 1 : 2;
  if (p->stage != want || p->round != h->round ||
      p->version != h->model_version)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg client %u: %s for round %u out of sequence",
                      h->client, fs_msg_type_name(h->type), h->round);
  fs_sam_view v;
  fs_status st =
      fs_sam_decode((fs_msg_type)h->type, body, h->body_len, &v, err);
  if (st != FS_OK)
    return st;
  if (h->type == FS_MSG_SA_ADVERTISE)
    return on_advertise(c, t, p, h, &v, err);
  if (h->type == FS_MSG_SA_UNMASK)
    return on_unmask(c, t, p, h, &v, err);
  return fs_err_set(err, FS_EFORMAT, "secagg client %u: unexpected %s",
                    h->client, fs_msg_type_name(h->type));
}
