/*
 * secagg_server.c — the server side of secure aggregation (see
 * secagg_server.h and docs/secure-aggregation.md).
 *
 * One round with the n clients that got a TRAIN frame (the cohort, in
 * client-id order; position i in the cohort is client coh[i]):
 *  1. collect n SA_KEYS (c_pk, s_pk);
 *  2. draw the neighbour graph, send each client SA_ADVERTISE (threshold,
 *     its neighbours' ids and keys);
 *  3. collect n SA_SHARES (the k ciphertexts a client addressed to its
 *     neighbours, kept for routing) and an UPDATE of encoding MASKED_U32
 *     from each client that does not drop (the server knows who drops from
 *     the same seeded draw: the simulation's stand-in for a timeout); the
 *     masked vectors are summed mod 2^32 as they come (the order does not
 *     matter: the sum is exact);
 *  4. send each survivor SA_UNMASK: for each of its neighbours u, the
 *     ciphertext u sent it and which secret to open (b if u survived, s_sk
 *     if u dropped); collect the SA_REVEAL answers;
 *  5. rebuild b_u of every survivor and s_sk_v of every dropped client from
 *     t shares (in neighbour order, so the result does not depend on the
 *     arrival order), remove the masks, dequantise.
 * A round in which a needed secret has fewer than t shares, or with fewer
 * than 2 clients, is aborted: no sum (real SecAgg aborts too), counted.
 * Steps 4 and 5 are in secagg_reveal.c (secagg_server_impl.h).
 */
#include "secagg_server_impl.h"

#include "frame.h"
#include "secagg.h"
#include "secagg_msg.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fs_status fs_sa_server_new(const fs_config *cfg, size_t dim, uint32_t max_k,
                           fs_sa_server **out, fs_err *err) {
  *out = NULL;
  fs_sa_server *s = calloc(1, sizeof *s);
  if (s == NULL)
    return fs_err_set(err, FS_ENOMEM, "secagg server: out of memory");
  s->cfg = cfg;
  s->dim = dim;
  s->max_k = max_k;
  size_t K = max_k ? max_k : 1;
  s->survived = calloc(K, 1);
  s->ns = calloc(K, sizeof *s->ns);
  s->loss = calloc(K, sizeof *s->loss);
  s->up = calloc(K, sizeof *s->up);
  s->down = calloc(K, sizeof *s->down);
  s->pos_of = calloc(K, sizeof *s->pos_of);
  s->coh = calloc(K, sizeof *s->coh);
  s->coh_sel = calloc(K, sizeof *s->coh_sel);
  s->cpk = calloc(K, sizeof *s->cpk);
  s->spk = calloc(K, sizeof *s->spk);
  s->got_keys = calloc(K, 1);
  s->got_shares = calloc(K, 1);
  s->got_update = calloc(K, 1);
  s->drop = calloc(K, 1);
  s->got_reveal = calloc(K, 1);
  s->lost = calloc(K, 1);
  s->sum = calloc(dim ? dim : 1, sizeof *s->sum);
  s->sumd = calloc(dim ? dim : 1, sizeof *s->sumd);
  if (!s->survived || !s->ns || !s->loss || !s->up || !s->down || !s->pos_of ||
      !s->coh || !s->coh_sel || !s->cpk || !s->spk || !s->got_keys ||
      !s->got_shares || !s->got_update || !s->drop || !s->got_reveal ||
      !s->lost || !s->sum || !s->sumd) {
    fs_sa_server_free(s);
    return fs_err_set(err, FS_ENOMEM, "secagg server: out of memory");
  }
  *out = s;
  return FS_OK;
}

