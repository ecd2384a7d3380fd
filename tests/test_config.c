/*
 * test_config.c — options from defaults, YAML and the command line: values,
 * precedence, and an error that names the key for every kind of bad input.
 */
#include "clip.h"
#include "compress.h"
#include "config.h"
#include "ef.h"
#include "fs_test.h"
#include "model_type.h"
#include "partition.h"
#include "robust.h"
#include "straggler.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static const char *write_yaml(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fs_cfg_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static fs_status from_args(fs_config *c, fs_err *e, int argc, char **argv) {
  fs_cli_action a;
  return fs_config_from_args(c, argc, argv, &a, e);
}

START_TEST(defaults_are_valid) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_OK);
  ck_assert_int_eq(c.data_source, FS_CFG_DATA_SYNTHETIC);
  ck_assert_str_eq(FS_CFG_NAME(&c, data_source), "synthetic");
  ck_assert_int_eq(c.n_hidden, 2);
  ck_assert_int_eq(c.hidden[0], 256);
}
END_TEST

START_TEST(yaml_sections_nested_and_lists) {
  const char *p =
      write_yaml("a.yaml", "run:\n  seed: 7\n  rounds: 3\n"
                           "data:\n  source: fashion-mnist\n"
                           "  synthetic: {alpha: 1.5, dim: 12}\n"
                           "model:\n  type: mlp\n  hidden: [64, 32, 16]\n"
                           "model: {bias: false}\n"
                           "eval: {targets: [0.8, 0.85]}\n");
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_load_yaml(&c, p, &e), FS_OK);
  ck_assert_uint_eq(c.seed, 7);
  ck_assert_int_eq(c.rounds, 3);
  ck_assert_int_eq(c.data_source, FS_CFG_DATA_FASHION_MNIST);
  ck_assert_str_eq(FS_CFG_NAME(&c, data_source), "fashion-mnist");
  ck_assert_double_eq(c.synth_alpha, 1.5);
  ck_assert_int_eq(c.synth_dim, 12);
  ck_assert_int_eq(c.n_hidden, 3);
  ck_assert_int_eq(c.hidden[2], 16);
  ck_assert_int_eq(c.model_bias, 0);
  ck_assert_int_eq(c.eval_targets.n, 2);
  ck_assert_double_eq(c.eval_targets.v[1], 0.85);
}
END_TEST

START_TEST(command_line_wins_over_file) {
  const char *p =
      write_yaml("b.yaml", "run: {rounds: 3, seed: 9}\nlocal: {lr: 0.5}\n");
  char *argv[] = {"fedsim",         "--rounds", "11",      "--set",
                  "local.lr=0.25",  "--config", (char *)p, "--clients.num=50",
                  "--model.hidden", "8,4"};
  fs_config c;
  fs_err e = {0};
  ck_assert_int_eq(from_args(&c, &e, 10, argv), FS_OK);
  ck_assert_int_eq(c.rounds, 11);
  ck_assert_uint_eq(c.seed, 9);
  ck_assert_double_eq(c.local_lr, 0.25);
  ck_assert_int_eq(c.clients, 50);
  ck_assert_int_eq(c.n_hidden, 2);
  ck_assert_int_eq(c.hidden[1], 4);
}
END_TEST

START_TEST(help_and_version_actions) {
  char *a1[] = {"fedsim", "--rounds", "bad", "--help"};
  fs_config c;
  fs_cli_action act;
  fs_err e = {0};
  ck_assert_int_eq(fs_config_from_args(&c, 4, a1, &act, &e), FS_OK);
  ck_assert_int_eq(act, FS_CLI_HELP);
  char *a2[] = {"fedsim", "--version"};
  ck_assert_int_eq(fs_config_from_args(&c, 2, a2, &act, &e), FS_OK);
  ck_assert_int_eq(act, FS_CLI_VERSION);
}
END_TEST

START_TEST(help_lists_every_key_in_json) {
  /* Every option echoed in JSON appears in --help. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fs_config_print_help(f);
  fclose(f);
  fs_config c;
  fs_config_defaults(&c);
  cJSON *j = fs_config_to_json(&c);
  int n = 0;
  cJSON *sec, *item;
  cJSON_ArrayForEach(sec, j) {
    cJSON_ArrayForEach(item, sec) {
      char key[256];
      if (cJSON_IsObject(item)) {
        cJSON *sub;
        cJSON_ArrayForEach(sub, item) {
          snprintf(key, sizeof key, "--%s.%s.%s", sec->string, item->string,
                   sub->string);
          ck_assert_msg(strstr(buf, key) != NULL, "%s missing from help", key);
          n++;
        }
      } else {
        snprintf(key, sizeof key, "--%s.%s ", sec->string, item->string);
        ck_assert_msg(strstr(buf, key) != NULL, "%s missing from help", key);
        n++;
      }
    }
  }
  ck_assert_int_gt(n, 40);
  cJSON_Delete(j);
  free(buf);
}
END_TEST

START_TEST(get_round_trips) {
  fs_config c, d;
  fs_config_defaults(&c);
  fs_config_defaults(&d);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_set(&c, "local.lr", "0.123456789", &e), FS_OK);
  ck_assert_int_eq(fs_config_set(&c, "run.seed", "18446744073709551615", &e),
                   FS_OK);
  char buf[64];
  ck_assert_int_eq(fs_config_get(&c, "local.lr", buf, sizeof buf), FS_OK);
  ck_assert_int_eq(fs_config_set(&d, "local.lr", buf, &e), FS_OK);
  ck_assert(c.local_lr == d.local_lr);
  ck_assert_int_eq(fs_config_get(&c, "run.seed", buf, sizeof buf), FS_OK);
  ck_assert_str_eq(buf, "18446744073709551615");
  ck_assert_int_eq(fs_config_get(&c, "no.such", buf, sizeof buf), FS_EINVAL);
}
END_TEST

/* An error and the words its message must contain. */
static void expect_set_error(const char *key, const char *value,
                             const char *needle) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_set(&c, key, value, &e), FS_ECONFIG);
  ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in '%s'", needle,
                e.msg);
}

