// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the split (virtq.c) and packed (virtq_packed.c) virtqueue fast paths:
// counters, short copies, buffer prefetching and the queue-stop path. Not a public interface.
#ifndef VSWITCH_VIRTQ_INTERNAL_H
#define VSWITCH_VIRTQ_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/compiler.h"
#include "drivers/vhost/virtq.h"

// Single-writer counter update: a plain add, atomic only so that readers never tear.
static inline void virtq_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

// memcpy for the short copies of the fast path (headers, small frames): two overlapping
// constant-size moves instead of a libc call; never touches bytes outside [0, n).
static __always_inline void virtq_copy_bytes(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n <= 16) {
		if (n >= 8) {
			__builtin_memcpy(d, s, 8);
			__builtin_memcpy(d + n - 8, s + n - 8, 8);
		} else if (n >= 4) {
			__builtin_memcpy(d, s, 4);
			__builtin_memcpy(d + n - 4, s + n - 4, 4);
		} else {
			for (size_t i = 0; i < n; i++)
				d[i] = s[i];
		}
	} else if (n <= 32) {
		__builtin_memcpy(d, s, 16);
		__builtin_memcpy(d + n - 16, s + n - 16, 16);
	} else if (n <= 64) {
		__builtin_memcpy(d, s, 32);
		__builtin_memcpy(d + n - 32, s + n - 32, 32);
	} else {
		memcpy(d, s, n);
	}
}

// Lines of a guest buffer worth prefetching: the first two and the last (the header and a
// small frame; the hardware prefetcher follows the middle of a large one).
static inline void virtq_buf_prefetch(const uint8_t *b, uint32_t len, bool write)
{
	if (write) {
		prefetchw(b);
		if (len > 64)
			prefetchw(b + 64);
		if (len > 128)
			prefetchw(b + len - 1);
	} else {
		prefetch0(b);
		if (len > 64)
			prefetch0(b + 64);
		if (len > 128)
			prefetch0(b + len - 1);
	}
}

// Stops the queue on a guest error (neg_err = -VIRTQ_ERR_*) and wakes the control thread (one
// eventfd write, once). Worker, inside a burst.
void virtq_fail__(struct virtq *vq, int neg_err);

#endif
