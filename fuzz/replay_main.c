/*
 * replay_main.c — a main() for a fuzz target without libFuzzer: run the
 * target's seed inputs (seeds.c), then every regular file in the folders
 * (or files) named on the command line, such as fuzz/regressions/<target>/.
 * A crash or a failed check aborts, so the meson test fails; otherwise it
 * prints how many inputs ran. Built by meson for every compiler (gcc in CI).
 * Usage: fuzz_<target> [DIR|FILE]...
 */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FS_FUZZ_TARGET
#error "FS_FUZZ_TARGET: the target's name"
#endif

static void run_seed(const uint8_t *d, size_t n, void *ctx) {
  (void)ctx;
  LLVMFuzzerTestOneInput(d, n);
}

/* Run one file; 1 if it ran, 0 if it is not a regular file. */
static int run_file(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
    return 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "fuzz_%s: cannot open %s\n", FS_FUZZ_TARGET, path);
    exit(2);
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *d = malloc(n ? n : 1);
  if (d == NULL || fread(d, 1, n, f) != n) {
    fprintf(stderr, "fuzz_%s: cannot read %s\n", FS_FUZZ_TARGET, path);
    exit(2);
  }
  fclose(f);
  LLVMFuzzerTestOneInput(d, n);
  free(d);
  return 1;
}

int main(int argc, char **argv) {
  int seeds = fs_fuzz_seeds(FS_FUZZ_TARGET, run_seed, NULL);
  if (seeds <= 0) {
    fprintf(stderr, "fuzz_%s: no seed inputs for this target\n",
            FS_FUZZ_TARGET);
    return 2;
  }
  long files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "fuzz_%s: %s does not exist\n", FS_FUZZ_TARGET, argv[i]);
      return 2;
    }
    if (!S_ISDIR(sb.st_mode)) {
      files += run_file(argv[i]);
      continue;
    }
    DIR *dir = opendir(argv[i]);
    if (dir == NULL) {
      fprintf(stderr, "fuzz_%s: cannot read %s\n", FS_FUZZ_TARGET, argv[i]);
      return 2;
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
      if (de->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
      files += run_file(path);
    }
    closedir(dir);
  }
  printf("fuzz_%s: %d seed inputs and %ld files ran, no crash\n",
         FS_FUZZ_TARGET, seeds, files);
  return 0;
}
