// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/worker.c driven directly (no dp.c): thread lifecycle and errors, plan
// and snapshot publication, rx -> pipeline -> tx through null ports, the shared tx queue lock
// (two workers, one txq), per-rxq cycle accounting, idle back-off.
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "dataplane/rcu.h"
#include "dataplane/worker.h"

#define KV(k, v) ((struct port_kv){.key = (k), .value = (v)})

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static uint64_t iterations(unsigned id)
{
	struct worker_stats st;

	worker_stats_get(id, &st);
	return st.iterations;
}

START_TEST(test_lifecycle)
{
	struct worker_config cfg[2] = {{.core = -1}, {.core = -1}};
	struct worker_plan *plan = calloc(1, sizeof(*plan));
	struct err err = {0};
	uint64_t a, b;

	ck_assert_int_eq(worker_init(2, cfg, &err), 0);
	ck_assert_uint_eq(worker_count(), 2);
	ck_assert_int_eq(worker_core(0), -1);
	ck_assert_int_eq(worker_numa(1), 0);
	ck_assert_uint_gt(worker_tsc_hz(), 100000000);
	err_clear(&err);
	ck_assert_int_eq(worker_init(1, cfg, &err), -EBUSY);
	sleep_ms(50);
	a = iterations(0);
	// Long enough for an unpinned worker to get CPU time on a busy 2-core machine.
	sleep_ms(200);
	b = iterations(0);
	ck_assert_uint_gt(a, 0);
	ck_assert_uint_gt(b, a);
	ck_assert_uint_gt(iterations(1), 0);
	// Publication returns what it replaces.
	ck_assert_ptr_null(worker_plan_set(0, plan));
	ck_assert_ptr_eq(worker_plan_get(0), plan);
	ck_assert_ptr_eq(worker_plan_set(0, NULL), plan);
	ck_assert_ptr_eq(worker_plan_set(7, plan), plan); // no such worker: handed back
	// Workers pass quiescent points all the time.
	ck_assert_int_eq(rcu_synchronize(1000000), 0);
	free(plan);
	worker_fini();
	ck_assert_uint_eq(worker_count(), 0);
	// Stopped workers are offline: nothing waits for them.
	ck_assert_int_eq(rcu_synchronize(0), 0);
	worker_fini(); // twice is fine
}
END_TEST

