// SPDX-License-Identifier: Apache-2.0
// vhost-user message parser: framing (version, reply bit, size limits), payload size per
// request, fd counts, vring indices, ring sizes and bases, kick/call flags, and the memory table
// (region count, empty, overflowing and overlapping regions); reply encoding.
#include <check.h>
#include <errno.h>
#include <string.h>

#include "drivers/vhost/vhost_proto.h"

#define MAXV 32

static uint8_t buf[VHOST_MSG_MAX];
static struct vhost_msg msg;
static struct err err;

// Builds a message: header + payload of `size` bytes copied from `payload`.
static size_t mk(uint32_t req, uint32_t flags, const void *payload, uint32_t size)
{
	uint32_t h[3] = {req, flags, size};

	memcpy(buf, h, sizeof(h));
	if (size)
		memcpy(buf + VHOST_HDR_SIZE, payload, size);
	return VHOST_HDR_SIZE + size;
}

static int parse(size_t len, unsigned n_fds)
{
	err_clear(&err);
	return vhost_proto_parse(buf, len, n_fds, MAXV, &msg, &err);
}

START_TEST(test_framing)
{
	uint64_t v = 1;
	size_t len = mk(VHOST_REQ_SET_FEATURES, 1, &v, 8);
	uint32_t size;

	ck_assert_int_eq(parse(len, 0), 0);
	ck_assert_uint_eq(msg.request, VHOST_REQ_SET_FEATURES);
	ck_assert_uint_eq(msg.u64, 1);
	ck_assert_int_eq(parse(len - 1, 0), -EPROTO); // truncated
	ck_assert_int_eq(parse(5, 0), -EPROTO); // shorter than a header
	mk(VHOST_REQ_SET_FEATURES, 2, &v, 8); // version 2
	ck_assert_int_eq(parse(len, 0), -EPROTO);
	ck_assert_str_eq(err.field, "flags");
	mk(VHOST_REQ_SET_FEATURES, 1 | VHOST_FLAG_REPLY, &v, 8); // a reply is not a request
	ck_assert_int_eq(parse(len, 0), -EPROTO);
	mk(VHOST_REQ_SET_FEATURES, 1 | VHOST_FLAG_NEED_REPLY, &v, 8);
	ck_assert_int_eq(parse(len, 0), 0);
	ck_assert_uint_eq(msg.flags & VHOST_FLAG_NEED_REPLY, VHOST_FLAG_NEED_REPLY);
	// The header check alone: size limit.
	mk(VHOST_REQ_SET_FEATURES, 1, NULL, 0);
	((uint32_t *)buf)[2] = VHOST_PAYLOAD_MAX + 1;
	ck_assert_int_eq(vhost_proto_hdr_check(buf, &size, &err), -EPROTO);
	((uint32_t *)buf)[2] = VHOST_PAYLOAD_MAX;
	ck_assert_int_eq(vhost_proto_hdr_check(buf, &size, &err), 0);
	ck_assert_uint_eq(size, VHOST_PAYLOAD_MAX);
}
END_TEST

START_TEST(test_sizes_and_fds)
{
	uint64_t v = 0;
	struct vhost_vring_state st = {0, 256};
	uint8_t big[16] = {0};

	ck_assert_int_eq(parse(mk(VHOST_REQ_GET_FEATURES, 1, NULL, 0), 0), 0);
	ck_assert_int_eq(parse(mk(VHOST_REQ_GET_FEATURES, 1, NULL, 0), 1), -EINVAL); // stray fd
	ck_assert_str_eq(err.field, "fds");
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_FEATURES, 1, &v, 4), 0), -EINVAL);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_FEATURES, 1, big, 16), 0), -EINVAL);
	ck_assert_str_eq(err.field, "size");
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), 0);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 4), 0), -EINVAL);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 1), -EINVAL);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, big, 16), 0), -EINVAL);
	// More fds than any message may carry.
	ck_assert_int_eq(parse(mk(99, 1, NULL, 0), VHOST_FDS_MAX + 1), -EINVAL);
	// Unknown requests parse (the device refuses them) so the stream stays in sync.
	ck_assert_int_eq(parse(mk(99, 1, big, 16), 0), 0);
	ck_assert_str_eq(vhost_proto_req_name(99), "UNKNOWN");
	ck_assert_str_eq(vhost_proto_req_name(VHOST_REQ_SET_MEM_TABLE), "SET_MEM_TABLE");
	ck_assert_str_eq(vhost_proto_req_name(UINT32_MAX), "UNKNOWN");
}
END_TEST

