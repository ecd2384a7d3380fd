/*
 * secagg_reveal.c — the last steps of a secure aggregation round on the
 * server (docs/secure-aggregation.md): 4. send each survivor SA_UNMASK and
 * collect the SA_REVEAL shares, 5. rebuild b_u of every survivor and s_sk_v
 * of every dropped client from t shares (in neighbour order) and remove the
 * masks. Steps 1 to 3 and the round's driver are secagg_server.c.
 */
#include "secagg_server_impl.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Index of cohort position w among the sorted neighbours of u, or -1. */
static long nb_index(const fs_sa_server *s, uint32_t k, uint32_t u,
                     uint32_t w) {
  const uint32_t *row = s->nb + (size_t)u * k;
  uint32_t *hit = bsearch(&w, row, k, sizeof *row, fs_sa_server__cmp_u32);
  return hit ? hit - row : -1;
}

/* Phase 5: rebuild the secrets, remove the masks. Returns FS_ERANGE with a
 * message when a secret has fewer than t shares (the round is aborted). */
fs_status fs_sa_server__unmask(fs_sa_server *s, const fs_sa_params *p,
                               uint32_t round, fs_err *err) {
  uint32_t n = p->n, k = p->degree;
  fs_shamir_share *buf = malloc((k ? k : 1) * sizeof *buf);
  uint32_t *ids = malloc((k ? k : 1) * sizeof *ids);
  uint8_t(*pk)[FS_SA_KEY_BYTES] = malloc((k ? k : 1) * sizeof *pk);
  if (buf == NULL || ids == NULL || pk == NULL) {
    free(buf);
    free(ids);
    free(pk);
    return fs_err_set(err, FS_ENOMEM, "secagg server: out of memory");
  }
  fs_status st = FS_OK;
  uint8_t sec[FS_SA_KEY_BYTES];
  for (uint32_t u = 0; u < n && st == FS_OK; u++) {
    size_t m = 0, ms = 0;
    for (uint32_t i = 0; i < k; i++) {
      size_t at = (size_t)u * k + i;
      if (s->have[at])
        buf[m++] = s->sh[at];
      uint32_t w = s->nb[at];
      if (!s->drop[w]) {
        ids[ms] = s->coh[w];
        memcpy(pk[ms], s->spk[w], FS_SA_KEY_BYTES);
        ms++;
      }
    }
    fs_err e = {0};
    if (m < p->threshold) {
      st = fs_err_set(err, FS_ERANGE,
                      "client %u has %zu of the %u shares needed to rebuild "
                      "its %s",
                      s->coh[u], m, p->threshold,
                      s->drop[u] ? "mask key" : "self-mask seed");
      break;
    }
    if (!s->drop[u]) {
      st = fs_shamir_reconstruct(buf, m, p->threshold, sec, &e);
      if (st == FS_OK)
        fs_sa_prg_add(sec, -1, s->sum, s->dim);
    } else {
      st =
          fs_sa_rebuild_sk(buf, m, p->threshold, s->coh[u], s->spk[u], sec, &e);
      if (st == FS_OK)
        st = fs_sa_unmask_dropped(sec, s->coh[u], round, ids,
                                  (const uint8_t(*)[FS_SA_KEY_BYTES])pk, ms,
                                  s->sum, s->dim, &e);
    }
    if (st != FS_OK)
      st =
          fs_err_set(err, st, "secagg server: client %u: %s", s->coh[u], e.msg);
  }
  sodium_memzero(sec, sizeof sec);
  sodium_memzero(buf, (k ? k : 1) * sizeof *buf);
  free(buf);
  free(ids);
  free(pk);
  return st;
}

/* Step 4: send each survivor SA_UNMASK (for each neighbour, the ciphertext
 * it sent the survivor and which secret to open). */
