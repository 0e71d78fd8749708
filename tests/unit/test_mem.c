// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/mem.c: allocation contract, NUMA placement, the normal-page fallback
// (always tested, by asking for a page size with no free pages), the hugepage path (when free
// hugepages exist), budgets, IOVA modes, pagemap translation and concurrent IOVA lookups.
#include <check.h>
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"

#define MB (1ul << 20)

// AddressSanitizer turns mlock() into a no-op that succeeds, so a failing lock cannot be provoked.
#if defined(__SANITIZE_ADDRESS__)
#define TEST_MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_MEM_ASAN 1
#endif
#endif

static long sysfs_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static long free_hugepages(size_t kb)
{
	char path[128];
	long v;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages", kb);
	v = sysfs_long(path);
	return v < 0 ? 0 : v;
}

// Log capture: counts messages per level from module "mem" and keeps the last warning.
static unsigned n_warn;
static char last_warn[1024];

static void capture_sink(enum log_level lvl, const char *module, const char *func,
	const char *object, const char *msg)
{
	if (strcmp(module, "mem") == 0 && lvl == LOG_LVL_WARN) {
		n_warn++;
		snprintf(last_warn, sizeof(last_warn), "%s", msg);
	}
}

struct seg_find {
	const void *va;
	struct mem_segment seg;
	bool found;
};

static int seg_find_cb(const struct mem_segment *seg, void *arg)
{
	struct seg_find *f = arg;

	if ((const char *)f->va >= (const char *)seg->va &&
		(const char *)f->va < (const char *)seg->va + seg->size) {
		f->seg = *seg;
		f->found = true;
		return 1;
	}
	return 0;
}

static struct mem_segment seg_of(const void *va)
{
	struct seg_find f = {.va = va};

	ck_assert_int_eq(mem_segment_foreach(seg_find_cb, &f), 1);
	ck_assert(f.found);
	return f.seg;
}

// Forces the fallback: a 1 GiB page size with no free 1 GiB page. False when 1 GiB pages are
// free (or unsupported) on this machine; the caller skips.
static bool can_force_fallback(void)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK) != 0 ||
		free_hugepages(1048576) > 0) {
		fprintf(stderr, "skipped: cannot force the fallback (1 GiB pages free/absent)\n");
		return false;
	}
	return true;
}

START_TEST(test_alloc_align_zero)
{
	static const size_t sizes[] = {1, 100, 5000, 3 * MB + 17};
	static const size_t aligns[] = {1, 64, 4096, 4 * MB};

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < 4; j++) {
			unsigned char *p = mem_alloc("t", sizes[i], aligns[j], -1);
			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq((uintptr_t)p % (aligns[j] < 64 ? 64 : aligns[j]), 0);
			size_t nonzero = 0;
			for (size_t k = 0; k < sizes[i]; k++)
				nonzero += p[k] != 0;
			ck_assert_uint_eq(nonzero, 0);
			memset(p, 0xa5, sizes[i]);
			ck_assert_uint_ge(mem_page_size(p), 4096);
			ck_assert_uint_eq(mem_page_size(p + sizes[i] - 1), mem_page_size(p));
			mem_free(p);
		}
	}
	mem_free(NULL);
	mem_fini();
}
END_TEST

START_TEST(test_alloc_invalid)
{
	int stack = 0;
	struct mem_stats st;

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("t", 0, 64, -1));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("t", 64, 96, -1));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("t", 64, 64, MEM_MAX_NUMA));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("t", 64, 64, -2));
	ck_assert_int_eq(errno, EINVAL);
	if (numa_available() < 0 || numa_max_node() + 1 < MEM_MAX_NUMA) {
		int absent = numa_available() < 0 ? 1 : numa_max_node() + 1;
		errno = 0;
		ck_assert_ptr_null(mem_alloc("t", 64, 64, absent));
		ck_assert_int_eq(errno, EINVAL);
	}
	// Freeing something that is not an allocation is reported and ignored.
	mem_free(&stack);
	ck_assert_uint_eq(mem_page_size(&stack), 0);
	mem_stats_get(&st);
	ck_assert_uint_eq(st.n_segments, 0);
	mem_fini();
}
END_TEST

