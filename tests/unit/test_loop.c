// SPDX-License-Identifier: Apache-2.0
// Unit tests for the control loop (control/loop.c): timers, signals, fd watches, stopping, the
// port_env it installs for drivers, and argument errors.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "control/loop.h"
#include "dataplane/log.h"
#include "drivers/port.h"

static int count;
static void *self_handle;

static void setup(void)
{
	log_set_level(LOG_LVL_WARN);
	count = 0;
	self_handle = NULL;
	ck_assert_int_eq(loop_init(), 0);
}

static void teardown(void)
{
	loop_fini();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void stop_cb(void *arg)
{
	loop_stop();
}

// Cancels its own periodic timer on the 5th tick.
static void tick(void *arg)
{
	if (++count == 5)
		loop_cancel(self_handle);
}

START_TEST(timer_every_and_self_cancel)
{
	uint64_t t0 = now_ms();

	self_handle = loop_timer_every(10, tick, NULL);
	ck_assert_ptr_nonnull(self_handle);
	ck_assert_ptr_nonnull(loop_timer_once(200, stop_cb, NULL));
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_int_eq(count, 5); // no tick after the cancel
	ck_assert_uint_ge(now_ms() - t0, 190);
}
END_TEST

static void once(void *arg)
{
	count += (int)(intptr_t)arg;
}

START_TEST(timer_once)
{
	void *cancelled;

	ck_assert_ptr_nonnull(loop_timer_once(5, once, (void *)1));
	ck_assert_ptr_nonnull(loop_timer_once(0, once, (void *)10));
	cancelled = loop_timer_once(20, once, (void *)100);
	ck_assert_ptr_nonnull(cancelled);
	loop_cancel(cancelled);
	loop_cancel(NULL);
	ck_assert_ptr_nonnull(loop_timer_once(80, stop_cb, NULL));
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_int_eq(count, 11);
}
END_TEST

START_TEST(stop_before_run)
{
	uint64_t t0 = now_ms();

	ck_assert_ptr_nonnull(loop_timer_once(5000, once, (void *)1));
	loop_stop();
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_uint_lt(now_ms() - t0, 1000);
	ck_assert_int_eq(count, 0);
}
END_TEST

static void *stopper(void *arg)
{
	usleep(50000);
	loop_stop();
	return NULL;
}

START_TEST(stop_from_other_thread)
{
	pthread_t th;
	uint64_t t0 = now_ms();

	// An empty loop keeps running (no exit on empty) until stopped.
	ck_assert_int_eq(pthread_create(&th, NULL, stopper, NULL), 0);
	ck_assert_int_eq(loop_run(), 0);
	pthread_join(th, NULL);
	ck_assert_uint_ge(now_ms() - t0, 40);
	ck_assert_uint_lt(now_ms() - t0, 2000);
}
END_TEST

static int got_signo;

static void on_signal(int signo, void *arg)
{
	got_signo = signo;
	count++;
	loop_stop();
}

static void raise_usr1(void *arg)
{
	kill(getpid(), SIGUSR1);
}

START_TEST(signal_handler)
{
	void *h = loop_signal(SIGUSR1, on_signal, NULL);

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(loop_timer_once(10, raise_usr1, NULL));
	ck_assert_ptr_nonnull(loop_timer_once(3000, stop_cb, NULL)); // safety net
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_int_eq(got_signo, SIGUSR1);
	ck_assert_int_eq(count, 1);
	loop_cancel(h);
}
END_TEST

static int pipefd[2];

static void on_readable(int fd, void *arg)
{
	char buf[16];

	ck_assert_int_eq(fd, pipefd[0]);
	ck_assert_int_gt(read(fd, buf, sizeof(buf)), 0);
	if (++count == 2) {
		loop_cancel(self_handle); // unwatch from its own callback
		ck_assert_int_eq(write(pipefd[1], "z", 1), 1); // must not be seen any more
		ck_assert_ptr_nonnull(loop_timer_once(50, stop_cb, NULL));
	} else {
		ck_assert_int_eq(write(pipefd[1], "y", 1), 1);
	}
}

START_TEST(fd_watch)
{
	ck_assert_int_eq(pipe(pipefd), 0);
	self_handle = loop_fd_watch(pipefd[0], on_readable, NULL);
	ck_assert_ptr_nonnull(self_handle);
	ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_int_eq(count, 2);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

static void env_timer(void *arg)
{
	count++;
	loop_stop();
}

static void env_fd(int fd, void *arg)
{
}

START_TEST(port_env_installed)
{
	const struct port_env *env = port_env_get();
	void *w;

	ck_assert_ptr_nonnull(env);
	ck_assert_ptr_nonnull(env->timer_add(10, env_timer, NULL));
	ck_assert_int_eq(pipe(pipefd), 0);
	w = env->fd_watch(pipefd[0], env_fd, NULL);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(loop_run(), 0);
	ck_assert_int_eq(count, 1);
	env->fd_unwatch(w);
	env->fd_unwatch(NULL);
	w = env->timer_add(1000, env_timer, NULL);
	env->timer_del(w);
	env->timer_del(NULL);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(argument_errors)
{
	errno = 0;
	ck_assert_ptr_null(loop_timer_every(0, once, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(loop_timer_every(10, NULL, NULL));
	ck_assert_ptr_null(loop_fd_watch(-1, env_fd, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(loop_signal(0, on_signal, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(loop_signal(NSIG + 1, on_signal, NULL));
	ck_assert_int_eq(loop_init(), -EALREADY);
	// A closed fd is refused by the backend, not crashed on.
	ck_assert_int_eq(pipe(pipefd), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	errno = 0;
	ck_assert_ptr_null(loop_fd_watch(pipefd[0], env_fd, NULL));
	ck_assert_int_ne(errno, 0);

	// Handles left registered are freed by loop_fini(); afterwards everything fails cleanly.
	ck_assert_ptr_nonnull(loop_timer_every(1000, once, NULL));
	ck_assert_ptr_nonnull(loop_signal(SIGUSR2, on_signal, NULL));
	loop_fini();
	ck_assert_ptr_null(loop_base());
	ck_assert_int_eq(loop_run(), -ENXIO);
	errno = 0;
	ck_assert_ptr_null(loop_timer_once(1, once, NULL));
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_ptr_null(port_env_get()->timer_add(1, once, NULL));
	loop_stop(); // no-op
	loop_fini(); // idempotent
	ck_assert_int_eq(loop_init(), 0); // and the loop can be created again
}
END_TEST

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, timer_every_and_self_cancel);
	tcase_add_test(tc, timer_once);
	tcase_add_test(tc, stop_before_run);
	tcase_add_test(tc, stop_from_other_thread);
	tcase_add_test(tc, signal_handler);
	tcase_add_test(tc, fd_watch);
	tcase_add_test(tc, port_env_installed);
	tcase_add_test(tc, argument_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
