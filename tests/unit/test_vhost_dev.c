// SPDX-License-Identifier: Apache-2.0
// vhost-user device state machine, replaying front-end sessions against a synthetic guest:
// negotiation and refusals (with REPLY_ACK), vring bring-up and enable rules, multi-queue
// reporting, traffic, GET_VRING_BASE, a memory table swapped under running queues, a guest error
// that breaks the device until the front-end resets it, packed rings (ring base with wrap
// counters, stop and restart), and no fd leaks.
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/vhost_dev.h"
#include "vhost_guest.h"

#define NPAIRS 4
#define FEATS \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		VHOST_BIT(VIRTIO_RING_F_EVENT_IDX) | VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

static struct mempool *pool;
static struct guest g;
static struct virtq vqs[2 * NPAIRS];
static struct vhost_dev dev;
static struct gq gqs[2 * NPAIRS];
static struct pgq pgqs[2];
static int errfd;
static unsigned pairs_reported, kicks_watched;
static uint8_t reply[VHOST_REPLY_MAX];
static size_t reply_len;
static struct err err;

static void on_kick(struct vhost_dev *d, unsigned i, int fd)
{
	kicks_watched += fd >= 0 ? 1 : -1;
}

static void on_queues(struct vhost_dev *d, unsigned n)
{
	pairs_reported = n;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static unsigned fds_before;

static void setup(void)
{
	struct vhost_dev_hooks hooks = {.kick_set = on_kick, .queues_changed = on_queues};

	fds_before = count_fds();
	pool = pkt_pool_create("vdev", 256, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(guest_create(&g, true), 0);
	errfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (unsigned i = 0; i < 2 * NPAIRS; i++)
		virtq_init(&vqs[i], 1, (uint16_t)(i / 2), errfd);
	pairs_reported = 0;
	kicks_watched = 0;
	vhost_dev_init(&dev, "vdev-test", vqs, NPAIRS, pool, &hooks);
}

static void teardown(void)
{
	vhost_dev_reset(&dev);
	ck_assert_uint_eq(kicks_watched, 0);
	guest_destroy(&g);
	close(errfd);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
	ck_assert_uint_eq(count_fds(), fds_before);
}

// Sends one message through the parser and the device; fds are dup'ed (the device owns them).
static int sendm(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *fds,
	unsigned n_fds)
{
	uint8_t wire[VHOST_MSG_MAX];
	uint32_t h[3] = {req, VHOST_FLAG_VERSION | flags, size};
	struct vhost_msg msg;
	int owned[VHOST_FDS_MAX];
	int ret;

	memcpy(wire, h, sizeof(h));
	if (size > 0) // payload may be NULL then (memcpy's arguments must not be)
		memcpy(wire + VHOST_HDR_SIZE, payload, size);
	err_clear(&err);
	for (unsigned i = 0; i < n_fds; i++)
		owned[i] = dup(fds[i]);
	ret = vhost_proto_parse(
		wire, VHOST_HDR_SIZE + size, n_fds, VHOST_DEV_MAX_VRINGS, &msg, &err);
	ck_assert_msg(ret == 0, "parse: %s", err.msg);
	return vhost_dev_handle(&dev, &msg, owned, n_fds, reply, &reply_len, &err);
}

static uint64_t reply_u64(void)
{
	uint64_t v;

	ck_assert_uint_eq(reply_len, 20);
	memcpy(&v, reply + 12, 8);
	return v;
}

static void send_state(uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_vring_state st = {index, num};

	ck_assert_int_eq(sendm(req, 0, &st, sizeof(st), NULL, 0), 0);
}

static void send_u64(uint32_t req, uint64_t v)
{
	ck_assert_int_eq(sendm(req, 0, &v, 8, NULL, 0), 0);
}

static void send_mem(void)
{
	ck_assert_int_eq(sendm(VHOST_REQ_SET_MEM_TABLE, 0, &g.table, 8 + 2 * 32, g.fd, 2), 0);
}

// SET_VRING_NUM/BASE/ADDR/KICK/CALL for vring i on guest queue gqs[i].
static void setup_vring(unsigned i, uint16_t size, bool with_kick)
{
	struct vhost_vring_addr a = {.index = i};
	int kfd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = i;

	gq_init(&gqs[i], &g, size);
	a.desc = gqs[i].desc_gpa + GUEST_UVA_OFF;
	a.avail = gqs[i].avail_gpa + GUEST_UVA_OFF;
	a.used = gqs[i].used_gpa + GUEST_UVA_OFF;
	send_state(VHOST_REQ_SET_VRING_NUM, i, size);
	send_state(VHOST_REQ_SET_VRING_BASE, i, 0);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), 0);
	if (with_kick)
		ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_KICK, 0, &v, 8, &kfd, 1), 0);
	v = i | VHOST_VRING_NOFD;
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_CALL, 0, &v, 8, NULL, 0), 0);
	close(kfd);
}

