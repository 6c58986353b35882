// Zero-copy content transfer on Linux: sendfile(2) from an open file to a connected TCP socket,
// as nginx serves static files. Node has no sendfile; without it every byte of content is read
// into a buffer and written out again, which costs five times nginx's CPU per GiB
// (bench/content.ts, docs/benchmarks.md).
//
// A transfer works on a duplicate of the socket's descriptor, so Node closing its own (the
// client left, the server shuts down) can never make us write to a number reused meanwhile.
// The sendfile calls run on the thread pool, so a page not yet in the cache blocks a pool thread,
// never the event loop; only a span wholly in the cache is sent from the event loop. When the socket is full the event loop watches the duplicate for room
// and queues the next calls then, so no thread ever waits on a slow client. A client that
// takes nothing for `stallMs` is cut off by shutting the socket down.
//
// Node must not write to the socket while a transfer runs: the caller flushes the headers
// first and writes nothing until the callback.
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

// Linux sends at most this much per call.
#define MAX_CALL 0x7ffff000

typedef struct transfer {
  napi_env env;
  napi_ref callback;
  napi_async_work work;
  // Allocated apart, at the size the running libuv gives: the headers we compile against may
  // come from another Node than the one that loads us.
  uv_poll_t *poll;
  uv_timer_t *timer;
  int socket;
  int file;
  off_t offset;
  int64_t remaining;
  int64_t sent;
  uint64_t stall_ms;
  int error;      // errno of the failure; 0 while there is none
  int full;       // the last call stopped because the socket had no room
  int truncated;  // the file ended before the span did
  int timed_out;
  int open_handles;
} transfer_t;

static int queue_sends(transfer_t *t);

// Thread pool: send until done, the socket is full, or something fails.
static void execute(napi_env env, void *data) {
  (void)env;
  transfer_t *t = data;
  t->full = 0;
  if (t->timed_out) {
    t->error = ETIMEDOUT;
    return;
  }
  while (t->remaining > 0) {
    size_t count = t->remaining > MAX_CALL ? MAX_CALL : (size_t)t->remaining;
    ssize_t n = sendfile(t->socket, t->file, &t->offset, count);
    if (n > 0) {
      t->sent += n;
      t->remaining -= n;
    } else if (n == 0) {
      t->truncated = 1;
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      t->full = 1;
      return;
    } else if (errno != EINTR) {
      t->error = errno;
      return;
    }
  }
}

static void on_closed(uv_handle_t *handle) {
  transfer_t *t = handle->data;
  free(handle);
  if (--t->open_handles > 0) return;
  // Only now: libuv has taken the descriptor out of its epoll set.
  close(t->socket);
  free(t);
}

// On the event loop, where JavaScript may be called (the async work's completion, or the
// `send` call itself): report, and release everything.
static void finish(napi_env env, transfer_t *t) {
  napi_value callback, global, argv[3], result;
  napi_get_reference_value(env, t->callback, &callback);
  napi_get_global(env, &global);
  napi_create_int32(env, t->error, &argv[0]);
  napi_create_int64(env, t->sent, &argv[1]);
  napi_get_boolean(env, t->truncated != 0, &argv[2]);
  napi_delete_reference(env, t->callback);
  t->callback = NULL;
  if (t->open_handles == 0) {
    close(t->socket);
    free(t);
  } else {
    uv_close((uv_handle_t *)t->poll, on_closed);
    uv_close((uv_handle_t *)t->timer, on_closed);
  }
  napi_call_function(env, global, callback, 3, argv, &result);
}

// The watch for room is set up only for transfers that fill the socket: a 1 MiB range on a
// fast link usually goes out in one call, and then never needs it.
static int watch(transfer_t *t) {
  if (t->poll != NULL) return 0;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(t->env, &loop) != napi_ok) return EIO;
  t->poll = malloc(uv_handle_size(UV_POLL));
  t->timer = malloc(uv_handle_size(UV_TIMER));
  if (t->poll == NULL || t->timer == NULL || uv_poll_init_socket(loop, t->poll, t->socket) != 0) {
    free(t->poll);
    free(t->timer);
    t->poll = NULL;
    t->timer = NULL;
    return ENOMEM;
  }
  t->poll->data = t;
  uv_timer_init(loop, t->timer);
  t->timer->data = t;
  t->open_handles = 2;
  return 0;
}

static void on_room(uv_poll_t *poll, int status, int events) {
  (void)events;
  transfer_t *t = poll->data;
  uv_poll_stop(t->poll);
  uv_timer_stop(t->timer);
  // An error on the socket (reset, hang-up) surfaces from the next sendfile call itself.
  (void)status;
  // Fails only when memory is exhausted; the transfer then never reports and the connection is
  // left to the caller's timeouts.
  queue_sends(t);
}