void fs_sa_server_free(fs_sa_server *s) {
  if (s == NULL)
    return;
  if (s->refused[0] + s->refused[1] + s->refused[2] + s->refused[3] > 0)
    fprintf(
        stderr,
        "fedsim: secure aggregation: refused sealed frames: SA_KEYS %llu "
        "(left out), SA_SHARES %llu (round aborted), masked updates %llu "
        "(dropped after masking), SA_REVEAL %llu (shares missing)\n",
        (unsigned long long)s->refused[0], (unsigned long long)s->refused[1],
        (unsigned long long)s->refused[2], (unsigned long long)s->refused[3]);
  free(s->survived);
  free(s->ns);
  free(s->loss);
  free(s->up);
  free(s->down);
  free(s->pos_of);
  free(s->coh);
  free(s->coh_sel);
  free(s->cpk);
  free(s->spk);
  free(s->got_keys);
  free(s->got_shares);
  free(s->got_update);
  free(s->drop);
  free(s->got_reveal);
  free(s->lost);
  free(s->nb);
  free(s->ct);
  if (s->sh != NULL)
    sodium_memzero(s->sh, s->cap_nk * sizeof *s->sh);
  free(s->sh);
  free(s->have);
  free(s->sum);
  free(s->sumd);
  free(s->fbuf);
  free(s);
}

void fs_sa_server_set_sealer(fs_sa_server *s, fs_sealer *seal) {
  s->seal = seal;
}

uint64_t *fs_sa_server_counter(fs_sa_server *s, int which) {
  return which == 0   ? &s->aborted
         : which == 1 ? &s->dropped
         : which == 2 ? s->refused
                      : NULL;
}

void fs_sa_server_totals(const fs_sa_server *s, uint64_t *aborted,
                         uint64_t *dropped) {
  *aborted = s->aborted;
  *dropped = s->dropped;
}

static fs_status grow(fs_sa_server *s, size_t nk, size_t fbytes, fs_err *err) {
  if (nk > s->cap_nk) {
    free(s->nb);
    free(s->ct);
    if (s->sh != NULL)
      sodium_memzero(s->sh, s->cap_nk * sizeof *s->sh);
    free(s->sh);
    free(s->have);
    s->nb = malloc(nk * sizeof *s->nb);
    s->ct = malloc(nk * sizeof *s->ct);
    s->sh = malloc(nk * sizeof *s->sh);
    s->have = malloc(nk);
    s->cap_nk = s->nb && s->ct && s->sh && s->have ? nk : 0;
    if (s->cap_nk == 0)
      return fs_err_set(err, FS_ENOMEM,
                        "secagg server: out of memory (%zu neighbour slots)",
                        nk);
  }
  if (fbytes > s->fcap) {
    uint8_t *b = realloc(s->fbuf, fbytes);
    if (b == NULL)
      return fs_err_set(err, FS_ENOMEM, "secagg server: out of memory");
    s->fbuf = b;
    s->fcap = fbytes;
  }
  return FS_OK;
}

/* Receive one frame for this round; *pos gets the sender's cohort position
 * and *wire the bytes that crossed (sealed or not). With secure.seal, a
 * frame that fails to open is not an error: *refused is set, *pos is the
 * client its clear header names (it must be in the cohort), h and body are
 * not set, and the sealer has counted it (rejected_frames). */