static void negotiate(uint64_t features)
{
	ck_assert_int_eq(sendm(VHOST_REQ_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(sendm(VHOST_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(reply_u64(), VHOST_DEV_FEATURES);
	if (features & VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		ck_assert_int_eq(sendm(VHOST_REQ_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0), 0);
		ck_assert_uint_eq(reply_u64(), VHOST_DEV_PROTOCOL_FEATURES);
		send_u64(VHOST_REQ_SET_PROTOCOL_FEATURES, VHOST_DEV_PROTOCOL_FEATURES);
		ck_assert_int_eq(sendm(VHOST_REQ_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0), 0);
		ck_assert_uint_eq(reply_u64(), NPAIRS);
	}
	send_u64(VHOST_REQ_SET_FEATURES, features);
	send_mem();
}

static void tx_frame(struct gq *q, unsigned len)
{
	uint64_t gpa;

	gq_post(q, 12 + len, false, &gpa);
	memset(guest_ptr(&g, gpa), 0, 12 + len);
}

START_TEST(test_bringup_and_traffic)
{
	struct pkt *pkts[8];

	negotiate(FEATS);
	setup_vring(0, 256, true);
	setup_vring(1, 256, true);
	// Protocol features negotiated: started but disabled until SET_VRING_ENABLE.
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0);
	ck_assert(!virtq_is_ready(&vqs[1]));
	send_state(VHOST_REQ_SET_VRING_ENABLE, 0, 1);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 1, 1);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 2);
	ck_assert_uint_eq(kicks_watched, 2);
	ck_assert_uint_eq(pairs_reported, 0); // still one pair: no change reported

	tx_frame(&gqs[1], 60);
	tx_frame(&gqs[1], 70);
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 2);
	ck_assert_uint_eq(pkts[1]->len, 70);
	gq_post(&gqs[0], 2048, true, NULL);
	ck_assert_uint_eq(virtq_enqueue_burst(&vqs[0], pkts, 2), 1); // one RX buffer only
	pkt_free_bulk(pkts, 2);

	// A second queue pair: reported as soon as one of its rings runs.
	setup_vring(2, 64, true);
	setup_vring(3, 64, true);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 3, 1);
	ck_assert_uint_eq(pairs_reported, 2);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 2, 1);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 4);

	// Stop (what QEMU does on guest reset): base returned, ring off, kick fd released.
	ck_assert_int_eq(
		sendm(VHOST_REQ_GET_VRING_BASE, 0, &(struct vhost_vring_state){1, 0}, 8, NULL, 0),
		0);
	ck_assert_uint_eq(reply_len, 20);
	ck_assert_uint_eq(((uint32_t *)reply)[3], 1);
	ck_assert_uint_eq(((uint32_t *)reply)[4], 2);
	ck_assert(!virtq_is_ready(&vqs[1]));
	ck_assert_uint_eq(kicks_watched, 3);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 2, 0);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 3, 0);
	ck_assert_uint_eq(pairs_reported, 1);
}
END_TEST

