/*
 * server_ckpt.c — checkpoints of a run, driven by the server (see
 * server_ckpt.h): the save protocol with the workers, the MANIFEST, finding
 * and restoring a checkpoint, the configuration of a resumed run, signals,
 * and the memory estimate made before a run starts.
 */
#include "server_ckpt.h"
#include "clip.h"
#include "ef.h"

#include "ckpt.h"
#include "frame.h"
#include "metrics.h"
#include "optim.h"
#include "strategy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define R_MLEN FS_CKPT_TAG('M', 'L', 'E', 'N') /* u64 metrics.csv bytes */
#define R_MCRC FS_CKPT_TAG('M', 'C', 'R', 'C') /* u64 crc32 of those bytes */
#define R_RANK FS_CKPT_TAG('R', 'A', 'N', 'K') /* u64 ranks that wrote it */
#define R_EVRY FS_CKPT_TAG('E', 'V', 'R', 'Y') /* u64 run.checkpoint_every */
#define R_KEEP FS_CKPT_TAG('K', 'E', 'E', 'P') /* u64 run.checkpoint_keep */

enum { OP_SAVE = 1, OP_RESTORE = 2 };

volatile sig_atomic_t fs_ckpt_stop_requested = 0;
int fs_ckpt_interrupted = 0;

/* The first SIGINT or SIGTERM asks for a stop at the next boundary. A
 * second SIGINT (Ctrl-C twice) kills at once; repeated SIGTERMs do not:
 * under Slurm a task gets SIGTERM both from slurmstepd and through srun,
 * and Slurm itself sends SIGKILL after KillWait. */
static char hint[1400];
static size_t hint_len;

void fs_ckpt_set_resume_hint(const char *run_dir) {
  int n = snprintf(hint, sizeof hint,
                   "fedsim: signal received: stopping after the aggregation "
                   "under way with a checkpoint. If the run is killed first "
                   "(a rank or host lost, mpirun's or Slurm's SIGKILL), "
                   "continue from its last complete checkpoint with: fedsim "
                   "--resume %s\n",
                   run_dir);
  hint_len = n > 0 && (size_t)n < sizeof hint ? (size_t)n : 0;
}

static void on_signal(int sig) {
  if (sig == SIGINT && fs_ckpt_stop_requested == SIGINT) {
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  if (fs_ckpt_stop_requested == 0) {
    fs_ckpt_stop_requested = sig;
    if (hint_len > 0) { /* write(2) is async-signal-safe; printf is not */
      ssize_t w = write(STDERR_FILENO, hint, hint_len);
      (void)w;
    }
  }
}

void fs_ckpt_install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  int sigs[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    struct sigaction old;
    /* A signal ignored by whoever started us (nohup, a background job of
     * a script) stays ignored. */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaction(sigs[i], &sa, NULL);
  }
}

/* ---- helpers ---------------------------------------------------------- */

static fs_status config_hash(const fs_config *cfg, uint64_t *h, char **text,
                             fs_err *err) {
  char *t = fs_ckpt_config_text(cfg);
  if (t == NULL)
    return fs_err_set(err, FS_ENOMEM,
                      "checkpoint: cannot write the configuration (out of "
                      "memory, or a value holds a newline)");
  *h = fs_ckpt_config_hash(t);
  if (text != NULL)
    *text = t;
  else
    free(t);
  return FS_OK;
}

/* crc32 and length of the first `want` bytes of a file (all if want is
 * UINT64_MAX); fsyncs it first. */
static fs_status file_prefix(const char *path, uint64_t want, uint64_t *len,
                             uint32_t *crc, fs_err *err) {
  int fd = open(path, O_RDWR);
  if (fd < 0)
    return fs_err_set(err, FS_EIO, "cannot open %s: %s", path, strerror(errno));
  fsync(fd);
  uLong c = crc32(0L, Z_NULL, 0);
  uint64_t n = 0;
  uint8_t buf[65536];
  while (n < want) {
    size_t step = want - n < sizeof buf ? (size_t)(want - n) : sizeof buf;
    ssize_t r = read(fd, buf, step);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      return fs_err_set(err, FS_EIO, "cannot read %s: %s", path, strerror(e));
    }
    if (r == 0)
      break;
    c = crc32(c, buf, (uInt)r);
    n += (uint64_t)r;
  }
  close(fd);
  *len = n;
  *crc = (uint32_t)c;
  return FS_OK;
}

