/*
 * Sending to a Unix datagram socket, for the logs that `log.backend: 'syslog'` sends to the local
 * syslog's /dev/log (src/log/syslog-dgram.ts). Node's dgram has no AF_UNIX, and the npm unix-dgram
 * watches its socket on uv_default_loop(), which is not the loop of the pino transport's worker
 * thread where this runs. Here there is no watcher at all: each send is one non-blocking send(2)
 * from whatever thread calls it (N-API: loadable in a worker thread).
 *
 * The socket is opened and connected on the first send and kept. When the peer is gone (the syslog
 * daemon restarted: ECONNREFUSED, ENOTCONN, ECONNRESET, EPIPE; the path missing: ENOENT), the next
 * send closes it, connects again and tries once more. A full receive queue (EAGAIN, ENOBUFS) is
 * never waited for: the datagram is not sent and the caller decides (retry later or drop).
 *
 * API (see src/log/syslog-dgram.ts):
 *   open(path) → handle        (no syscall yet; throws when path does not fit sun_path)
 *   send(handle, buffer) → 0 sent, 1 would block (not sent), or -errno (not sent)
 *   close(handle)              (closes the fd; a later send opens it again)
 * The handle's fd is closed when it is garbage-collected too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

typedef struct {
  int fd; /* -1 while not connected */
  struct sockaddr_un addr;
  socklen_t addr_len;
} dgram_t;

#define CHECK(call)                                                         \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error(env, NULL, "unix_dgram: N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

static void disconnect(dgram_t *d) {
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
}

/* 0, or the errno of socket/connect (the fd stays -1 then). */
static int connect_socket(dgram_t *d) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int rc;
  do rc = connect(fd, (struct sockaddr *)&d->addr, d->addr_len);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  d->fd = fd;
  return 0;
}

/* 0 sent, 1 would block, or -errno. */
static int send_once(dgram_t *d, const void *buf, size_t len) {
  ssize_t n;
  do n = send(d->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 1;
  return -errno;
}

static int peer_gone(int err) {
  return err == ECONNREFUSED || err == ENOTCONN || err == ECONNRESET || err == EPIPE || err == ENOENT ||
         err == EDESTADDRREQ;
}

static void finalize(napi_env env, void *data, void *hint) {
  dgram_t *d = (dgram_t *)data;
  disconnect(d);
  free(d);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  dgram_t *d = calloc(1, sizeof *d);
  if (d == NULL) {
    napi_throw_error(env, NULL, "unix_dgram: out of memory");
    return NULL;
  }
  d->fd = -1;
  d->addr.sun_family = AF_UNIX;
  size_t plen = 0;
  /* a path that fills sun_path (108 bytes with its NUL) is too long */
  if (napi_get_value_string_utf8(env, argv[0], d->addr.sun_path, sizeof d->addr.sun_path, &plen) != napi_ok ||
      plen == 0 || plen >= sizeof d->addr.sun_path - 1) {
    free(d);
    napi_throw_error(env, NULL, "unix_dgram: the socket path must be a non-empty string of at most 106 bytes");
    return NULL;
  }
  d->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
  napi_value handle;
  if (napi_create_external(env, d, finalize, NULL, &handle) != napi_ok) {
    free(d);
    napi_throw_error(env, NULL, "unix_dgram: napi_create_external failed");
    return NULL;
  }
  return handle;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p;
  CHECK(napi_get_value_external(env, argv[0], &p));
  dgram_t *d = (dgram_t *)p;
  void *buf;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &buf, &len));

  int rc;
  if (d->fd < 0) {
    int err = connect_socket(d);
    rc = err == 0 ? send_once(d, buf, len) : -err;
  } else {
    rc = send_once(d, buf, len);
    if (rc < 0 && peer_gone(-rc)) {
      /* the syslog daemon restarted (a new socket at the same path): connect again, once */
      disconnect(d);
      int err = connect_socket(d);
      rc = err == 0 ? send_once(d, buf, len) : -err;
    }
  }
  if (rc < 0 && peer_gone(-rc)) disconnect(d);
  napi_value out;
  CHECK(napi_create_int32(env, rc, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p;
  CHECK(napi_get_value_external(env, argv[0], &p));
  disconnect((dgram_t *)p);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
