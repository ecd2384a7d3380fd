/*
 * server_ckpt.h — checkpoints of a whole run, driven by the server.
 *
 * A checkpoint after aggregation A is the folder RUN/checkpoints/agg-A/:
 *   worker-RRRR.bin  each worker's clients' state (client/client_ckpt.h),
 *                    keyed by client id, so any rank count can read it back;
 *   server.bin       the server's state: a list of fields (model, optimiser
 *                    moments, counters, clock, ...) given by server.c;
 *   MANIFEST         written last: the configuration, the aggregation, each
 *                    file's name, length and crc32, and the length and crc32
 *                    of metrics.csv at that point.
 * A checkpoint is complete when its MANIFEST exists and checks out; a
 * folder without one (a run killed while writing) is ignored and removed by
 * the next checkpoint. Older complete checkpoints beyond run.checkpoint_keep
 * are removed once a new one is complete.
 *
 * The server asks every worker to save (a CHECKPOINT frame) and waits for
 * each CHECKPOINT_DONE; then writes server.bin, fsyncs metrics.csv and
 * writes the MANIFEST. Resuming is the reverse: fs_ckpt_find picks the
 * checkpoint, the server restores its fields and tells every worker to load
 * the clients it now hosts.
 */
#ifndef FS_SERVER_CKPT_H
#define FS_SERVER_CKPT_H

#include "config.h"
#include "fs_status.h"
#include "sealer.h"
#include "transport.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  FS_F_U64 = 1, /* uint64_t[n] */
  FS_F_I64,     /* int64_t[n] */
  FS_F_U32,     /* uint32_t[n] */
  FS_F_F64,     /* double[n] */
  FS_F_F32,     /* float[n] */
  FS_F_U8       /* uint8_t[n] */
} fs_field_type;

/* One piece of server state: a tag (FS_CKPT_TAG), its type, where it lives
 * and how many elements. */
typedef struct {
  uint32_t tag;
  fs_field_type type;
  void *ptr;
  size_t n;
} fs_ckpt_field;

/* State that is not a fixed list of fields (the asynchronous scheduler,
 * buffered updates): the caller writes or reads its own records. */
typedef struct fs_ckpt_writer fs_ckpt_writer;
typedef struct fs_ckpt_reader fs_ckpt_reader;
typedef fs_status (*fs_ckpt_save_fn)(void *ctx, fs_ckpt_writer *w, fs_err *err);
typedef fs_status (*fs_ckpt_load_fn)(void *ctx, const fs_ckpt_reader *r,
                                     fs_err *err);

/* Set by SIGINT/SIGTERM (fs_ckpt_install_signals): the run checkpoints at
 * the next aggregation boundary and stops. */
extern volatile sig_atomic_t fs_ckpt_stop_requested;
/* Set by the server when it stopped at a boundary after a signal (the
 * driver exits with status 3 then: interrupted, resumable). */
extern int fs_ckpt_interrupted;
/* On the server: the line a first signal prints on stderr at once (how to
 * resume should the run be killed before it reaches the boundary, as when
 * Open MPI ends the job after a rank died). */
void fs_ckpt_set_resume_hint(const char *run_dir);
/* Catch SIGINT and SIGTERM (a second SIGINT kills at once; repeated
 * SIGTERMs, as Slurm sends them, are the same request). */
void fs_ckpt_install_signals(void);

/* secure.seal: the server's sealer, through which the CHECKPOINT frames
 * and their replies go (sealed in the session of each worker's first
 * client, as SHUTDOWN is); NULL (the default): plain frames. */
void fs_ckpt_set_sealer(fs_sealer *s);

/* Save a checkpoint after aggregation agg (see the file comment): tells the
 * workers, writes server.bin from fields[0..n) (and the records extra
 * writes, when not NULL), the MANIFEST last, then
 * removes older checkpoints beyond cfg->checkpoint_keep. On error (disk
 * full, folder unwritable, a worker failed) nothing complete is lost: the
 * earlier checkpoints stay. Prints one line on stdout. */
fs_status fs_ckpt_save_run(fs_transport *t, const fs_config *cfg,
                           const char *run_dir, uint64_t agg,
                           const fs_ckpt_field *fields, size_t n,
                           fs_ckpt_save_fn extra, void *ctx, fs_err *err);

/* The checkpoint to resume from: `from` is a run folder (its newest
 * complete checkpoint) or one checkpoint folder. *agg gets its aggregation,
 * ckpt_dir its folder, run_dir the run folder; the configuration text of
 * its MANIFEST is malloc'ed into *cfg_text. Errors name what is wrong
 * (no checkpoint, corrupt, truncated, another version). */
fs_status fs_ckpt_find(const char *from, char *ckpt_dir, size_t ckpt_len,
                       char *run_dir, size_t run_len, uint64_t *agg,
                       char **cfg_text, fs_err *err);

/* Resume the configuration: cfg holds what the command line asked for
 * (with run.resume set). Replaces it with the checkpoint's configuration,
 * keeps the keys a resume may change, and refuses (FS_ECONFIG naming every
 * differing key) a command line that sets another value of any other key.
 * run.checkpoint_every and run.checkpoint_keep, when not given, are the
 * checkpointed run's. */
fs_status fs_ckpt_resume_config(fs_config *cfg, fs_err *err);

/* Restore the server's fields from ckpt_dir/server.bin, truncate
 * run_dir/metrics.csv to the checkpoint's rows (checking their crc32), and
 * tell every worker to load its clients (waiting for each). */
fs_status fs_ckpt_restore_run(fs_transport *t, const fs_config *cfg,
                              const char *ckpt_dir, const char *run_dir,
                              uint64_t agg, const fs_ckpt_field *fields,
                              size_t n, fs_ckpt_load_fn extra, void *ctx,
                              fs_err *err);

/* Refuse, before anything runs, a configuration whose estimated memory per
 * rank exceeds cfg->memory_limit, or (when that is 0) whose ranks on this
 * machine (local_ranks of them) together exceed its available memory. The
 * estimate: per worker, its share of the data, scratch, and per hosted
 * client its error-feedback and DiceSGD vectors; the server, its model
 * buffers and decoded updates; each rank also the whole data set
 * (data_bytes). The message gives the figures. *est_server and *est_worker
 * (bytes) when not NULL. Error: FS_ERANGE. */
fs_status fs_ckpt_memory_check(const fs_config *cfg, size_t dim,
                               double data_bytes, int ranks, int local_ranks,
                               double *est_server, double *est_worker,
                               fs_err *err);

#endif
