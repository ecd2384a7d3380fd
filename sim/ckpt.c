/*
 * ckpt.c — the checkpoint file format (see ckpt.h): an in-memory writer
 * sealed with zlib's crc32 and written atomically, a reader that checks
 * every byte before handing out records, and the configuration as text.
 */
#include "ckpt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const uint8_t MAGIC[8] = {'F', 'S', 'C', 'K', 'P', 'T', 0, '\n'};
#define TRAILER_BYTES 8

struct fs_ckpt_writer {
  uint8_t *b;
  size_t len, cap;
  int oom;
};

struct fs_ckpt_reader {
  char path[1024];
  uint8_t *b;
  size_t len;
  uint64_t hash, agg;
  uint32_t crc;
};

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

uint32_t fs_ckpt_le32(const uint8_t *p) { return (uint32_t)get_le(p, 4); }

void fs_ckpt_f32s_from(const uint8_t *p, float *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)get_le(p + 4 * i, 4);
    memcpy(&v[i], &u, 4);
  }
}

static uint32_t crc_of(const uint8_t *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt step = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = crc32(c, p, step);
    p += step;
    n -= step;
  }
  return (uint32_t)c;
}

/* Room for n more bytes; returns where they go, or NULL (remembered). */
static uint8_t *grow(fs_ckpt_writer *w, size_t n) {
  if (w->oom)
    return NULL;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
      cap *= 2;
    uint8_t *nb = realloc(w->b, cap);
    if (nb == NULL) {
      w->oom = 1;
      return NULL;
    }
    w->b = nb;
    w->cap = cap;
  }
  uint8_t *p = w->b + w->len;
  w->len += n;
  return p;
}

fs_ckpt_writer *fs_ckpt_writer_new(fs_ckpt_kind kind, uint64_t cfg_hash,
                                   uint64_t aggregation) {
  fs_ckpt_writer *w = calloc(1, sizeof *w);
  if (w == NULL)
    return NULL;
  uint8_t *p = grow(w, FS_CKPT_HEADER_BYTES);
  if (p == NULL) {
    fs_ckpt_writer_free(w);
    return NULL;
  }
  memcpy(p, MAGIC, 8);
  put_le(p + 8, FS_CKPT_VERSION, 4);
  put_le(p + 12, (uint64_t)kind, 4);
  put_le(p + 16, cfg_hash, 8);
  put_le(p + 24, aggregation, 8);
  return w;
}

void fs_ckpt_writer_free(fs_ckpt_writer *w) {
  if (w == NULL)
    return;
  free(w->b);
  free(w);
}

/* Start a record of len bytes; returns where its contents go. */
static uint8_t *record(fs_ckpt_writer *w, uint32_t tag, size_t len) {
  uint8_t *p = grow(w, 12 + len);
  if (p == NULL)
    return NULL;
  put_le(p, tag, 4);
  put_le(p + 4, (uint64_t)len, 8);
  return p + 12;
}

void fs_ckpt_put(fs_ckpt_writer *w, uint32_t tag, const void *data,
                 size_t len) {
  uint8_t *p = record(w, tag, len);
  if (p != NULL && len > 0)
    memcpy(p, data, len);
}

void fs_ckpt_put_u64s(fs_ckpt_writer *w, uint32_t tag, const uint64_t *v,
                      size_t n) {
  uint8_t *p = record(w, tag, 8 * n);
  for (size_t i = 0; p != NULL && i < n; i++)
    put_le(p + 8 * i, v[i], 8);
}

void fs_ckpt_put_f64s(fs_ckpt_writer *w, uint32_t tag, const double *v,
                      size_t n) {
  uint8_t *p = record(w, tag, 8 * n);
  for (size_t i = 0; p != NULL && i < n; i++) {
    uint64_t u;
    memcpy(&u, &v[i], 8);
    put_le(p + 8 * i, u, 8);
  }
}

static void put_f32_at(uint8_t *p, const float *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    put_le(p + 4 * i, u, 4);
  }
}

void fs_ckpt_put_f32s(fs_ckpt_writer *w, uint32_t tag, const float *v,
                      size_t n) {
  uint8_t *p = record(w, tag, 4 * n);
  if (p != NULL)
    put_f32_at(p, v, n);
}