static fs_sealer *ckpt_seal; /* secure.seal: the server's sealer */

void fs_ckpt_set_sealer(fs_sealer *s) { ckpt_seal = s; }

/* Send op to every worker, then wait for each CHECKPOINT_DONE; for a save,
 * add a FILE record per worker to the manifest writer m. */
static fs_status tell_workers(fs_transport *t, int op, const char *dir,
                              uint64_t agg, fs_ckpt_writer *m, fs_err *err) {
  size_t dl = strlen(dir);
  uint8_t frame[FS_FRAME_HEADER_BYTES + 1 + 1024];
  if (dl > 1000)
    return fs_err_set(err, FS_EINVAL, "checkpoint folder name too long: %s",
                      dir);
  fs_frame_header h = {.type = FS_MSG_CHECKPOINT,
                       .encoding = FS_PL_NONE,
                       .round = (uint32_t)agg,
                       .body_len = (uint32_t)(1 + dl)};
  fs_frame_header_encode(&h, frame);
  frame[FS_FRAME_HEADER_BYTES] = (uint8_t)op;
  memcpy(frame + FS_FRAME_HEADER_BYTES + 1, dir, dl);
  fs_iov iov = {frame, FS_FRAME_HEADER_BYTES + 1 + dl};
  int W = fs_transport_workers(t);
  for (int k = 0; k < W; k++) {
    int dest = fs_transport_is_local(t) ? 0 : k + 1;
    if (ckpt_seal != NULL) {
      /* Sealed like SHUTDOWN, in the session of the worker's first client
       * (whose id the header names); the reply comes back in it. */
      h.client = (uint32_t)k;
      fs_frame_header_encode(&h, frame);
    }
    fs_status st =
        fs_sealer_post(ckpt_seal, t, FS_ROLE_SERVER, dest, &iov, 1, 1, err);
    if (st != FS_OK)
      return st;
  }
  fs_status st = fs_transport_flush(t, err);
  fs_status first = FS_OK;
  for (int k = 0; k < W && st == FS_OK; k++) {
    fs_sealed_frame f;
    st = fs_sealer_recv(ckpt_seal, t, FS_ROLE_SERVER, 1, &f, err);
    if (st == FS_OK && f.refused != FS_OK)
      st = fs_err_set(err, f.refused, "%s", f.why.msg);
    if (st != FS_OK)
      break;
    int src = f.src;
    const uint8_t *buf = f.frame;
    size_t len = f.len;
    fs_frame_header rh;
    if ((st = fs_frame_header_decode(buf, len, &rh, err)) != FS_OK)
      break;
    if (rh.type != FS_MSG_CHECKPOINT_DONE || rh.body_len < 16 ||
        rh.round != (uint32_t)agg) {
      st = fs_err_set(err, FS_EFORMAT,
                      "server: unexpected %s frame from rank %d while waiting "
                      "for checkpoint replies",
                      fs_msg_type_name(rh.type), src);
      break;
    }
    const uint8_t *b = buf + FS_FRAME_HEADER_BYTES;
    uint32_t wst = fs_ckpt_le32(b), crc = fs_ckpt_le32(b + 4);
    uint64_t flen = fs_ckpt_le32(b + 8) | (uint64_t)fs_ckpt_le32(b + 12) << 32;
    if (wst != FS_OK) {
      /* Keep the first failure, but collect every reply. */
      if (first == FS_OK)
        first =
            fs_err_set(err, wst < FS__STATUS_COUNT ? (fs_status)wst : FS_EIO,
                       "rank %d: %.*s", src,
                       (int)(rh.body_len - 16 > 400 ? 400 : rh.body_len - 16),
                       (const char *)b + 16);
      continue;
    }
    if (m != NULL) {
      char name[32];
      int nl = snprintf(name, sizeof name, "worker-%04d.bin", src);
      uint8_t rec[12 + 32];
      for (int i = 0; i < 4; i++)
        rec[i] = (uint8_t)(crc >> (8 * i));
      for (int i = 0; i < 8; i++)
        rec[4 + i] = (uint8_t)(flen >> (8 * i));
      memcpy(rec + 12, name, (size_t)nl);
      fs_ckpt_put(m, FS_CKR_FILE, rec, 12 + (size_t)nl);
    }
  }
  return st != FS_OK ? st : first;
}