START_TEST(test_vring_state)
{
	struct vhost_vring_state st = {MAXV - 1, 1024};

	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), 0);
	ck_assert_uint_eq(msg.state.index, MAXV - 1);
	ck_assert_uint_eq(msg.state.num, 1024);
	st.index = MAXV; // index out of range
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), -EINVAL);
	ck_assert_str_eq(err.field, "index");
	ck_assert_int_eq(parse(mk(VHOST_REQ_GET_VRING_BASE, 1, &st, 8), 0), -EINVAL);
	st.index = 0;
	st.num = 1000; // not a power of two
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), -EINVAL);
	ck_assert_str_eq(err.field, "num");
	st.num = 0;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), -EINVAL);
	st.num = 65536;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), -EINVAL);
	st.num = 32768;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_NUM, 1, &st, 8), 0), 0);
	st.num = 65535;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_BASE, 1, &st, 8), 0), 0);
	st.num = 0x80008000; // a packed ring base (vhost_dev.c checks it against the layout)
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_BASE, 1, &st, 8), 0), 0);
	ck_assert_uint_eq(msg.state.num, 0x80008000);
	st.num = 2;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ENABLE, 1, &st, 8), 0), -EINVAL);
	st.num = 1;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ENABLE, 1, &st, 8), 0), 0);
}
END_TEST

START_TEST(test_vring_addr)
{
	struct vhost_vring_addr a = {.index = 3, .desc = 0x1000, .avail = 0x2000, .used = 0x3000};

	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), 0);
	ck_assert_uint_eq(msg.addr.index, 3);
	ck_assert_uint_eq(msg.addr.used, 0x3000);
	a.desc = 0x1008; // descriptor table must be 16-byte aligned
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), -EINVAL);
	a.desc = 0x1000;
	a.used = 0x3002; // used ring: 4
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), -EINVAL);
	a.used = 0x3000;
	a.avail = 0x2001; // avail ring: 2
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), -EINVAL);
	a.avail = 0x2000;
	a.flags = 2; // unknown flag
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), -EINVAL);
	a.flags = VHOST_VRING_F_LOG;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), 0);
	a.index = 1000;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ADDR, 1, &a, sizeof(a)), 0), -EINVAL);
}
END_TEST

START_TEST(test_vring_fd)
{
	uint64_t v = 5;

	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_KICK, 1, &v, 8), 1), 0);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_KICK, 1, &v, 8), 0), -EINVAL); // fd missing
	v = 5 | VHOST_VRING_NOFD;
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_CALL, 1, &v, 8), 0), 0);
	ck_assert_int_eq(
		parse(mk(VHOST_REQ_SET_VRING_CALL, 1, &v, 8), 1), -EINVAL); // unexpected fd
	v = 5 | 0x200; // reserved bit
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_ERR, 1, &v, 8), 1), -EINVAL);
	v = MAXV; // index out of range
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_KICK, 1, &v, 8), 1), -EINVAL);
	ck_assert_int_eq(parse(mk(VHOST_REQ_SET_VRING_KICK, 1, &v, 4), 1), -EINVAL);
}
END_TEST

static struct vhost_memory mem;

static size_t mk_mem(unsigned n, uint32_t size)
{
	size_t len;

	mem.nregions = n;
	len = mk(VHOST_REQ_SET_MEM_TABLE, 1, &mem, size < sizeof(mem) ? size : sizeof(mem));
	memset(buf + len, 0, VHOST_HDR_SIZE + size - len); // payload beyond the table: zeros
	((uint32_t *)buf)[2] = size;
	return VHOST_HDR_SIZE + size;
}