void fs_ckpt_put_id_f32s(fs_ckpt_writer *w, uint32_t tag, uint32_t id,
                         const float *v, size_t n) {
  uint8_t *p = record(w, tag, 4 + 4 * n);
  if (p == NULL)
    return;
  put_le(p, id, 4);
  put_f32_at(p + 4, v, n);
}

void fs_ckpt_put_u64(fs_ckpt_writer *w, uint32_t tag, uint64_t v) {
  fs_ckpt_put_u64s(w, tag, &v, 1);
}

void fs_ckpt_put_f64(fs_ckpt_writer *w, uint32_t tag, double v) {
  fs_ckpt_put_f64s(w, tag, &v, 1);
}

fs_status fs_ckpt_write_atomic(const char *path, const void *data, size_t len,
                               fs_err *err) {
  char tmp[1100];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return fs_err_set(err, FS_EINVAL, "checkpoint path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0)
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", tmp, strerror(errno));
  const uint8_t *p = data;
  size_t left = len;
  int e = 0;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      e = n < 0 ? errno : ENOSPC;
      break;
    }
    p += n;
    left -= (size_t)n;
  }
  if (e == 0 && fsync(fd) != 0)
    e = errno;
  if (close(fd) != 0 && e == 0)
    e = errno;
  if (e == 0 && rename(tmp, path) != 0)
    e = errno;
  if (e != 0) {
    unlink(tmp);
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", path, strerror(e));
  }
  /* Make the rename itself durable. */
  char dir[1100];
  snprintf(dir, sizeof dir, "%s", path);
  int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    int r = fsync(dfd);
    int de = errno;
    close(dfd);
    if (r != 0 && de != EINVAL)
      return fs_err_set(err, FS_EIO, "cannot sync the folder of %s: %s", path,
                        strerror(de));
  }
  return FS_OK;
}

fs_status fs_ckpt_writer_save(fs_ckpt_writer *w, const char *path,
                              uint32_t *crc, uint64_t *len, fs_err *err) {
  if (w->oom)
    return fs_err_set(err, FS_ENOMEM, "%s: out of memory building it", path);
  size_t body = w->len;
  uint8_t *t = grow(w, TRAILER_BYTES);
  if (t == NULL)
    return fs_err_set(err, FS_ENOMEM, "%s: out of memory building it", path);
  memcpy(t, "FEND", 4);
  uint32_t c = crc_of(w->b, body + 4);
  put_le(t + 4, c, 4);
  fs_status st = fs_ckpt_write_atomic(path, w->b, w->len, err);
  w->len = body; /* the writer may be saved again */
  if (crc != NULL)
    *crc = c;
  if (len != NULL)
    *len = body + TRAILER_BYTES;
  return st;
}

static const char *kind_name(uint32_t k) {
  switch (k) {
  case FS_CKPT_MANIFEST:
    return "manifest";
  case FS_CKPT_SERVER:
    return "server state";
  case FS_CKPT_WORKER:
    return "worker state";
  default:
    return "unknown";
  }
}

