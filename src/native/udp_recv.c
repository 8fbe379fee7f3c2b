/*
 * tallyd's UDP reader: recvmmsg(2) into one preallocated buffer, one call into JavaScript per batch.
 *
 * Node's dgram allocates a Buffer and an rinfo object per datagram and enters JavaScript once per
 * datagram; at 100k+ packets/s that per-packet work (and the GC pressure of the Buffers' external
 * memory) is most of the daemon's cost. Here the kernel writes up to `slots` datagrams per syscall
 * into fixed slots of a Buffer that JavaScript allocated once, the lengths go into an Int32Array,
 * and the JavaScript callback gets the count. It parses the slots in place before returning, so the
 * same memory is reused for the next batch.
 *
 * The socket is this module's own (socket/bind/setsockopt here), watched with a uv_poll_t on Node's
 * event loop. Linux only (recvmmsg); the JavaScript side falls back to dgram elsewhere.
 *
 * API (see src/listeners/native.ts):
 *   open(family 4|6, address, port, rcvbuf, buffer, lengths, slotBytes, callback(count), reusePort[, addrs]) → handle
 *     returns [handle, boundPort, grantedRcvbuf]; reusePort sets SO_REUSEPORT (one socket per worker
 *     process on the same port, the kernel spreading senders over them); addrs, a Buffer of
 *     lengths.length × ADDR_BYTES, gets each datagram's sender (a struct sockaddr_in or sockaddr_in6
 *     as the kernel writes it) in the slot of the same number
 *   close(handle)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Batches read per readable event at most (then the loop turns: timers and other sockets run). */
#define MAX_BATCHES_PER_EVENT 16
/* Bytes per sender address slot: sizeof(struct sockaddr_in6), which a sockaddr_in fits in too. */
#define ADDR_BYTES 28

typedef struct {
  uv_poll_t poll;
  int fd;
  int closed;
  napi_env env;
  napi_ref callback;
  napi_ref buffer_ref;
  napi_ref lengths_ref;
  napi_ref addrs_ref; /* NULL when no addrs buffer was given */
  napi_ref resource_ref;
  napi_async_context async;
  uint8_t *buf;
  int32_t *lengths;
  uint8_t *addrs;
  unsigned slots;
  size_t slot_bytes;
  struct mmsghdr *msgs;
  struct iovec *iov;
} reader_t;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, NULL, "udp_recv: N-API call failed: " #call); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

static void free_reader(uv_handle_t *h) {
  reader_t *r = (reader_t *)h->data;
  free(r->msgs);
  free(r->iov);
  free(r);
}

static void release(reader_t *r) {
  if (r->closed) return;
  r->closed = 1;
  uv_poll_stop(&r->poll);
  close(r->fd);
  napi_delete_reference(r->env, r->callback);
  napi_delete_reference(r->env, r->buffer_ref);
  napi_delete_reference(r->env, r->lengths_ref);
  if (r->addrs_ref != NULL) napi_delete_reference(r->env, r->addrs_ref);
  napi_delete_reference(r->env, r->resource_ref);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, free_reader);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  reader_t *r = (reader_t *)handle->data;
  if (r->closed || status < 0 || !(events & UV_READABLE)) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_reference_value(env, r->resource_ref, &recv); /* MakeCallback wants an object receiver */
  for (int b = 0; b < MAX_BATCHES_PER_EVENT && !r->closed; b++) {
    for (unsigned i = 0; i < r->slots; i++) {
      r->msgs[i].msg_len = 0;
      if (r->addrs != NULL) r->msgs[i].msg_hdr.msg_namelen = ADDR_BYTES; /* the kernel wrote the last length */
    }
    int n = recvmmsg(r->fd, r->msgs, r->slots, MSG_DONTWAIT, NULL);
    if (n <= 0) break; /* EAGAIN (drained) or an error the next event will see again */
    for (int i = 0; i < n; i++) {
      /* a datagram longer than its slot is truncated by the kernel: hand over what fits */
      unsigned len = r->msgs[i].msg_len;
      r->lengths[i] = (int32_t)(len > r->slot_bytes ? r->slot_bytes : len);
    }
    napi_create_int32(env, n, &arg);
    napi_value result;
    napi_status st = napi_make_callback(env, r->async, recv, cb, 1, &arg, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    if ((unsigned)n < r->slots) break; /* the socket is drained */
  }
  napi_close_handle_scope(env, scope);
}