static void put_fields(fs_ckpt_writer *w, const fs_ckpt_field *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (f[i].type) {
    case FS_F_U64:
    case FS_F_I64:
      fs_ckpt_put_u64s(w, f[i].tag, f[i].ptr, f[i].n);
      break;
    case FS_F_F64:
      fs_ckpt_put_f64s(w, f[i].tag, f[i].ptr, f[i].n);
      break;
    case FS_F_F32:
      fs_ckpt_put_f32s(w, f[i].tag, f[i].ptr, f[i].n);
      break;
    case FS_F_U32: {
      /* As floats' bits: same width, same byte order. */
      fs_ckpt_put_f32s(w, f[i].tag, f[i].ptr, f[i].n);
      break;
    }
    case FS_F_U8:
      fs_ckpt_put(w, f[i].tag, f[i].ptr, f[i].n);
      break;
    }
  }
}

static fs_status get_fields(const fs_ckpt_reader *r, const fs_ckpt_field *f,
                            size_t n, fs_err *err) {
  fs_status st = FS_OK;
  for (size_t i = 0; i < n && st == FS_OK; i++) {
    switch (f[i].type) {
    case FS_F_U64:
    case FS_F_I64:
      st = fs_ckpt_get_u64s(r, f[i].tag, f[i].ptr, f[i].n, err);
      break;
    case FS_F_F64:
      st = fs_ckpt_get_f64s(r, f[i].tag, f[i].ptr, f[i].n, err);
      break;
    case FS_F_F32:
    case FS_F_U32:
      st = fs_ckpt_get_f32s(r, f[i].tag, f[i].ptr, f[i].n, err);
      break;
    case FS_F_U8: {
      const uint8_t *p;
      size_t len;
      st = fs_ckpt_get(r, f[i].tag, &p, &len, err);
      if (st == FS_OK && len != f[i].n)
        st = fs_err_set(err, FS_EFORMAT,
                        "server state: a record has %zu bytes, want %zu", len,
                        f[i].n);
      if (st == FS_OK)
        memcpy(f[i].ptr, p, len);
      break;
    }
    }
  }
  return st;
}

/* Aggregation number of a folder name "agg-NNNNNNNN", or -1. */
static long long agg_of(const char *name) {
  if (strncmp(name, "agg-", 4) != 0 || name[4] == '\0')
    return -1;
  char *end = NULL;
  long long v = strtoll(name + 4, &end, 10);
  return end != NULL && *end == '\0' && v >= 0 ? v : -1;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char p[1400];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static int has_manifest(const char *dir) {
  char p[1400];
  snprintf(p, sizeof p, "%s/MANIFEST", dir);
  return access(p, F_OK) == 0;
}

static int cmp_ll_desc(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x < y) - (x > y);
}

/* The aggregations of run_dir/checkpoints/agg-* folders, newest first
 * (malloc'ed; *n of them). */
static long long *list_aggs(const char *root, size_t *n) {
  *n = 0;
  DIR *d = opendir(root);
  if (d == NULL)
    return NULL;
  size_t cap = 16;
  long long *v = malloc(cap * sizeof *v);
  struct dirent *e;
  while (v != NULL && (e = readdir(d)) != NULL) {
    long long a = agg_of(e->d_name);
    if (a < 0)
      continue;
    if (*n == cap) {
      long long *nv = realloc(v, 2 * cap * sizeof *v);
      if (nv == NULL)
        break;
      v = nv;
      cap *= 2;
    }
    v[(*n)++] = a;
  }
  closedir(d);
  if (v != NULL)
    qsort(v, *n, sizeof *v, cmp_ll_desc);
  return v;
}

/* Remove complete checkpoints beyond `keep` (newest first) and incomplete
 * ones older than the newest complete one. */
static void prune(const char *root, long long newest, int64_t keep) {
  size_t n;
  long long *v = list_aggs(root, &n);
  int64_t complete = 0;
  char dir[1200];
  for (size_t i = 0; v != NULL && i < n; i++) {
    snprintf(dir, sizeof dir, "%s/agg-%08lld", root, v[i]);
    if (v[i] > newest)
      continue;
    if (has_manifest(dir)) {
      complete++;
      if (keep > 0 && complete > keep)
        remove_dir(dir);
    } else if (v[i] < newest) {
      remove_dir(dir);
    }
  }
  free(v);
}

