/*
 * app.h — the driver's subcommands (layer 5, docs/architecture.md). Each
 * takes the command line from the subcommand's name on and returns the
 * process exit status.
 */
#ifndef FS_APP_H
#define FS_APP_H

/* `fedsim privacy --q Q --steps T (--sigma Z | --target-epsilon E) ...`:
 * argv[1] is "privacy". Prints epsilon (or sigma); 0 on success, 2 on a bad
 * argument. */
int fs_app_privacy(int argc, char **argv);

/* `fedsim stragglers --scheme ... --n N ...` (app/stragglers.c): argv[0] is
 * "stragglers"; runs the straggler schedulers on the virtual clock without
 * training (server/gc_sim.h), one CSV row per seed. 2 on a bad argument,
 * with a message. */
int fs_app_stragglers(int argc, char **argv);

/* `fedsim compat`: every refused pair of choices, as a Markdown table on
 * stdout (docs/compatibility.md); 0. */
int fs_app_compat(int argc, char **argv);

/* Hand the configuration every extension point's table (app/tables.c).
 * Call once, before any fs_config is made; the unit tests' main does too. */
void fs_app_register_tables(void);

#endif
