# shellcheck shell=bash
# bench/lib.sh: what the benchmark scripts share; sourced from the top of
# the source tree.
BENCH_BUILD=build-bench

# Builds TARGET... in the release build, configuring it the first time.
bench_build() {
	[ -d $BENCH_BUILD ] || meson setup $BENCH_BUILD --buildtype=release >/dev/null
	ninja -C $BENCH_BUILD "$@" >/dev/null
}

cpu_model() {
	awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo
}