fs_status fs_sa_server__recv_frame(fs_sa_server *s, fs_transport *t, uint32_t n,
                                   uint32_t round, uint32_t version,
                                   fs_frame_header *h, const uint8_t **body,
                                   uint32_t *pos, size_t *wire, int *refused,
                                   fs_err *err) {
  fs_sealed_frame f;
  *refused = 0;
  fs_status st = fs_sealer_recv(s->seal, t, FS_ROLE_SERVER, 1, &f, err);
  if (st != FS_OK)
    return st;
  *wire = f.wire;
  const uint8_t *buf = f.frame;
  size_t len = f.len;
  uint32_t named = f.named;
  const fs_err *oe = &f.why;
  if ((st = f.refused) != FS_OK) {
    uint32_t *hit =
        named == UINT32_MAX
            ? NULL
            : bsearch(&named, s->coh, n, sizeof *s->coh, fs_sa_server__cmp_u32);
    if (hit == NULL)
      return fs_err_set(err, st,
                        "secagg server: refused a sealed frame in round %u "
                        "that names client %u, not in the cohort: %s",
                        round, named, oe->msg);
    *pos = (uint32_t)(hit - s->coh);
    s->up[s->coh_sel[*pos]] += *wire;
    *refused = 1;
    if (f.first_refusal)
      fprintf(stderr,
              "fedsim: warning: secure aggregation: refused a sealed frame of "
              "client %u in round %u (%s); the client is taken as dropped at "
              "that step (refused frames are counted in rejected_frames)\n",
              named, round, oe->msg);
    return FS_OK;
  }
  if ((st = fs_frame_header_decode(buf, len, h, err)) != FS_OK)
    return st;
  if (h->round != round || h->model_version != version)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: %s frame of round %u (version %u) "
                      "during round %u",
                      fs_msg_type_name(h->type), h->round, h->model_version,
                      round);
  uint32_t *hit =
      bsearch(&h->client, s->coh, n, sizeof *s->coh, fs_sa_server__cmp_u32);
  if (hit == NULL)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: %s from client %u, which is not in "
                      "round %u's cohort",
                      fs_msg_type_name(h->type), h->client, round);
  *pos = (uint32_t)(hit - s->coh);
  *body = buf + FS_FRAME_HEADER_BYTES;
  s->up[s->coh_sel[*pos]] += *wire;
  return FS_OK;
}

/* Post a frame to cohort position pos; returns its bytes on the wire
 * through *wire. The frame stays in s->fbuf until the flush (sealed frames
 * are copied). */
fs_status fs_sa_server__post(fs_sa_server *s, fs_transport *t, uint32_t pos,
                             uint8_t *frame, size_t len, size_t *wire,
                             fs_err *err) {
  *wire = fs_sealer_wire_bytes(s->seal, len - FS_FRAME_HEADER_BYTES);
  s->down[s->coh_sel[pos]] += *wire;
  fs_iov iov = {frame, len};
  return fs_sealer_post(s->seal, t, FS_ROLE_SERVER,
                        fs_transport_worker_of(t, s->coh[pos]), &iov, 1, 0,
                        err);
}

static fs_status dup_err(fs_err *err, const fs_frame_header *h) {
  return fs_err_set(err, FS_EFORMAT, "secagg server: second %s from client %u",
                    fs_msg_type_name(h->type), h->client);
}

/* Reset the per-sample outputs and build the cohort (the sampled clients
 * not skipped, in sample order); returns its size. */
static uint32_t begin_round(fs_sa_server *s, const uint32_t *sel, uint32_t K,
                            const uint8_t *skip, fs_sa_round_out *out) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < K; i++) {
    s->survived[i] = 0;
    s->up[i] = s->down[i] = 0;
    s->ns[i] = 0;
    s->loss[i] = 0;
    s->pos_of[i] = -1;
    if (skip[i])
      continue;
    s->pos_of[i] = (int32_t)n;
    s->coh[n] = sel[i];
    s->coh_sel[n] = i;
    n++;
  }
  memset(out, 0, sizeof *out);
  out->survived = s->survived;
  out->num_samples = s->ns;
  out->train_loss = s->loss;
  out->up_bytes = s->up;
  out->down_bytes = s->down;
  out->sum = s->sumd;
  out->cohort = n;
  memset(s->sumd, 0, s->dim * sizeof *s->sumd);
  return n;
}

