// SPDX-License-Identifier: Apache-2.0
// The control thread's libevent loop and the services built on it: periodic and one-shot timers,
// signals, fd watches, and the port_env that lets drivers use them without including libevent.
#include "control/loop.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"
#include "drivers/port.h"

LOG_MODULE("loop");

enum loop_kind {
	LOOP_TIMER_EVERY,
	LOOP_TIMER_ONCE,
	LOOP_SIGNAL,
	LOOP_FD,
};

// Every live handle is on one list so that loop_fini() can free what its owners left behind.
struct loop_handle {
	struct loop_handle *prev, *next;
	struct event *ev;
	enum loop_kind kind;
	union {
		void (*timer)(void *arg);
		void (*sig)(int signo, void *arg);
		void (*fd)(int fd, void *arg);
	} cb;
	void *arg;
};

static struct event_base *base;
static struct event *stop_ev; // activated by loop_stop(), breaks the loop from inside it
static struct loop_handle *handles;

static const struct port_env loop_port_env = {
	.fd_watch = loop_fd_watch,
	.fd_unwatch = loop_cancel,
	.timer_add = loop_timer_once,
	.timer_del = loop_cancel,
};

// libevent's own warnings (epoll failures, bad fds) go through our log with the rest.
static void libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		LOG_OBJ(DEBUG, "libevent", "%s", msg);
		break;
	case EVENT_LOG_MSG:
		LOG_OBJ(INFO, "libevent", "%s", msg);
		break;
	case EVENT_LOG_WARN:
		LOG_OBJ(WARN, "libevent", "%s", msg);
		break;
	default:
		LOG_OBJ(ERR, "libevent", "%s", msg);
		break;
	}
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

int loop_init(void)
{
	static bool threads_enabled;

	if (base != NULL)
		return -EALREADY;
	event_set_log_callback(libevent_log);
	// Lock-enabled base: loop_stop() may come from another thread (tests, a supervisor), and
	// libevent then wakes the loop through its notification fd.
	if (!threads_enabled) {
		if (evthread_use_pthreads() < 0)
			return -ENOMEM;
		threads_enabled = true;
	}
	base = event_base_new();
	if (base == NULL)
		return errno ? -errno : -ENOMEM;
	stop_ev = event_new(base, -1, 0, on_stop, NULL);
	if (stop_ev == NULL) {
		event_base_free(base);
		base = NULL;
		return -ENOMEM;
	}
	port_env_set(&loop_port_env);
	LOG(DEBUG, "libevent %s, backend %s", event_get_version(), event_base_get_method(base));
	return 0;
}

static void handle_unlink(struct loop_handle *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

static void handle_free(struct loop_handle *h)
{
	handle_unlink(h);
	event_free(h->ev);
	free(h);
}

void loop_fini(void)
{
	unsigned n = 0;

	if (base == NULL)
		return;
	while (handles) {
		handle_free(handles);
		n++;
	}
	if (n)
		LOG(DEBUG, "freed %u timers/signals/fd watches still registered", n);
	event_free(stop_ev);
	stop_ev = NULL;
	event_base_free(base);
	base = NULL;
	// The port_env stays installed: its functions fail with ENXIO from now on.
}

int loop_run(void)
{
	int ret;

	if (base == NULL)
		return -ENXIO;
	// NO_EXIT_ON_EMPTY: the loop lives until loop_stop(), even with nothing registered.
	ret = event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	if (ret < 0) {
		ret = errno ? -errno : -EIO;
		LOG(ERR, "event loop failed: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

void loop_stop(void)
{
	// An activated event survives until the loop runs it, unlike event_base_loopbreak() which
	// is forgotten when called before the loop is entered.
	if (stop_ev)
		event_active(stop_ev, 0, 0);
}

struct event_base *loop_base(void)
{
	return base;
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct loop_handle *h = arg;
	void (*once)(void *arg);
	void *once_arg;

	// The callback may cancel its own handle: h is not used after the call.
	switch (h->kind) {
	case LOOP_TIMER_EVERY:
		h->cb.timer(h->arg);
		break;
	case LOOP_TIMER_ONCE:
		once = h->cb.timer;
		once_arg = h->arg;
		handle_free(h);
		once(once_arg);
		break;
	case LOOP_SIGNAL:
		h->cb.sig((int)fd, h->arg);
		break;
	case LOOP_FD:
		h->cb.fd((int)fd, h->arg);
		break;
	}
}

// Allocates a handle and its event; the caller sets the callback, then handle_add().
static struct loop_handle *handle_alloc(
	enum loop_kind kind, evutil_socket_t fd, short events, void *arg)
{
	struct loop_handle *h;

	if (base == NULL) {
		errno = ENXIO;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->kind = kind;
	h->arg = arg;
	h->ev = event_new(base, fd, events, on_event, h);
	if (h->ev == NULL) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

// Arms the event (with a timeout of `ms` for timers); on failure frees h, NULL + errno.
static struct loop_handle *handle_add(struct loop_handle *h, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	bool timer = h->kind == LOOP_TIMER_EVERY || h->kind == LOOP_TIMER_ONCE;
	int saved;

	errno = 0;
	if (event_add(h->ev, timer ? &tv : NULL) < 0) {
		saved = errno ? errno : EINVAL;
		event_free(h->ev);
		free(h);
		errno = saved;
		return NULL;
	}
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	return h;
}

void *loop_timer_every(unsigned ms, void (*cb)(void *arg), void *arg)
{
	struct loop_handle *h;

	if (ms == 0 || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((h = handle_alloc(LOOP_TIMER_EVERY, -1, EV_PERSIST, arg)) == NULL)
		return NULL;
	h->cb.timer = cb;
	return handle_add(h, ms);
}

void *loop_timer_once(unsigned ms, void (*cb)(void *arg), void *arg)
{
	struct loop_handle *h;

	if (cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((h = handle_alloc(LOOP_TIMER_ONCE, -1, 0, arg)) == NULL)
		return NULL;
	h->cb.timer = cb;
	return handle_add(h, ms);
}

void *loop_signal(int signo, void (*cb)(int signo, void *arg), void *arg)
{
	struct loop_handle *h;

	if (signo <= 0 || signo >= NSIG || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((h = handle_alloc(LOOP_SIGNAL, signo, EV_SIGNAL | EV_PERSIST, arg)) == NULL)
		return NULL;
	h->cb.sig = cb;
	return handle_add(h, 0);
}

void *loop_fd_watch(int fd, void (*cb)(int fd, void *arg), void *arg)
{
	struct loop_handle *h;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((h = handle_alloc(LOOP_FD, fd, EV_READ | EV_PERSIST, arg)) == NULL)
		return NULL;
	h->cb.fd = cb;
	return handle_add(h, 0);
}

void loop_cancel(void *handle)
{
	if (handle == NULL)
		return;
	handle_free(handle);
}