/* ---- save --------------------------------------------------------------- */

fs_status fs_ckpt_save_run(fs_transport *t, const fs_config *cfg,
                           const char *run_dir, uint64_t agg,
                           const fs_ckpt_field *fields, size_t n,
                           fs_ckpt_save_fn extra, void *ctx, fs_err *err) {
  char root[1100], dir[1200], path[1300];
  snprintf(root, sizeof root, "%s/checkpoints", run_dir);
  snprintf(dir, sizeof dir, "%s/agg-%08llu", root, (unsigned long long)agg);
  fs_status st = fs_mkdir_p(dir, err);
  if (st != FS_OK)
    return st;
  /* A MANIFEST left by an earlier run at this aggregation would vouch for
   * files about to be replaced: remove it first. */
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  if (unlink(path) != 0 && errno != ENOENT)
    return fs_err_set(err, FS_EIO, "cannot remove %s: %s", path,
                      strerror(errno));
  uint64_t hash = 0;
  char *text = NULL;
  if ((st = config_hash(cfg, &hash, &text, err)) != FS_OK)
    return st;
  fs_ckpt_writer *m = fs_ckpt_writer_new(FS_CKPT_MANIFEST, hash, agg);
  fs_ckpt_writer *s = fs_ckpt_writer_new(FS_CKPT_SERVER, hash, agg);
  if (m == NULL || s == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "checkpoint: out of memory");
    goto out;
  }
  fs_ckpt_put(m, FS_CKR_CONF, text, strlen(text));
  fs_ckpt_put_u64(m, R_RANK, (uint64_t)fs_transport_size(t));
  /* Not part of the configuration's hash (a resume may change them), but
   * a resume without them keeps them. */
  fs_ckpt_put_u64(m, R_EVRY, (uint64_t)cfg->checkpoint_every);
  fs_ckpt_put_u64(m, R_KEEP, (uint64_t)cfg->checkpoint_keep);
  if ((st = tell_workers(t, OP_SAVE, dir, agg, m, err)) != FS_OK)
    goto out;
  put_fields(s, fields, n);
  if (extra != NULL && (st = extra(ctx, s, err)) != FS_OK)
    goto out;
  uint32_t crc;
  uint64_t len;
  snprintf(path, sizeof path, "%s/server.bin", dir);
  if ((st = fs_ckpt_writer_save(s, path, &crc, &len, err)) != FS_OK)
    goto out;
  uint8_t rec[12 + 16];
  for (int i = 0; i < 4; i++)
    rec[i] = (uint8_t)(crc >> (8 * i));
  for (int i = 0; i < 8; i++)
    rec[4 + i] = (uint8_t)(len >> (8 * i));
  memcpy(rec + 12, "server.bin", 10);
  fs_ckpt_put(m, FS_CKR_FILE, rec, 22);
  /* The metrics so far: their length and crc32, so a resume can cut the
   * rows written after this point and check the ones before. */
  snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
  uint64_t mlen;
  uint32_t mcrc;
  if ((st = file_prefix(path, UINT64_MAX, &mlen, &mcrc, err)) != FS_OK)
    goto out;
  fs_ckpt_put_u64(m, R_MLEN, mlen);
  fs_ckpt_put_u64(m, R_MCRC, mcrc);
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  if ((st = fs_ckpt_writer_save(m, path, NULL, NULL, err)) != FS_OK)
    goto out;
  prune(root, (long long)agg, cfg->checkpoint_keep);
  printf("fedsim: checkpoint after aggregation %llu in %s\n",
         (unsigned long long)agg, dir);
  fflush(stdout);
out:
  if (st != FS_OK)
    remove_dir(dir); /* no MANIFEST: unusable, and it takes room */
  free(text);
  fs_ckpt_writer_free(m);
  fs_ckpt_writer_free(s);
  return st;
}

/* ---- find and resume ---------------------------------------------------- */

static fs_status open_manifest(const char *dir, fs_ckpt_reader **r,
                               fs_err *err) {
  char path[1300];
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  return fs_ckpt_reader_open(path, FS_CKPT_MANIFEST, NULL, NULL, r, err);
}

