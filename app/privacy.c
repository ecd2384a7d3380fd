/*
 * privacy.c — the `fedsim privacy` subcommand: epsilon of the sampled
 * Gaussian mechanism for (q, sigma, steps, delta) without a simulation, or
 * the sigma that meets a target epsilon (docs/privacy-accounting.md).
 */
#include "accountant.h"
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `fedsim privacy ...`: epsilon for (q, sigma, steps, delta) without a run,
 * or the sigma that meets a target epsilon. */
int fs_app_privacy(int argc, char **argv) {
  double q = -1, sigma = -1, steps = -1, delta = 1e-5, target = 0;
  const char *conv_s = "improved";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "fedsim privacy: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    char *end = NULL;
    double d = strtod(v, &end);
    int num = end != v && *end == '\0';
    if (!strcmp(a, "--conversion"))
      conv_s = v;
    else if (!num) {
      fprintf(stderr, "fedsim privacy: %s: '%s' is not a number\n", a, v);
      return 2;
    } else if (!strcmp(a, "--q"))
      q = d;
    else if (!strcmp(a, "--sigma") || !strcmp(a, "--z"))
      sigma = d;
    else if (!strcmp(a, "--steps"))
      steps = d;
    else if (!strcmp(a, "--delta"))
      delta = d;
    else if (!strcmp(a, "--target-epsilon"))
      target = d;
    else {
      fprintf(stderr, "fedsim privacy: unknown option '%s'\n", a);
      return 2;
    }
  }
  fs_dp_conversion conv;
  if (fs_dp_conversion_parse(conv_s, &conv) != FS_OK) {
    fprintf(stderr,
            "fedsim privacy: --conversion: '%s' is not classic or "
            "improved\n",
            conv_s);
    return 2;
  }
  if (q < 0 || steps < 0 || (sigma < 0 && target <= 0)) {
    fprintf(stderr, "usage: fedsim privacy --q Q --steps T (--sigma Z | "
                    "--target-epsilon E) [--delta D] [--conversion "
                    "classic|improved]\n");
    return 2;
  }
  fs_err err = {0};
  if (target > 0) {
    double z;
    fs_status st = fs_dp_calibrate(q, steps, delta, target, conv, &z, &err);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim privacy: %s\n", fs_err_msg(&err, st));
      return 1;
    }
    printf("sigma = %.6g reaches epsilon <= %g at delta = %g after %g steps "
           "with q = %g (%s conversion)\n",
           z, target, delta, steps, q, conv_s);
    return 0;
  }
  double eps, order;
  fs_status st = fs_dp_epsilon(q, sigma, steps, delta, conv, &eps, &order);
  if (st != FS_OK) {
    fprintf(stderr, "fedsim privacy: %s\n", fs_err_msg(&err, st));
    return 1;
  }
  printf("epsilon = %.6g at delta = %g (q = %g, sigma = %g, %g steps, %s "
         "conversion, best order %g)\n",
         eps, delta, q, sigma, steps, conv_s, order);
  return 0;
}
