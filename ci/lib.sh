# ci/lib.sh: shared by ci/test, ci/demo, ci/vm and bench/run.

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

# apt_candidate PKG: the version apt would install, empty when the
# archive has none. Reads the package lists first when there are none (a
# fresh container ships without them).
apt_candidate() {
	if [ "$(id -u)" -eq 0 ] && ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1
	fi
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$'
}

BUILD_PACKAGES=(gcc clang libc6-dev pkg-config meson ninja-build libmnl-dev libcyaml-dev libyaml-dev
	libcmocka-dev libsodium-dev libcap-ng-dev valgrind libsystemd-dev scdoc man-db python3)
# Debian's python3 (with python3-pytest), not one earlier in PATH such as pyenv's.
PYTHON=/usr/bin/python3
# The namespace tier without its WireGuard and its BIRD, which depend on
# the run (WGRS_WG_FLAVOUR, WGRS_BIRD: ci/test).
# python3-prometheus-client parses `status --prometheus` (test_service.py).
NETNS_BASE_PACKAGES=(python3 python3-pytest iproute2 iputils-ping wireguard-tools frr
	python3-prometheus-client)
# bird2 and frr: the topology suite (tests/netns/test_topo_*.py) and ci/demo.
NETNS_PACKAGES=("${NETNS_BASE_PACKAGES[@]}" wireguard-go bird2)
# ci/package: the Debian package and lintian; systemd for systemd-analyze;
# build-essential, which dpkg-buildpackage requires of every build (a
# pristine system lacks it: "Unmet build dependencies: build-essential").
PACKAGE_PACKAGES=(dpkg-dev build-essential debhelper lintian systemd)
# The VM tier (ci/vm): qemu, the initramfs tools, depmod/modprobe for the
# kernel package it unpacks, and systemd, PID 1 of its systemd boot
# (tests/vm/30-systemd-service.sh; Debian's container images lack it).
VM_PACKAGES=(qemu-system-x86 busybox-static kmod xz-utils cpio systemd)
# The fuzz and sanitize tiers of ci/test: clang's runtimes of
# libFuzzer, ASan and UBSan, which clang only recommends.
SANITIZE_PACKAGES=(clang libclang-rt-dev)
# bench/run: gnuplot draws the plot of docs/benchmarks.md.
BENCH_PACKAGES=(gnuplot-nox)

# BIRD packages the suite and the demo run with, in this order of choice.
BIRD_PACKAGES=(bird2 bird3)
BIRD_CACHE=${WGRS_BIRD_CACHE:-/var/cache/wg-rtsync-bird}

# bird_packages: the BIRD packages to run with: $WGRS_BIRD when set (names
# from BIRD_PACKAGES, blank or comma separated), else every one this
# system's archive has (bird3 from Debian 13 on).
bird_packages() {
	local p
	if [ -n "${WGRS_BIRD:-}" ]; then
		for p in ${WGRS_BIRD//,/ }; do
			[[ " ${BIRD_PACKAGES[*]} " == *" $p "* ]] || {
				echo "ci: WGRS_BIRD: unknown BIRD package $p (use ${BIRD_PACKAGES[*]})" >&2
				return 1
			}
			echo "$p"
		done
		return 0
	fi
	for p in "${BIRD_PACKAGES[@]}"; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			[ -n "$(apt_candidate "$p")" ]; then
			echo "$p"
		fi
	done
}

# bird_dir PKG: prints a folder holding that package's bird and birdc.
# bird2 and bird3 conflict as packages, so one at most is installed: an
# installed one is used where it is (/usr/sbin); when no BIRD package is
# installed, PKG is installed; any other is unpacked into BIRD_CACHE
# (apt-get download, dpkg -x) with the libraries it depends on installed,
# and the system's BIRD stays as it is.
bird_dir() {
	local pkg=$1 p ver dir tmp deps
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		echo /usr/sbin
		return 0
	fi
	for p in "${BIRD_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && break
		p=
	done
	if [ -z "$p" ]; then
		need_packages "$pkg" >&2 || return 1
		echo /usr/sbin
		return 0
	fi
	ver=$(apt_candidate "$pkg")
	[ -n "$ver" ] || {
		echo "ci: $pkg: not in this system's package archive" >&2
		return 1
	}
	dir=$BIRD_CACHE/${pkg}_$ver
	if [ ! -x "$dir/usr/sbin/bird" ]; then
		[ "$(id -u)" -eq 0 ] || {
			echo "ci: $pkg must be unpacked into $BIRD_CACHE: run as root" >&2
			return 1
		}
		deps=$(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
			--no-replaces --no-enhances "$pkg=$ver" |
			awk '$1 ~ /^(Pre)?Depends:$/ && $2 !~ /^</ { print $2 }' | sort -u)
		# shellcheck disable=SC2086 # one package name a word
		need_packages $deps >&2 || return 1
		mkdir -p "$BIRD_CACHE"
		tmp=$(mktemp -d "$BIRD_CACHE/.unpack.XXXXXX")
		if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
			! dpkg -x "$tmp"/*.deb "$tmp/root"; then
			rm -rf "$tmp"
			echo "ci: cannot download and unpack $pkg $ver" >&2
			return 1
		fi
		rm -rf "$dir"
		mv "$tmp/root" "$dir"
		rm -rf "$tmp"
		echo "ci: $pkg $ver unpacked into $dir (beside the installed $p)" >&2
	fi
	echo "$dir/usr/sbin"
}

# bird_version DIR: "2.17.6", from DIR/bird --version.
bird_version() {
	"$1/bird" --version 2>&1 | sed -n 's/^BIRD version //p'
}

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