// Without VHOST_USER_F_PROTOCOL_FEATURES a kicked ring is enabled at once.
START_TEST(test_legacy_enable)
{
	negotiate(VHOST_BIT(VIRTIO_F_VERSION_1));
	setup_vring(0, 64, false);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0); // not started: no kick yet
	{
		uint64_t v = 0 | VHOST_VRING_NOFD; // polling mode: no kick fd at all

		send_u64(VHOST_REQ_SET_VRING_KICK, v);
	}
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 1);
	ck_assert_uint_eq(vqs[0].hdr_len, 12);
}
END_TEST

START_TEST(test_refusals)
{
	uint64_t v = VHOST_BIT(VHOST_F_LOG_ALL);
	struct vhost_vring_addr a = {.index = 0, .flags = VHOST_VRING_F_LOG};
	uint8_t cfg[16] = {0};

	negotiate(FEATS);
	// Features we did not offer: refused, and with REPLY_ACK asked, answered 1.
	ck_assert_int_eq(
		sendm(VHOST_REQ_SET_FEATURES, VHOST_FLAG_NEED_REPLY, &v, 8, NULL, 0), -EINVAL);
	ck_assert_uint_eq(reply_u64(), 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not offered"));
	v = VHOST_BIT(VHOST_PROTOCOL_F_LOG_SHMFD);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_PROTOCOL_FEATURES, 0, &v, 8, NULL, 0), -EINVAL);
	ck_assert_uint_eq(reply_len, 0);
	// Dirty logging is not supported.
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), -EINVAL);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_LOG_BASE, VHOST_FLAG_NEED_REPLY, cfg, 16, &errfd, 1),
		-EOPNOTSUPP);
	ck_assert_uint_eq(reply_u64(), 1);
	// Unknown and unoffered requests; GET_CONFIG still gets an (empty: failed) answer.
	ck_assert_int_eq(sendm(99, 0, NULL, 0, NULL, 0), -EOPNOTSUPP);
	ck_assert_int_eq(sendm(VHOST_REQ_GET_CONFIG, 0, cfg, 16, NULL, 0), -EOPNOTSUPP);
	ck_assert_uint_eq(reply_len, 12);
	ck_assert_uint_eq(((uint32_t *)reply)[2], 0);
	// Success with NEED_REPLY: 0.
	ck_assert_int_eq(sendm(VHOST_REQ_SET_OWNER, VHOST_FLAG_NEED_REPLY, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(reply_u64(), 0);
	// A vring index beyond what this device offers (the parser allowed it).
	ck_assert_int_eq(
		sendm(VHOST_REQ_SET_VRING_NUM, 0, &(struct vhost_vring_state){9, 64}, 8, NULL, 0),
		-EINVAL);
}
END_TEST

// Ring addresses outside guest memory never reach the workers.
START_TEST(test_bad_ring_address)
{
	struct vhost_vring_addr a = {.index = 1, .desc = 0x1000, .avail = 0x2000, .used = 0x3000};

	negotiate(FEATS);
	setup_vring(1, 64, true);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), 0);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 1, 1);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0);
	ck_assert(!virtq_is_ready(&vqs[1]));
}
END_TEST

// A new table while queues run: they stop, the old mapping goes, they restart on the new one at
// the position they had.
START_TEST(test_mem_table_swap)
{
	struct pkt *pkts[8];
	const struct vhost_mem *old;

	negotiate(FEATS);
	setup_vring(1, 64, true);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 1, 1);
	tx_frame(&gqs[1], 60);
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 1);
	pkt_free(pkts[0]);
	old = dev.mem;
	send_mem();
	ck_assert_ptr_ne(dev.mem, old);
	ck_assert_ptr_eq(vqs[1].mem, dev.mem);
	ck_assert(virtq_is_ready(&vqs[1]));
	tx_frame(&gqs[1], 61);
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 1);
	ck_assert_uint_eq(pkts[0]->len, 61);
	pkt_free(pkts[0]);
	ck_assert_uint_eq(gq_used_idx(&gqs[1]), 2);
	// A table whose region lies past its file is refused; the old one stays in use.
	{
		struct vhost_memory t = g.table;

		t.regions[0].mmap_offset = 4096;
		old = dev.mem;
		ck_assert_int_eq(
			sendm(VHOST_REQ_SET_MEM_TABLE, 0, &t, 8 + 2 * 32, g.fd, 2), -EINVAL);
		ck_assert_ptr_eq(dev.mem, old);
		ck_assert(virtq_is_ready(&vqs[1]));
	}
}
END_TEST

