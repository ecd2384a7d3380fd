/*
 * config_yaml.c — reading options from a YAML file with libyaml's event
 * parser: sections are mappings, nested keys nested mappings, lists
 * sequences of plain values; each value goes through fs_config_set, so the
 * file is checked exactly as the command line is (docs/architecture.md).
 */
#include "config_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

typedef struct {
  yaml_parser_t parser;
  const char *path;
  fs_config *cfg;
  fs_err *err;
} yaml_ctx;

static fs_status yaml_next(yaml_ctx *c, yaml_event_t *ev) {
  if (!yaml_parser_parse(&c->parser, ev))
    return fs_err_set(c->err, FS_ECONFIG, "%s:%zu:%zu: YAML error: %s", c->path,
                      c->parser.problem_mark.line + 1,
                      c->parser.problem_mark.column + 1,
                      c->parser.problem ? c->parser.problem : "unknown");
  return FS_OK;
}

static fs_status apply_value(yaml_ctx *c, const char *key, const char *value,
                             size_t line) {
  fs_err e = {0};
  fs_status st = fs_config_set(c->cfg, key, value, &e);
  if (st != FS_OK)
    return fs_err_set(c->err, st, "%s:%zu: %s", c->path, line, e.msg);
  return FS_OK;
}

/* Parse the value of `key` whose first event is ev (already consumed). */
static fs_status yaml_value(yaml_ctx *c, const char *key, yaml_event_t *ev);

static fs_status yaml_mapping(yaml_ctx *c, const char *prefix) {
  for (;;) {
    yaml_event_t kev;
    fs_status st = yaml_next(c, &kev);
    if (st != FS_OK)
      return st;
    if (kev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&kev);
      return FS_OK;
    }
    if (kev.type != YAML_SCALAR_EVENT) {
      size_t line = kev.start_mark.line + 1;
      yaml_event_delete(&kev);
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: a key must be a plain name", c->path, line);
    }
    char key[FS_CFG_STR];
    int n = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "",
                     (const char *)kev.data.scalar.value);
    yaml_event_delete(&kev);
    if (n < 0 || (size_t)n >= sizeof key)
      return fs_err_set(c->err, FS_ECONFIG, "%s: key too long", c->path);
    yaml_event_t vev;
    if ((st = yaml_next(c, &vev)) != FS_OK)
      return st;
    st = yaml_value(c, key, &vev);
    if (st != FS_OK)
      return st;
  }
}

static fs_status yaml_value(yaml_ctx *c, const char *key, yaml_event_t *ev) {
  size_t line = ev->start_mark.line + 1;
  fs_status st = FS_OK;
  if (ev->type == YAML_SCALAR_EVENT) {
    st = apply_value(c, key, (const char *)ev->data.scalar.value, line);
    yaml_event_delete(ev);
    return st;
  }
  if (ev->type == YAML_MAPPING_START_EVENT) {
    yaml_event_delete(ev);
    /* A mapping under a key that is itself an option is a type error. */
    if (fs_config__find_opt(key) != NULL)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: %s: expected a value, found a mapping",
                        c->path, line, key);
    /* Is any option under this prefix? Otherwise name the unknown section. */
    size_t kl = strlen(key);
    int known = 0;
    for (size_t i = 0; i < fs_config__n_options && !known; i++)
      known = strncmp(fs_config__options[i].key, key, kl) == 0 &&
              fs_config__options[i].key[kl] == '.';
    if (!known)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: unknown section '%s' (fedsim --help lists "
                        "the options)",
                        c->path, line, key);
    return yaml_mapping(c, key);
  }
  if (ev->type == YAML_SEQUENCE_START_EVENT) {
    yaml_event_delete(ev);
    char list[FS_CFG_STR] = "";
    size_t used = 0;
    for (;;) {
      yaml_event_t iev;
      if ((st = yaml_next(c, &iev)) != FS_OK)
        return st;
      if (iev.type == YAML_SEQUENCE_END_EVENT) {
        yaml_event_delete(&iev);
        break;
      }
      if (iev.type != YAML_SCALAR_EVENT) {
        yaml_event_delete(&iev);
        return fs_err_set(c->err, FS_ECONFIG,
                          "%s:%zu: %s: a list may hold only plain values",
                          c->path, line, key);
      }
      int n = snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "",
                       (const char *)iev.data.scalar.value);
      yaml_event_delete(&iev);
      if (n < 0 || used + (size_t)n >= sizeof list)
        return fs_err_set(c->err, FS_ECONFIG, "%s:%zu: %s: list too long",
                          c->path, line, key);
      used += (size_t)n;
    }
    const fs_config__opt *o = fs_config__find_opt(key);
    if (o != NULL && o->type != FS_CONFIG__T_LIST &&
        o->type != FS_CONFIG__T_FLIST)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: %s: expected a single value, found a list",
                        c->path, line, key);
    return apply_value(c, key, list, line);
  }
  yaml_event_delete(ev);
  return fs_err_set(c->err, FS_ECONFIG,
                    "%s:%zu: %s: unsupported YAML (anchors and aliases are not "
                    "read)",
                    c->path, line, key);
}

fs_status fs_config_load_yaml(fs_config *cfg, const char *path, fs_err *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return fs_err_set(err, FS_EIO, "%s: cannot open: %s", path,
                      strerror(errno));
  yaml_ctx c = {.path = path, .cfg = cfg, .err = err};
  if (!yaml_parser_initialize(&c.parser)) {
    fclose(f);
    return fs_err_set(err, FS_ENOMEM, "%s: cannot start the YAML parser", path);
  }
  yaml_parser_set_input_file(&c.parser, f);
  fs_status st = FS_OK;
  int done = 0, in_doc = 0;
  while (!done && st == FS_OK) {
    yaml_event_t ev;
    if ((st = yaml_next(&c, &ev)) != FS_OK)
      break;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      yaml_event_delete(&ev);
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (in_doc++) {
        st = fs_err_set(err, FS_ECONFIG, "%s: more than one YAML document",
                        path);
      }
      yaml_event_delete(&ev);
      break;
    case YAML_MAPPING_START_EVENT:
      yaml_event_delete(&ev);
      st = yaml_mapping(&c, "");
      break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      size_t line = ev.start_mark.line + 1;
      yaml_event_delete(&ev);
      st = fs_err_set(err, FS_ECONFIG,
                      "%s:%zu: the top level must be a mapping of sections",
                      path, line);
      break;
    }
    default:
      yaml_event_delete(&ev);
      break;
    }
  }
  yaml_parser_delete(&c.parser);
  fclose(f);
  return st;
}
