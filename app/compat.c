/*
 * compat.c — `fedsim compat`: the compatibility matrix of the choices.
 * For every pair of choice options and every pair of their values (each
 * other option at its default), the configuration is checked as a run would
 * check it (fs_config_validate: the rows' own rules, then the rest), and
 * each refused pair is printed with the refusal, as the Markdown that
 * scripts/gen-compat-doc.sh writes into docs/compatibility.md.
 */
#include "app.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

/* Check the defaults with key1=v1 and key2=v2; the refusal into msg, or
 * "" if accepted. -1 if a value is refused on its own (not a pair rule). */
static int pair(const char *k1, const char *v1, const char *k2, const char *v2,
                char *msg, size_t len) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  if (fs_config_set(&c, k1, v1, &e) != FS_OK ||
      fs_config_set(&c, k2, v2, &e) != FS_OK)
    return -1;
  msg[0] = '\0';
  if (fs_config_validate(&c, &e) != FS_OK)
    snprintf(msg, len, "%s", e.msg);
  return 0;
}

/* Refused on its own, with every other option at its default. */
static int alone(const char *k, const char *v, char *msg, size_t len) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  msg[0] = '\0';
  if (fs_config_set(&c, k, v, &e) == FS_OK &&
      fs_config_validate(&c, &e) != FS_OK)
    snprintf(msg, len, "%s", e.msg);
  return msg[0] != '\0';
}

int fs_app_compat(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char msg[512];
  const char *k1, *k2;
  printf("| option = value | with | refused because |\n|---|---|---|\n");
  size_t refused = 0, pairs = 0;
  for (size_t a = 0; fs_config_choice(a, 0, &k1) != NULL || k1 != NULL; a++) {
    for (size_t i = 0; fs_config_choice(a, i, &k1) != NULL; i++) {
      const char *v1 = fs_config_choice(a, i, &k1);
      if (alone(k1, v1, msg, sizeof msg)) {
        printf("| `%s = %s` | (defaults) | %s |\n", k1, v1, msg);
        refused++;
        continue;
      }
      for (size_t b = a + 1; fs_config_choice(b, 0, &k2) != NULL || k2 != NULL;
           b++)
        for (size_t j = 0; fs_config_choice(b, j, &k2) != NULL; j++) {
          const char *v2 = fs_config_choice(b, j, &k2);
          char m2[512];
          if (alone(k2, v2, m2, sizeof m2))
            continue; /* listed on its own */
          pairs++;
          if (pair(k1, v1, k2, v2, msg, sizeof msg) == 0 && msg[0] != '\0') {
            printf("| `%s = %s` | `%s = %s` | %s |\n", k1, v1, k2, v2, msg);
            refused++;
          }
        }
    }
  }
  fprintf(stderr, "fedsim compat: %zu pairs checked, %zu refusals listed\n",
          pairs, refused);
  return 0;
}
