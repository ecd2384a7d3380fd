/*
 * metrics.c — metrics.csv rows and atomic file writes.
 *
 * Numbers are printed with enough digits to tell two runs apart: %.17g for
 * doubles, so bit-identical runs give byte-identical files.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fs_metrics {
  FILE *f;
  char path[1024];
};

fs_status fs_mkdir_p(const char *path, fs_err *err) {
  char buf[1024];
  if (strlen(path) >= sizeof buf || path[0] == '\0')
    return fs_err_set(err, FS_EINVAL, "bad folder name '%s'", path);
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return fs_err_set(err, FS_EIO, "cannot create folder %s: %s", buf,
                        strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return fs_err_set(err, FS_EIO, "cannot create folder %s: %s", buf,
                      strerror(errno));
  struct stat sb;
  if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return fs_err_set(err, FS_EIO, "%s is not a folder", buf);
  return FS_OK;
}

fs_status fs_write_file_atomic(const char *path, const void *data, size_t len,
                               fs_err *err) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0)
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", tmp, strerror(errno));
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return fs_err_set(err, FS_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", tmp, strerror(e));
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", path, strerror(e));
  }
  return FS_OK;
}

fs_status fs_metrics_open(const char *dir, fs_metrics **out, fs_err *err) {
  *out = NULL;
  fs_metrics *m = calloc(1, sizeof *m);
  if (m == NULL)
    return fs_err_set(err, FS_ENOMEM, "metrics: out of memory");
  snprintf(m->path, sizeof m->path, "%s/metrics.csv", dir);
  m->f = fopen(m->path, "w");
  if (m->f == NULL) {
    fs_status st = fs_err_set(err, FS_EIO, "cannot create %s: %s", m->path,
                              strerror(errno));
    free(m);
    return st;
  }
  if (fprintf(m->f, "%s\n", FS_METRICS_COLUMNS) < 0 || fflush(m->f) != 0) {
    fs_status st = fs_err_set(err, FS_EIO, "cannot write %s: %s", m->path,
                              strerror(errno));
    fclose(m->f);
    free(m);
    return st;
  }
  *out = m;
  return FS_OK;
}

fs_status fs_metrics_open_append(const char *dir, fs_metrics **out,
                                 fs_err *err) {
  *out = NULL;
  fs_metrics *m = calloc(1, sizeof *m);
  if (m == NULL)
    return fs_err_set(err, FS_ENOMEM, "metrics: out of memory");
  snprintf(m->path, sizeof m->path, "%s/metrics.csv", dir);
  m->f = fopen(m->path, "a");
  if (m->f == NULL) {
    fs_status st = fs_err_set(err, FS_EIO, "cannot append to %s: %s", m->path,
                              strerror(errno));
    free(m);
    return st;
  }
  *out = m;
  return FS_OK;
}

void fs_metrics_format(const fs_metrics_row *r, char *buf, size_t len) {
  char ev[160] = ",,", gn[40] = "";
  if (r->has_eval)
    snprintf(ev, sizeof ev, "%.17g,%.17g,%.17g", r->train_loss, r->test_loss,
             r->test_acc);
  if (r->has_grad)
    snprintf(gn, sizeof gn, "%.17g", r->grad_norm_sq);
  char ep[40] = "";
  if (r->has_eps)
    snprintf(ep, sizeof ep, "%.17g", r->epsilon);
  char gc[80] = ",,";
  if (r->has_gc)
    snprintf(gc, sizeof gc, r->gc_exact < 0 ? "%.17g,%u," : "%.17g,%u,%d",
             r->gc_load, r->gc_stragglers, r->gc_exact);
  char sa[64] = ",";
  if (r->has_sa)
    snprintf(sa, sizeof sa, "%llu,%.3f", (unsigned long long)r->bits_secagg,
             r->secagg_ms);
  snprintf(buf, len,
           "%llu,%.17g,%.6f,%u,%llu,%llu,%llu,%llu,%s,%s,%llu,%.17g,%u,%s,%llu,"
           "%s,%s,%llu",
           (unsigned long long)r->round, r->vtime_s, r->wall_s, r->clients,
           (unsigned long long)r->bits_up, (unsigned long long)r->bits_down,
           (unsigned long long)r->bits_up_cum,
           (unsigned long long)r->bits_down_cum, ev, gn,
           (unsigned long long)r->bits_up_paper_cum, r->staleness_mean,
           r->staleness_max, ep, (unsigned long long)r->rejected_nonfinite, gc,
           sa, (unsigned long long)r->rejected_frames);
}

fs_status fs_metrics_write(fs_metrics *m, const fs_metrics_row *row,
                           fs_err *err) {
  char buf[512];
  fs_metrics_format(row, buf, sizeof buf);
  if (fprintf(m->f, "%s\n", buf) < 0 || fflush(m->f) != 0)
    return fs_err_set(err, FS_EIO, "cannot write %s: %s", m->path,
                      strerror(errno));
  return FS_OK;
}

void fs_metrics_close(fs_metrics *m) {
  if (m == NULL)
    return;
  if (m->f != NULL)
    fclose(m->f);
  free(m);
}