fs_status fs_ckpt_find(const char *from, char *ckpt_dir, size_t ckpt_len,
                       char *run_dir, size_t run_len, uint64_t *agg,
                       char **cfg_text, fs_err *err) {
  struct stat sb;
  if (stat(from, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return fs_err_set(err, FS_EINVAL, "--resume %s: no such folder", from);
  char root[1100];
  if (has_manifest(from)) {
    /* A checkpoint folder: RUN/checkpoints/agg-N. */
    snprintf(ckpt_dir, ckpt_len, "%s", from);
    snprintf(run_dir, run_len, "%s/../..", from);
  } else {
    snprintf(root, sizeof root, "%s/checkpoints", from);
    size_t n;
    long long *v = list_aggs(root, &n);
    size_t i = 0;
    for (; v != NULL && i < n; i++) {
      snprintf(ckpt_dir, ckpt_len, "%s/agg-%08lld", root, v[i]);
      if (has_manifest(ckpt_dir))
        break;
      fprintf(stderr,
              "fedsim: %s has no MANIFEST (a checkpoint cut short): not "
              "used\n",
              ckpt_dir);
    }
    int found = v != NULL && i < n;
    free(v);
    if (!found)
      return fs_err_set(err, FS_EINVAL,
                        "--resume %s: no complete checkpoint in %s (was the "
                        "run started with --checkpoint-every K?)",
                        from, root);
    snprintf(run_dir, run_len, "%s", from);
  }
  fs_ckpt_reader *r = NULL;
  fs_status st = open_manifest(ckpt_dir, &r, err);
  if (st != FS_OK) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
    return fs_err_set(err, st,
                      "%s (resume from an older checkpoint with --resume "
                      "%s/../agg-N)",
                      msg, ckpt_dir);
  }
  const uint8_t *p;
  size_t len;
  st = fs_ckpt_get(r, FS_CKR_CONF, &p, &len, err);
  if (st == FS_OK) {
    *cfg_text = malloc(len + 1);
    if (*cfg_text == NULL) {
      st = fs_err_set(err, FS_ENOMEM, "out of memory");
    } else {
      memcpy(*cfg_text, p, len);
      (*cfg_text)[len] = '\0';
      *agg = fs_ckpt_reader_aggregation(r);
      if (fs_ckpt_config_hash(*cfg_text) != fs_ckpt_reader_hash(r)) {
        free(*cfg_text);
        *cfg_text = NULL;
        st = fs_err_set(err, FS_EFORMAT,
                        "%s/MANIFEST: its configuration does not match its "
                        "hash",
                        ckpt_dir);
      }
    }
  }
  fs_ckpt_reader_free(r);
  return st;
}

fs_status fs_ckpt_resume_config(fs_config *cfg, fs_err *err) {
  char ckpt[1100], run[1100];
  uint64_t agg;
  char *saved = NULL;
  fs_status st = fs_ckpt_find(cfg->resume, ckpt, sizeof ckpt, run, sizeof run,
                              &agg, &saved, err);
  if (st != FS_OK)
    return st;
  /* Keys the command line set: those whose value differs from the
   * defaults. Each must agree with the checkpoint. */
  fs_config def, res;
  fs_config_defaults(&def);
  fs_config_defaults(&res);
  char *t_def = fs_ckpt_config_text(&def), *t_cmd = fs_ckpt_config_text(cfg);
  if ((st = fs_ckpt_config_apply(&res, saved, err)) != FS_OK)
    goto out;
  if (t_def == NULL || t_cmd == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "out of memory");
    goto out;
  }
  /* Lines of t_cmd not in t_def were set; compare them to the saved text. */
  char given[1 << 16];
  size_t gl = 0;
  for (const char *p = t_cmd; *p;) {
    const char *nl = strchr(p, '\n');
    size_t l = (size_t)(nl - p) + 1;
    int in_def = 0;
    for (const char *q = t_def; *q;) {
      const char *nq = strchr(q, '\n');
      if ((size_t)(nq - q) + 1 == l && !strncmp(p, q, l)) {
        in_def = 1;
        break;
      }
      q = nq + 1;
    }
    if (!in_def && gl + l < sizeof given) {
      memcpy(given + gl, p, l);
      gl += l;
    }
    p = nl + 1;
  }
  given[gl] = '\0';
  char diff[2048];
  size_t nd = fs_ckpt_config_diff(saved, given, diff, sizeof diff);
  if (nd > 0) {
    st = fs_err_set(err, FS_ECONFIG,
                    "--resume %s: the command line changes %zu setting%s of "
                    "the checkpointed run: %s (leave them out to resume)",
                    cfg->resume, nd, nd > 1 ? "s" : "", diff);
    goto out;
  }
  /* The resumed configuration, with the keys a resume may change. */
  snprintf(res.resume, sizeof res.resume, "%s", cfg->resume);
  if (strlen(run) >= sizeof res.out_dir) {
    st = fs_err_set(err, FS_ECONFIG, "--resume: folder name too long: %s", run);
    goto out;
  }
  memcpy(res.out_dir, run, strlen(run) + 1);
  res.progress = cfg->progress;
  res.checkpoint_every = cfg->checkpoint_every;
  res.checkpoint_keep = cfg->checkpoint_keep;
  {
    /* Checkpoint cadence and retention not given anew: as before. */
    char path[1200];
    snprintf(path, sizeof path, "%s/MANIFEST", ckpt);
    fs_ckpt_reader *m = NULL;
    uint64_t v;
    if (fs_ckpt_reader_open(path, FS_CKPT_MANIFEST, NULL, NULL, &m, NULL) ==
        FS_OK) {
      if (cfg->checkpoint_every == def.checkpoint_every &&
          fs_ckpt_get_u64(m, R_EVRY, &v, NULL) == FS_OK && v <= 1000000000)
        res.checkpoint_every = (int64_t)v;
      if (cfg->checkpoint_keep == def.checkpoint_keep &&
          fs_ckpt_get_u64(m, R_KEEP, &v, NULL) == FS_OK && v <= 1000000000)
        res.checkpoint_keep = (int64_t)v;
      fs_ckpt_reader_free(m);
    }
  }
  res.memory_limit = cfg->memory_limit;
  *cfg = res;
out:
  free(saved);
  free(t_def);
  free(t_cmd);
  return st;
}

