// SPDX-License-Identifier: Apache-2.0
// MAC learning table shared by the workers of one bridge: a two-choice hash of cache-line
// buckets, each guarded by a sequence lock, so lookups never write and learning a known MAC
// is a read plus, at most once a second, a timestamp store.
//
// How it works
// - Each (VLAN, MAC) key hashes (keyed with a per-table random seed, so a guest cannot aim
//   its MACs at one bucket) to two buckets of MT_WAYS slots; an entry lives in either. The
//   bucket array has twice as many slots as the capacity, so two-choice placement almost never
//   finds both buckets full before the table holds `capacity` entries.
// - A bucket's `seq` is even when stable and odd while a writer owns it. Readers copy what they
//   need between two reads of seq and retry if it changed (bounded: after MT_READ_TRIES they
//   answer "unknown", which makes the bridge flood - correct, just slower). Writers take the
//   bucket by CAS from even to odd (trylock on workers: a busy bucket means "learn next
//   time"; the control thread spins, workers hold buckets for a few instructions only).
// - Inserting locks both candidate buckets (lower index first) so two workers learning the
//   same new MAC cannot insert it twice.
// - `seen` is refreshed without the lock (relaxed store): it is independent of the key and a
//   racing writer at worst applies a fresh timestamp to the entry it just wrote.
// - Aged entries are invisible to lookups; learning reclaims them when it needs their slot and
//   mac_table_age() (control thread) sweeps the rest.
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dataplane/compiler.h"
#include "dataplane/mac_table.h"

#define MT_WAYS 4
#define MT_READ_TRIES 16
#define MT_KEY_VALID (1ULL << 63) // key 0 = empty slot
#define MT_PREFETCH_MIN_BYTES (512 * 1024)

struct mt_bucket {
	_Atomic uint32_t seq; // even: stable; odd: a writer owns the bucket
	_Atomic uint16_t port[MT_WAYS];
	_Atomic uint32_t seen[MT_WAYS]; // last seen, caller's seconds; written without the lock
	_Atomic uint64_t key[MT_WAYS]; // MT_KEY_VALID | vlan << 48 | mac, 0 = empty
} __cache_aligned;

STATIC_ASSERT(sizeof(struct mt_bucket) == CACHE_LINE_SIZE, "one bucket per cache line");

struct mac_table {
	// Read by every lookup; written only at create (aging_s by set_aging, rarely).
	struct mt_bucket *buckets;
	uint32_t mask; // n_buckets - 1
	unsigned capacity;
	uint64_t seed;
	bool prefetch; // buckets likely out of cache: mac_table_prefetch() is worth its hashing
	_Atomic unsigned aging_s; // worker: ro, control: rw (relaxed: any recent value will do)

	// Written on learning events only (rare next to lookups), kept off the read-mostly line.
	_Atomic unsigned n_entries __cache_aligned;
	_Atomic uint64_t learned;
	_Atomic uint64_t moved;
	_Atomic uint64_t full_drops;
	_Atomic uint64_t aged;
};