START_TEST(bad_values_name_the_key) {
  expect_set_error("run.rounds", "ten", "run.rounds");
  expect_set_error("run.rounds", "0", "out of range");
  expect_set_error("run.rounds", "2.5", "not an integer");
  expect_set_error("local.lr", "nan", "local.lr");
  expect_set_error("local.lr", "-1", "out of range");
  expect_set_error("model.type", "cnn", "logreg|softmax|mlp");
  expect_set_error("model.bias", "maybe", "model.bias");
  expect_set_error("model.hidden", "", "model.hidden");
  expect_set_error("model.hidden", "8,0", "out of range");
  expect_set_error("model.hidden", "1,2,3,4,5,6,7,8,9", "more than");
  expect_set_error("run.seed", "-3", "run.seed");
  expect_set_error("run.nosuch", "1", "unknown option 'run.nosuch'");
}
END_TEST

static void expect_yaml_error(const char *text, const char *needle) {
  const char *p = write_yaml("bad.yaml", text);
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  ck_assert_int_eq(fs_config_load_yaml(&c, p, &e), FS_ECONFIG);
  ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in '%s'", needle,
                e.msg);
}

START_TEST(bad_yaml_names_key_and_line) {
  expect_yaml_error("run:\n  seed: 1\n  roundz: 5\n", "bad.yaml:3");
  expect_yaml_error("run:\n  seed: 1\n  roundz: 5\n", "run.roundz");
  expect_yaml_error("colour:\n  x: 1\n", "unknown section 'colour'");
  expect_yaml_error("run:\n  rounds: [1, 2]\n", "found a list");
  expect_yaml_error("run:\n  rounds: {a: 1}\n", "found a mapping");
  expect_yaml_error("run: {rounds: 5\n", "YAML error");
  expect_yaml_error("- a\n- b\n", "mapping of sections");
  expect_yaml_error("local:\n  lr: fast\n", "local.lr");
}
END_TEST

START_TEST(missing_file_and_cli_errors) {
  fs_config c;
  fs_err e = {0};
  ck_assert_int_eq(fs_config_load_yaml(&c, "/nonexistent/x.yaml", &e), FS_EIO);
  ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/x.yaml"));
  char *a1[] = {"fedsim", "--rounds"};
  ck_assert_int_eq(from_args(&c, &e, 2, a1), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "needs a value"));
  char *a2[] = {"fedsim", "--set", "novalue"};
  ck_assert_int_eq(from_args(&c, &e, 3, a2), FS_ECONFIG);
  char *a3[] = {"fedsim", "stray"};
  ck_assert_int_eq(from_args(&c, &e, 2, a3), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "stray"));
  char *a4[] = {"fedsim", "--colour", "red"};
  ck_assert_int_eq(from_args(&c, &e, 3, a4), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "--colour"));
}
END_TEST