static fs_status check(fs_ckpt_reader *r, fs_ckpt_kind kind,
                       const uint64_t *cfg_hash, const uint64_t *aggregation,
                       fs_err *err) {
  const char *p = r->path;
  if (r->len < 8 || memcmp(r->b, MAGIC, 8) != 0)
    return fs_err_set(err, r->len < 8 ? FS_ETRUNC : FS_EFORMAT,
                      "%s: not a fedsim checkpoint (no FSCKPT magic)", p);
  if (r->len < FS_CKPT_HEADER_BYTES)
    return fs_err_set(err, FS_ETRUNC, "%s: truncated (%zu bytes, header is %d)",
                      p, r->len, FS_CKPT_HEADER_BYTES);
  uint32_t ver = (uint32_t)get_le(r->b + 8, 4);
  if (ver != FS_CKPT_VERSION)
    return fs_err_set(err, FS_EVERSION,
                      "%s: checkpoint format version %u, this fedsim reads "
                      "version %d",
                      p, ver, FS_CKPT_VERSION);
  if (r->len < FS_CKPT_HEADER_BYTES + TRAILER_BYTES ||
      memcmp(r->b + r->len - TRAILER_BYTES, "FEND", 4) != 0)
    return fs_err_set(err, FS_ETRUNC,
                      "%s: truncated (%zu bytes, no end marker): the write "
                      "did not finish",
                      p, r->len);
  uint32_t want = (uint32_t)get_le(r->b + r->len - 4, 4);
  uint32_t got = crc_of(r->b, r->len - 4);
  if (want != got)
    return fs_err_set(err, FS_EFORMAT,
                      "%s: bad checksum (crc32 0x%08x stored, 0x%08x "
                      "computed): the file is corrupt",
                      p, want, got);
  r->crc = want;
  uint32_t k = (uint32_t)get_le(r->b + 12, 4);
  if (k != (uint32_t)kind)
    return fs_err_set(err, FS_EFORMAT, "%s: holds a %s, expected a %s", p,
                      kind_name(k), kind_name(kind));
  r->hash = get_le(r->b + 16, 8);
  r->agg = get_le(r->b + 24, 8);
  if (cfg_hash != NULL && *cfg_hash != r->hash)
    return fs_err_set(err, FS_EFORMAT,
                      "%s: made with another configuration (hash %016llx, "
                      "expected %016llx)",
                      p, (unsigned long long)r->hash,
                      (unsigned long long)*cfg_hash);
  if (aggregation != NULL && *aggregation != r->agg)
    return fs_err_set(
        err, FS_EFORMAT, "%s: taken after aggregation %llu, expected %llu", p,
        (unsigned long long)r->agg, (unsigned long long)*aggregation);
  size_t pos = FS_CKPT_HEADER_BYTES, end = r->len - TRAILER_BYTES;
  while (pos < end) {
    if (end - pos < 12)
      return fs_err_set(err, FS_EFORMAT, "%s: record header cut at byte %zu", p,
                        pos);
    uint64_t l = get_le(r->b + pos + 4, 8);
    if (l > end - pos - 12)
      return fs_err_set(err, FS_EFORMAT,
                        "%s: record at byte %zu claims %llu bytes, %zu left", p,
                        pos, (unsigned long long)l, end - pos - 12);
    pos += 12 + (size_t)l;
  }
  return FS_OK;
}

fs_status fs_ckpt_reader_open(const char *path, fs_ckpt_kind kind,
                              const uint64_t *cfg_hash,
                              const uint64_t *aggregation, fs_ckpt_reader **out,
                              fs_err *err) {
  *out = NULL;
  fs_ckpt_reader *r = calloc(1, sizeof *r);
  if (r == NULL)
    return fs_err_set(err, FS_ENOMEM, "%s: out of memory", path);
  snprintf(r->path, sizeof r->path, "%s", path);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fs_status st =
        fs_err_set(err, FS_EIO, "cannot open %s: %s", path, strerror(errno));
    free(r);
    return st;
  }
  struct stat sb;
  fs_status st = FS_OK;
  if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
    st = fs_err_set(err, FS_EIO, "cannot read %s: %s", path, strerror(errno));
  } else {
    r->len = (size_t)sb.st_size;
    r->b = malloc(r->len ? r->len : 1);
    if (r->b == NULL)
      st = fs_err_set(err, FS_ENOMEM, "%s: out of memory for %zu bytes", path,
                      r->len);
    else if (r->len > 0 && fread(r->b, 1, r->len, f) != r->len)
      st = fs_err_set(err, FS_EIO, "cannot read %s: short read", path);
  }
  fclose(f);
  if (st == FS_OK)
    st = check(r, kind, cfg_hash, aggregation, err);
  if (st != FS_OK) {
    fs_ckpt_reader_free(r);
    return st;
  }
  *out = r;
  return FS_OK;
}

void fs_ckpt_reader_free(fs_ckpt_reader *r) {
  if (r == NULL)
    return;
  free(r->b);
  free(r);
}

uint64_t fs_ckpt_reader_hash(const fs_ckpt_reader *r) { return r->hash; }
uint64_t fs_ckpt_reader_aggregation(const fs_ckpt_reader *r) { return r->agg; }
uint32_t fs_ckpt_reader_crc(const fs_ckpt_reader *r) { return r->crc; }
uint64_t fs_ckpt_reader_length(const fs_ckpt_reader *r) { return r->len; }

int fs_ckpt_next(const fs_ckpt_reader *r, size_t *pos, uint32_t *tag,
                 const uint8_t **data, size_t *len) {
  size_t p = *pos ? *pos : FS_CKPT_HEADER_BYTES;
  if (p >= r->len - TRAILER_BYTES)
    return 0;
  *tag = (uint32_t)get_le(r->b + p, 4);
  *len = (size_t)get_le(r->b + p + 4, 8); /* bounds checked on open */
  *data = r->b + p + 12;
  *pos = p + 12 + *len;
  return 1;
}