static inline uint64_t mt_key(uint16_t vlan, const uint8_t mac[6])
{
	return MT_KEY_VALID | (uint64_t)(vlan & 0xfff) << 48 | (uint64_t)mac[0] << 40 |
		(uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
		(uint64_t)mac[4] << 8 | (uint64_t)mac[5];
}

static inline void mt_key_split(uint64_t key, uint16_t *vlan, uint8_t mac[6])
{
	*vlan = (key >> 48) & 0xfff;
	for (int i = 0; i < 6; i++)
		mac[i] = key >> (40 - 8 * i);
}

// 64-bit finaliser (murmur3 fmix64) over the seeded key: every key bit affects both halves.
static inline uint64_t mt_hash(const struct mac_table *mt, uint64_t key)
{
	uint64_t h = key ^ mt->seed;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline void mt_buckets(const struct mac_table *mt, uint64_t key, uint32_t *b1, uint32_t *b2)
{
	uint64_t h = mt_hash(mt, key);

	*b1 = h & mt->mask;
	*b2 = (h >> 32) & mt->mask;
	if (*b2 == *b1)
		*b2 = *b1 ^ 1; // n_buckets >= 2: always two distinct candidates
}

// Seconds since `seen`; an entry stamped by a worker whose clock is slightly ahead is age 0.
static inline uint32_t mt_age(uint32_t seen, uint32_t now)
{
	int32_t d = (int32_t)(now - seen);

	return d > 0 ? (uint32_t)d : 0;
}

static inline bool mt_expired(const struct mac_table *mt, uint32_t seen, uint32_t now)
{
	return mt_age(seen, now) >= atomic_load_explicit(&mt->aging_s, memory_order_relaxed);
}

struct mt_found {
	int way; // -1: not in this bucket
	uint16_t port;
	uint32_t seen;
};

// Consistent read of the slot holding key in b. False if writers kept the bucket busy.
static bool mt_bucket_find(const struct mt_bucket *b, uint64_t key, unsigned tries,
	struct mt_found *f)
{
	for (unsigned t = 0; t < tries; t++) {
		uint32_t s1 = atomic_load_explicit(&b->seq, memory_order_acquire);

		if (s1 & 1) {
			cpu_relax();
			continue;
		}
		f->way = -1;
		for (int i = 0; i < MT_WAYS; i++) {
			if (atomic_load_explicit(&b->key[i], memory_order_relaxed) == key) {
				f->way = i;
				f->port = atomic_load_explicit(&b->port[i], memory_order_relaxed);
				f->seen = atomic_load_explicit(&b->seen[i], memory_order_relaxed);
				break;
			}
		}
		// Pairs with the release fence in mt_bucket_trylock(): if we saw a writer's data
		// we also see its odd seq below.
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s1)
			return true;
	}
	return false;
}

static bool mt_bucket_trylock(struct mt_bucket *b)
{
	uint32_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);

	if (s & 1)
		return false;
	// Acquire pairs with the release store in mt_bucket_unlock() of the previous owner.
	if (!atomic_compare_exchange_strong_explicit(&b->seq, &s, s + 1, memory_order_acquire,
		    memory_order_relaxed))
		return false;
	// Orders the odd seq before our slot stores (pairs with the reader's acquire fence).
	atomic_thread_fence(memory_order_release);
	return true;
}

static void mt_bucket_lock(struct mt_bucket *b)
{
	while (!mt_bucket_trylock(b))
		cpu_relax();
}

static void mt_bucket_unlock(struct mt_bucket *b)
{
	uint32_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);

	// Release pairs with the readers' acquire load of seq and the next owner's CAS.
	atomic_store_explicit(&b->seq, s + 1, memory_order_release);
}

// Hint (no lock): does b hold an entry that learning could reclaim?
static bool mt_bucket_has_expired(const struct mac_table *mt, const struct mt_bucket *b,
	uint32_t now)
{
	for (int i = 0; i < MT_WAYS; i++) {
		uint32_t seen = atomic_load_explicit(&b->seen[i], memory_order_relaxed);

		if (atomic_load_explicit(&b->key[i], memory_order_relaxed) != 0 &&
			mt_expired(mt, seen, now))
			return true;
	}
	return false;
}

