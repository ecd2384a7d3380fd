/*
 * status.c — the text of every fs_status (expanded from the one X-macro
 * table in fs_status.h) and the fs_err helpers.
 */
#include "fs_status.h"

#include <stdarg.h>
#include <stdio.h>

const char *fs_strerror(fs_status st) {
  switch (st) {
#define FS__STATUS_STR(name, msg)                                              \
  case FS_##name:                                                              \
    return msg;
    FS_STATUS_MAP(FS__STATUS_STR)
#undef FS__STATUS_STR
  default:
    return "unknown status";
  }
}

const char *fs_status_name(fs_status st) {
  switch (st) {
#define FS__STATUS_NAME(name, msg)                                             \
  case FS_##name:                                                              \
    return #name;
    FS_STATUS_MAP(FS__STATUS_NAME)
#undef FS__STATUS_NAME
  default:
    return "UNKNOWN";
  }
}

fs_status fs_err_set(fs_err *err, fs_status st, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->status = st;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return st;
}

const char *fs_err_msg(const fs_err *err, fs_status st) {
  if (err != NULL && err->msg[0] != '\0')
    return err->msg;
  return fs_strerror(st);
}