START_TEST(validate_cross_checks) {
  fs_config c;
  fs_config_defaults(&c);
  fs_err e = {0};
  c.per_round = c.clients + 1;
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "clients.per_round"));
  fs_config_defaults(&c);
  c.data_source = FS_CFG_DATA_LIBSVM;
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "data.path"));
  fs_config_defaults(&c);
  c.data_source = FS_CFG_DATA_FASHION_MNIST;
  c.part_method = FS_CFG_PART_NATURAL;
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "partition.method"));
  /* Gradient coding: virtual clock, no compression (docs/stragglers.md). */
  fs_config_defaults(&c);
  ck_assert_int_eq(fs_config_set(&c, "server.strategy", "gc", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_OK);
  ck_assert_int_eq(fs_config_set(&c, "compress.up", "topk", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "server.strategy: gc"));
  ck_assert_int_eq(fs_config_set(&c, "gc.scheme", "msgc", &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "gc.scheme"));
  ck_assert_int_eq(fs_config_set(&c, "gc.W", "1", &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "gc.W"));
  /* The rules of ef.method's and dp.clip's rows (their checks). */
  fs_config_defaults(&c);
  ck_assert_int_eq(fs_config_set(&c, "ef.method", "ef21w", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "ef.method: ef21w needs the L_i"));
  fs_config_defaults(&c);
  ck_assert_int_eq(fs_config_set(&c, "dp.clip", "dice", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "server.weighting: DP-FedAvg"));
  ck_assert_int_eq(fs_config_set(&c, "server.weighting", "uniform", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_OK);
  ck_assert_int_eq(fs_config_set(&c, "compress.up", "sign", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "with compress.up sign the message"));
  ck_assert_int_eq(fs_config_set(&c, "compress.up", "topk", &e), FS_OK);
  ck_assert_int_eq(fs_config_set(&c, "ef.method", "ef21", &e), FS_OK);
  ck_assert_int_eq(fs_config_validate(&c, &e), FS_ECONFIG);
  ck_assert_ptr_nonnull(strstr(e.msg, "runs with synchronous FedAvg"));
}
END_TEST

/* Choices whose enum the code casts to its owner's enum (or indexes the
 * owner's table with) must name the same things in the same order. */
static void same_names(const char *key, size_t offset, int first, int last,
                       int shift, const char *(*owner)(int)) {
  for (int i = first; i <= last; i++) {
    fs_config c;
    fs_config_defaults(&c);
    *(int *)(void *)((char *)&c + offset) = i;
    const char *name = fs_config_choice_at(&c, offset);
    fs_err e = {0};
    ck_assert_int_eq(fs_config_set(&c, key, name, &e), FS_OK);
    ck_assert_str_eq(owner(i - shift), name);
  }
}
static const char *model_name(int i) {
  return fs_model_type_at((size_t)i)->base.name;
}
static const char *part_name(int i) {
  return fs_partitioner_at((size_t)i)->base.name;
}
static const char *comp_name(int i) {
  return fs_compressor_at((size_t)i)->base.name;
}
static const char *strag_name(int i) { return fs_strag_kind_name(i); }
static const char *rule_name(int i) {
  return fs_robust_name(fs_robust_at((size_t)i));
}
START_TEST(choices_match_their_owners) {
  same_names("model.type", offsetof(fs_config, model_kind), 0, FS_CFG_MODEL_MLP,
             0, model_name);
  same_names("partition.method", offsetof(fs_config, part_method), 0,
             FS_CFG_PART_NATURAL, 0, part_name);
  same_names("compress.up", offsetof(fs_config, comp_up), 0, FS_CFG_COMP_BLOCK8,
             0, comp_name);
  same_names("gc.straggler", offsetof(fs_config, gc_straggler), 0,
             FS_CFG_STRAG_TRACE, 0, strag_name);
  same_names("server.aggregator", offsetof(fs_config, aggregator),
             FS_CFG_AGG_MEAN, FS_CFG_AGG_MONNA, FS_CFG_AGG_MEAN, rule_name);
  ck_assert_ptr_null(fs_robust_at(FS_CFG_AGG_MONNA));
  /* ef.method and dp.clip are tables whose rows run in the order of the
   * enums that server code still compares (compress/ef_methods.def,
   * clip_modes.def). */
  ck_assert_str_eq(fs_ef_method_at(FS_CFG_EF_NONE)->base.name, "none");
  ck_assert_str_eq(fs_ef_method_at(FS_CFG_EF_EF14)->base.name, "ef14");
  ck_assert_str_eq(fs_ef_method_at(FS_CFG_EF_EF21)->base.name, "ef21");
  ck_assert_str_eq(fs_ef_method_at(FS_CFG_EF_EF21W)->base.name, "ef21w");
  ck_assert_ptr_null(fs_ef_method_at(FS_CFG_EF_EF21W + 1));
  ck_assert_str_eq(fs_clip_mode_at(FS_CFG_CLIP_NONE)->base.name, "none");
  ck_assert_str_eq(fs_clip_mode_at(FS_CFG_CLIP_FLAT)->base.name, "flat");
  ck_assert_str_eq(fs_clip_mode_at(FS_CFG_CLIP_PER_LAYER)->base.name,
                   "per_layer");
  ck_assert_str_eq(fs_clip_mode_at(FS_CFG_CLIP_DICE)->base.name, "dice");
  ck_assert_ptr_null(fs_clip_mode_at(FS_CFG_CLIP_DICE + 1));
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, NULL);
  tcase_add_test(core, defaults_are_valid);
  tcase_add_test(core, yaml_sections_nested_and_lists);
  tcase_add_test(core, command_line_wins_over_file);
  tcase_add_test(core, help_and_version_actions);
  tcase_add_test(core, help_lists_every_key_in_json);
  tcase_add_test(core, get_round_trips);
  tcase_add_test(core, choices_match_their_owners);
  suite_add_tcase(s, core);
  TCase *errs = tcase_create("errors");
  tcase_add_checked_fixture(errs, setup, NULL);
  tcase_add_test(errs, bad_values_name_the_key);
  tcase_add_test(errs, bad_yaml_names_key_and_line);
  tcase_add_test(errs, missing_file_and_cli_errors);
  tcase_add_test(errs, validate_cross_checks);
  suite_add_tcase(s, errs);
  return s;
}

FS_TEST_MAIN(config_suite)