// A guest error stops every queue and marks the device broken until the front-end stops all
// rings (guest reset); then the rings run again.
START_TEST(test_broken_and_reset)
{
	struct pkt *pkts[8];
	unsigned vring;
	enum virtq_error e;
	uint64_t v;

	negotiate(FEATS);
	for (unsigned i = 0; i < 2; i++) {
		setup_vring(i, 64, true);
		send_state(VHOST_REQ_SET_VRING_ENABLE, i, 1);
	}
	ck_assert(!vhost_dev_collect_error(&dev, &vring, &e));
	gq_push(&gqs[1], 64); // head out of range
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 0);
	ck_assert_int_eq(read(errfd, &v, 8), 8);
	ck_assert(vhost_dev_collect_error(&dev, &vring, &e));
	ck_assert_uint_eq(vring, 1);
	ck_assert_uint_eq(e, VIRTQ_ERR_HEAD);
	ck_assert(dev.broken);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0);
	// Reconfiguring one ring is not enough.
	send_state(VHOST_REQ_SET_VRING_ENABLE, 0, 1);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0);
	// The guest resets: QEMU stops every ring, then sets them up again.
	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(sendm(VHOST_REQ_GET_VRING_BASE, 0,
					 &(struct vhost_vring_state){i, 0}, 8, NULL, 0),
			0);
	ck_assert(!dev.broken);
	for (unsigned i = 0; i < 2; i++) {
		setup_vring(i, 64, true);
		send_state(VHOST_REQ_SET_VRING_ENABLE, i, 1);
	}
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 2);
	tx_frame(&gqs[1], 60);
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 1);
	pkt_free(pkts[0]);
}
END_TEST

// SET_VRING_NUM/BASE/ADDR/KICK/CALL for packed vring i on guest queue pgqs[i].
static void setup_packed_vring(unsigned i, uint16_t size, uint32_t base)
{
	struct vhost_vring_addr a = {.index = i};
	int kfd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = i;

	a.desc = pgqs[i].desc_gpa + GUEST_UVA_OFF;
	a.avail = pgqs[i].driver_gpa + GUEST_UVA_OFF;
	a.used = pgqs[i].device_gpa + GUEST_UVA_OFF;
	send_state(VHOST_REQ_SET_VRING_NUM, i, size);
	send_state(VHOST_REQ_SET_VRING_BASE, i, base);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), 0);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_KICK, 0, &v, 8, &kfd, 1), 0);
	v = i | VHOST_VRING_NOFD;
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_CALL, 0, &v, 8, NULL, 0), 0);
	send_state(VHOST_REQ_SET_VRING_ENABLE, i, 1);
	close(kfd);
}

static uint32_t get_base(unsigned i)
{
	ck_assert_int_eq(
		sendm(VHOST_REQ_GET_VRING_BASE, 0, &(struct vhost_vring_state){i, 0}, 8, NULL, 0),
		0);
	ck_assert_uint_eq(reply_len, 20);
	ck_assert_uint_eq(((uint32_t *)reply)[3], i);
	return ((uint32_t *)reply)[4];
}

