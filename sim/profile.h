/*
 * profile.h — system heterogeneity on the virtual clock: each client's
 * compute speed (samples/s), uplink and downlink bandwidth (bits/s) and
 * one-way latency (s), and the virtual duration of a job.
 *
 * A profile is a pure function of (seed, client id) and the configuration
 * (constant, uniform or lognormal around the configured means), or a row of
 * a CSV trace read once. No per-client state is kept for the distributions,
 * so a million clients cost nothing until they are used.
 */
#ifndef FS_PROFILE_H
#define FS_PROFILE_H

#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  double speed;   /* samples per second */
  double bw_up;   /* bits per second */
  double bw_down; /* bits per second */
  double latency; /* seconds, one way */
} fs_profile;

typedef enum {
  FS_DIST_CONSTANT = 0,
  FS_DIST_UNIFORM,
  FS_DIST_LOGNORMAL,
  FS_DIST_EXPONENTIAL
} fs_dist;

typedef struct {
  fs_dist dist;
  double spread;
  fs_profile mean;
  uint64_t seed;
} fs_profile_spec;

typedef struct fs_profiles fs_profiles;

/* Profiles for `clients` clients from spec, or from a CSV trace when
 * trace_path is non-empty: header "client,speed,bw_up,bw_down,latency",
 * one row per client id 0..clients-1 (any order, each exactly once; all
 * values finite and > 0, latency >= 0). Errors name the file and line. */
fs_status fs_profiles_new(const fs_profile_spec *spec, const char *trace_path,
                          size_t clients, fs_profiles **out, fs_err *err);
void fs_profiles_free(fs_profiles *p);

/* The profile of client c (c < clients). */
fs_profile fs_profiles_get(const fs_profiles *p, uint32_t client);

/* Virtual seconds of one job: downlink (latency + bits/bw_down), compute of
 * `samples` samples, uplink (latency + bits/bw_up). */
double fs_job_seconds(const fs_profile *pr, uint64_t down_bits,
                      uint64_t samples, uint64_t up_bits);

fs_status fs_dist_parse(const char *s, fs_dist *out);

#endif