// mem_alloc before mem_init initialises with defaults; mem_init then refuses while in use.
START_TEST(test_implicit_init)
{
	struct mem_config cfg = {0};
	struct err err = {0};
	void *p = mem_alloc("implicit", 4096, 64, -1);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mem_init(&cfg, &err), -EBUSY);
	ck_assert_str_eq(err.field, "memory");
	mem_free(p);
	err_clear(&err);
	ck_assert_int_eq(mem_init(&cfg, &err), 0);
	mem_fini();
}
END_TEST

START_TEST(test_init_invalid)
{
	struct mem_config cfg = {.page_size = 3 * MB};
	struct err err = {0};

	ck_assert_int_eq(mem_init(&cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "page_size");
	cfg = (struct mem_config){.iova_mode = 7};
	err_clear(&err);
	ck_assert_int_eq(mem_init(&cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "iova_mode");
}
END_TEST

START_TEST(test_numa_node)
{
	int max = numa_available() < 0 ? 0 : numa_max_node();

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	for (int node = 0; node <= max && node < MEM_MAX_NUMA; node++) {
		if (numa_available() >= 0 && !numa_bitmask_isbitset(numa_all_nodes_ptr, node))
			continue;
		char *p = mem_alloc("node", 3 * MB, 64, node);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(seg_of(p).numa_node, node);
		if (numa_available() >= 0) {
			void *pages[2] = {p, p + 3 * MB - 1};
			int status[2] = {-1, -1};
			ck_assert_int_eq(numa_move_pages(0, 2, pages, NULL, status, 0), 0);
			ck_assert_int_eq(status[0], node);
			ck_assert_int_eq(status[1], node);
		}
		mem_free(p);
	}
	mem_fini();
}
END_TEST

START_TEST(test_fallback)
{
	struct mem_stats st;
	struct err err = {0};

	struct mem_config cfg = {.page_size = 1ul << 30};

	if (!can_force_fallback())
		return;
	log_set_sink(capture_sink);
	ck_assert_int_eq(mem_init(&cfg, &err), 0);
	char *a = mem_alloc("fallback-a", 3 * MB, 64, 0);
	ck_assert_ptr_nonnull(a);
	struct mem_segment seg = seg_of(a);
	ck_assert(!seg.hugepages);
	ck_assert_uint_eq(seg.page_size, (size_t)sysconf(_SC_PAGESIZE));
	ck_assert_uint_eq(seg.size, 3 * MB);
	ck_assert_int_ge(seg.fd, 0);
	// One warning naming the page count, the size and the command to run.
	ck_assert_uint_eq(n_warn, 1);
	ck_assert_ptr_nonnull(strstr(last_warn, "needs 1 x 1048576 kB hugepages"));
	ck_assert_ptr_nonnull(strstr(last_warn, "echo "));
	ck_assert_ptr_nonnull(strstr(last_warn, "hugepages-1048576kB/nr_hugepages"));
	char *b = mem_alloc("fallback-b", MB, 64, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(n_warn, 1);
	memset(a, 1, 3 * MB);
	memset(b, 2, MB);

	mem_stats_get(&st);
	ck_assert(!st.hugepages);
	ck_assert_uint_eq(st.n_segments, 2);
	ck_assert_uint_eq(st.bytes[0], 4 * MB);
	ck_assert_uint_eq(st.fallback_bytes[0], 4 * MB);
	ck_assert_uint_eq(st.page_size, 1ul << 30);

	// Normal pages can move and are not contiguous: IOVA as PA is refused.
	ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_PA, &err), -EPERM);
	ck_assert_str_eq(err.field, "iova_mode");
	ck_assert_uint_eq(mem_iova_mode(), MEM_IOVA_AUTO);
	ck_assert_uint_eq(mem_virt2iova(a + 5), (uintptr_t)(a + 5));
	mem_free(a);
	mem_free(b);
	mem_stats_get(&st);
	ck_assert_uint_eq(st.bytes[0], 0);
	mem_fini();
	log_set_sink(NULL);
}
END_TEST

// Normal pages that cannot be locked (RLIMIT_MEMLOCK 0, no CAP_IPC_LOCK): the allocation works,
// unlocked, with one more warning. Runs in a child that drops root.
START_TEST(test_mlock_limit)
{
#ifdef TEST_MEM_ASAN
	return;
#endif
	if (!can_force_fallback())
		return;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mem_config cfg = {.page_size = 1ul << 30};
		struct rlimit rl = {0, 0};
		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			_exit(2);
		if (geteuid() == 0 &&
			(setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(3);
		log_set_sink(capture_sink);
		if (mem_init(&cfg, NULL) < 0)
			_exit(4);
		char *a = mem_alloc("unlocked", 1 << 20, 64, 0);
		char *b = mem_alloc("unlocked2", 1 << 20, 64, 0);
		if (a == NULL || b == NULL)
			_exit(5);
		memset(a, 1, 1 << 20);
		// The fallback warning and the unlocked warning, once each.
		if (n_warn != 2 || strstr(last_warn, "cannot lock") == NULL ||
			strstr(last_warn, "RLIMIT_MEMLOCK") == NULL)
			_exit(6);
		mem_fini();
		_exit(0);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_require_hugepages)
{
	struct mem_config cfg = {.page_size = 1ul << 30, .require_hugepages = true};
	struct err err = {0};
	long free2m = free_hugepages(2048);

	if (can_force_fallback()) {
		ck_assert_int_eq(mem_init(&cfg, &err), -ENOMEM);
		ck_assert_str_eq(err.field, "require_hugepages");
		ck_assert_ptr_nonnull(strstr(err.msg, "echo "));
	}
	if (free2m == 0) {
		fprintf(stderr, "skipped: require_hugepages with free 2 MiB pages\n");
		return;
	}
	// Hugepages exist but not enough for this allocation: ENOMEM, no fallback, no warning.
	cfg.page_size = 2 * MB;
	err_clear(&err);
	log_set_sink(capture_sink);
	ck_assert_int_eq(mem_init(&cfg, &err), 0);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("too-big", (size_t)(free2m + 1) * 2 * MB, 64, -1));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(n_warn, 0);
	void *p = mem_alloc("fits", 2 * MB, 64, -1);
	ck_assert_ptr_nonnull(p);
	ck_assert(seg_of(p).hugepages);
	mem_fini();
	log_set_sink(NULL);
}
END_TEST

START_TEST(test_hugepages)
{
	struct mem_config cfg = {.page_size = 2 * MB};
	struct mem_stats st;
	struct err err = {0};
	long before = free_hugepages(2048);

	if (before < 3) {
		fprintf(stderr,
			"skipped: hugepage path needs 3 free 2 MiB hugepages (%ld free); echo 64 > "
			"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages\n",
			before);
		return;
	}
	ck_assert_int_eq(mem_init(&cfg, &err), 0);
	char *p = mem_alloc("huge", 3 * MB, 64, -1);
	ck_assert_ptr_nonnull(p);
	struct mem_segment seg = seg_of(p);
	ck_assert(seg.hugepages);
	ck_assert_uint_eq(seg.page_size, 2 * MB);
	ck_assert_uint_eq(seg.size, 4 * MB);
	ck_assert_ptr_eq(seg.va, p);
	ck_assert_uint_eq((uintptr_t)p % (2 * MB), 0);
	ck_assert_uint_eq(mem_page_size(p + 3 * MB), 2 * MB);
	// Prefaulted at allocation: two pages left the free pool.
	ck_assert_int_le(free_hugepages(2048), before - 2);
	mem_stats_get(&st);
	ck_assert(st.hugepages);
	ck_assert_uint_eq(st.fallback_bytes[seg.numa_node], 0);
	ck_assert_uint_eq(st.bytes[seg.numa_node], 4 * MB);

	if (geteuid() == 0) {
		// IOVA as PA on hugepages: each page maps to its physical address.
		ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_PA, &err), 0);
		ck_assert_uint_eq(mem_iova_mode(), MEM_IOVA_PA);
		for (size_t off = 0; off < 4 * MB; off += MB / 2 + 3) {
			uint64_t pa = mem_virt2phys(p + off);
			ck_assert_uint_ne(pa, MEM_IOVA_BAD);
			ck_assert_uint_eq(mem_virt2iova(p + off), pa);
		}
		// A 2 MiB page is physically contiguous.
		ck_assert_uint_eq(mem_virt2phys(p + 2 * MB - 1), mem_virt2phys(p) + 2 * MB - 1);
		// New allocations in PA mode get PAs too.
		char *q = mem_alloc("huge-pa", 4096, 64, -1);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_eq(mem_virt2iova(q + 100), mem_virt2phys(q + 100));
		mem_free(q);
		ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_VA, &err), 0);
		ck_assert_uint_eq(mem_virt2iova(p + 10), (uintptr_t)(p + 10));
	} else {
		fprintf(stderr, "skipped: IOVA-as-PA checks need root\n");
	}
	mem_free(p);
	ck_assert_int_ge(free_hugepages(2048), before);
	mem_fini();
}
END_TEST