START_TEST(test_mem_table)
{
	memset(&mem, 0, sizeof(mem));
	for (unsigned i = 0; i < VHOST_MEM_REGIONS_MAX; i++) {
		mem.regions[i].gpa = 0x100000ull * (i + 1);
		mem.regions[i].size = 0x100000;
		mem.regions[i].uva = 0x7f0000000000ull + 0x100000ull * i;
		mem.regions[i].mmap_offset = 0;
	}
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), 0);
	ck_assert_uint_eq(msg.mem.nregions, 2);
	ck_assert_uint_eq(msg.mem.regions[1].gpa, 0x200000);
	// Front-ends may send the full fixed-size table.
	ck_assert_int_eq(parse(mk_mem(2, sizeof(struct vhost_memory)), 2), 0);
	ck_assert_int_eq(parse(mk_mem(8, 8 + 8 * 32), 8), 0);
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 1), -EINVAL); // fd count != regions
	ck_assert_int_eq(parse(mk_mem(2, 8 + 32), 2), -EINVAL); // payload too small
	ck_assert_int_eq(parse(mk_mem(0, 8), 0), -EINVAL);
	ck_assert_int_eq(parse(mk_mem(9, 8 + 8 * 32), 8), -EINVAL);
	ck_assert_int_eq(parse(mk_mem(2, 4), 2), -EINVAL);
	ck_assert_int_eq(parse(mk_mem(1, sizeof(struct vhost_memory) + 8), 1), -EINVAL);

	mem.regions[1].size = 0;
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
	mem.regions[1].size = 0x100000;
	mem.regions[1].gpa = UINT64_MAX - 10; // gpa + size overflows
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
	mem.regions[1].gpa = 0x200000;
	mem.regions[1].mmap_offset = UINT64_MAX - 10;
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
	mem.regions[1].mmap_offset = 0;
	mem.regions[1].uva = UINT64_MAX;
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
	mem.regions[1].uva = 0x7f0000100000ull;
	mem.regions[1].gpa = 0x1fffff; // overlaps region 0 in gpa by one byte
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "overlap"));
	mem.regions[1].gpa = 0x200000;
	mem.regions[1].uva = 0x7f0000000000ull + 0x80000; // overlaps in uva
	ck_assert_int_eq(parse(mk_mem(2, 8 + 2 * 32), 2), -EINVAL);
}
END_TEST

START_TEST(test_replies)
{
	uint8_t out[VHOST_REPLY_MAX];
	uint32_t w[5];
	uint64_t v;

	ck_assert_uint_eq(vhost_proto_reply_u64(out, VHOST_REQ_GET_FEATURES, 0x1234), 20);
	memcpy(w, out, 12);
	memcpy(&v, out + 12, 8);
	ck_assert_uint_eq(w[0], VHOST_REQ_GET_FEATURES);
	ck_assert_uint_eq(w[1], VHOST_FLAG_VERSION | VHOST_FLAG_REPLY);
	ck_assert_uint_eq(w[2], 8);
	ck_assert_uint_eq(v, 0x1234);
	ck_assert_uint_eq(vhost_proto_reply_state(out, VHOST_REQ_GET_VRING_BASE, 3, 77), 20);
	memcpy(w, out, 20);
	ck_assert_uint_eq(w[3], 3);
	ck_assert_uint_eq(w[4], 77);
	ck_assert(vhost_proto_has_reply(VHOST_REQ_GET_VRING_BASE));
	ck_assert(!vhost_proto_has_reply(VHOST_REQ_SET_VRING_BASE));
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("vhost_proto");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_sizes_and_fds);
	tcase_add_test(tc, test_vring_state);
	tcase_add_test(tc, test_vring_addr);
	tcase_add_test(tc, test_vring_fd);
	tcase_add_test(tc, test_mem_table);
	tcase_add_test(tc, test_replies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
