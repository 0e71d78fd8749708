// SPDX-License-Identifier: Apache-2.0
// The control thread's event loop (libevent): the daemon's main thread runs it; RPC clients,
// timers, signals and driver file descriptors (through the port_env of drivers/port.h) are served
// from it. Every function here is for the control thread only, except loop_stop().
#ifndef VSWITCH_LOOP_H
#define VSWITCH_LOOP_H

struct event_base;

// Creates the event base and installs the libevent-backed port_env (port_env_set()).
// Returns 0, -EALREADY when called twice, or -errno.
int loop_init(void);
// Frees the base and every handle still registered (timers, signals, fd watches): handles become
// invalid, so call it last, after the ports and the RPC server are gone. No-op without loop_init.
void loop_fini(void);

// Runs the loop until loop_stop(). Returns 0, or -errno if the loop failed.
int loop_run(void);
// Makes loop_run() return after the current callback. Safe from callbacks, from other threads,
// and before loop_run() is entered (the next loop_run() then returns at once).
void loop_stop(void);
// The event base (NULL before loop_init), for control/ modules that use libevent directly.
struct event_base *loop_base(void);

// Calls cb(arg) every `ms` milliseconds (ms >= 1) until loop_cancel(). NULL + errno on failure.
void *loop_timer_every(unsigned ms, void (*cb)(void *arg), void *arg);
// Calls cb(arg) once after `ms` milliseconds; the handle is freed after cb returns, so
// loop_cancel() is only valid before it fired. NULL + errno on failure.
void *loop_timer_once(unsigned ms, void (*cb)(void *arg), void *arg);
// Calls cb(signo, arg) on the control thread whenever signo is delivered (libevent evsignal: the
// handler only records the signal, cb runs from the loop). NULL + errno on failure.
void *loop_signal(int signo, void (*cb)(int signo, void *arg), void *arg);
// Calls cb(fd, arg) whenever fd is readable, until loop_cancel(). The fd stays the caller's.
void *loop_fd_watch(int fd, void (*cb)(int fd, void *arg), void *arg);
// Cancels a timer, signal or fd watch and frees the handle; NULL is a no-op. May be called from
// the handle's own callback.
void loop_cancel(void *handle);

#endif
