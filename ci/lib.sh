# ci/lib.sh: shared by ci/test and ci/demo.

# need_packages PKG...: installs the Debian packages that are missing.
need_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "ci: missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "ci: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

BUILD_PACKAGES=(gcc clang libc6-dev pkg-config meson ninja-build libmnl-dev libcyaml-dev libyaml-dev
	libcmocka-dev libsodium-dev valgrind libsystemd-dev scdoc man-db)
# Debian's python3 (with python3-pytest), not one earlier in PATH such as pyenv's.
PYTHON=/usr/bin/python3
# bird2 and frr: the topology suite (tests/netns/test_topo_*.py) and ci/demo.
# python3-prometheus-client parses `status --prometheus` (test_service.py).
NETNS_PACKAGES=(python3 python3-pytest iproute2 iputils-ping wireguard-tools wireguard-go bird2 frr
	python3-prometheus-client)
# ci/package: the Debian package and lintian; systemd for systemd-analyze.
PACKAGE_PACKAGES=(dpkg-dev debhelper lintian systemd)
# The VM tier (ci/vm): qemu, the initramfs tools, and depmod/modprobe for
# the kernel package it unpacks.
VM_PACKAGES=(qemu-system-x86 busybox-static kmod xz-utils cpio)
# bench/run: gnuplot draws the plot of docs/benchmarks.md.
BENCH_PACKAGES=(gnuplot-nox)

# step NAME CMD...: runs a step, prints one line with its result and duration.
STEPS_PASSED=0
STEPS_FAILED=0
step() {
	local name=$1 start rc
	shift
	start=$(date +%s.%N)
	echo "=== $name"
	"$@"
	rc=$?
	local took
	took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 0 ]; then
		STEPS_PASSED=$((STEPS_PASSED + 1))
		echo "--- $name: ok (${took}s)"
	else
		STEPS_FAILED=$((STEPS_FAILED + 1))
		echo "--- $name: FAILED, exit $rc (${took}s)"
	fi
	return $rc
}
