/*
 * secagg_msg.c — the secure-aggregation frame bodies (layout in
 * secagg_msg.h). Every length is checked with 64-bit arithmetic before a
 * record is looked at.
 */
#include "secagg_msg.h"

#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void misuse(const char *what) {
  fprintf(stderr, "fedsim: secagg_msg misuse: %s\n", what);
  abort();
}

/* Head bytes and record bytes of a list body. */
static void layout(fs_msg_type t, size_t *head, size_t *rec) {
  switch (t) {
  case FS_MSG_SA_KEYS:
    *head = 0;
    *rec = 2 * FS_SAM_KEY;
    return;
  case FS_MSG_SA_ADVERTISE:
    *head = 8;
    *rec = 4 + 2 * FS_SAM_KEY;
    return;
  case FS_MSG_SA_SHARES:
    *head = 4;
    *rec = 4 + FS_SAM_CT;
    return;
  case FS_MSG_SA_UNMASK:
    *head = 4;
    *rec = 5 + FS_SAM_CT;
    return;
  case FS_MSG_SA_REVEAL:
    *head = 4;
    *rec = 5 + FS_SAM_SHARE;
    return;
  default:
    misuse("not a secure-aggregation message type");
  }
}

size_t fs_sam_size(fs_msg_type t, uint32_t count) {
  size_t head, rec;
  layout(t, &head, &rec);
  return t == FS_MSG_SA_KEYS ? rec : head + (size_t)count * rec;
}

uint8_t *fs_sam_begin(fs_msg_type t, uint32_t count, uint32_t threshold,
                      uint8_t *out) {
  size_t head, rec;
  layout(t, &head, &rec);
  if (t == FS_MSG_SA_ADVERTISE) {
    fs_put_u32(out, threshold);
    fs_put_u32(out + 4, count);
  } else if (t != FS_MSG_SA_KEYS) {
    fs_put_u32(out, count);
  }
  return out + head;
}

void fs_sam_put_advertise(uint8_t *rec, uint32_t client, const uint8_t *c_pk,
                          const uint8_t *s_pk) {
  fs_put_u32(rec, client);
  memcpy(rec + 4, c_pk, FS_SAM_KEY);
  memcpy(rec + 4 + FS_SAM_KEY, s_pk, FS_SAM_KEY);
}

void fs_sam_put_share(uint8_t *rec, uint32_t to, const uint8_t *ct) {
  fs_put_u32(rec, to);
  memcpy(rec + 4, ct, FS_SAM_CT);
}

void fs_sam_put_unmask(uint8_t *rec, uint32_t from, uint8_t secret,
                       const uint8_t *ct) {
  fs_put_u32(rec, from);
  rec[4] = secret;
  memcpy(rec + 5, ct, FS_SAM_CT);
}

void fs_sam_put_reveal(uint8_t *rec, uint32_t owner, uint8_t secret,
                       const uint8_t *share) {
  fs_put_u32(rec, owner);
  rec[4] = secret;
  memcpy(rec + 5, share, FS_SAM_SHARE);
}

fs_status fs_sam_decode(fs_msg_type t, const uint8_t *body, size_t len,
                        fs_sam_view *v, fs_err *err) {
  if (t < FS_MSG_SA_KEYS || t > FS_MSG_SA_REVEAL)
    return fs_err_set(err, FS_EFORMAT,
                      "secagg: frame type %u is not a "
                      "secure-aggregation message",
                      (unsigned)t);
  size_t head, rec;
  layout(t, &head, &rec);
  const char *name = fs_msg_type_name(t);
  fs_sam_view out = {.rec = rec};
  if (t == FS_MSG_SA_KEYS) {
    if (len != rec)
      return fs_err_set(err, len < rec ? FS_ETRUNC : FS_EFORMAT,
                        "secagg: %s body of %zu bytes (must be %zu)", name, len,
                        rec);
    out.count = 1;
    out.recs = body;
    *v = out;
    return FS_OK;
  }
  if (len < head)
    return fs_err_set(err, FS_ETRUNC,
                      "secagg: %s body of %zu bytes, shorter than its "
                      "%zu-byte head",
                      name, len, head);
  if (t == FS_MSG_SA_ADVERTISE) {
    out.threshold = fs_get_u32(body);
    out.count = fs_get_u32(body + 4);
  } else {
    out.count = fs_get_u32(body);
  }
  uint64_t need = (uint64_t)head + (uint64_t)out.count * rec;
  if ((uint64_t)len != need)
    return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                      "secagg: %s body of %zu bytes, but %u records need "
                      "%llu",
                      name, len, out.count, (unsigned long long)need);
  out.recs = body + head;
  if (t == FS_MSG_SA_UNMASK || t == FS_MSG_SA_REVEAL)
    for (uint32_t i = 0; i < out.count; i++)
      if (out.recs[(size_t)i * rec + 4] > 1)
        return fs_err_set(err, FS_EFORMAT,
                          "secagg: %s record %u names secret %u (0 or 1)", name,
                          i, (unsigned)out.recs[(size_t)i * rec + 4]);
  *v = out;
  return FS_OK;
}

uint32_t fs_sam_id(const fs_sam_view *v, uint32_t i) {
  return fs_get_u32(v->recs + (size_t)i * v->rec);
}

uint8_t fs_sam_secret(const fs_sam_view *v, uint32_t i) {
  return v->recs[(size_t)i * v->rec + 4];
}

const uint8_t *fs_sam_data(const fs_sam_view *v, uint32_t i) {
  const uint8_t *r = v->recs + (size_t)i * v->rec;
  if (v->rec == 2 * FS_SAM_KEY)
    return r; /* SA_KEYS */
  if (v->rec == 5 + FS_SAM_CT || v->rec == 5 + FS_SAM_SHARE)
    return r + 5;
  return r + 4;
}

size_t fs_masked_size(size_t n) {
  if ((uint64_t)n > UINT32_MAX)
    misuse("masked vector longer than 2^32-1 entries");
  return 4 + 4 * n;
}

void fs_masked_encode(const uint32_t *y, size_t n, uint8_t *out) {
  fs_put_u32(out, (uint32_t)n);
  for (size_t j = 0; j < n; j++)
    fs_put_u32(out + 4 + 4 * j, y[j]);
}

fs_status fs_masked_decode(const uint8_t *buf, size_t len, uint32_t *out,
                           size_t n, fs_err *err) {
  if (len < 4)
    return fs_err_set(err, FS_ETRUNC, "masked vector: %zu bytes, no count",
                      len);
  uint32_t dim = fs_get_u32(buf);
  if (dim != n)
    return fs_err_set(err, FS_EFORMAT,
                      "masked vector: %u entries, the model has %zu", dim, n);
  uint64_t need = 4 + 4 * (uint64_t)dim;
  if ((uint64_t)len != need)
    return fs_err_set(err, (uint64_t)len < need ? FS_ETRUNC : FS_EFORMAT,
                      "masked vector: %zu bytes, %u entries need %llu", len,
                      dim, (unsigned long long)need);
  for (size_t j = 0; j < n; j++)
    out[j] = fs_get_u32(buf + 4 + 4 * j);
  return FS_OK;
}