/* Step 1: collect the n SA_KEYS (c_pk, s_pk). */
static fs_status collect_keys(fs_sa_server *s, sa_round *r, fs_err *err) {
  fs_status st;
  fs_frame_header h;
  const uint8_t *body = NULL;
  uint32_t pos;
  size_t wire;
  int refused;
  for (uint32_t got = 0; got < r->n; got++) {
    if ((st = fs_sa_server__recv_frame(s, r->t, r->n, r->round, r->version, &h,
                                       &body, &pos, &wire, &refused, err)) !=
        FS_OK)
      return st;
    if (refused) {
      /* The client drops before the graph is drawn: no neighbour masks
       * with it, no shares; it is left out of the cohort below. */
      if (s->got_keys[pos] || (s->lost[pos] & LOST_KEYS))
        return fs_err_set(err, FS_EFORMAT,
                          "secagg server: a second sealed frame of client %u "
                          "while waiting for SA_KEYS",
                          s->coh[pos]);
      s->lost[pos] |= LOST_KEYS;
      s->refused[0]++;
      r->sa_bytes += wire;
      continue;
    }
    if (h.type != FS_MSG_SA_KEYS)
      return fs_err_set(err, FS_EFORMAT,
                        "secagg server: %s from client %u while waiting for "
                        "SA_KEYS",
                        fs_msg_type_name(h.type), h.client);
    if (s->got_keys[pos])
      return dup_err(err, &h);
    fs_sam_view v;
    if ((st = fs_sam_decode(FS_MSG_SA_KEYS, body, h.body_len, &v, err)) !=
        FS_OK)
      return st;
    memcpy(s->cpk[pos], v.recs, FS_SA_KEY_BYTES);
    memcpy(s->spk[pos], v.recs + FS_SA_KEY_BYTES, FS_SA_KEY_BYTES);
    s->got_keys[pos] = 1;
    r->sa_bytes += wire;
  }
  return FS_OK;
}

/* Clients whose SA_KEYS was refused are out of the protocol this round
 * (their update does not count): keep the others, in order; returns how
 * many are kept. */
static uint32_t keep_keyed(fs_sa_server *s, uint32_t n) {
  uint32_t m = 0;
  for (uint32_t u = 0; u < n; u++) {
    if (!s->got_keys[u])
      continue;
    s->coh[m] = s->coh[u];
    s->coh_sel[m] = s->coh_sel[u];
    memmove(s->cpk[m], s->cpk[u], FS_SA_KEY_BYTES);
    memmove(s->spk[m], s->spk[u], FS_SA_KEY_BYTES);
    s->got_keys[m] = 1;
    m++;
  }
  return m;
}

/* Step 2: draw the neighbour graph, send each client SA_ADVERTISE. */
static fs_status advertise(fs_sa_server *s, sa_round *r, const fs_sa_params *p,
                           size_t adv_len, fs_err *err) {
  uint32_t n = r->n, k = r->k;
  fs_sa_graph *g;
  if (fs_sa_graph_new(s->cfg->seed, r->round, p, &g) != FS_OK)
    return fs_err_set(err, FS_ENOMEM, "secagg server: out of memory");
  for (uint32_t u = 0; u < n; u++)
    fs_sa_graph_neighbours(g, u, s->nb + (size_t)u * k);
  fs_sa_graph_free(g);

  for (uint32_t u = 0; u < n; u++) {
    uint8_t *f = s->fbuf + (size_t)u * adv_len;
    fs_frame_header oh = {.type = FS_MSG_SA_ADVERTISE,
                          .encoding = FS_PL_NONE,
                          .round = r->round,
                          .client = s->coh[u],
                          .model_version = r->version,
                          .body_len =
                              (uint32_t)(adv_len - FS_FRAME_HEADER_BYTES)};
    fs_frame_header_encode(&oh, f);
    uint8_t *rec = fs_sam_begin(FS_MSG_SA_ADVERTISE, k, p->threshold,
                                f + FS_FRAME_HEADER_BYTES);
    for (uint32_t i = 0; i < k; i++) {
      uint32_t w = s->nb[(size_t)u * k + i];
      fs_sam_put_advertise(rec + (size_t)i * (4 + 2 * FS_SAM_KEY), s->coh[w],
                           s->cpk[w], s->spk[w]);
    }
    size_t wire;
    fs_status st = fs_sa_server__post(s, r->t, u, f, adv_len, &wire, err);
    if (st != FS_OK)
      return st;
    r->sa_bytes += wire;
  }
  return FS_OK;
}