static void tag_text(uint32_t tag, char out[5]) {
  for (int i = 0; i < 4; i++) {
    char ch = (char)(tag >> (8 * i));
    out[i] = ch >= 32 && ch < 127 ? ch : '?';
  }
  out[4] = '\0';
}

fs_status fs_ckpt_get(const fs_ckpt_reader *r, uint32_t tag,
                      const uint8_t **data, size_t *len, fs_err *err) {
  size_t pos = 0;
  uint32_t t;
  while (fs_ckpt_next(r, &pos, &t, data, len))
    if (t == tag)
      return FS_OK;
  char tt[5];
  tag_text(tag, tt);
  return fs_err_set(err, FS_EFORMAT, "%s: no record %s", r->path, tt);
}

static fs_status get_sized(const fs_ckpt_reader *r, uint32_t tag, size_t want,
                           const uint8_t **p, fs_err *err) {
  size_t len;
  fs_status st = fs_ckpt_get(r, tag, p, &len, err);
  if (st != FS_OK)
    return st;
  if (len != want) {
    char tt[5];
    tag_text(tag, tt);
    return fs_err_set(err, FS_EFORMAT, "%s: record %s has %zu bytes, want %zu",
                      r->path, tt, len, want);
  }
  return FS_OK;
}

fs_status fs_ckpt_get_u64s(const fs_ckpt_reader *r, uint32_t tag, uint64_t *v,
                           size_t n, fs_err *err) {
  const uint8_t *p;
  fs_status st = get_sized(r, tag, 8 * n, &p, err);
  for (size_t i = 0; st == FS_OK && i < n; i++)
    v[i] = get_le(p + 8 * i, 8);
  return st;
}

fs_status fs_ckpt_get_f64s(const fs_ckpt_reader *r, uint32_t tag, double *v,
                           size_t n, fs_err *err) {
  const uint8_t *p;
  fs_status st = get_sized(r, tag, 8 * n, &p, err);
  for (size_t i = 0; st == FS_OK && i < n; i++) {
    uint64_t u = get_le(p + 8 * i, 8);
    memcpy(&v[i], &u, 8);
  }
  return st;
}

fs_status fs_ckpt_get_f32s(const fs_ckpt_reader *r, uint32_t tag, float *v,
                           size_t n, fs_err *err) {
  const uint8_t *p;
  fs_status st = get_sized(r, tag, 4 * n, &p, err);
  if (st == FS_OK)
    fs_ckpt_f32s_from(p, v, n);
  return st;
}

fs_status fs_ckpt_get_u64(const fs_ckpt_reader *r, uint32_t tag, uint64_t *v,
                          fs_err *err) {
  return fs_ckpt_get_u64s(r, tag, v, 1, err);
}

fs_status fs_ckpt_get_f64(const fs_ckpt_reader *r, uint32_t tag, double *v,
                          fs_err *err) {
  return fs_ckpt_get_f64s(r, tag, v, 1, err);
}

/* ---- the configuration as text -------------------------------------------
 */

static int volatile_key(const char *k) {
  static const char *const keys[] = {
      "run.resume",           "run.out_dir",         "run.progress",
      "run.checkpoint_every", "run.checkpoint_keep", "run.memory_limit"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (!strcmp(k, keys[i]))
      return 1;
  return 0;
}

typedef struct {
  char *b;
  size_t len, cap;
  int bad;
} sbuf;

static void sb_add(sbuf *s, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (s->bad)
    return;
  if (strchr(b, '\n') != NULL) {
    s->bad = 1;
    return;
  }
  if (s->len + la + lb + 3 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + la + lb + 3)
      cap *= 2;
    char *nb = realloc(s->b, cap);
    if (nb == NULL) {
      s->bad = 1;
      return;
    }
    s->b = nb;
    s->cap = cap;
  }
  memcpy(s->b + s->len, a, la);
  s->b[s->len + la] = '\t';
  memcpy(s->b + s->len + la + 1, b, lb);
  s->len += la + lb + 1;
  s->b[s->len++] = '\n';
  s->b[s->len] = '\0';
}

/* Walk the JSON echo (objects nest at every dot) to list the keys in table
 * order; the values come from fs_config_get. */
