// SPDX-License-Identifier: Apache-2.0
// Compiler attributes and tiny helpers shared by every module; the only place attributes are
// spelled.
#ifndef VSWITCH_COMPILER_H
#define VSWITCH_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_LINE_SIZE 64

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __cache_aligned __attribute__((aligned(CACHE_LINE_SIZE)))
#define __packed __attribute__((packed))
#define __unused __attribute__((unused))
#define __noinline __attribute__((noinline))
#undef __always_inline // glibc sys/cdefs.h has an equivalent; either may be included first
#define __always_inline inline __attribute__((always_inline))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __must_check __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define STATIC_ASSERT(c, msg) _Static_assert(c, msg)

static inline void prefetch0(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

static inline void prefetchw(const void *p)
{
	__builtin_prefetch(p, 1, 3);
}

// Busy-wait hint for spin loops.
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

// Time-stamp counter; the unit of every "cycles" figure the switch reports.
static inline uint64_t rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

// Compiler-only barrier; CPU ordering uses C11 atomics with named pairs.
#define barrier() __asm__ __volatile__("" ::: "memory")

#endif