/* Step 3, one SA_SHARES frame: keep its ciphertexts for routing. */
static fs_status take_shares(fs_sa_server *s, const sa_round *r,
                             const fs_frame_header *h, const uint8_t *body,
                             uint32_t pos, fs_err *err) {
  uint32_t k = r->k;
  if (s->got_shares[pos] || (s->lost[pos] & LOST_SHARES))
    return dup_err(err, h);
  fs_sam_view v;
  fs_status st;
  if ((st = fs_sam_decode(FS_MSG_SA_SHARES, body, h->body_len, &v, err)) !=
      FS_OK)
    return st;
  if (v.count != k)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: client %u sent %u shares for its "
                      "%u neighbours",
                      h->client, v.count, k);
  for (uint32_t i = 0; i < k; i++) {
    if (fs_sam_id(&v, i) != s->coh[s->nb[(size_t)pos * k + i]])
      return fs_err_set(err, FS_EFORMAT,
                        "secagg server: client %u addressed share %u to "
                        "client %u, not to its neighbour %u",
                        h->client, i, fs_sam_id(&v, i),
                        s->coh[s->nb[(size_t)pos * k + i]]);
    memcpy(s->ct[(size_t)pos * k + i], fs_sam_data(&v, i), FS_SAM_CT);
  }
  s->got_shares[pos] = 1;
  return FS_OK;
}

/* Step 3, one masked UPDATE: add it to the sum mod 2^32. */
static fs_status take_update(fs_sa_server *s, const sa_round *r,
                             const fs_frame_header *h, const uint8_t *body,
                             uint32_t pos, fs_err *err) {
  if (s->got_update[pos] || (s->lost[pos] & LOST_UPDATE))
    return dup_err(err, h);
  if (s->drop[pos])
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: masked update from client %u, which "
                      "dropped out of round %u",
                      h->client, r->round);
  fs_update_meta meta;
  fs_status st;
  if ((st = fs_update_meta_decode(body, h->body_len, &meta, err)) != FS_OK)
    return st;
  /* Decode into sumd's memory (free until dequantisation), add. */
  uint32_t *y = (uint32_t *)(void *)s->sumd;
  if ((st = fs_masked_decode(body + FS_UPDATE_META_BYTES,
                             h->body_len - FS_UPDATE_META_BYTES, y, s->dim,
                             err)) != FS_OK)
    return st;
  for (size_t j = 0; j < s->dim; j++)
    s->sum[j] += y[j];
  uint32_t i = s->coh_sel[pos];
  s->ns[i] = meta.num_samples;
  s->loss[i] = meta.train_loss;
  s->got_update[pos] = 1;
  return FS_OK;
}

/* Step 3: collect the SA_SHARES of every client and the masked UPDATE of
 * every client that does not drop (ndrop of them drop). */
