# Shared settings of the VM tier, sourced by ci/vm/prepare and ci/vm/run.
# Every setting can be overridden from the environment; docs/vm.md lists them.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${WG_RTSYNC_VM_CACHE:-/var/cache/wg-rtsync-vm}
# The kernel series the VM runs, and the metapackages that may name its
# current kernel, resolved to the versioned package
# (linux-image-6.12.N+debV-amd64) through apt-cache: the first that names
# one of the series. Debian 12 has a metapackage of the series' own
# (bookworm-security); on Debian 13, 6.12 is the default kernel.
VM_KERNEL_SERIES=${WG_RTSYNC_VM_KERNEL_SERIES:-6.12}
VM_KERNEL_META=${WG_RTSYNC_VM_KERNEL_META:-linux-image-$VM_KERNEL_SERIES-amd64 linux-image-amd64}
# Another suite of Debian's archive for the kernel (ci/vm/prepare); empty:
# the system's package lists.
VM_KERNEL_SUITE=${WG_RTSYNC_VM_KERNEL_SUITE:-}
# Loaded by /init in this order (plus what modprobe --show-depends adds):
# the 9p chain first, since the host root comes through it.
# tun: the namespace tests' stand-in UAPI servers (fake_uapi.py) sit on a
# tun device, kernel flavour or not.
VM_MODULES="netfs 9pnet 9pnet_virtio 9p overlay virtio_rng wireguard veth tun
${WG_RTSYNC_VM_MODULES:-}"
# need_packages and VM_PACKAGES (the host tools this tier installs).
. "$VM_DIR/../lib.sh"

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() {
	printf 'vm: error: %s\n' "$*" >&2
	exit 125
}
