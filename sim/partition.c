/*
 * partition.c — splitting the rows of a data set over N virtual clients.
 *
 * Every method except iid first decides an owner for each row and then
 * gathers the rows by owner with a counting sort, which keeps each client's
 * rows in increasing order. Randomness comes only from FS_RNG_PARTITION
 * streams of the spec's seed: iid and shards use stream id 0, Dirichlet one
 * stream per class (id = class), so the result does not depend on the MPI
 * rank count or on the order of work. Dirichlet proportions are drawn as
 * normalised Gamma(alpha) variates in log space (Gamma(a) = Gamma(a + 1) *
 * U^(1/a) for a < 1), so that tiny alpha cannot underflow to 0/0.
 */
#include "partition.h"

#include "fs_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {"iid", "dirichlet", "shards",
                                           "contiguous", "natural"};
#define FS__PART_METHODS (sizeof method_names / sizeof method_names[0])

fs_status fs_part_method_parse(const char *s, fs_part_method *out) {
  for (size_t i = 0; i < FS__PART_METHODS; i++)
    if (s != NULL && strcmp(s, method_names[i]) == 0) {
      *out = (fs_part_method)i;
      return FS_OK;
    }
  return FS_EINVAL;
}

const char *fs_part_method_name(fs_part_method m) {
  if ((size_t)m < FS__PART_METHODS)
    return method_names[m];
  return "unknown";
}

void fs_partition_free(fs_partition *p) {
  if (p == NULL)
    return;
  free(p->offset);
  free(p->rows);
  memset(p, 0, sizeof *p);
}