static fs_status collect_shares(fs_sa_server *s, sa_round *r, uint32_t ndrop,
                                fs_err *err) {
  fs_status st;
  fs_frame_header h;
  const uint8_t *body = NULL;
  uint32_t pos;
  size_t wire;
  int refused;
  for (uint32_t got = 0; got < 2 * r->n - ndrop; got++) {
    if ((st = fs_sa_server__recv_frame(s, r->t, r->n, r->round, r->version, &h,
                                       &body, &pos, &wire, &refused, err)) !=
        FS_OK)
      return st;
    if (refused) {
      /* A client sends its shares, then its masked update (frames from one
       * client arrive in order): the refused frame took the place of the
       * first one still owed. */
      if (!s->got_shares[pos] && !(s->lost[pos] & LOST_SHARES)) {
        s->lost[pos] |= LOST_SHARES;
        s->refused[1]++;
        r->sa_bytes += wire;
      } else if (!s->drop[pos] && !s->got_update[pos] &&
                 !(s->lost[pos] & LOST_UPDATE)) {
        s->lost[pos] |= LOST_UPDATE;
        s->refused[2]++;
      } else {
        return fs_err_set(err, FS_EFORMAT,
                          "secagg server: a sealed frame of client %u beyond "
                          "its shares and masked update",
                          s->coh[pos]);
      }
      continue;
    }
    if (h.type == FS_MSG_SA_SHARES) {
      if ((st = take_shares(s, r, &h, body, pos, err)) != FS_OK)
        return st;
      r->sa_bytes += wire;
    } else if (h.type == FS_MSG_UPDATE && h.encoding == FS_PL_MASKED_U32) {
      if ((st = take_update(s, r, &h, body, pos, err)) != FS_OK)
        return st;
    } else {
      return fs_err_set(err, FS_EFORMAT,
                        "secagg server: %s (encoding %s) from client %u while "
                        "waiting for shares and masked updates",
                        fs_msg_type_name(h.type), fs_encoding_name(h.encoding),
                        h.client);
    }
  }
  return fs_transport_flush(r->t, err);
}

/* After step 3: a client whose masked update was refused is taken as
 * dropped (*ndrop counts it); returns the first client whose SA_SHARES was
 * refused, or UINT32_MAX. */
static uint32_t settle_lost(fs_sa_server *s, uint32_t n, uint32_t *ndrop) {
  uint32_t lost_shares = UINT32_MAX;
  for (uint32_t u = 0; u < n; u++) {
    if ((s->lost[u] & LOST_SHARES) && lost_shares == UINT32_MAX)
      lost_shares = s->coh[u];
    if ((s->lost[u] & LOST_UPDATE) && !s->drop[u]) {
      s->drop[u] = 1;
      (*ndrop)++;
    }
  }
  return lost_shares;
}

