/*
 * oracle.h — re-encoders shared by the fuzz targets of the gradient-coding
 * and secure-aggregation bodies (fuzz_gcmsg.c, fuzz_secagg_msg.c,
 * fuzz_frame.c): what a decoder accepted is written back with the
 * encoders of proto/, and must give the very bytes it came from. Each also
 * checks the promises of the decoder's header on what it returned; a
 * broken promise aborts (a crash).
 */
#ifndef FS_FUZZ_ORACLE_H
#define FS_FUZZ_ORACLE_H

#include "frame.h"
#include "gcmsg.h"
#include "secagg_msg.h"

#include <stddef.h>
#include <stdint.h>

/* Decode a GC_TASK body of len bytes for models of d floats, rows below
 * max_row and at most cap tasks, terms and models each (0: the worker's
 * caps, len / 8 + 1, as client/gc_worker.c uses). On FS_OK the body must
 * re-encode to the same bytes; on failure the status must be one
 * gcmsg.h names, with a message. Returns the status. */
fs_status fs_fuzz_gc_task(const uint8_t *body, size_t len, size_t d,
                          uint64_t max_row, size_t cap);

/* Decode a body of type t (any value: a receiver passes the header's
 * type) and check it as above. Returns the status. */
fs_status fs_fuzz_sam(unsigned t, const uint8_t *body, size_t len);

/* Decode a MASKED_U32 vector of len bytes expecting n entries, into a
 * buffer of only as many entries as the bytes can hold (so a decoder that
 * wrote more is caught by AddressSanitizer), and check it as above (the
 * buffer untouched on failure). Returns the status. */
fs_status fs_fuzz_masked(const uint8_t *buf, size_t len, size_t n);

#endif
