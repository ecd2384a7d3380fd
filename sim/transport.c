/*
 * transport.c — MPI (and its single-process stand-in) behind transport.h.
 * This is the only file of fedsim that calls MPI; every MPI return code
 * becomes an fs_status.
 */
#include "transport.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FS_TAG_FRAME 7

typedef struct qnode {
  struct qnode *next;
  int src;
  size_t len;
  uint8_t data[];
} qnode;

typedef struct {
  qnode *head, *tail;
} queue;

struct fs_transport {
  int rank, size, local;
  /* MPI mode: pending sends. */
  MPI_Request *reqs;
  uint8_t **owned; /* per request: the copy to free when it completes */
  size_t nreq, capreq;
  /* Receive buffers, one per role. */
  uint8_t *rbuf[2];
  size_t rcap[2];
  /* Local mode. */
  queue q[2]; /* q[role]: frames for that role */
  qnode *held[2];
  fs_pump_fn pump;
  void *pump_ctx;
};

static fs_status mpi_err(fs_err *err, int rc, const char *what) {
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return fs_err_set(err, FS_EMPI, "%s failed: %s", what, msg);
}

static void nap(unsigned *us) {
  struct timespec ts = {0, (long)*us * 1000L};
  nanosleep(&ts, NULL);
  if (*us < 500)
    *us *= 2;
}

fs_status fs_transport_init(int *argc, char ***argv, fs_transport **out,
                            fs_err *err) {
  *out = NULL;
  int rc = MPI_Init(argc, argv);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Init");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  fs_transport *t = calloc(1, sizeof *t);
  if (t == NULL)
    return fs_err_set(err, FS_ENOMEM, "transport: out of memory");
  MPI_Comm_rank(MPI_COMM_WORLD, &t->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &t->size);
  t->local = t->size == 1;
  *out = t;
  return FS_OK;
}

static void queue_clear(queue *q) {
  while (q->head) {
    qnode *n = q->head;
    q->head = n->next;
    free(n);
  }
  q->tail = NULL;
}

void fs_transport_finalize(fs_transport *t) {
  if (t == NULL)
    return;
  fs_transport_flush(t, NULL);
  for (int r = 0; r < 2; r++) {
    free(t->rbuf[r]);
    free(t->held[r]);
    queue_clear(&t->q[r]);
  }
  free(t->reqs);
  free(t->owned);
  free(t);
  MPI_Finalize();
}

void fs_transport_abort(fs_transport *t, int code) {
  (void)t;
  MPI_Abort(MPI_COMM_WORLD, code);
}

int fs_transport_rank(const fs_transport *t) { return t->rank; }
int fs_transport_size(const fs_transport *t) { return t->size; }
int fs_transport_is_local(const fs_transport *t) { return t->local; }
int fs_transport_workers(const fs_transport *t) {
  return t->local ? 1 : t->size - 1;
}
int fs_transport_worker_of(const fs_transport *t, uint64_t client) {
  if (t->local)
    return 0;
  return 1 + (int)(client % (uint64_t)(t->size - 1));
}

void fs_transport_set_pump(fs_transport *t, fs_pump_fn fn, void *ctx) {
  t->pump = fn;
  t->pump_ctx = ctx;
}

static size_t iov_total(const fs_iov *iov, int n) {
  size_t s = 0;
  for (int i = 0; i < n; i++)
    s += iov[i].len;
  return s;
}