/* Steps 2 to 5 for the cohort of r->n clients with keys. */
static fs_status run_protocol(fs_sa_server *s, sa_round *r,
                              fs_sa_round_out *out, fs_err *err) {
  const fs_config *cfg = s->cfg;
  uint32_t n = r->n, round = r->round;
  fs_status st;
  double t0 = fs_transport_wtime();
  fs_sa_params p;
  fs_err pe = {0};
  if (fs_sa_params_make(n, (uint32_t)cfg->sa_bits, cfg->sa_clip,
                        (uint32_t)cfg->sa_degree, cfg->sa_dropout, &p,
                        &pe) != FS_OK) {
    /* Only a cohort of one can get here (config checks the rest). */
    if (!s->warned++)
      fprintf(stderr,
              "fedsim: warning: secure aggregation: round %u aborted: %s "
              "(aborted rounds are counted in summary.json)\n",
              round, pe.msg);
    s->aborted++;
    out->aborted = 1;
    out->sa_bits = 8 * r->sa_bytes;
    return FS_OK;
  }
  uint32_t k = r->k = p.degree;
  out->degree = k;
  out->threshold = p.threshold;
  size_t adv_len = FS_FRAME_HEADER_BYTES + fs_sam_size(FS_MSG_SA_ADVERTISE, k);
  size_t unm_len = FS_FRAME_HEADER_BYTES + fs_sam_size(FS_MSG_SA_UNMASK, k);
  if ((st = grow(s, (size_t)n * k,
                 (size_t)n * (adv_len > unm_len ? adv_len : unm_len), err)) !=
      FS_OK)
    return st;
  if ((st = advertise(s, r, &p, adv_len, err)) != FS_OK)
    return st;

  uint32_t ndrop = 0;
  for (uint32_t u = 0; u < n; u++) {
    s->drop[u] =
        (uint8_t)fs_sa_drops(cfg->seed, s->coh[u], round, cfg->sa_dropout);
    ndrop += s->drop[u];
  }
  if ((st = collect_shares(s, r, ndrop, err)) != FS_OK)
    return st;
  /* A refused SA_SHARES loses the client's shares of b and s_sk: its
   * neighbours masked their updates against it, and without t shares of
   * its s_sk those masks cannot be removed, so the round is aborted (in
   * Bonawitz et al.'s protocol shares and masked inputs are separate
   * rounds; here they travel together). A refused masked update is the
   * client dropping after masking: its s_sk is rebuilt below. */
  uint32_t lost_shares = settle_lost(s, n, &ndrop);
  if (lost_shares != UINT32_MAX) {
    if (!s->warned++)
      fprintf(stderr,
              "fedsim: warning: secure aggregation: round %u aborted: the "
              "sealed SA_SHARES of client %u was refused, so the masks its "
              "neighbours added for it cannot be removed (aborted rounds are "
              "counted in summary.json)\n",
              round, lost_shares);
    s->aborted++;
    out->aborted = 1;
    out->sa_bits = 8 * r->sa_bytes;
    out->ms = (fs_transport_wtime() - t0) * 1e3;
    return FS_OK;
  }

  uint32_t nsurv = n - ndrop;
  if ((st = fs_sa_server__ask_reveal(s, r, unm_len, err)) != FS_OK)
    return st;
  if ((st = fs_sa_server__collect_reveals(s, r, nsurv, err)) != FS_OK)
    return st;

  /* 5. unmask */
  fs_err ue = {0};
  st = fs_sa_server__unmask(s, &p, round, &ue);
  out->sa_bits = 8 * r->sa_bytes;
  s->dropped += ndrop;
  if (st == FS_ERANGE) {
    if (!s->warned++)
      fprintf(stderr,
              "fedsim: warning: secure aggregation: round %u aborted: %s "
              "(aborted rounds are counted in summary.json)\n",
              round, ue.msg);
    s->aborted++;
    out->aborted = 1;
    memset(s->sumd, 0, s->dim * sizeof *s->sumd);
    out->ms = (fs_transport_wtime() - t0) * 1e3;
    return FS_OK;
  }
  if (st != FS_OK)
    return fs_err_set(err, st, "%s", ue.msg);
  fs_sa_dequantise(s->sum, s->dim, nsurv, &p, s->sumd);
  for (uint32_t u = 0; u < n; u++)
    s->survived[s->coh_sel[u]] = !s->drop[u];
  out->survivors = nsurv;
  out->ms = (fs_transport_wtime() - t0) * 1e3;
  return FS_OK;
}

fs_status fs_sa_server_round(fs_sa_server *s, fs_transport *t, uint32_t round,
                             uint32_t version, const uint32_t *sel, uint32_t K,
                             const uint8_t *skip, fs_sa_round_out *out,
                             fs_err *err) {
  if (K > s->max_k)
    return fs_err_set(err, FS_EINVAL, "secagg server: %u clients, room for %u",
                      K, s->max_k);
  uint32_t n = begin_round(s, sel, K, skip, out);
  if (n == 0)
    return FS_OK;
  memset(s->got_keys, 0, n);
  memset(s->got_shares, 0, n);
  memset(s->got_update, 0, n);
  memset(s->got_reveal, 0, n);
  memset(s->lost, 0, n);
  memset(s->sum, 0, s->dim * sizeof *s->sum);
  sa_round r = {.t = t, .round = round, .version = version, .n = n};

  /* 1. public keys */
  fs_status st = collect_keys(s, &r, err);
  if (st != FS_OK)
    return st;
  r.n = keep_keyed(s, n);
  memset(s->lost, 0, r.n);
  /* 2.-5. */
  return run_protocol(s, &r, out, err);
}