fs_status fs_sa_server__ask_reveal(fs_sa_server *s, sa_round *r, size_t unm_len,
                                   fs_err *err) {
  uint32_t n = r->n, k = r->k;
  for (uint32_t w = 0; w < n; w++) {
    if (s->drop[w])
      continue;
    uint8_t *f = s->fbuf + (size_t)w * unm_len;
    uint8_t *rec =
        fs_sam_begin(FS_MSG_SA_UNMASK, k, 0, f + FS_FRAME_HEADER_BYTES);
    for (uint32_t i = 0; i < k; i++) {
      uint32_t u = s->nb[(size_t)w * k + i];
      long at = nb_index(s, k, u, w); /* w's place among u's neighbours */
      fs_sam_put_unmask(rec + (size_t)i * (5 + FS_SAM_CT), s->coh[u],
                        s->drop[u] ? FS_SA_SECRET_SK : FS_SA_SECRET_B,
                        s->ct[(size_t)u * k + (size_t)at]);
    }
    fs_frame_header oh = {.type = FS_MSG_SA_UNMASK,
                          .encoding = FS_PL_NONE,
                          .round = r->round,
                          .client = s->coh[w],
                          .model_version = r->version,
                          .body_len =
                              (uint32_t)(unm_len - FS_FRAME_HEADER_BYTES)};
    fs_frame_header_encode(&oh, f);
    size_t wire;
    fs_status st = fs_sa_server__post(s, r->t, w, f, unm_len, &wire, err);
    if (st != FS_OK)
      return st;
    r->sa_bytes += wire;
  }
  return FS_OK;
}

/* Step 4, one SA_REVEAL: check it answers what was asked, keep its shares
 * in their neighbour slots. */
static fs_status take_reveal(fs_sa_server *s, const sa_round *r,
                             const fs_frame_header *h, const uint8_t *body,
                             uint32_t pos, fs_err *err) {
  uint32_t k = r->k;
  if (h->type != FS_MSG_SA_REVEAL)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: %s from client %u while waiting for "
                      "SA_REVEAL",
                      fs_msg_type_name(h->type), h->client);
  if (s->drop[pos] || s->got_reveal[pos] || (s->lost[pos] & LOST_REVEAL))
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: unexpected SA_REVEAL from client %u",
                      h->client);
  fs_sam_view v;
  fs_status st;
  if ((st = fs_sam_decode(FS_MSG_SA_REVEAL, body, h->body_len, &v, err)) !=
      FS_OK)
    return st;
  if (v.count != k)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg server: client %u revealed %u shares, %u "
                      "were asked",
                      h->client, v.count, k);
  for (uint32_t i = 0; i < k; i++) {
    uint32_t u = s->nb[(size_t)pos * k + i];
    uint8_t want = s->drop[u] ? FS_SA_SECRET_SK : FS_SA_SECRET_B;
    if (fs_sam_id(&v, i) != s->coh[u] || fs_sam_secret(&v, i) != want)
      return fs_err_set(err, FS_EFORMAT,
                        "secagg server: client %u revealed a share of "
                        "client %u (secret %u), not the one asked",
                        h->client, fs_sam_id(&v, i),
                        (unsigned)fs_sam_secret(&v, i));
    long at = nb_index(s, k, u, pos);
    size_t slot = (size_t)u * k + (size_t)at;
    if ((st =
             fs_shamir_share_decode(fs_sam_data(&v, i), (uint64_t)h->client + 1,
                                    &s->sh[slot], err)) != FS_OK)
      return st;
    s->have[slot] = 1;
  }
  s->got_reveal[pos] = 1;
  return FS_OK;
}

/* Step 4: collect the nsurv SA_REVEAL answers. */
fs_status fs_sa_server__collect_reveals(fs_sa_server *s, sa_round *r,
                                        uint32_t nsurv, fs_err *err) {
  fs_status st;
  fs_frame_header h;
  const uint8_t *body = NULL;
  uint32_t pos;
  size_t wire;
  int refused;
  memset(s->have, 0, (size_t)r->n * r->k);
  for (uint32_t got = 0; got < nsurv; got++) {
    if ((st = fs_sa_server__recv_frame(s, r->t, r->n, r->round, r->version, &h,
                                       &body, &pos, &wire, &refused, err)) !=
        FS_OK)
      return st;
    if (refused) {
      /* The survivor's shares of its neighbours' secrets are missing: it
       * drops after its update counted; fs_sa_server__unmask() needs t shares
       * from the others (else the round is aborted). */
      if (s->drop[pos] || s->got_reveal[pos] || (s->lost[pos] & LOST_REVEAL))
        return fs_err_set(err, FS_EFORMAT,
                          "secagg server: unexpected sealed frame of client "
                          "%u while waiting for SA_REVEAL",
                          s->coh[pos]);
      s->lost[pos] |= LOST_REVEAL;
      s->refused[3]++;
      r->sa_bytes += wire;
      continue;
    }
    if ((st = take_reveal(s, r, &h, body, pos, err)) != FS_OK)
      return st;
    r->sa_bytes += wire;
  }
  return fs_transport_flush(r->t, err);
}
