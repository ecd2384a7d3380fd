/*
 * profile.c — per-client system profiles (see profile.h) and job durations.
 *
 * Distribution draws use the stream (seed, FS_RNG_PROFILE, client, 0), one
 * draw per quantity in the fixed order speed, bw_up, bw_down, latency.
 * lognormal: mean * exp(sigma*Z - sigma^2/2), so the configured value is the
 * mean; uniform: mean * (1 + spread*(2U - 1)), clamped to stay positive;
 * exponential: mean * Exp(1) (spread unused).
 */
#include "profile.h"

#include "fs_rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fs_profiles {
  fs_profile_spec spec;
  size_t clients;
  fs_profile *table; /* from a trace, or NULL */
};

fs_status fs_dist_parse(const char *s, fs_dist *out) {
  if (!strcmp(s, "constant"))
    *out = FS_DIST_CONSTANT;
  else if (!strcmp(s, "uniform"))
    *out = FS_DIST_UNIFORM;
  else if (!strcmp(s, "lognormal"))
    *out = FS_DIST_LOGNORMAL;
  else if (!strcmp(s, "exponential"))
    *out = FS_DIST_EXPONENTIAL;
  else
    return FS_EINVAL;
  return FS_OK;
}

static double draw(const fs_profile_spec *s, fs_rng *r, double mean) {
  switch (s->dist) {
  case FS_DIST_CONSTANT:
    return mean;
  case FS_DIST_UNIFORM: {
    double v = mean * (1.0 + s->spread * (2.0 * fs_rng_uniform(r) - 1.0));
    return v > mean * 1e-3 ? v : mean * 1e-3;
  }
  case FS_DIST_LOGNORMAL:
    return mean *
           exp(s->spread * fs_rng_normal(r) - 0.5 * s->spread * s->spread);
  case FS_DIST_EXPONENTIAL:
    return -mean * log(fs_rng_uniform_pos(r));
  }
  return mean;
}

static fs_status load_trace(fs_profiles *p, const char *path, fs_err *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return fs_err_set(err, FS_EIO, "%s: cannot open: %s", path,
                      strerror(errno));
  fs_status st = FS_OK;
  unsigned char *seen = calloc(p->clients ? p->clients : 1, 1);
  p->table = calloc(p->clients ? p->clients : 1, sizeof *p->table);
  if (seen == NULL || p->table == NULL) {
    st = fs_err_set(err, FS_ENOMEM, "%s: out of memory", path);
    goto out;
  }
  char line[1024];
  size_t lineno = 0, rows = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    lineno++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      st = fs_err_set(err, FS_EFORMAT, "%s:%zu: line too long", path, lineno);
      goto out;
    }
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (*s == '\n' || *s == '\r' || *s == '\0' || *s == '#')
      continue;
    if (lineno == 1 || !strncmp(s, "client", 6)) {
      if (strncmp(s, "client,speed,bw_up,bw_down,latency", 34) != 0) {
        st = fs_err_set(err, FS_EFORMAT,
                        "%s:%zu: expected the header "
                        "'client,speed,bw_up,bw_down,latency'",
                        path, lineno);
        goto out;
      }
      continue;
    }
    double v[5];
    char *q = s;
    for (int k = 0; k < 5; k++) {
      char *end = NULL;
      errno = 0;
      v[k] = strtod(q, &end);
      if (end == q || errno == ERANGE || !isfinite(v[k])) {
        st = fs_err_set(err, FS_EFORMAT, "%s:%zu: field %d is not a number",
                        path, lineno, k + 1);
        goto out;
      }
      while (*end == ' ')
        end++;
      if (k < 4) {
        if (*end != ',') {
          st = fs_err_set(err, FS_EFORMAT, "%s:%zu: expected 5 fields", path,
                          lineno);
          goto out;
        }
        end++;
      } else if (*end != '\n' && *end != '\r' && *end != '\0') {
        st = fs_err_set(err, FS_EFORMAT, "%s:%zu: more than 5 fields", path,
                        lineno);
        goto out;
      }
      q = end;
    }
    if (v[0] < 0 || v[0] != floor(v[0]) || v[0] >= (double)p->clients) {
      st = fs_err_set(err, FS_EFORMAT, "%s:%zu: client id %g is not in 0..%zu",
                      path, lineno, v[0], p->clients - 1);
      goto out;
    }
    if (!(v[1] > 0 && v[2] > 0 && v[3] > 0 && v[4] >= 0)) {
      st = fs_err_set(err, FS_EFORMAT,
                      "%s:%zu: speed and bandwidths must be > 0, latency >= 0",
                      path, lineno);
      goto out;
    }
    size_t c = (size_t)v[0];
    if (seen[c]) {
      st = fs_err_set(err, FS_EFORMAT, "%s:%zu: client %zu appears twice", path,
                      lineno, c);
      goto out;
    }
    seen[c] = 1;
    p->table[c] = (fs_profile){v[1], v[2], v[3], v[4]};
    rows++;
  }
  if (ferror(f)) {
    st = fs_err_set(err, FS_EIO, "%s: read error", path);
    goto out;
  }
  if (rows != p->clients) {
    size_t missing = 0;
    while (missing < p->clients && seen[missing])
      missing++;
    st = fs_err_set(err, FS_EFORMAT,
                    "%s: %zu client rows but clients.num is %zu (client %zu "
                    "is missing)",
                    path, rows, p->clients, missing);
  }
out:
  free(seen);
  fclose(f);
  return st;
}

fs_status fs_profiles_new(const fs_profile_spec *spec, const char *trace_path,
                          size_t clients, fs_profiles **out, fs_err *err) {
  *out = NULL;
  if (clients == 0)
    return fs_err_set(err, FS_EINVAL, "profiles: no clients");
  fs_profiles *p = calloc(1, sizeof *p);
  if (p == NULL)
    return fs_err_set(err, FS_ENOMEM, "profiles: out of memory");
  p->spec = *spec;
  p->clients = clients;
  if (trace_path != NULL && trace_path[0] != '\0') {
    fs_status st = load_trace(p, trace_path, err);
    if (st != FS_OK) {
      fs_profiles_free(p);
      return st;
    }
  }
  *out = p;
  return FS_OK;
}

void fs_profiles_free(fs_profiles *p) {
  if (p == NULL)
    return;
  free(p->table);
  free(p);
}

fs_profile fs_profiles_get(const fs_profiles *p, uint32_t client) {
  if (p->table != NULL)
    return p->table[client];
  fs_rng r;
  fs_rng_init(&r, p->spec.seed, FS_RNG_PROFILE, client, 0);
  fs_profile pr;
  pr.speed = draw(&p->spec, &r, p->spec.mean.speed);
  pr.bw_up = draw(&p->spec, &r, p->spec.mean.bw_up);
  pr.bw_down = draw(&p->spec, &r, p->spec.mean.bw_down);
  pr.latency = draw(&p->spec, &r, p->spec.mean.latency);
  return pr;
}

double fs_job_seconds(const fs_profile *pr, uint64_t down_bits,
                      uint64_t samples, uint64_t up_bits) {
  return pr->latency + (double)down_bits / pr->bw_down +
         (double)samples / pr->speed + pr->latency +
         (double)up_bits / pr->bw_up;
}
