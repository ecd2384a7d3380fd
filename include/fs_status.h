/*
 * fs_status.h — the one status enum of fedsim, and an error record that
 * carries a human-readable detail next to it.
 *
 * Fallible functions return an fs_status and write results through pointers.
 * Functions that read files, flags or the wire also take an fs_err * (which
 * may be NULL) and fill it with a message that names what is wrong.
 * Programmer mistakes (NULL where forbidden, impossible sizes) abort; bad
 * data returns a status.
 */
#ifndef FS_STATUS_H
#define FS_STATUS_H

#include <stddef.h>

#define FS_STATUS_MAP(X)                                                       \
  X(OK, "ok")                                                                  \
  X(ENOMEM, "out of memory")                                                   \
  X(EINVAL, "invalid argument")                                                \
  X(EIO, "input/output error")                                                 \
  X(EFORMAT, "malformed data")                                                 \
  X(ETRUNC, "truncated input")                                                 \
  X(EVERSION, "unsupported format version")                                    \
  X(ERANGE, "value out of range")                                              \
  X(ECONFIG, "configuration error")                                            \
  X(EMPI, "MPI error")                                                         \
  X(ENUMERIC, "non-finite number")                                             \
  X(EUNSUPPORTED, "unsupported")                                               \
  X(EAUTH, "authentication failed")                                            \
  X(EREPLAY, "replayed message")

typedef enum {
#define FS__STATUS_ENUM(name, msg) FS_##name,
  FS_STATUS_MAP(FS__STATUS_ENUM)
#undef FS__STATUS_ENUM
      FS__STATUS_COUNT
} fs_status;

/* A short description of a status; never NULL, also for unknown values. */
const char *fs_strerror(fs_status st);

/* The name of a status ("EFORMAT"); never NULL. */
const char *fs_status_name(fs_status st);

/* Detail for the last error of one call chain. Owned by the caller. */
typedef struct {
  fs_status status;
  char msg[512];
} fs_err;

/* Record a formatted message in err (if not NULL) and return st. */
fs_status fs_err_set(fs_err *err, fs_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message recorded in err, or fs_strerror(st) if none; never NULL. */
const char *fs_err_msg(const fs_err *err, fs_status st);

#endif
