/*
 * ckpt.h — checkpoint files: a tiny tagged binary format, written
 * atomically, read back with every byte checked.
 *
 * A file is a header, a list of records and a trailer; every integer is
 * little-endian, written byte by byte:
 *
 *   off size field
 *     0    8 magic "FSCKPT\0\n"
 *     8    4 format version (FS_CKPT_VERSION)
 *    12    4 kind (fs_ckpt_kind: manifest, server, worker)
 *    16    8 configuration hash (fs_ckpt_config_hash)
 *    24    8 aggregation the checkpoint was taken after
 *    32      records: u32 tag, u64 length, length bytes
 *   end-8  4 "FEND"
 *   end-4  4 crc32 (zlib) of every byte before it
 *
 * Writes go to PATH.tmp, are fsync'ed, renamed over PATH, and the folder is
 * fsync'ed, so PATH is either the old file, the new one, or absent; never
 * half of one. A reader refuses, with a message that names what differs,
 * a file of another magic, version, kind, configuration or aggregation, a
 * truncated file and a bad checksum.
 *
 * The configuration travels as text ("section.key<TAB>value" lines, every
 * option but the ones that may change on a resume: run.resume,
 * run.out_dir, run.progress, run.checkpoint_every, run.checkpoint_keep,
 * run.memory_limit).
 */
#ifndef FS_CKPT_H
#define FS_CKPT_H

#include "config.h"
#include "fs_status.h"

#include <stddef.h>
#include <stdint.h>

#define FS_CKPT_VERSION 1
#define FS_CKPT_HEADER_BYTES 32

typedef enum {
  FS_CKPT_MANIFEST = 1,
  FS_CKPT_SERVER = 2,
  FS_CKPT_WORKER = 3
} fs_ckpt_kind;

/* A record tag from four characters: FS_CKPT_TAG('M','O','D','L'). */
#define FS_CKPT_TAG(a, b, c, d)                                                \
  ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 |                  \
   (uint32_t)(d) << 24)

typedef struct fs_ckpt_writer fs_ckpt_writer;
typedef struct fs_ckpt_reader fs_ckpt_reader;

/* Start a file in memory. NULL on allocation failure. */
fs_ckpt_writer *fs_ckpt_writer_new(fs_ckpt_kind kind, uint64_t cfg_hash,
                                   uint64_t aggregation);
void fs_ckpt_writer_free(fs_ckpt_writer *w);

/* Append one record. An allocation failure is remembered and reported by
 * fs_ckpt_writer_save. Arrays are written element by element,
 * little-endian, float and double bit for bit. */
void fs_ckpt_put(fs_ckpt_writer *w, uint32_t tag, const void *data, size_t len);
void fs_ckpt_put_u64(fs_ckpt_writer *w, uint32_t tag, uint64_t v);
void fs_ckpt_put_f64(fs_ckpt_writer *w, uint32_t tag, double v);
void fs_ckpt_put_u64s(fs_ckpt_writer *w, uint32_t tag, const uint64_t *v,
                      size_t n);
void fs_ckpt_put_f64s(fs_ckpt_writer *w, uint32_t tag, const double *v,
                      size_t n);
void fs_ckpt_put_f32s(fs_ckpt_writer *w, uint32_t tag, const float *v,
                      size_t n);
/* A record made of a u32 id followed by n floats (a client's vector). */
void fs_ckpt_put_id_f32s(fs_ckpt_writer *w, uint32_t tag, uint32_t id,
                         const float *v, size_t n);

/* Seal (trailer and crc) and write atomically to path (see above). The
 * file's crc32 and length go to *crc and *len when not NULL. Errors:
 * FS_ENOMEM (an earlier append failed), FS_EIO (the message names the file
 * and the system's reason: no space left, permission denied, ...); on error
 * path is untouched and no temporary file is left behind. */
fs_status fs_ckpt_writer_save(fs_ckpt_writer *w, const char *path,
                              uint32_t *crc, uint64_t *len, fs_err *err);

/* Write len bytes to path atomically: path.tmp, fsync, rename, fsync of
 * the folder. Errors: FS_EIO naming the file and the reason. */