START_TEST(test_init_errors)
{
	struct worker_config cfg[WORKER_MAX + 1];
	struct err err = {0};

	memset(cfg, 0, sizeof(cfg));
	ck_assert_int_eq(worker_init(0, cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "workers");
	err_clear(&err);
	ck_assert_int_eq(worker_init(WORKER_MAX + 1, cfg, &err), -EINVAL);
	err_clear(&err);
	cfg[0].core = CPU_SETSIZE + 1;
	ck_assert_int_eq(worker_init(1, cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "worker-cores");
	ck_assert_uint_eq(worker_count(), 0);
	// A failed init leaves nothing behind: a good one works afterwards.
	cfg[0].core = -1;
	ck_assert_int_eq(worker_init(1, cfg, &err), 0);
	worker_fini();
}
END_TEST

// A two-port bridge snapshot: port 0 generates, port 1 sinks.
static struct {
	struct mempool *pool;
	struct port *gen, *sink;
	struct mac_table *macs;
	struct pl_port ports[2];
	struct pl_bridge br;
	uint16_t members[2];
	struct pl_snapshot snap;
} env;

static struct port *make_port(const char *name, uint16_t id, const struct port_kv *kv, unsigned n)
{
	struct port tmpl = {.id = id, .pool = env.pool};
	struct err err = {0};
	struct port *p = port_create(name, "null", kv, n, &tmpl, &err);

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_msg(port_start(p, &err) == 0, "%s", err.msg);
	return p;
}

static void env_setup(const char *gen_rxq, const char *sink_txq)
{
	const struct port_kv gkv[] = {KV("rxq", gen_rxq), KV("flows", "8")};
	const struct port_kv skv[] = {KV("rx", "false"), KV("txq", sink_txq)};

	memset(&env, 0, sizeof(env));
	env.pool = pkt_pool_create("test-worker", 4096, PKT_DATA_ROOM_DEFAULT, 64, 0);
	ck_assert_ptr_nonnull(env.pool);
	env.gen = make_port("gen", 0, gkv, 2);
	env.sink = make_port("sink", 1, skv, 2);
	env.macs = mac_table_create(1024, 300);
	ck_assert_ptr_nonnull(env.macs);
	for (uint16_t i = 0; i < 2; i++) {
		env.ports[i] = (struct pl_port){.id = i, .bridge = 0, .enabled = true, .mtu = 1500};
		env.members[i] = i;
		env.snap.ports[i] = &env.ports[i];
	}
	env.br = (struct pl_bridge){
		.index = 0, .n_ports = 2, .ports = env.members, .macs = env.macs};
	snprintf(env.br.name, sizeof(env.br.name), "br0");
	env.snap.bridges[0] = &env.br;
	env.snap.pool = env.pool;
}

static void env_teardown(void)
{
	port_destroy(env.gen);
	port_destroy(env.sink);
	mac_table_destroy(env.macs);
	ck_assert_uint_eq(mempool_destroy(env.pool), 0);
}

static struct worker_plan *plan_of(uint16_t port, uint16_t queue)
{
	struct worker_plan *p = malloc(sizeof(*p) + sizeof(p->rxq[0]));

	ck_assert_ptr_nonnull(p);
	p->n = 1;
	p->rxq[0] = (struct worker_rxq){.port = port, .queue = queue};
	return p;
}

// Stops all polling: empty plans, then a grace period so counters are final.
static void stop_polling(unsigned n_workers)
{
	const struct worker_plan *old[WORKER_MAX];

	for (unsigned w = 0; w < n_workers; w++)
		old[w] = worker_plan_set(w, NULL);
	// Freed only once no worker can still be reading them.
	ck_assert_int_eq(rcu_synchronize(5000000), 0);
	for (unsigned w = 0; w < n_workers; w++)
		free((void *)old[w]);
}

START_TEST(test_forward_and_counters)
{
	struct worker_config cfg[1] = {{.core = -1}};
	struct port_stats gs, ss;
	struct worker_stats st;
	struct err err = {0};

	log_set_level(LOG_LVL_WARN);
	env_setup("1", "1");
	ck_assert_int_eq(worker_init(1, cfg, &err), 0);
	ck_assert_ptr_null(worker_snapshot_set(&env.snap));
	worker_plan_set(0, plan_of(0, 0));
	sleep_ms(200);
	stop_polling(1);
	worker_stats_get(0, &st);
	ck_assert_int_eq(port_stats_get(env.gen, &gs), 0);
	ck_assert_int_eq(port_stats_get(env.sink, &ss), 0);
	ck_assert_uint_gt(st.packets, 1000);
	ck_assert_uint_eq(st.packets, gs.rx_packets);
	ck_assert_uint_eq(st.tx_packets, ss.tx_packets);
	ck_assert_uint_eq(st.tx_packets + st.tx_drops, st.packets);
	ck_assert_uint_ge(st.rx_batches * PKT_BURST, st.packets);
	ck_assert_uint_gt(st.busy_cycles, 0);
	ck_assert_uint_gt(worker_rxq_cycles(0, 0, 0), 0);
	ck_assert_uint_le(worker_rxq_cycles(0, 0, 0), st.busy_cycles);
	ck_assert_uint_eq(worker_rxq_cycles(0, 1, 0), 0);
	ck_assert_uint_eq(worker_rxq_cycles(0, PORT_MAX, 0), 0);
	// Frames to ff:ff:.. are flooded: the generator port counted them.
	struct pl_port_counters c;

	worker_port_counters(0, &c);
	ck_assert_uint_eq(c.flooded, st.packets);
	ck_assert_ptr_eq(worker_snapshot_set(NULL), &env.snap);
	ck_assert_int_eq(rcu_synchronize(5000000), 0);
	worker_fini();
	env_teardown();
}
END_TEST

START_TEST(test_shared_txq_lock)
{
	struct worker_config cfg[2] = {{.core = -1}, {.core = -1}};
	struct worker_stats s0, s1;
	struct port_stats gs, ss;
	struct err err = {0};

	log_set_level(LOG_LVL_WARN);
	// Two workers, two rx queues, one tx queue on the sink: both send on txq 0 under the lock.
	env_setup("2", "1");
	ck_assert_int_eq(worker_init(2, cfg, &err), 0);
	worker_snapshot_set(&env.snap);
	worker_plan_set(0, plan_of(0, 0));
	worker_plan_set(1, plan_of(0, 1));
	sleep_ms(300);
	stop_polling(2);
	worker_stats_get(0, &s0);
	worker_stats_get(1, &s1);
	ck_assert_int_eq(port_stats_get(env.gen, &gs), 0);
	ck_assert_int_eq(port_stats_get(env.sink, &ss), 0);
	ck_assert_uint_gt(s0.tx_packets, 1000);
	ck_assert_uint_gt(s1.tx_packets, 1000);
	ck_assert_uint_eq(s0.packets + s1.packets, gs.rx_packets);
	// The null tx counters are single-writer: unserialised concurrent tx_burst on the one txq
	// would lose increments here.
	ck_assert_uint_eq(s0.tx_packets + s1.tx_packets, ss.tx_packets);
	ck_assert_uint_eq(ss.txq[0].packets, ss.tx_packets);
	worker_snapshot_set(NULL);
	ck_assert_int_eq(rcu_synchronize(5000000), 0);
	worker_fini();
	env_teardown();
}
END_TEST

START_TEST(test_no_snapshot_frees)
{
	struct worker_config cfg[1] = {{.core = -1}};
	struct err err = {0};
	struct worker_stats st;

	log_set_level(LOG_LVL_WARN);
	env_setup("1", "1");
	ck_assert_int_eq(worker_init(1, cfg, &err), 0);
	// A plan but no snapshot: received packets are freed, not leaked.
	worker_plan_set(0, plan_of(0, 0));
	sleep_ms(50);
	stop_polling(1);
	worker_stats_get(0, &st);
	ck_assert_uint_gt(st.packets, 0);
	ck_assert_uint_eq(st.tx_packets, 0);
	worker_fini();
	ck_assert_uint_eq(mempool_in_use(env.pool), 0);
	env_teardown();
}
END_TEST

START_TEST(test_idle_backoff)
{
	struct worker_config busy[1] = {{.core = -1}},
			     idle[1] = {{.core = -1, .idle_sleep_us = 1000}};
	struct worker_stats st;
	struct err err = {0};
	uint64_t busy_iters;

	ck_assert_int_eq(worker_init(1, busy, &err), 0);
	sleep_ms(100);
	busy_iters = iterations(0);
	worker_fini();
	ck_assert_int_eq(worker_init(1, idle, &err), 0);
	sleep_ms(100);
	worker_stats_get(0, &st);
	// Sleeping when idle: far fewer iterations, all idle, and still making progress.
	ck_assert_uint_gt(st.iterations, 0);
	ck_assert_uint_lt(st.iterations * 10, busy_iters);
	ck_assert_uint_eq(st.busy_cycles, 0);
	ck_assert_uint_gt(st.idle_cycles, 0);
	ck_assert_int_eq(rcu_synchronize(1000000), 0);
	worker_fini();
}
END_TEST

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_forward_and_counters);
	tcase_add_test(tc, test_shared_txq_lock);
	tcase_add_test(tc, test_no_snapshot_frees);
	tcase_add_test(tc, test_idle_backoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(worker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