fs_status fs_transport_post(fs_transport *t, fs_role from, int dest,
                            const fs_iov *iov, int n, fs_err *err) {
  size_t total = iov_total(iov, n);
  if (t->local) {
    qnode *q = malloc(sizeof *q + total);
    if (q == NULL)
      return fs_err_set(err, FS_ENOMEM, "transport: out of memory (%zu bytes)",
                        total);
    q->next = NULL;
    q->src = 0;
    q->len = total;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
      if (iov[i].len)
        memcpy(q->data + off, iov[i].base, iov[i].len);
      off += iov[i].len;
    }
    queue *dq = &t->q[from == FS_ROLE_SERVER ? FS_ROLE_WORKER : FS_ROLE_SERVER];
    if (dq->tail)
      dq->tail->next = q;
    else
      dq->head = q;
    dq->tail = q;
    return FS_OK;
  }
  if (dest < 0 || dest >= t->size || dest == t->rank)
    return fs_err_set(err, FS_EINVAL, "transport: bad destination rank %d",
                      dest);
  if (total > (size_t)INT32_MAX)
    return fs_err_set(err, FS_ERANGE, "transport: frame of %zu bytes too big",
                      total);
  if (t->nreq == t->capreq) {
    size_t cap = t->capreq ? 2 * t->capreq : 64;
    MPI_Request *r = realloc(t->reqs, cap * sizeof *r);
    if (r == NULL)
      return fs_err_set(err, FS_ENOMEM, "transport: out of memory");
    t->reqs = r;
    uint8_t **o = realloc(t->owned, cap * sizeof *o);
    if (o == NULL)
      return fs_err_set(err, FS_ENOMEM, "transport: out of memory");
    t->owned = o;
    t->capreq = cap;
  }
  int lens[8];
  MPI_Aint disp[8];
  if (n > 8 || n < 1)
    return fs_err_set(err, FS_EINVAL, "transport: %d buffers (1..8)", n);
  for (int i = 0; i < n; i++) {
    lens[i] = (int)iov[i].len;
    int rc = MPI_Get_address(iov[i].base, &disp[i]);
    if (rc != MPI_SUCCESS)
      return mpi_err(err, rc, "MPI_Get_address");
  }
  MPI_Datatype ty;
  int rc = MPI_Type_create_hindexed(n, lens, disp, MPI_BYTE, &ty);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(&ty);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Type_create_hindexed");
  rc = MPI_Isend(MPI_BOTTOM, 1, ty, dest, FS_TAG_FRAME, MPI_COMM_WORLD,
                 &t->reqs[t->nreq]);
  MPI_Type_free(&ty);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Isend");
  t->owned[t->nreq] = NULL;
  t->nreq++;
  return FS_OK;
}

/* Free the copies of completed owned sends and drop their requests; sends
 * the caller owns stay until flush. */
static fs_status reap(fs_transport *t, fs_err *err) {
  size_t w = 0;
  for (size_t i = 0; i < t->nreq; i++) {
    if (t->owned[i] != NULL) {
      int done = 0;
      int rc = MPI_Test(&t->reqs[i], &done, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS)
        return mpi_err(err, rc, "MPI_Test");
      if (done) {
        free(t->owned[i]);
        continue;
      }
    }
    t->reqs[w] = t->reqs[i];
    t->owned[w] = t->owned[i];
    w++;
  }
  t->nreq = w;
  return FS_OK;
}

fs_status fs_transport_post_copy(fs_transport *t, fs_role from, int dest,
                                 const fs_iov *iov, int n, fs_err *err) {
  if (t->local)
    return fs_transport_post(t, from, dest, iov, n, err); /* copies */
  fs_status st = reap(t, err);
  if (st != FS_OK)
    return st;
  size_t total = iov_total(iov, n), off = 0;
  uint8_t *copy = malloc(total ? total : 1);
  if (copy == NULL)
    return fs_err_set(err, FS_ENOMEM, "transport: out of memory (%zu bytes)",
                      total);
  for (int i = 0; i < n; i++) {
    if (iov[i].len)
      memcpy(copy + off, iov[i].base, iov[i].len);
    off += iov[i].len;
  }
  fs_iov one = {copy, total};
  st = fs_transport_post(t, from, dest, &one, 1, err);
  if (st != FS_OK) {
    free(copy);
    return st;
  }
  t->owned[t->nreq - 1] = copy;
  return FS_OK;
}

fs_status fs_transport_flush(fs_transport *t, fs_err *err) {
  if (t->local || t->nreq == 0) {
    t->nreq = 0;
    return FS_OK;
  }
  unsigned us = 2;
  for (;;) {
    int done = 0;
    int rc = MPI_Testall((int)t->nreq, t->reqs, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS)
      return mpi_err(err, rc, "MPI_Testall");
    if (done)
      break;
    nap(&us);
  }
  for (size_t i = 0; i < t->nreq; i++)
    free(t->owned[i]);
  t->nreq = 0;
  return FS_OK;
}

fs_status fs_transport_send(fs_transport *t, fs_role from, int dest,
                            const fs_iov *iov, int n, fs_err *err) {
  fs_status st = fs_transport_post(t, from, dest, iov, n, err);
  if (st != FS_OK)
    return st;
  return fs_transport_flush(t, err);
}