static void on_stall(uv_timer_t *timer) {
  transfer_t *t = timer->data;
  t->timed_out = 1;
  // Wakes the poll with a hang-up; the next round reports the timeout.
  shutdown(t->socket, SHUT_RDWR);
}

// After a round of sends, on the event loop: wait for room, or report.
static void after_sends(napi_env env, transfer_t *t) {
  if (t->full && t->error == 0) t->error = watch(t);
  if (t->full && t->error == 0) {
    uv_poll_start(t->poll, UV_WRITABLE | UV_DISCONNECT, on_room);
    uv_timer_start(t->timer, on_stall, t->stall_ms, 0);
    return;
  }
  finish(env, t);
}

static void complete(napi_env env, napi_status status, void *data) {
  transfer_t *t = data;
  napi_delete_async_work(env, t->work);
  t->work = NULL;
  if (status != napi_ok && t->error == 0) t->error = ECANCELED;
  after_sends(env, t);
}

// Whether every page of the span is in the page cache (cachestat(2), Linux 6.5; false where
// the kernel lacks it). Then sendfile does not wait on the disk (short of an eviction in the
// instant between), and the first round runs on the event loop itself: handing a short
// transfer to the thread pool costs more than the transfer (a thread wake-up, and on a busy
// machine the loop thread losing its core).
struct cachestat_range {
  uint64_t off;
  uint64_t len;
};
struct cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

static int cached(int file, off_t offset, int64_t length) {
  static long page = 0;
  if (page == 0) page = sysconf(_SC_PAGESIZE);
  if (length <= 0 || page <= 0) return 0;
  uint64_t first = (uint64_t)offset / (uint64_t)page;
  uint64_t last = ((uint64_t)offset + (uint64_t)length - 1) / (uint64_t)page;
  struct cachestat_range range = {first * (uint64_t)page, (last - first + 1) * (uint64_t)page};
  struct cachestat stat;
  if (syscall(__NR_cachestat, file, &range, &stat, 0) != 0) return 0;
  return stat.nr_cache >= last - first + 1;
}

// Returns 0 once queued: from then on `t` belongs to the work (a pool thread may already be
// running it), so the caller must not touch it.
static int queue_sends(transfer_t *t) {
  napi_handle_scope scope;
  napi_value name;
  int failed = 0;
  napi_open_handle_scope(t->env, &scope);
  napi_create_string_utf8(t->env, "openwsus:sendfile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(t->env, NULL, name, execute, complete, t, &t->work) != napi_ok) {
    failed = 1;
  } else if (napi_queue_async_work(t->env, t->work) != napi_ok) {
    napi_delete_async_work(t->env, t->work);
    failed = 1;
  }
  napi_close_handle_scope(t->env, scope);
  return failed;
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

// send(socketFd, fileFd, offset, length, stallMs, callback(errno, sent, truncated))
static napi_value send_span(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) return throw_error(env, "send: six arguments expected");
  int32_t socket_fd, file_fd;
  int64_t offset, length, stall_ms;
  napi_valuetype type;
  if (napi_get_value_int32(env, argv[0], &socket_fd) != napi_ok || napi_get_value_int32(env, argv[1], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_get_value_int64(env, argv[4], &stall_ms) != napi_ok || napi_typeof(env, argv[5], &type) != napi_ok || type != napi_function ||
      socket_fd < 0 || file_fd < 0 || offset < 0 || length < 0 || stall_ms <= 0) {
    return throw_error(env, "send: (socketFd, fileFd, offset, length, stallMs, callback) expected");
  }
  transfer_t *t = calloc(1, sizeof(transfer_t));
  if (t == NULL) return throw_error(env, "send: out of memory");
  t->socket = fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  if (t->socket < 0) {
    free(t);
    return throw_error(env, "send: cannot duplicate the socket");
  }
  t->env = env;
  t->file = file_fd;
  t->offset = (off_t)offset;
  t->remaining = length;
  t->stall_ms = (uint64_t)stall_ms;
  napi_create_reference(env, argv[5], 1, &t->callback);
  if (cached(t->file, t->offset, t->remaining)) {
    execute(env, t);
    after_sends(env, t);
    return NULL;
  }
  if (queue_sends(t) != 0) {
    napi_delete_reference(env, t->callback);
    close(t->socket);
    free(t);
    return throw_error(env, "send: cannot queue the transfer");
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_span, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  return exports;
}
