/*
 * part_dirichlet.c — label skew: for each class k, client shares drawn from
 * Dirichlet(alpha) with the stream (seed, FS_RNG_PARTITION, k, 0), which
 * then shuffles the class's rows; client c takes rows
 * [floor(P_{c-1} n_k), floor(P_c n_k)), P cumulative. The proportions are
 * normalised Gamma(alpha) variates in log space (Gamma(a) = Gamma(a + 1) *
 * U^(1/a) for a < 1), so that tiny alpha cannot underflow to 0/0
 * (docs/architecture.md, "Adding a partitioner").
 */
#include "part_impl.h"

#include "fs_rng.h"

#include <math.h>
#include <stdlib.h>

static fs_status dirichlet_fits(const fs_dataset *ds, size_t clients,
                                const fs_part_spec *spec, fs_err *err) {
  (void)ds;
  (void)clients;
  if (!(spec->alpha > 0.0 && isfinite(spec->alpha)))
    return fs_err_set(err, FS_ECONFIG,
                      "partition: Dirichlet alpha %g must be > 0 and "
                      "finite",
                      spec->alpha);
  return FS_OK;
}

/* Deal the nk rows of one class (shuffled by rng) by shares drawn from rng. */
static void deal_class(fs_rng *rng, double a, size_t N, double *lg,
                       uint32_t *rows, size_t nk, uint32_t *owner) {
  double mx = -INFINITY;
  for (size_t c = 0; c < N; c++) {
    if (a < 1.0)
      lg[c] =
          log(fs_rng_gamma(rng, a + 1.0)) + log(fs_rng_uniform_pos(rng)) / a;
    else
      lg[c] = log(fs_rng_gamma(rng, a));
    if (lg[c] > mx)
      mx = lg[c];
  }
  double sum = 0.0;
  for (size_t c = 0; c < N; c++) {
    lg[c] = exp(lg[c] - mx);
    sum += lg[c];
  }
  fs_rng_shuffle_u32(rng, rows, nk);
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

static fs_status dirichlet_owners(const fs_dataset *ds, size_t N,
                                  const fs_part_spec *spec, uint32_t *owner) {
  uint32_t *sorted = malloc((ds->n > 0 ? ds->n : 1) * sizeof(uint32_t));
  size_t *start = calloc(ds->classes + 1, sizeof(size_t));
  double *lg = malloc(N * sizeof(double));
  if (sorted == NULL || start == NULL || lg == NULL ||
      fs__part_rows_by_label(ds, sorted) != 0) {
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
    deal_class(&rng, spec->alpha, N, lg, sorted + start[k],
               start[k + 1] - start[k], owner);
  }
  free(sorted);
  free(start);
  free(lg);
  return FS_OK;
}

const fs_partitioner fs_partitioner_dirichlet = {
    .base = {.name = "dirichlet",
             .help = "label shares per client from Dirichlet(partition.alpha)"},
    .fits = dirichlet_fits,
    .owners = dirichlet_owners,
};
