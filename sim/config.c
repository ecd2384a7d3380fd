/*
 * config.c — a configuration's values: defaults, setting one option from
 * text (the option table's types and limits, config_options.c), reading
 * one back, the command line, --help and the JSON echo. YAML files are
 * read by config_yaml.c and the cross-option checks are config_check.c
 * (docs/architecture.md).
 */
#include "config_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Command-line short forms. */
static const struct {
  const char *flag, *key;
} aliases[] = {
    {"seed", "run.seed"},          {"rounds", "run.rounds"},
    {"out", "run.out_dir"},        {"name", "run.name"},
    {"clients", "clients.num"},    {"per-round", "clients.per_round"},
    {"data", "data.source"},       {"model", "model.type"},
    {"epochs", "local.epochs"},    {"lr", "local.lr"},
    {"batch", "local.batch_size"}, {"checkpoint-every", "run.checkpoint_every"},
    {"resume", "run.resume"}};

static fs_status parse_int(const fs_config__opt *o, const char *v, int64_t *out,
                           fs_err *err) {
  errno = 0;
  char *end = NULL;
  /* Accept "1e4"-style integers too (written by people in YAML). */
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d) ||
      d != floor(d))
    return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not an integer", o->key, v);
  if (d < o->min || d > o->max)
    return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%.0f, %.0f]",
                      o->key, v, o->min, o->max);
  *out = (int64_t)d;
  return FS_OK;
}

/* FS_CONFIG__T_INT and FS_CONFIG__T_UINT: a seed is any 64-bit unsigned
 * integer; the others are integers within the row's limits. */
static fs_status set_int(const fs_config__opt *o, const char *v, char *base,
                         fs_err *err) {
  int64_t x;
  fs_status st;
  if (o->type == FS_CONFIG__T_UINT) {
    /* A seed is any 64-bit unsigned integer. */
    errno = 0;
    char *end = NULL;
    if (v[0] == '-' || v[0] == '\0')
      return fs_err_set(err, FS_ECONFIG,
                        "%s: '%s' is not a non-negative integer", o->key, v);
    unsigned long long u = strtoull(v, &end, 10);
    if (*end != '\0' || errno == ERANGE)
      return fs_err_set(err, FS_ECONFIG,
                        "%s: '%s' is not a non-negative integer", o->key, v);
    *(uint64_t *)(void *)base = (uint64_t)u;
    return FS_OK;
  }
  if ((st = parse_int(o, v, &x, err)) != FS_OK)
    return st;
  *(int64_t *)(void *)base = x;
  return FS_OK;
}

static fs_status set_float(const fs_config__opt *o, const char *v, char *base,
                           fs_err *err) {
  errno = 0;
  char *end = NULL;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d))
    return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not a finite number",
                      o->key, v);
  if (d < o->min || d > o->max)
    return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%g, %g]",
                      o->key, v, o->min, o->max);
  *(double *)(void *)base = d;
  return FS_OK;
}

static fs_status set_bool(const fs_config__opt *o, const char *v, char *base,
                          fs_err *err) {
  int b;
  if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
      !strcmp(v, "1"))
    b = 1;
  else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") ||
           !strcmp(v, "0"))
    b = 0;
  else
    return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not true or false", o->key,
                      v);
  *(int *)(void *)base = b;
  return FS_OK;
}

/* FS_CONFIG__T_FLIST: comma-separated finite numbers within the limits. */
static fs_status set_flist(const fs_config__opt *o, const char *v, char *base,
                           fs_err *err) {
  fs_cfg_flist tmp = {0};
  char buf[FS_CFG_STR];
  if (strlen(v) >= sizeof buf)
    return fs_err_set(err, FS_ECONFIG, "%s: list too long", o->key);
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", []", &save); tok;
       tok = strtok_r(NULL, ", []", &save)) {
    if (tmp.n == FS_CFG_MAX_LIST)
      return fs_err_set(err, FS_ECONFIG, "%s: more than %d entries", o->key,
                        FS_CFG_MAX_LIST);
    errno = 0;
    char *end = NULL;
    double d = strtod(tok, &end);
    if (end == tok || *end != '\0' || errno == ERANGE || !isfinite(d))
      return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not a finite number",
                        o->key, tok);
    if (d < o->min || d > o->max)
      return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%g, %g]",
                        o->key, tok, o->min, o->max);
    tmp.v[tmp.n++] = d;
  }
  *(fs_cfg_flist *)(void *)base = tmp;
  return FS_OK;
}

