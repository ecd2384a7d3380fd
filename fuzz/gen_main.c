/*
 * gen_main.c — write the seed inputs of fuzz targets as files, one folder
 * per target, for libFuzzer (scripts/fuzz.sh).
 * Usage: fuzz_seeds OUTDIR [TARGET]...   (no TARGET: every target)
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  const char *dir;
  int n;
} sink;

static void write_seed(const uint8_t *d, size_t n, void *ctx) {
  sink *s = ctx;
  char path[4096];
  snprintf(path, sizeof path, "%s/seed-%03d", s->dir, s->n++);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "fuzz_seeds: cannot write %s: %s\n", path, strerror(errno));
    exit(1);
  }
}

static int gen(const char *out, const char *t) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", out, t);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "fuzz_seeds: cannot create %s: %s\n", dir, strerror(errno));
    return 1;
  }
  sink s = {dir, 0};
  int n = fs_fuzz_seeds(t, write_seed, &s);
  if (n <= 0) {
    fprintf(stderr, "fuzz_seeds: unknown target '%s'\n", t);
    return 1;
  }
  printf("%s: %d seeds\n", t, n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fuzz_seeds OUTDIR [TARGET]...\n");
    return 2;
  }
  if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "fuzz_seeds: cannot create %s: %s\n", argv[1],
            strerror(errno));
    return 1;
  }
  int bad = 0;
  if (argc == 2)
    for (int i = 0; fs_fuzz_targets[i] != NULL; i++)
      bad |= gen(argv[1], fs_fuzz_targets[i]);
  for (int i = 2; i < argc; i++)
    bad |= gen(argv[1], argv[i]);
  return bad;
}