fs_status fs_ckpt_restore_run(fs_transport *t, const fs_config *cfg,
                              const char *ckpt_dir, const char *run_dir,
                              uint64_t agg, const fs_ckpt_field *fields,
                              size_t n, fs_ckpt_load_fn extra, void *ctx,
                              fs_err *err) {
  uint64_t hash;
  fs_status st = config_hash(cfg, &hash, NULL, err);
  if (st != FS_OK)
    return st;
  fs_ckpt_reader *m = NULL, *s = NULL;
  char path[1300];
  snprintf(path, sizeof path, "%s/MANIFEST", ckpt_dir);
  if ((st = fs_ckpt_reader_open(path, FS_CKPT_MANIFEST, &hash, &agg, &m,
                                err)) != FS_OK)
    return st;
  snprintf(path, sizeof path, "%s/server.bin", ckpt_dir);
  st = fs_ckpt_reader_open(path, FS_CKPT_SERVER, &hash, &agg, &s, err);
  if (st == FS_OK)
    st = get_fields(s, fields, n, err);
  if (st == FS_OK && extra != NULL)
    st = extra(ctx, s, err);
  uint64_t mlen = 0, mcrc = 0;
  if (st == FS_OK)
    st = fs_ckpt_get_u64(m, R_MLEN, &mlen, err);
  if (st == FS_OK)
    st = fs_ckpt_get_u64(m, R_MCRC, &mcrc, err);
  if (st == FS_OK) {
    /* Cut metrics.csv back to the checkpoint's rows, after checking them. */
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    uint64_t have;
    uint32_t crc;
    st = file_prefix(path, mlen, &have, &crc, err);
    if (st == FS_OK && (have != mlen || crc != (uint32_t)mcrc))
      st = fs_err_set(err, FS_EFORMAT,
                      "%s: its first %llu bytes are not the rows the "
                      "checkpoint saw (%llu bytes, crc32 %08x; the checkpoint "
                      "says %08x)",
                      path, (unsigned long long)mlen, (unsigned long long)have,
                      crc, (unsigned)mcrc);
    if (st == FS_OK && truncate(path, (off_t)mlen) != 0)
      st = fs_err_set(err, FS_EIO, "cannot cut %s back: %s", path,
                      strerror(errno));
  }
  if (st == FS_OK)
    st = tell_workers(t, OP_RESTORE, ckpt_dir, agg, NULL, err);
  fs_ckpt_reader_free(m);
  fs_ckpt_reader_free(s);
  if (st == FS_OK) {
    printf("fedsim: resumed after aggregation %llu from %s\n",
           (unsigned long long)agg, ckpt_dir);
    fflush(stdout);
  }
  return st;
}