/* FS_CONFIG__T_LIST: the hidden layers' widths (cfg->hidden). */
static fs_status set_list(fs_config *cfg, const fs_config__opt *o,
                          const char *v, fs_err *err) {
  int64_t tmp[FS_CFG_MAX_HIDDEN];
  size_t n = 0;
  char buf[FS_CFG_STR];
  if (strlen(v) >= sizeof buf)
    return fs_err_set(err, FS_ECONFIG, "%s: list too long", o->key);
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", []", &save); tok;
       tok = strtok_r(NULL, ", []", &save)) {
    if (n == FS_CFG_MAX_HIDDEN)
      return fs_err_set(err, FS_ECONFIG, "%s: more than %d entries", o->key,
                        FS_CFG_MAX_HIDDEN);
    fs_status st = parse_int(o, tok, &tmp[n], err);
    if (st != FS_OK)
      return st;
    n++;
  }
  if (n == 0)
    return fs_err_set(err, FS_ECONFIG, "%s: empty list", o->key);
  memcpy(cfg->hidden, tmp, n * sizeof tmp[0]);
  cfg->n_hidden = n;
  return FS_OK;
}

static fs_status set_opt(fs_config *cfg, const fs_config__opt *o, const char *v,
                         fs_err *err) {
  char *base = (char *)cfg + o->offset;
  switch (o->type) {
  case FS_CONFIG__T_INT:
  case FS_CONFIG__T_UINT:
    return set_int(o, v, base, err);
  case FS_CONFIG__T_FLOAT:
    return set_float(o, v, base, err);
  case FS_CONFIG__T_BOOL:
    return set_bool(o, v, base, err);
  case FS_CONFIG__T_CHOICE:
  case FS_CONFIG__T_TABLE: {
    int i = fs_config__opt_index(o, v);
    char list[FS_CFG_STR];
    if (i < 0)
      return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not one of %s", o->key, v,
                        fs_config__opt_list(o, list, sizeof list));
    *(int *)(void *)base = i; /* the enum of fs_config.h: the row's index */
    return FS_OK;
  }
  case FS_CONFIG__T_STR:
    if (strlen(v) >= FS_CFG_STR)
      return fs_err_set(err, FS_ECONFIG, "%s: value longer than %d bytes",
                        o->key, FS_CFG_STR - 1);
    snprintf(base, FS_CFG_STR, "%s", v);
    return FS_OK;
  case FS_CONFIG__T_FLIST:
    return set_flist(o, v, base, err);
  case FS_CONFIG__T_LIST:
    return set_list(cfg, o, v, err);
  }
  return fs_err_set(err, FS_EINVAL, "%s: bad option type", o->key);
}

void fs_config_defaults(fs_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < fs_config__n_options; i++) {
    fs_status st =
        set_opt(cfg, &fs_config__options[i], fs_config__options[i].def, NULL);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: bad built-in default for %s\n",
              fs_config__options[i].key);
      abort();
    }
  }
}

fs_status fs_config_set(fs_config *cfg, const char *key, const char *value,
                        fs_err *err) {
  const fs_config__opt *o = fs_config__find_opt(key);
  if (o == NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "unknown option '%s' (fedsim --help lists them)", key);
  return set_opt(cfg, o, value, err);
}

