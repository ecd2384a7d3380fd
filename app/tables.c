/*
 * tables.c — which table serves which option: the one place that hands the
 * configuration (sim/config.c) the extension points' tables of every
 * layer (docs/architecture.md, "Tables"). Adding a row to a table changes
 * nothing here; adding a new kind of extension point adds one line.
 */
#include "app.h"
#include "clip.h"
#include "compress.h"
#include "config.h"
#include "ef.h"
#include "local.h"
#include "model_type.h"
#include "optim.h"
#include "partition.h"
#include "strategy.h"

void fs_app_register_tables(void) {
  fs_config_use_table("compress.up", fs_compressor_choices());
  fs_config_use_table("compress.down", fs_compressor_choices());
  fs_config_use_table("local.mode", fs_local_choices());
  fs_config_use_table("server.strategy", fs_strategy_choices());
  fs_config_use_table("server.optimizer", fs_optim_choices());
  fs_config_use_table("model.type", fs_model_type_choices());
  fs_config_use_table("partition.method", fs_partitioner_choices());
  fs_config_use_table("ef.method", fs_ef_method_choices());
  fs_config_use_table("dp.clip", fs_clip_mode_choices());
}