/* Gather rows 0..n-1 by owner (counting sort: increasing within a client). */
static void gather(const uint32_t *owner, size_t n, fs_partition *p) {
  memset(p->offset, 0, (p->clients + 1) * sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    p->offset[owner[i] + 1]++;
  for (size_t c = 0; c < p->clients; c++)
    p->offset[c + 1] += p->offset[c];
  for (size_t i = 0; i < n; i++)
    p->rows[p->offset[owner[i]]++] = (uint32_t)i;
  for (size_t c = p->clients; c > 0; c--)
    p->offset[c] = p->offset[c - 1];
  p->offset[0] = 0;
}

/* Rows sorted by (label, row): a stable counting sort by label. */
static int rows_by_label(const fs_dataset *ds, uint32_t *sorted) {
  size_t *start = calloc(ds->classes + 1, sizeof(size_t));
  if (start == NULL)
    return -1;
  for (size_t i = 0; i < ds->n; i++)
    start[(size_t)ds->y[i] + 1]++;
  for (size_t k = 0; k < ds->classes; k++)
    start[k + 1] += start[k];
  for (size_t i = 0; i < ds->n; i++)
    sorted[start[ds->y[i]]++] = (uint32_t)i;
  free(start);
  return 0;
}

static void part_iid(const fs_dataset *ds, const fs_part_spec *spec,
                     fs_partition *p) {
  size_t n = ds->n, N = p->clients, q = n / N, r = n % N;
  for (size_t i = 0; i < n; i++)
    p->rows[i] = (uint32_t)i;
  fs_rng rng;
  fs_rng_init(&rng, spec->seed, FS_RNG_PARTITION, 0, 0);
  fs_rng_shuffle_u32(&rng, p->rows, n);
  p->offset[0] = 0;
  for (size_t c = 0; c < N; c++)
    p->offset[c + 1] = p->offset[c] + q + (c < r ? 1 : 0);
}

static void owner_contiguous(const fs_dataset *ds, size_t N, uint32_t *owner) {
  size_t q = ds->n / N;
  for (size_t i = 0; i < ds->n; i++) {
    size_t c = i / q;
    owner[i] = (uint32_t)(c < N ? c : N - 1);
  }
}

static void owner_natural(const fs_dataset *ds, size_t N, uint32_t *owner) {
  for (size_t i = 0; i < ds->n; i++)
    owner[i] = (uint32_t)((size_t)ds->group[i] % N);
}

/* clients * k shards of n / (clients * k) label-sorted rows; the last
 * n mod (clients * k) shards take one row more. */
static fs_status owner_shards(const fs_dataset *ds, size_t N,
                              const fs_part_spec *spec, uint32_t *owner) {
  size_t n = ds->n, k = spec->shards_per_client, S = N * k;
  size_t q = n / S, r = n % S;
  uint32_t *sorted = malloc(n * sizeof(uint32_t));
  uint32_t *perm = malloc(S * sizeof(uint32_t));
  if (sorted == NULL || perm == NULL || rows_by_label(ds, sorted) != 0) {
    free(sorted);
    free(perm);
    return FS_ENOMEM;
  }
  for (size_t s = 0; s < S; s++)
    perm[s] = (uint32_t)s;
  fs_rng rng;
  fs_rng_init(&rng, spec->seed, FS_RNG_PARTITION, 0, 0);
  fs_rng_shuffle_u32(&rng, perm, S);
  /* perm[j] is the shard dealt in position j; client j / k owns it. */
  for (size_t j = 0; j < S; j++) {
    size_t s = perm[j];
    size_t begin = s * q + (s > S - r ? s - (S - r) : 0);
    size_t len = q + (s >= S - r ? 1 : 0);
    for (size_t i = begin; i < begin + len; i++)
      owner[sorted[i]] = (uint32_t)(j / k);
  }
  free(sorted);
  free(perm);
  return FS_OK;
}

static fs_status owner_dirichlet(const fs_dataset *ds, size_t N,
                                 const fs_part_spec *spec, uint32_t *owner) {
  double a = spec->alpha;
  uint32_t *sorted = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
  size_t *start = calloc(ds->classes + 1, sizeof(size_t));
  double *lg = malloc(N * sizeof(double));
  if (sorted == NULL || start == NULL || lg == NULL ||
      rows_by_label(ds, sorted) != 0) {
    free(sorted);
    free(start);
    free(lg);
    return FS_ENOMEM;
  }
  for (size_t i = 0; i < ds->n; i++)
    start[(size_t)ds->y[i] + 1]++;
  for (size_t k = 0; k < ds->classes; k++)
    start[k + 1] += start[k];
  for (size_t k = 0; k < ds->classes; k++) {
    fs_rng rng;
    fs_rng_init(&rng, spec->seed, FS_RNG_PARTITION, k, 0);
    double mx = -INFINITY;
    for (size_t c = 0; c < N; c++) {
      if (a < 1.0)
        lg[c] = log(fs_rng_gamma(&rng, a + 1.0)) +
                log(fs_rng_uniform_pos(&rng)) / a;
      else
        lg[c] = log(fs_rng_gamma(&rng, a));
      if (lg[c] > mx)
        mx = lg[c];
    }
    double sum = 0.0;
    for (size_t c = 0; c < N; c++) {
      lg[c] = exp(lg[c] - mx);
      sum += lg[c];
    }
    uint32_t *rows = sorted + start[k];
    size_t nk = start[k + 1] - start[k];
    fs_rng_shuffle_u32(&rng, rows, nk);
    /* Client c takes rows [floor(P_{c-1} nk), floor(P_c nk)), P cumulative. */
    double cum = 0.0;
    size_t from = 0;
    for (size_t c = 0; c < N; c++) {
      cum += lg[c] / sum;
      size_t to = c + 1 == N ? nk : (size_t)floor(cum * (double)nk);
      if (to > nk)
        to = nk;
      if (to < from)
        to = from;
      for (size_t i = from; i < to; i++)
        owner[rows[i]] = (uint32_t)c;
      from = to;
    }
  }
  free(sorted);
  free(start);
  free(lg);
  return FS_OK;
}

fs_status fs_partition_make(const fs_dataset *ds, size_t clients,
                            const fs_part_spec *spec, fs_partition *out,
                            fs_err *err) {
  fs_partition p = {0, NULL, NULL};
  uint32_t *owner = NULL;
  fs_status st = FS_OK;
  memset(out, 0, sizeof *out);

  if (clients == 0)
    return fs_err_set(err, FS_ECONFIG, "partition: no clients");
  if (clients > UINT32_MAX)
    return fs_err_set(err, FS_ECONFIG, "partition: %zu clients is too many",
                      clients);
  if (ds->n > UINT32_MAX)
    return fs_err_set(err, FS_ERANGE, "partition: %zu rows is too many", ds->n);
  for (size_t i = 0; i < ds->n; i++)
    if (ds->y[i] < 0 || (size_t)ds->y[i] >= ds->classes)
      return fs_err_set(err, FS_EINVAL,
                        "partition: row %zu has label %d, not in 0..%zu", i,
                        (int)ds->y[i], ds->classes - 1);
  switch (spec->method) {
  case FS_PART_IID:
    break;
  case FS_PART_DIRICHLET:
    if (!(spec->alpha > 0.0 && isfinite(spec->alpha)))
      return fs_err_set(err, FS_ECONFIG,
                        "partition: Dirichlet alpha %g must be > 0 and "
                        "finite",
                        spec->alpha);
    break;
  case FS_PART_SHARDS:
    if (spec->shards_per_client == 0)
      return fs_err_set(err, FS_ECONFIG,
                        "partition: shards per client must be >= 1");
    if (spec->shards_per_client > ds->n / clients)
      return fs_err_set(err, FS_ECONFIG,
                        "partition: %zu clients x %zu shards is more shards "
                        "than the %zu rows",
                        clients, spec->shards_per_client, ds->n);
    break;
  case FS_PART_CONTIGUOUS:
    if (clients > ds->n)
      return fs_err_set(err, FS_ECONFIG,
                        "partition: %zu clients but only %zu rows", clients,
                        ds->n);
    break;
  case FS_PART_NATURAL:
    if (ds->group == NULL)
      return fs_err_set(err, FS_ECONFIG,
                        "partition: natural split needs a data set with "
                        "groups");
    for (size_t i = 0; i < ds->n; i++)
      if (ds->group[i] < 0)
        return fs_err_set(err, FS_EINVAL, "partition: row %zu has group %d", i,
                          (int)ds->group[i]);
    break;
  default:
    return fs_err_set(err, FS_ECONFIG, "partition: unknown method %d",
                      (int)spec->method);
  }

  p.clients = clients;
  p.offset = malloc((clients + 1) * sizeof(size_t));
  p.rows = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
  if (p.offset == NULL || p.rows == NULL)
    goto nomem;
  if (spec->method == FS_PART_IID) {
    part_iid(ds, spec, &p);
  } else {
    owner = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
    if (owner == NULL)
      goto nomem;
    if (spec->method == FS_PART_CONTIGUOUS)
      owner_contiguous(ds, clients, owner);
    else if (spec->method == FS_PART_NATURAL)
      owner_natural(ds, clients, owner);
    else if (spec->method == FS_PART_SHARDS)
      st = owner_shards(ds, clients, spec, owner);
    else
      st = owner_dirichlet(ds, clients, spec, owner);
    if (st != FS_OK)
      goto nomem;
    gather(owner, ds->n, &p);
  }
  free(owner);
  *out = p;
  return FS_OK;
nomem:
  free(owner);
  fs_partition_free(&p);
  return fs_err_set(err, FS_ENOMEM, "partition: out of memory");
}
