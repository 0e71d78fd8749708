# SPDX-License-Identifier: Apache-2.0
# Finds the Debian-packaged dependencies; a missing one stops configuration with the package to install.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
	message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(vswitch_require var module debpkg)
	pkg_check_modules(${var} IMPORTED_TARGET ${module})
	if(NOT ${var}_FOUND)
		message(FATAL_ERROR "${module} not found: apt-get install ${debpkg}")
	endif()
endfunction()

vswitch_require(JANSSON jansson libjansson-dev)
vswitch_require(YAML yaml-0.1 libyaml-dev)
vswitch_require(LIBEVENT libevent libevent-dev)
vswitch_require(SYSTEMD libsystemd libsystemd-dev)
vswitch_require(NUMA numa libnuma-dev)
if(VSWITCH_TESTS)
	vswitch_require(CHECK check check)
endif()
find_package(Threads REQUIRED)
