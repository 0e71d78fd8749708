#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Compiler launcher (CMAKE_C_COMPILER_LAUNCHER) for the binaries the QEMU TCG guests run: the
# project builds with -march=native, but TCG emulates no AVX-512, so a native build of an
# AVX-512 host dies with SIGILL in the guest. Swaps -march=native for x86-64-v2.
cc=$1
shift
for a in "$@"; do
	shift
	case $a in
	-march=native) set -- "$@" -march=x86-64-v2 -mtune=generic ;;
	*) set -- "$@" "$a" ;;
	esac
done
exec "$cc" "$@"