START_TEST(test_budget)
{
	struct mem_config cfg = {.budget = {[0] = 4 * MB}};
	struct mem_stats st;

	ck_assert_int_eq(mem_init(&cfg, NULL), 0);
	char *a = mem_alloc("b1", MB, 64, 0);
	ck_assert_ptr_nonnull(a);
	errno = 0;
	ck_assert_ptr_null(mem_alloc("b2", 4 * MB, 64, 0));
	ck_assert_int_eq(errno, ENOMEM);
	mem_stats_get(&st);
	ck_assert_uint_eq(st.budget[0], 4 * MB);
	ck_assert_uint_le(st.bytes[0], 2 * MB);
	mem_free(a);
	char *b = mem_alloc("b2", 4 * MB, 64, 0);
	ck_assert_ptr_nonnull(b);
	mem_free(b);
	mem_fini();
}
END_TEST

START_TEST(test_iova_va)
{
	int stack = 0;

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	ck_assert_uint_eq(mem_iova_mode(), MEM_IOVA_AUTO);
	ck_assert_str_eq(mem_iova_mode_name(MEM_IOVA_AUTO), "auto");
	ck_assert_str_eq(mem_iova_mode_name(MEM_IOVA_VA), "va");
	ck_assert_str_eq(mem_iova_mode_name(MEM_IOVA_PA), "pa");
	char *p = mem_alloc("va", 10000, 64, -1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(mem_virt2iova(p), (uintptr_t)p);
	ck_assert_uint_eq(mem_virt2iova(p + 9999), (uintptr_t)(p + 9999));
	ck_assert_uint_eq(mem_virt2iova(&stack), MEM_IOVA_BAD);
	ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_VA, NULL), 0);
	ck_assert_uint_eq(mem_iova_mode(), MEM_IOVA_VA);
	ck_assert_uint_eq(mem_virt2iova(p + 1), (uintptr_t)(p + 1));
	ck_assert_int_eq(mem_iova_mode_set((enum mem_iova_mode)9, NULL), -EINVAL);
	mem_free(p);
	ck_assert_uint_eq(mem_virt2iova(p), MEM_IOVA_BAD);
	mem_fini();
}
END_TEST