static fs_status local_take(fs_transport *t, fs_role to, int *src,
                            const uint8_t **buf, size_t *len) {
  queue *q = &t->q[to];
  free(t->held[to]);
  t->held[to] = NULL;
  if (q->head == NULL) {
    *buf = NULL;
    *len = 0;
    return FS_OK;
  }
  qnode *n = q->head;
  q->head = n->next;
  if (q->head == NULL)
    q->tail = NULL;
  t->held[to] = n;
  *src = n->src;
  *buf = n->data;
  *len = n->len;
  return FS_OK;
}

static fs_status mpi_try_recv(fs_transport *t, fs_role to, int *src,
                              const uint8_t **buf, size_t *len, fs_err *err) {
  int flag = 0;
  MPI_Status status;
  int rc =
      MPI_Iprobe(MPI_ANY_SOURCE, FS_TAG_FRAME, MPI_COMM_WORLD, &flag, &status);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Iprobe");
  *buf = NULL;
  *len = 0;
  if (!flag)
    return FS_OK;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  if (count < 0)
    return fs_err_set(err, FS_EMPI, "transport: bad message size");
  if ((size_t)count > t->rcap[to] || t->rbuf[to] == NULL) {
    size_t cap = (size_t)count ? (size_t)count : 1;
    uint8_t *b = realloc(t->rbuf[to], cap);
    if (b == NULL)
      return fs_err_set(err, FS_ENOMEM, "transport: out of memory (%d bytes)",
                        count);
    t->rbuf[to] = b;
    t->rcap[to] = cap;
  }
  rc = MPI_Recv(t->rbuf[to], count, MPI_BYTE, status.MPI_SOURCE, FS_TAG_FRAME,
                MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Recv");
  *src = status.MPI_SOURCE;
  *buf = t->rbuf[to];
  *len = (size_t)count;
  return FS_OK;
}

fs_status fs_transport_try_recv(fs_transport *t, fs_role to, int *src,
                                const uint8_t **buf, size_t *len, fs_err *err) {
  if (t->local)
    return local_take(t, to, src, buf, len);
  return mpi_try_recv(t, to, src, buf, len, err);
}

fs_status fs_transport_recv(fs_transport *t, fs_role to, int *src,
                            const uint8_t **buf, size_t *len, fs_err *err) {
  if (t->local) {
    local_take(t, to, src, buf, len);
    if (*buf != NULL)
      return FS_OK;
    if (to == FS_ROLE_SERVER && t->pump != NULL) {
      fs_status st = t->pump(t->pump_ctx, err);
      if (st != FS_OK)
        return st;
      local_take(t, to, src, buf, len);
      if (*buf != NULL)
        return FS_OK;
    }
    return fs_err_set(err, FS_EINVAL,
                      "transport: waiting for a frame that no role will send");
  }
  unsigned us = 2;
  for (;;) {
    fs_status st = mpi_try_recv(t, to, src, buf, len, err);
    if (st != FS_OK || *buf != NULL)
      return st;
    if (t->nreq > 0 && (st = reap(t, err)) != FS_OK)
      return st;
    nap(&us);
  }
}

double fs_transport_wtime(void) { return MPI_Wtime(); }

void fs_transport_mpi_version(char *buf, size_t len) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int n = 0;
  MPI_Get_library_version(v, &n);
  char *nl = strchr(v, ',');
  if (nl)
    *nl = '\0';
  snprintf(buf, len, "%s", v);
}

fs_status fs_transport_reduce_stats(fs_transport *t, double v, double out[3],
                                    fs_err *err) {
  double mn = 0, mx = 0, sum = 0;
  int rc = MPI_Reduce(&v, &mn, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
  if (rc == MPI_SUCCESS)
    rc = MPI_Reduce(&v, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rc == MPI_SUCCESS)
    rc = MPI_Reduce(&v, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS)
    return mpi_err(err, rc, "MPI_Reduce");
  out[0] = mn;
  out[1] = sum / t->size;
  out[2] = mx;
  return FS_OK;
}

fs_status fs_transport_bcast_u64(fs_transport *t, uint64_t *v, fs_err *err) {
  if (t->local || t->size <= 1)
    return FS_OK;
  int rc = MPI_Bcast(v, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return rc == MPI_SUCCESS ? FS_OK : mpi_err(err, rc, "MPI_Bcast");
}