// A packed-ring session as QEMU runs one: the base carries positions and wrap counters both
// ways, and a ring stopped with GET_VRING_BASE continues where it stood.
START_TEST(test_packed_session)
{
	uint64_t feats = FEATS | VHOST_BIT(VIRTIO_F_RING_PACKED);
	struct pkt *pkts[8];
	uint32_t base;
	uint64_t v;

	ck_assert(VHOST_DEV_FEATURES & VHOST_BIT(VIRTIO_F_RING_PACKED));
	negotiate(feats);
	// Without VERSION_1 a packed ring is refused.
	v = VHOST_BIT(VIRTIO_F_RING_PACKED) | VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_FEATURES, 0, &v, 8, NULL, 0), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "VERSION_1"));
	ck_assert_uint_eq(dev.features, feats);
	for (unsigned i = 0; i < 2; i++) {
		pgq_init(&pgqs[i], &g, 8);
		setup_packed_vring(i, 8, 0x80008000); // QEMU's first base: both halves at 0, wrap 1
	}
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 2);
	ck_assert(vqs[1].packed);
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 3; k++) {
			uint64_t gpa;

			pgq_post(&pgqs[1], 72, false, &gpa);
			memset(guest_ptr(&g, gpa), 0, 72);
		}
		ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 3);
		pkt_free_bulk(pkts, 3);
		for (int k = 0; k < 3; k++)
			ck_assert(pgq_get(&pgqs[1], &(uint16_t){0}, &(uint32_t){0}, NULL));
	}
	// 9 descriptors on an 8-descriptor ring: position 1, wrap counter 0, in both halves.
	base = get_base(1);
	ck_assert_uint_eq(base, 1 | 1u << 16);
	ck_assert(!virtq_is_ready(&vqs[1]));
	setup_packed_vring(1, 8, base);
	ck_assert(virtq_is_ready(&vqs[1]));
	pgq_post(&pgqs[1], 80, false, NULL);
	ck_assert_uint_eq(virtq_dequeue_burst(&vqs[1], pkts, 8), 1);
	ck_assert_uint_eq(pkts[0]->len, 68);
	pkt_free(pkts[0]);
	ck_assert_uint_eq(get_base(1), 2 | 2u << 16);
	// A base whose position is outside the ring does not start the vring.
	setup_packed_vring(1, 8, 9 | VIRTQ_PACKED_WRAP);
	ck_assert(!virtq_is_ready(&vqs[1]));
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 1);
}
END_TEST

// A split ring base is one 16-bit index: more is refused (packed bases are 32-bit).
START_TEST(test_split_base_range)
{
	struct vhost_vring_state st = {0, 65536};

	negotiate(FEATS);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_BASE, 0, &st, 8, NULL, 0), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "split"));
	st.num = 65535;
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_BASE, 0, &st, 8, NULL, 0), 0);
}
END_TEST

// Reset closes every fd the front-end gave us (checked by the fixture) and forgets the session.
START_TEST(test_reset_releases)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 0;

	negotiate(FEATS);
	setup_vring(0, 64, true);
	setup_vring(1, 64, true);
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_ERR, 0, &v, 8, &efd, 1), 0);
	v = 1;
	ck_assert_int_eq(sendm(VHOST_REQ_SET_VRING_CALL, 0, &v, 8, &efd, 1), 0);
	send_state(VHOST_REQ_SET_VRING_ENABLE, 1, 1);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 1);
	ck_assert_int_eq(vqs[1].callfd, dev.vr[1].callfd);
	close(efd);
	vhost_dev_reset(&dev);
	ck_assert_ptr_null(dev.mem);
	ck_assert_uint_eq(dev.features, 0);
	ck_assert_uint_eq(vhost_dev_n_running(&dev), 0);
	ck_assert_int_eq(dev.vr[1].callfd, -1);
}
END_TEST

static Suite *dev_suite(void)
{
	Suite *s = suite_create("vhost_dev");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bringup_and_traffic);
	tcase_add_test(tc, test_legacy_enable);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_bad_ring_address);
	tcase_add_test(tc, test_mem_table_swap);
	tcase_add_test(tc, test_broken_and_reset);
	tcase_add_test(tc, test_reset_releases);
	tcase_add_test(tc, test_packed_session);
	tcase_add_test(tc, test_split_base_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