const char *fs_config_choice_at(const fs_config *cfg, size_t offset) {
  for (size_t i = 0; i < fs_config__n_options; i++)
    if ((fs_config__options[i].type == FS_CONFIG__T_CHOICE ||
         fs_config__options[i].type == FS_CONFIG__T_TABLE) &&
        fs_config__options[i].offset == offset)
      return fs_config__opt_name(&fs_config__options[i],
                                 (const char *)cfg + offset);
  fprintf(stderr, "fedsim: no choice option at offset %zu\n", offset);
  abort(); /* a programmer mistake: FS_CFG_NAME on a field that is no choice */
}

const fs_choice *fs_config_row(const fs_config *cfg, const char *key) {
  const fs_config__opt *o = fs_config__find_opt(key);
  if (o == NULL || o->type != FS_CONFIG__T_TABLE) {
    fprintf(stderr, "fedsim: %s is no table option\n", key);
    abort(); /* a programmer mistake */
  }
  const fs_choice_set *t = fs_config__table_of(key);
  int i = *(const int *)(const void *)((const char *)cfg + o->offset);
  return fs_choice_at(t, (size_t)i);
}

const char *fs_config_choice(size_t opt_i, size_t value_i, const char **key) {
  size_t seen = 0;
  for (size_t i = 0; i < fs_config__n_options; i++) {
    const fs_config__opt *o = &fs_config__options[i];
    if (o->type != FS_CONFIG__T_CHOICE && o->type != FS_CONFIG__T_TABLE)
      continue;
    if (seen++ != opt_i)
      continue;
    *key = o->key;
    if (o->type == FS_CONFIG__T_TABLE) {
      const fs_choice_set *t = fs_config__table_of(o->key);
      return value_i < t->n ? fs_choice_at(t, value_i)->name : NULL;
    }
    for (size_t k = 0; o->names[k] != NULL; k++)
      if (k == value_i)
        return o->names[k];
    return NULL;
  }
  *key = NULL;
  return NULL;
}

fs_status fs_config_get(const fs_config *cfg, const char *key, char *buf,
                        size_t len) {
  const fs_config__opt *o = fs_config__find_opt(key);
  if (o == NULL)
    return FS_EINVAL;
  const char *base = (const char *)cfg + o->offset;
  switch (o->type) {
  case FS_CONFIG__T_INT:
    snprintf(buf, len, "%lld", (long long)*(const int64_t *)(const void *)base);
    break;
  case FS_CONFIG__T_UINT:
    snprintf(buf, len, "%llu",
             (unsigned long long)*(const uint64_t *)(const void *)base);
    break;
  case FS_CONFIG__T_FLOAT:
    snprintf(buf, len, "%.17g", *(const double *)(const void *)base);
    break;
  case FS_CONFIG__T_BOOL:
    snprintf(buf, len, "%s",
             *(const int *)(const void *)base ? "true" : "false");
    break;
  case FS_CONFIG__T_STR:
    snprintf(buf, len, "%s", base);
    break;
  case FS_CONFIG__T_CHOICE:
  case FS_CONFIG__T_TABLE:
    snprintf(buf, len, "%s", fs_config__opt_name(o, base));
    break;
  case FS_CONFIG__T_FLIST: {
    const fs_cfg_flist *l = (const fs_cfg_flist *)(const void *)base;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < len; i++)
      used += (size_t)snprintf(buf + used, len - used, "%s%.17g", i ? "," : "",
                               l->v[i]);
    break;
  }
  case FS_CONFIG__T_LIST: {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cfg->n_hidden && used < len; i++)
      used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "",
                               (long long)cfg->hidden[i]);
    break;
  }
  }
  return FS_OK;
}

/* ---- command line ---------------------------------------------------------
 */

static const char *alias_key(const char *flag) {
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcmp(aliases[i].flag, flag))
      return aliases[i].key;
  return NULL;
}