START_TEST(test_virt2phys)
{
	char *buf = aligned_alloc(4096, 8192);

	ck_assert_ptr_nonnull(buf);
	memset(buf, 1, 8192);
	if (geteuid() != 0) {
		errno = 0;
		ck_assert_uint_eq(mem_virt2phys(buf), MEM_IOVA_BAD);
		ck_assert_int_eq(errno, EPERM);
		free(buf);
		return;
	}
	uint64_t pa = mem_virt2phys(buf);
	ck_assert_uint_ne(pa, MEM_IOVA_BAD);
	ck_assert_uint_ne(pa >> 12, 0);
	ck_assert_uint_eq(pa % 4096, 0);
	ck_assert_uint_eq(mem_virt2phys(buf + 4095), pa + 4095);

	// Without CAP_SYS_ADMIN the kernel hides PFNs: EPERM, checked in a child that drops root.
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		// Changing uid makes the process non-dumpable, which would hide /proc/self.
		if (prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(3);
		errno = 0;
		uint64_t r = mem_virt2phys(buf);
		_exit(r == MEM_IOVA_BAD && errno == EPERM ? 0 : 1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	free(buf);

	// Unmapped page: not present.
	errno = 0;
	ck_assert_uint_eq(mem_virt2phys((void *)4096), MEM_IOVA_BAD);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

static unsigned hook_added, hook_removed;
static int hook_ret;

static int test_hook(const struct mem_segment *seg, bool added, void *arg)
{
	ck_assert_ptr_eq(arg, &hook_added);
	ck_assert_ptr_nonnull(seg->va);
	if (added)
		hook_added++;
	else
		hook_removed++;
	return added ? hook_ret : 0;
}

START_TEST(test_hook_busy)
{
	struct err err = {0};

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	mem_set_segment_hook(test_hook, &hook_added);
	void *p = mem_alloc("hook", 4096, 64, -1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(hook_added, 1);
	// Mapped for DMA with the current IOVAs: the mode is frozen.
	ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_VA, &err), -EBUSY);
	ck_assert_str_eq(err.field, "iova_mode");
	// The hook refusing a segment fails the allocation with its error.
	hook_ret = -ENOSPC;
	errno = 0;
	ck_assert_ptr_null(mem_alloc("hook2", 4096, 64, -1));
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(hook_added, 2);
	ck_assert_uint_eq(hook_removed, 0);
	hook_ret = 0;
	mem_free(p);
	ck_assert_uint_eq(hook_removed, 1);
	ck_assert_int_eq(mem_iova_mode_set(MEM_IOVA_VA, &err), 0);
	void *q = mem_alloc("hook3", 4096, 64, -1);
	ck_assert_ptr_nonnull(q);
	mem_fini();
	ck_assert_uint_eq(hook_removed, 2);
	mem_set_segment_hook(NULL, NULL);
}
END_TEST

struct lookup_arg {
	char *p;
	size_t size;
	_Atomic bool stop;
	_Atomic unsigned errors;
	_Atomic unsigned loops;
};

static void *lookup_thread(void *a)
{
	struct lookup_arg *la = a;

	while (!atomic_load(&la->stop)) {
		for (size_t off = 0; off < la->size; off += 4093)
			if (mem_virt2iova(la->p + off) != (uintptr_t)(la->p + off))
				atomic_fetch_add(&la->errors, 1);
		atomic_fetch_add(&la->loops, 1);
	}
	return NULL;
}

// Lock-free lookups stay correct while the control thread adds and removes other segments.
START_TEST(test_concurrent_lookup)
{
	struct lookup_arg la = {.size = 64 * 1024};
	pthread_t th;
	void *others[8] = {0};

	log_set_level(LOG_LVL_WARN);
	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	others[0] = mem_alloc("other0", 4096, 64, -1);
	la.p = mem_alloc("fixed", la.size, 64, -1);
	ck_assert_ptr_nonnull(la.p);
	ck_assert_int_eq(pthread_create(&th, NULL, lookup_thread, &la), 0);
	for (unsigned i = 0; i < 400; i++) {
		unsigned k = i % 8;
		mem_free(others[k]);
		others[k] = mem_alloc("other", 4096 * (1 + i % 5), 64, -1);
		ck_assert_ptr_nonnull(others[k]);
	}
	while (atomic_load(&la.loops) < 10)
		sched_yield();
	atomic_store(&la.stop, true);
	pthread_join(th, NULL);
	unsigned errors = atomic_load(&la.errors);
	ck_assert_uint_eq(errors, 0);
	mem_fini();
}
END_TEST

static Suite *mem_suite(void)
{
	Suite *s = suite_create("mem");
	TCase *tc = tcase_create("mem");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_alloc_align_zero);
	tcase_add_test(tc, test_alloc_invalid);
	tcase_add_test(tc, test_implicit_init);
	tcase_add_test(tc, test_init_invalid);
	tcase_add_test(tc, test_numa_node);
	tcase_add_test(tc, test_fallback);
	tcase_add_test(tc, test_mlock_limit);
	tcase_add_test(tc, test_require_hugepages);
	tcase_add_test(tc, test_hugepages);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_iova_va);
	tcase_add_test(tc, test_virt2phys);
	tcase_add_test(tc, test_hook_busy);
	tcase_add_test(tc, test_concurrent_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mem_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