static int parse_addr(int family, const char *address, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return -1;
    *len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
  }
  return 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) {
    napi_throw_type_error(env, NULL, "udp_recv.open: 9 arguments expected");
    return NULL;
  }
  bool reuse_port = false;
  CHECK(napi_get_value_bool(env, argv[8], &reuse_port));
  int32_t family, port, rcvbuf, slot_bytes;
  char address[64];
  size_t alen;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], address, sizeof address, &alen));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  void *buf;
  size_t buf_len;
  CHECK(napi_get_buffer_info(env, argv[4], &buf, &buf_len));
  napi_typedarray_type lt;
  size_t lcount;
  void *ldata;
  napi_value lab;
  size_t loff;
  CHECK(napi_get_typedarray_info(env, argv[5], &lt, &lcount, &ldata, &lab, &loff));
  CHECK(napi_get_value_int32(env, argv[6], &slot_bytes));
  if (lt != napi_int32_array || slot_bytes <= 0 || lcount == 0 || (size_t)slot_bytes * lcount > buf_len) {
    napi_throw_range_error(env, NULL, "udp_recv.open: lengths must be an Int32Array and buffer hold lengths.length slots");
    return NULL;
  }
  void *addrs = NULL;
  if (argc >= 10) {
    size_t addrs_len;
    CHECK(napi_get_buffer_info(env, argv[9], &addrs, &addrs_len));
    if (addrs_len < (size_t)ADDR_BYTES * lcount) {
      napi_throw_range_error(env, NULL, "udp_recv.open: addrs must hold lengths.length × 28 bytes");
      return NULL;
    }
  }

  struct sockaddr_storage ss;
  socklen_t sslen;
  if (parse_addr(family, address, port, &ss, &sslen) != 0) {
    napi_throw_error(env, "ERR_INVALID_ADDRESS", "udp_recv.open: not a numeric address");
    return NULL;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (family == 6) {
    int only = 0; /* as Node's udp6 default: dual stack */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (reuse_port) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt SO_REUSEPORT", e);
    }
  }
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e == EADDRINUSE ? "bind (EADDRINUSE)" : "bind", e);
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);
  int bound_port = family == 6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port) : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  int granted = 0;
  socklen_t glen = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);

  reader_t *r = calloc(1, sizeof *r);
  if (r != NULL) {
    r->msgs = calloc(lcount, sizeof *r->msgs);
    r->iov = calloc(lcount, sizeof *r->iov);
  }
  if (r == NULL || r->msgs == NULL || r->iov == NULL) {
    close(fd);
    if (r != NULL) {
      free(r->msgs);
      free(r->iov);
      free(r);
    }
    napi_throw_error(env, NULL, "udp_recv.open: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->env = env;
  r->buf = buf;
  r->lengths = (int32_t *)ldata;
  r->addrs = (uint8_t *)addrs;
  r->slots = (unsigned)lcount;
  r->slot_bytes = (size_t)slot_bytes;
  for (unsigned i = 0; i < r->slots; i++) {
    r->iov[i].iov_base = r->buf + (size_t)i * r->slot_bytes;
    r->iov[i].iov_len = r->slot_bytes;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    if (r->addrs != NULL) {
      r->msgs[i].msg_hdr.msg_name = r->addrs + (size_t)i * ADDR_BYTES;
      r->msgs[i].msg_hdr.msg_namelen = ADDR_BYTES;
    }
  }
  CHECK(napi_create_reference(env, argv[7], 1, &r->callback));
  CHECK(napi_create_reference(env, argv[4], 1, &r->buffer_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &r->lengths_ref));
  if (r->addrs != NULL) CHECK(napi_create_reference(env, argv[9], 1, &r->addrs_ref));
  napi_value name, resource;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_reference(env, resource, 1, &r->resource_ref));
  CHECK(napi_create_string_utf8(env, "tallyd.udp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &r->async));

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc == 0) rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    close(fd);
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }
  r->poll.data = r;

  napi_value handle, out, v;
  CHECK(napi_create_external(env, r, NULL, NULL, &handle));
  CHECK(napi_create_array_with_length(env, 3, &out));
  CHECK(napi_set_element(env, out, 0, handle));
  CHECK(napi_create_int32(env, bound_port, &v));
  CHECK(napi_set_element(env, out, 1, v));
  CHECK(napi_create_int32(env, granted, &v));
  CHECK(napi_set_element(env, out, 2, v));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p;
  CHECK(napi_get_value_external(env, argv[0], &p));
  release((reader_t *)p);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