fs_status fs_config_from_args(fs_config *cfg, int argc, char **argv,
                              fs_cli_action *action, fs_err *err) {
  fs_config_defaults(cfg);
  *action = FS_CLI_RUN;
  /* Pass 1: --help, --version, --config. */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *action = FS_CLI_HELP;
      return FS_OK;
    }
    if (!strcmp(a, "--version")) {
      *action = FS_CLI_VERSION;
      return FS_OK;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *path = NULL;
    if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
      if (i + 1 >= argc)
        return fs_err_set(err, FS_ECONFIG, "%s needs a file name", argv[i]);
      path = argv[++i];
    } else if (!strncmp(argv[i], "--config=", 9)) {
      path = argv[i] + 9;
    }
    if (path != NULL) {
      fs_status st = fs_config_load_yaml(cfg, path, err);
      if (st != FS_OK)
        return st;
    }
  }
  /* Pass 2: everything else, in order (later wins). */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
      i++;
      continue;
    }
    if (!strncmp(a, "--config=", 9))
      continue;
    char keybuf[FS_CFG_STR];
    const char *value = NULL;
    if (!strcmp(a, "--set") || !strcmp(a, "-s")) {
      if (i + 1 >= argc)
        return fs_err_set(err, FS_ECONFIG, "%s needs KEY=VALUE", a);
      const char *kv = argv[++i];
      const char *eq = strchr(kv, '=');
      if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof keybuf)
        return fs_err_set(err, FS_ECONFIG,
                          "--set '%s': expected section.key=value", kv);
      memcpy(keybuf, kv, (size_t)(eq - kv));
      keybuf[eq - kv] = '\0';
      value = eq + 1;
    } else if (!strncmp(a, "--", 2) && a[2] != '\0') {
      const char *name = a + 2;
      const char *eq = strchr(name, '=');
      size_t nl = eq ? (size_t)(eq - name) : strlen(name);
      if (nl >= sizeof keybuf)
        return fs_err_set(err, FS_ECONFIG, "option '%s' is too long", a);
      memcpy(keybuf, name, nl);
      keybuf[nl] = '\0';
      const char *ak = alias_key(keybuf);
      if (ak != NULL)
        snprintf(keybuf, sizeof keybuf, "%s", ak);
      if (fs_config__find_opt(keybuf) == NULL)
        return fs_err_set(err, FS_ECONFIG,
                          "unknown option '%s' (fedsim --help lists them)", a);
      if (eq != NULL) {
        value = eq + 1;
      } else {
        if (i + 1 >= argc)
          return fs_err_set(err, FS_ECONFIG, "option '%s' needs a value", a);
        value = argv[++i];
      }
    } else {
      return fs_err_set(err, FS_ECONFIG,
                        "unexpected argument '%s' (options start with --)", a);
    }
    fs_status st = fs_config_set(cfg, keybuf, value, err);
    if (st != FS_OK)
      return st;
  }
  return FS_OK;
}