static void walk(const cJSON *o, const char *prefix, const fs_config *cfg,
                 sbuf *s) {
  for (const cJSON *c = o->child; c != NULL; c = c->next) {
    char key[FS_CFG_STR];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", c->string);
    if (cJSON_IsObject(c)) {
      walk(c, key, cfg, s);
      continue;
    }
    if (volatile_key(key))
      continue;
    char val[4096];
    if (fs_config_get(cfg, key, val, sizeof val) == FS_OK)
      sb_add(s, key, val);
  }
}

char *fs_ckpt_config_text(const fs_config *cfg) {
  cJSON *j = fs_config_to_json(cfg);
  if (j == NULL)
    return NULL;
  sbuf s = {0};
  walk(j, "", cfg, &s);
  cJSON_Delete(j);
  if (s.bad || s.b == NULL) {
    free(s.b);
    return NULL;
  }
  return s.b;
}

uint64_t fs_ckpt_config_hash(const char *text) {
  uint8_t h[8];
  crypto_generichash(h, sizeof h, (const uint8_t *)text, strlen(text), NULL, 0);
  return get_le(h, 8);
}

fs_status fs_ckpt_config_apply(fs_config *cfg, const char *text, fs_err *err) {
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    const char *tab = memchr(p, '\t', nl ? (size_t)(nl - p) : strlen(p));
    if (nl == NULL || tab == NULL || (size_t)(tab - p) >= FS_CFG_STR ||
        (size_t)(nl - tab) > 4096)
      return fs_err_set(err, FS_ECONFIG,
                        "checkpoint: malformed configuration line");
    char key[FS_CFG_STR], val[4097];
    memcpy(key, p, (size_t)(tab - p));
    key[tab - p] = '\0';
    memcpy(val, tab + 1, (size_t)(nl - tab - 1));
    val[nl - tab - 1] = '\0';
    fs_err e = {0};
    fs_status st = fs_config_set(cfg, key, val, &e);
    if (st != FS_OK)
      return fs_err_set(err, FS_ECONFIG, "checkpoint: configuration key %s: %s",
                        key, fs_err_msg(&e, st));
    p = nl + 1;
  }
  return FS_OK;
}

/* The value of key in a text, or NULL; *vl gets its length. */
static const char *find_val(const char *text, const char *key, size_t kl,
                            size_t *vl) {
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    if (nl == NULL)
      break;
    if ((size_t)(nl - p) > kl && !strncmp(p, key, kl) && p[kl] == '\t') {
      *vl = (size_t)(nl - p - (ptrdiff_t)kl - 1);
      return p + kl + 1;
    }
    p = nl + 1;
  }
  return NULL;
}

/* A value for people: numbers with 15 digits (0.05, not the exact
 * 0.050000000000000003 that the text keeps), anything else as it is. */
static void pretty(const char *v, size_t vl, char *out, size_t len) {
  char t[128];
  if (v == NULL) {
    snprintf(out, len, "absent");
    return;
  }
  if (vl < sizeof t) {
    memcpy(t, v, vl);
    t[vl] = '\0';
    char *end = NULL;
    double d = strtod(t, &end);
    if (vl > 0 && end == t + vl && strchr(t, ',') == NULL) {
      snprintf(out, len, "%.15g", d);
      return;
    }
  }
  snprintf(out, len, "%.*s", (int)vl, v);
}

size_t fs_ckpt_config_diff(const char *saved, const char *now, char *buf,
                           size_t len) {
  size_t n = 0, used = 0;
  if (len > 0)
    buf[0] = '\0';
  const char *p = now;
  while (*p) {
    const char *nl = strchr(p, '\n');
    const char *tab = nl ? memchr(p, '\t', (size_t)(nl - p)) : NULL;
    if (nl == NULL || tab == NULL)
      break;
    size_t kl = (size_t)(tab - p), vl2 = (size_t)(nl - tab - 1), vl1 = 0;
    const char *v1 = find_val(saved, p, kl, &vl1);
    if (v1 == NULL || vl1 != vl2 || strncmp(v1, tab + 1, vl1) != 0) {
      n++;
      char a[160], b[160];
      pretty(v1, vl1, a, sizeof a);
      pretty(tab + 1, vl2, b, sizeof b);
      if (used < len)
        used += (size_t)snprintf(buf + used, len - used,
                                 "%s%.*s (%s in the checkpoint, %s now)",
                                 n > 1 ? ", " : "", (int)kl, p, a, b);
    }
    p = nl + 1;
  }
  return n;
}