fs_status fs_ckpt_write_atomic(const char *path, const void *data, size_t len,
                               fs_err *err);

/* Read and check a whole file: magic, version, trailer, crc32, kind, and
 * that every record lies inside the file. cfg_hash and aggregation, when
 * not NULL, must match too. Errors: FS_EIO (cannot open/read), FS_EFORMAT
 * (magic, kind, record bounds, another configuration or aggregation),
 * FS_EVERSION, FS_ETRUNC (shorter than header plus trailer, or no trailer),
 * FS_ENOMEM. The message starts with the path. */
fs_status fs_ckpt_reader_open(const char *path, fs_ckpt_kind kind,
                              const uint64_t *cfg_hash,
                              const uint64_t *aggregation, fs_ckpt_reader **out,
                              fs_err *err);
void fs_ckpt_reader_free(fs_ckpt_reader *r);
uint64_t fs_ckpt_reader_hash(const fs_ckpt_reader *r);
uint64_t fs_ckpt_reader_aggregation(const fs_ckpt_reader *r);
/* crc32 of the file (its trailer's value) and its length in bytes. */
uint32_t fs_ckpt_reader_crc(const fs_ckpt_reader *r);
uint64_t fs_ckpt_reader_length(const fs_ckpt_reader *r);

/* The first record with this tag (*data points into the reader). Error
 * FS_EFORMAT "path: no record XXXX" if absent. */
fs_status fs_ckpt_get(const fs_ckpt_reader *r, uint32_t tag,
                      const uint8_t **data, size_t *len, fs_err *err);
/* Typed reads: the record must have exactly the expected length. */
fs_status fs_ckpt_get_u64(const fs_ckpt_reader *r, uint32_t tag, uint64_t *v,
                          fs_err *err);
fs_status fs_ckpt_get_f64(const fs_ckpt_reader *r, uint32_t tag, double *v,
                          fs_err *err);
fs_status fs_ckpt_get_u64s(const fs_ckpt_reader *r, uint32_t tag, uint64_t *v,
                           size_t n, fs_err *err);
fs_status fs_ckpt_get_f64s(const fs_ckpt_reader *r, uint32_t tag, double *v,
                           size_t n, fs_err *err);
fs_status fs_ckpt_get_f32s(const fs_ckpt_reader *r, uint32_t tag, float *v,
                           size_t n, fs_err *err);
/* Walk the records in order: *pos starts at 0; returns 0 at the end. */
int fs_ckpt_next(const fs_ckpt_reader *r, size_t *pos, uint32_t *tag,
                 const uint8_t **data, size_t *len);
/* Little-endian loads for record contents. */
uint32_t fs_ckpt_le32(const uint8_t *p);
void fs_ckpt_f32s_from(const uint8_t *p, float *v, size_t n);

/* ---- the configuration --------------------------------------------------
 */

/* The configuration as "key<TAB>value\n" lines in table order, without the
 * keys a resume may change (malloc'ed, caller frees; NULL when out of
 * memory or a value holds a newline). */
char *fs_ckpt_config_text(const fs_config *cfg);
/* Its 64-bit BLAKE2b hash. */
uint64_t fs_ckpt_config_hash(const char *text);
/* Set every line of text on cfg. Errors: FS_ECONFIG naming the key. */
fs_status fs_ckpt_config_apply(fs_config *cfg, const char *text, fs_err *err);
/* Name the keys whose values differ between two texts: "local.lr (0.05 in
 * the checkpoint, 0.1 now), ..." into buf; returns how many differ. */
size_t fs_ckpt_config_diff(const char *saved, const char *now, char *buf,
                           size_t len);

/* The manifest's records (the server writes them, both roles read them;
 * docs/reliability.md). */
#define FS_CKR_CONF FS_CKPT_TAG('C', 'O', 'N', 'F') /* configuration text */
#define FS_CKR_FILE                                                            \
  FS_CKPT_TAG('F', 'I', 'L', 'E') /* u32 crc, u64 len, name                    \
                                   */

#endif