void fs_config_print_help(void *file) {
  FILE *f = file;
  fprintf(f,
          "Usage: fedsim [--config FILE.yaml] [--set section.key=value ...] "
          "[--section.key value ...]\n"
          "       mpirun -n P fedsim ...   (rank 0 is the server, ranks 1..P-1 "
          "host the virtual clients)\n"
          "       fedsim privacy --q Q --steps T (--sigma Z | --target-epsilon "
          "E) [--delta D] [--conversion classic|improved]\n"
          "                                 (epsilon of the sampled Gaussian "
          "mechanism, no simulation)\n"
          "       fedsim stragglers --scheme none|ignore|gc|sr-sgc|m-sgc --n N "
          "... (--help: straggler\n"
          "                                 schedulers on the virtual clock, "
          "no training; docs/stragglers.md)\n\n"
          "Options come from the built-in defaults, then the YAML file, then "
          "the command line (which wins).\n"
          "In YAML, each section is a mapping: 'local: {epochs: 2, lr: 0.1}'; "
          "nested keys such as\n"
          "data.synthetic.alpha are nested mappings. Lists: 'hidden: [256, "
          "128]' or --model.hidden 256,128.\n\n"
          "  -c, --config FILE       read options from a YAML file\n"
          "  -s, --set KEY=VALUE     set one option\n"
          "  -h, --help              this help\n"
          "      --version           version and build\n"
          "Short forms: ");
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    fprintf(f, "%s--%s (%s)", i ? ", " : "", aliases[i].flag, aliases[i].key);
  fprintf(f, "\n");
  const char *section = "";
  size_t sl = 0;
  for (size_t i = 0; i < fs_config__n_options; i++) {
    const fs_config__opt *o = &fs_config__options[i];
    const char *dot = strchr(o->key, '.');
    size_t l = (size_t)(dot - o->key);
    if (l != sl || strncmp(section, o->key, l) != 0) {
      fprintf(f, "\n[%.*s]\n", (int)l, o->key);
      section = o->key;
      sl = l;
    }
    const char *ty = "";
    char list[FS_CFG_STR];
    switch (o->type) {
    case FS_CONFIG__T_INT:
    case FS_CONFIG__T_UINT:
      ty = "int";
      break;
    case FS_CONFIG__T_FLOAT:
      ty = "number";
      break;
    case FS_CONFIG__T_STR:
      ty = "text";
      break;
    case FS_CONFIG__T_BOOL:
      ty = "bool";
      break;
    case FS_CONFIG__T_CHOICE:
    case FS_CONFIG__T_TABLE:
      ty = fs_config__opt_list(o, list, sizeof list);
      break;
    case FS_CONFIG__T_LIST:
      ty = "list of int";
      break;
    case FS_CONFIG__T_FLIST:
      ty = "list of numbers";
      break;
    }
    fprintf(f, "  --%-28s %s\n  %-30s   [%s; default: %s]\n", o->key, o->help,
            "", ty, o->def[0] ? o->def : "\"\"");
  }
}

void *fs_config_to_json(const fs_config *cfg) {
  cJSON *root = cJSON_CreateObject();
  for (size_t i = 0; i < fs_config__n_options && root != NULL; i++) {
    const fs_config__opt *o = &fs_config__options[i];
    /* Walk/create nested objects for every dot. */
    char key[FS_CFG_STR];
    snprintf(key, sizeof key, "%s", o->key);
    cJSON *obj = root;
    char *p = key;
    for (char *dot = strchr(p, '.'); dot; dot = strchr(p, '.')) {
      *dot = '\0';
      cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, p);
      if (child == NULL)
        child = cJSON_AddObjectToObject(obj, p);
      obj = child;
      p = dot + 1;
    }
    const char *base = (const char *)cfg + o->offset;
    switch (o->type) {
    case FS_CONFIG__T_INT:
      cJSON_AddNumberToObject(obj, p,
                              (double)*(const int64_t *)(const void *)base);
      break;
    case FS_CONFIG__T_UINT: {
      /* Seeds can exceed 2^53: keep them exact as text if so. */
      uint64_t u = *(const uint64_t *)(const void *)base;
      if (u < (1ull << 53))
        cJSON_AddNumberToObject(obj, p, (double)u);
      else {
        char b[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)u);
        cJSON_AddStringToObject(obj, p, b);
      }
      break;
    }
    case FS_CONFIG__T_FLOAT:
      cJSON_AddNumberToObject(obj, p, *(const double *)(const void *)base);
      break;
    case FS_CONFIG__T_BOOL:
      cJSON_AddBoolToObject(obj, p, *(const int *)(const void *)base);
      break;
    case FS_CONFIG__T_STR:
      cJSON_AddStringToObject(obj, p, base);
      break;
    case FS_CONFIG__T_CHOICE:
    case FS_CONFIG__T_TABLE:
      cJSON_AddStringToObject(obj, p, fs_config__opt_name(o, base));
      break;
    case FS_CONFIG__T_FLIST: {
      const fs_cfg_flist *l = (const fs_cfg_flist *)(const void *)base;
      cJSON *arr = cJSON_AddArrayToObject(obj, p);
      for (size_t k = 0; k < l->n; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(l->v[k]));
      break;
    }
    case FS_CONFIG__T_LIST: {
      cJSON *arr = cJSON_AddArrayToObject(obj, p);
      for (size_t k = 0; k < cfg->n_hidden; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)cfg->hidden[k]));
      break;
    }
    }
  }
  return root;
}