/* ---- memory ------------------------------------------------------------- */

static double available_bytes(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (f == NULL)
    return 0;
  char line[256];
  double kb = 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
      break;
  fclose(f);
  return kb * 1024.0;
}

static void human(double b, char *buf, size_t len) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024.0 && i < 4) {
    b /= 1024.0;
    i++;
  }
  snprintf(buf, len, "%.1f %s", b, u[i]);
}

fs_status fs_ckpt_memory_check(const fs_config *cfg, size_t dim,
                               double data_bytes, int ranks, int local_ranks,
                               double *est_server, double *est_worker,
                               fs_err *err) {
  double d = (double)dim, N = (double)cfg->clients;
  double W = ranks > 1 ? (double)(ranks - 1) : 1.0;
  /* Per-client buffers unless the strategy runs synchronous rounds on the
   * shared state (fedavg); moments for optimisers that keep them. */
  const fs_strategy *row = fs_strategy_at((size_t)cfg->strategy);
  const fs_optim *opt = fs_optim_at((size_t)cfg->server_optimizer);
  int async = row->loop == NULL || (row->flags & FS_STRATEGY_ASYNC);
  int ef = (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_MEMORY) != 0;
  int dice =
      (fs_clip_mode_at((size_t)cfg->dp_clip)->flags & FS_CLIP_MEMORY) != 0;
  int mom = opt == NULL || (opt->flags & FS_OPTIM_MOMENTS);
  int bc = cfg->comp_down != FS_CFG_COMP_IDENTITY;
  double K =
      cfg->sampling == FS_CFG_SAMPLING_POISSON ? N : (double)cfg->per_round;
  /* Server: x, gradients, body (4 d each), acc (8 d), EF21 g, optimiser
   * moments, EF21-BC b; decoded updates (up to 8 d each as sparse pairs,
   * 4 d dense): one per sampled client, or per client when asynchronous;
   * about 80 bytes of bookkeeping per client. */
  double srv = 4 * 4 * d + 8 * d + (ef ? 8 * d : 0) + (mom ? 16 * d : 0) +
               (bc ? 8 * d : 0) + (async ? N : K) * 4 * d + 80 * N;
  /* Worker: its clients' rows (a copy of its share of the data), scratch
   * of about 8 d, and per hosted client the error-feedback vector and the
   * DiceSGD buffer (4 d each). */
  double hosted = ceil(N / W);
  double wrk = data_bytes / W + 8 * 4 * d +
               hosted * ((ef ? 4 * d : 0) + (dice ? 4 * d : 0) + 16);
  /* Every rank also holds the whole data set (it is built on each). */
  srv += data_bytes;
  wrk += data_bytes;
  if (est_server != NULL)
    *est_server = srv;
  if (est_worker != NULL)
    *est_worker = wrk;
  double per_rank = ranks > 1 ? (srv > wrk ? srv : wrk) : srv + wrk;
  double limit = cfg->memory_limit, need = per_rank;
  const char *what = "run.memory_limit";
  if (limit <= 0) {
    /* The ranks on this machine share its available memory. */
    limit = available_bytes();
    need = per_rank * (local_ranks > 0 ? local_ranks : 1);
    what = "the memory available on this machine";
  }
  if (limit > 0 && need > limit) {
    char a[32], b[32], c[32], e[32];
    human(need, a, sizeof a);
    human(limit, b, sizeof b);
    human(srv, c, sizeof c);
    human(wrk, e, sizeof e);
    return fs_err_set(
        err, FS_ERANGE,
        "this run needs about %s (server %s, each of %d worker%s %s, for %lld "
        "clients of %zu parameters) but %s is %s: use more ranks or hosts, "
        "fewer clients, or a smaller model (docs/reliability.md)",
        a, c, ranks > 1 ? ranks - 1 : 1, ranks > 2 ? "s" : "", e,
        (long long)cfg->clients, dim, what, b);
  }
  return FS_OK;
}