static unsigned mt_next_pow2(unsigned v)
{
	unsigned p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

struct mac_table *mac_table_create(unsigned size, unsigned aging_s)
{
	struct mac_table *mt;
	unsigned n_buckets;

	if (size < MAC_TABLE_SIZE_MIN || size > MAC_TABLE_SIZE_MAX ||
		aging_s < MAC_TABLE_AGING_MIN || aging_s > MAC_TABLE_AGING_MAX) {
		errno = EINVAL;
		return NULL;
	}
	mt = aligned_alloc(CACHE_LINE_SIZE, sizeof(*mt));
	if (mt == NULL)
		return NULL;
	memset(mt, 0, sizeof(*mt));
	// Twice the slots the capacity needs keeps two-choice placement from failing early.
	n_buckets = mt_next_pow2(2 * size / MT_WAYS);
	mt->buckets = aligned_alloc(CACHE_LINE_SIZE, (size_t)n_buckets * sizeof(struct mt_bucket));
	if (mt->buckets == NULL)
		goto err_mt;
	memset(mt->buckets, 0, (size_t)n_buckets * sizeof(struct mt_bucket));
	mt->mask = n_buckets - 1;
	mt->capacity = size;
	// Measured: below this the buckets stay in L2 and prefetching costs more than it saves.
	mt->prefetch = (size_t)n_buckets * sizeof(struct mt_bucket) > MT_PREFETCH_MIN_BYTES;
	atomic_init(&mt->aging_s, aging_s);
	if (getrandom(&mt->seed, sizeof(mt->seed), GRND_NONBLOCK) != sizeof(mt->seed))
		mt->seed = rdtsc() ^ (uintptr_t)mt; // no entropy yet (early boot): hard to guess
	return mt;

err_mt:
	free(mt);
	errno = ENOMEM;
	return NULL;
}

uint32_t mac_table_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

void mac_table_destroy(struct mac_table *mt)
{
	if (mt == NULL)
		return;
	free(mt->buckets);
	free(mt);
}

void mac_table_prefetch(const struct mac_table *mt, uint16_t vlan, const uint8_t mac[6])
{
	uint32_t b1, b2;

	if (!mt->prefetch)
		return;
	mt_buckets(mt, mt_key(vlan, mac), &b1, &b2);
	prefetch0(&mt->buckets[b1]);
	prefetch0(&mt->buckets[b2]);
}

int mac_table_lookup(const struct mac_table *mt, uint16_t vlan, const uint8_t mac[6],
	uint32_t now)
{
	uint64_t key = mt_key(vlan, mac);
	uint32_t b[2];
	struct mt_found f;

	mt_buckets(mt, key, &b[0], &b[1]);
	for (int i = 0; i < 2; i++) {
		if (!mt_bucket_find(&mt->buckets[b[i]], key, MT_READ_TRIES, &f))
			return -ENOENT;
		if (f.way >= 0)
			return mt_expired(mt, f.seen, now) ? -ENOENT : f.port;
	}
	return -ENOENT;
}

static void mt_slot_write(struct mt_bucket *b, int way, uint64_t key, uint16_t port, uint32_t now)
{
	atomic_store_explicit(&b->port[way], port, memory_order_relaxed);
	atomic_store_explicit(&b->seen[way], now, memory_order_relaxed);
	atomic_store_explicit(&b->key[way], key, memory_order_relaxed);
}

// Learning slow path, with both candidate buckets owned by the caller.
static int mt_learn_locked(struct mac_table *mt, struct mt_bucket *bk[2], uint64_t key,
	uint16_t port, uint32_t now)
{
	int empty_w[2] = { -1, -1 };
	unsigned used[2] = { 0, 0 };
	struct mt_bucket *expired_b = NULL;
	int expired_w = -1;

	for (int i = 0; i < 2; i++) {
		struct mt_bucket *b = bk[i];

		for (int w = 0; w < MT_WAYS; w++) {
			uint64_t k = atomic_load_explicit(&b->key[w], memory_order_relaxed);
			uint32_t seen = atomic_load_explicit(&b->seen[w], memory_order_relaxed);

			if (k == 0) {
				if (empty_w[i] < 0)
					empty_w[i] = w;
				continue;
			}
			used[i]++;
			if (k != key) {
				if (expired_b == NULL && mt_expired(mt, seen, now)) {
					expired_b = b;
					expired_w = w;
				}
				continue;
			}
			if (mt_expired(mt, seen, now)) {
				// Aged out: a new learn that happens to reuse the slot.
				mt_slot_write(b, w, key, port, now);
				atomic_fetch_add_explicit(&mt->aged, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&mt->learned, 1, memory_order_relaxed);
				return MAC_TABLE_LEARNED;
			}
			atomic_store_explicit(&b->seen[w], now, memory_order_relaxed);
			if (atomic_load_explicit(&b->port[w], memory_order_relaxed) == port)
				return MAC_TABLE_KNOWN;
			atomic_store_explicit(&b->port[w], port, memory_order_relaxed);
			atomic_fetch_add_explicit(&mt->moved, 1, memory_order_relaxed);
			return MAC_TABLE_MOVED;
		}
	}
	// An empty slot, in the emptier bucket so that both stay short.
	int pick = -1;

	if (empty_w[0] >= 0 && (empty_w[1] < 0 || used[0] <= used[1]))
		pick = 0;
	else if (empty_w[1] >= 0)
		pick = 1;
	if (pick >= 0) {
		unsigned n = atomic_fetch_add_explicit(&mt->n_entries, 1, memory_order_relaxed);

		if (n < mt->capacity) {
			mt_slot_write(bk[pick], empty_w[pick], key, port, now);
			atomic_fetch_add_explicit(&mt->learned, 1, memory_order_relaxed);
			return MAC_TABLE_LEARNED;
		}
		atomic_fetch_sub_explicit(&mt->n_entries, 1, memory_order_relaxed);
	}
	if (expired_b != NULL) {
		mt_slot_write(expired_b, expired_w, key, port, now);
		atomic_fetch_add_explicit(&mt->aged, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mt->learned, 1, memory_order_relaxed);
		return MAC_TABLE_LEARNED;
	}
	atomic_fetch_add_explicit(&mt->full_drops, 1, memory_order_relaxed);
	return -ENOSPC;
}

int mac_table_learn(struct mac_table *mt, uint16_t vlan, const uint8_t mac[6], uint16_t port,
	uint32_t now)
{
	uint64_t key = mt_key(vlan, mac);
	uint32_t b[2];
	struct mt_bucket *bk[2];
	struct mt_found f;
	bool found = false;
	int ret;

	mt_buckets(mt, key, &b[0], &b[1]);
	bk[0] = &mt->buckets[b[0]];
	bk[1] = &mt->buckets[b[1]];

	// Fast path: read only.
	for (int i = 0; i < 2 && !found; i++) {
		if (!mt_bucket_find(bk[i], key, MT_READ_TRIES, &f))
			return -EBUSY;
		if (f.way < 0)
			continue;
		found = true;
		if (f.port == port && !mt_expired(mt, f.seen, now)) {
			// At most one store per second per entry keeps the line shared between
			// the workers that read it.
			if ((int32_t)(now - f.seen) > 0)
				atomic_store_explicit(&bk[i]->seen[f.way], now,
					memory_order_relaxed);
			return MAC_TABLE_KNOWN;
		}
	}
	// A full table with nothing to reclaim here: refuse without taking any lock (a MAC flood
	// from a guest must not turn into lock traffic).
	if (!found &&
		atomic_load_explicit(&mt->n_entries, memory_order_relaxed) >= mt->capacity &&
		!mt_bucket_has_expired(mt, bk[0], now) && !mt_bucket_has_expired(mt, bk[1], now)) {
		atomic_fetch_add_explicit(&mt->full_drops, 1, memory_order_relaxed);
		return -ENOSPC;
	}

	// Lock order: lower bucket index first (b[0] != b[1] always).
	struct mt_bucket *first = b[0] < b[1] ? bk[0] : bk[1];
	struct mt_bucket *second = b[0] < b[1] ? bk[1] : bk[0];

	if (!mt_bucket_trylock(first))
		return -EBUSY;
	if (!mt_bucket_trylock(second)) {
		mt_bucket_unlock(first);
		return -EBUSY;
	}
	ret = mt_learn_locked(mt, bk, key, port, now);
	mt_bucket_unlock(second);
	mt_bucket_unlock(first);
	return ret;
}

// Control thread: removes the slots of every bucket for which match() says so.
static unsigned mt_remove_if(struct mac_table *mt,
	bool (*match)(const struct mac_table *mt, const struct mt_bucket *b, int way, void *arg),
	void *arg)
{
	unsigned removed = 0;

	for (uint32_t i = 0; i <= mt->mask; i++) {
		struct mt_bucket *b = &mt->buckets[i];
		bool any = false;

		// Cheap unlocked pass first: most buckets have nothing to remove.
		for (int w = 0; w < MT_WAYS && !any; w++)
			any = atomic_load_explicit(&b->key[w], memory_order_relaxed) != 0 &&
				match(mt, b, w, arg);
		if (!any)
			continue;
		mt_bucket_lock(b);
		for (int w = 0; w < MT_WAYS; w++) {
			if (atomic_load_explicit(&b->key[w], memory_order_relaxed) != 0 &&
				match(mt, b, w, arg)) {
				atomic_store_explicit(&b->key[w], 0, memory_order_relaxed);
				removed++;
			}
		}
		mt_bucket_unlock(b);
	}
	atomic_fetch_sub_explicit(&mt->n_entries, removed, memory_order_relaxed);
	return removed;
}

struct mt_flush_filter {
	int port;
	int vlan;
};

static bool mt_match_filter(const struct mac_table *mt, const struct mt_bucket *b, int way,
	void *arg)
{
	const struct mt_flush_filter *ff = arg;
	uint64_t key = atomic_load_explicit(&b->key[way], memory_order_relaxed);

	if (ff->vlan >= 0 && ((key >> 48) & 0xfff) != (unsigned)ff->vlan)
		return false;
	if (ff->port >= 0 &&
		atomic_load_explicit(&b->port[way], memory_order_relaxed) != (unsigned)ff->port)
		return false;
	return true;
}

unsigned mac_table_flush(struct mac_table *mt, int port, int vlan)
{
	struct mt_flush_filter ff = { .port = port, .vlan = vlan };

	return mt_remove_if(mt, mt_match_filter, &ff);
}

static bool mt_match_expired(const struct mac_table *mt, const struct mt_bucket *b, int way,
	void *arg)
{
	return mt_expired(mt, atomic_load_explicit(&b->seen[way], memory_order_relaxed),
		*(const uint32_t *)arg);
}

unsigned mac_table_age(struct mac_table *mt, uint32_t now)
{
	unsigned n = mt_remove_if(mt, mt_match_expired, &now);

	atomic_fetch_add_explicit(&mt->aged, n, memory_order_relaxed);
	return n;
}

unsigned mac_table_dump(const struct mac_table *mt, uint32_t now, mac_table_dump_fn cb, void *arg)
{
	unsigned count = 0;

	for (uint32_t i = 0; i <= mt->mask; i++) {
		const struct mt_bucket *b = &mt->buckets[i];
		uint64_t key[MT_WAYS];
		uint16_t port[MT_WAYS];
		uint32_t seen[MT_WAYS];

		for (;;) {
			uint32_t s1 = atomic_load_explicit(&b->seq, memory_order_acquire);

			if (s1 & 1) {
				cpu_relax();
				continue;
			}
			for (int w = 0; w < MT_WAYS; w++) {
				key[w] = atomic_load_explicit(&b->key[w], memory_order_relaxed);
				port[w] = atomic_load_explicit(&b->port[w], memory_order_relaxed);
				seen[w] = atomic_load_explicit(&b->seen[w], memory_order_relaxed);
			}
			// Same pairing as in mt_bucket_find().
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s1)
				break;
		}
		// Callbacks run outside the read section: they may be slow (JSON building).
		for (int w = 0; w < MT_WAYS; w++) {
			uint16_t vlan;
			uint8_t mac[6];

			if (key[w] == 0 || mt_expired(mt, seen[w], now))
				continue;
			mt_key_split(key[w], &vlan, mac);
			cb(arg, vlan, mac, port[w], mt_age(seen[w], now));
			count++;
		}
	}
	return count;
}

void mac_table_stats_get(const struct mac_table *mt, struct mac_table_stats *st)
{
	unsigned n = atomic_load_explicit(&mt->n_entries, memory_order_relaxed);

	// n_entries can briefly exceed capacity while a learner backs off from a full table.
	st->entries = MIN(n, mt->capacity);
	st->capacity = mt->capacity;
	st->aging_s = atomic_load_explicit(&mt->aging_s, memory_order_relaxed);
	st->learned = atomic_load_explicit(&mt->learned, memory_order_relaxed);
	st->moved = atomic_load_explicit(&mt->moved, memory_order_relaxed);
	st->full_drops = atomic_load_explicit(&mt->full_drops, memory_order_relaxed);
	st->aged = atomic_load_explicit(&mt->aged, memory_order_relaxed);
}

void mac_table_set_aging(struct mac_table *mt, unsigned aging_s)
{
	aging_s = MAX(aging_s, MAC_TABLE_AGING_MIN);
	aging_s = MIN(aging_s, MAC_TABLE_AGING_MAX);
	atomic_store_explicit(&mt->aging_s, aging_s, memory_order_relaxed);
}
