# SPDX-License-Identifier: GPL-2.0-only
# Host-side helpers of the VM test rig; sourced, not run.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMDIR="$REPO/tests/vm"
OUT="${DCC_BUILD:-$REPO/build}"
VMOUT="$OUT/vm"
mkdir -p "$VMOUT"

log() { printf '%s\n' "$*" >&2; }

# What a guest's console shows when its kernel went wrong (grep -E), and
# the taint bits a test may leave: the module is out of tree (O) and
# unsigned (E).
KERNEL_PROBLEMS='WARNING: CPU|BUG:|Oops|general protection fault|Kernel panic|kernel BUG|Call Trace'
TAINT_ALLOWED=$((4096 | 8192))
die() { log "error: $*"; exit 1; }

# Debian packages the rig needs on the host.
HOST_PACKAGES=(qemu-system-x86 busybox-static fio dmsetup libnl-3-dev libnl-genl-3-dev
	libdevmapper-dev libblkid-dev libsystemd-dev dwarves dkms libgtest-dev libgmock-dev cmake g++ gcc make pkg-config
	kmod cpio xz-utils zstd e2fsprogs diffutils coreutils libelf1 libzmq3-dev libsodium-dev cppzmq-dev
	libtomlplusplus-dev nlohmann-json3-dev clang-14 libclang-rt-14-dev iproute2 iperf3 spin drbd-utils
	debhelper dh-dkms udev lvm2 resource-agents libxml2-utils)

install_host_packages() {
	local missing=()
	for p in "${HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing: ${missing[*]}"
		[ "$(id -u)" = 0 ] || die "need root to install packages"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
}

# The two Debian 12 kernel lines, resolved from the archive at run time.
resolve_kernels() {
	local r61 p612
	r61=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9.-]*-amd64\)$/\1/p' | head -n1)
	p612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		awk '{print $1}' | sort -V | tail -n1)
	[ -n "$r61" ] || die "cannot resolve the 6.1 kernel (apt-get update?)"
	[ -n "$p612" ] || die "cannot resolve the 6.12 kernel (apt-get update?)"
	echo "$r61"
	echo "${p612#linux-image-}" | sed 's/-unsigned$//'
}

kernel_root() { echo "$VMOUT/kernels/$1/root"; }
kernel_build_dir() { echo "$(kernel_root "$1")/usr/src/linux-headers-$1"; }

# Fetch image, headers and kbuild of release $1 and unpack them (no install,
# so no initramfs-tools run).
prepare_kernel() {
	local rel=$1 dir root ver kbuild common image
	dir="$VMOUT/kernels/$rel"
	root="$dir/root"
	[ -f "$dir/.ready" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$root"
	ver=${rel%-amd64}
	case $rel in
	6.1.*) kbuild=linux-kbuild-6.1; image=linux-image-$rel ;;
	*) kbuild=linux-kbuild-$ver; image=linux-image-$rel-unsigned ;;
	esac
	common=linux-headers-$ver-common
	log "fetching kernel $rel"
	(cd "$dir/debs" && apt-get download -q "$image" "linux-headers-$rel" "$common" "$kbuild" \
		>/dev/null 2>&1) || die "cannot download the packages of kernel $rel"
	for d in "$dir"/debs/*.deb; do dpkg -x "$d" "$root"; done
	rm -rf "$dir/debs"
	# The headers' Makefile includes the common tree by absolute path.
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$(kernel_build_dir "$rel")/Makefile"
	depmod -b "$root" "$rel"
	touch "$dir/.ready"
}

# Build dm-dcc.ko for release $1 in its own tree; prints the module path.
build_module() {
	local rel=$1 dir
	dir="$VMOUT/module-$rel"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$REPO/Kbuild" "$REPO/VERSION" "$REPO/kernel" "$REPO/include" "$dir/"
	make -s -C "$(kernel_build_dir "$rel")" M="$dir" modules >"$dir/build.log" 2>&1 || {
		cat "$dir/build.log" >&2
		die "module build failed for $rel"
	}
	if grep -E 'warning:' "$dir/build.log" >&2; then die "module build for $rel has warnings"; fi
	echo "$dir/dm-dcc.ko"
}

build_userspace() {
	# The crash points of the scenarios (DCCD_CRASH_AT) exist only in this build.
	# -O2 without -g: the guest's copies are stripped anyway, and -g costs
	# a fifth of the build's time.
	cmake -S "$REPO" -B "$OUT/cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
		-DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DDCC_TEST_HOOKS=ON >/dev/null
	cmake --build "$OUT/cmake" -j"$(nproc)" >/dev/null
}

# build_debs DIR: dcc-dkms and dcc-utils built by dpkg-buildpackage from
# the tracked files (and new ones not ignored, for a working tree) copied
# to DIR/dcc; the .debs land in DIR, the log in DIR/build.log.
build_debs() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/dcc"
	(cd "$REPO" && { git ls-files; git ls-files --others --exclude-standard; } | sort -u |
		while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done | cpio -pdm --quiet "$d/dcc")
	# nocheck: the unit tests run in the suite's first step.
	(cd "$d/dcc" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		dpkg-buildpackage -b -us -uc >"$d/build.log" 2>&1)
}

# Copy binary $1 and the libraries it needs into staging dir $2.
stage_binary() {
	local bin=$1 dst=$2 lib
	install -D -m 0755 "$bin" "$dst$3"
	strip --strip-debug "$dst$3" 2>/dev/null || true  # the guest's RAM holds it
	for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
		[ -e "$dst$lib" ] || install -D -m 0755 "$lib" "$dst$lib"
	done
}

# Modules the guest loads, with their dependencies, in load order.
GUEST_MODULES=(virtio_blk virtio_pci virtio_net dm-mod dm-flakey dm-delay dm-log-writes crc32c_generic ext4
	sch_netem)
# Copied but not loaded at boot: the benchmarks load brd with its own
# size, drbd (DRBD 8.4, Debian's kernel) to compare with, dm-zero for
# a volume larger than any disk, and tc's ingress filters to drop one
# port's packets (the sync path's black hole in syncwrite); each one's
# load order is in /lib/modules/NAME.order.
GUEST_EXTRA_MODULES=(brd drbd dm-zero sch_ingress cls_u32 act_gact)

module_closure() {
	local rel=$1 root dep
	shift
	local wanted=("$@")
	root=$(kernel_root "$rel")/lib/modules/$rel
	dep="$root/modules.dep"
	local -A seen=()
	local order=()
	visit() {
		local path=$1 d
		[ -n "${seen[$path]:-}" ] && return 0
		seen[$path]=1
		for d in $(grep -E "^$path:" "$dep" | cut -d: -f2); do visit "$d"; done
		order+=("$path")
	}
	local m path
	for m in "${wanted[@]}"; do
		path=$(grep -E "/${m//-/[-_]}\.ko(\.xz)?:" "$dep" | cut -d: -f1 | head -n1)
		# Built-in (no .ko) is fine: nothing to load.
		[ -n "$path" ] && visit "$path"
	done
	printf '%s\n' "${order[@]}"
}

# Build the initramfs for release $1 with module $2; prints its path.
build_initramfs() {
	local rel=$1 ko=$2 stage out m mroot name
	stage="$VMOUT/initramfs-$rel"
	out="$VMOUT/initrd-$rel.cpio"
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,tests}
	cp /bin/busybox "$stage/bin/busybox"
	stage_binary /usr/sbin/dmsetup "$stage" /usr/sbin/dmsetup
	ln -s /usr/sbin/dmsetup "$stage/sbin/dmsetup"  # where dm's udev rules call it
	# udevd with the device-mapper rules and ours, for the udev scenario
	# (the others run without udev).
	stage_binary /bin/udevadm "$stage" /usr/bin/udevadm
	mkdir -p "$stage/lib/systemd"
	ln -s /usr/bin/udevadm "$stage/lib/systemd/systemd-udevd"  # udevd by its name
	mkdir -p "$stage/lib/udev/rules.d"
	cp /lib/udev/rules.d/{55-dm,60-persistent-storage-dm,95-dm-notify}.rules "$stage/lib/udev/rules.d/"
	cp "$REPO/libctl/56-dcc.rules" "$stage/lib/udev/rules.d/"  # calls /usr/sbin/dccctl
	stage_binary /sbin/lvm "$stage" /usr/sbin/lvm  # LVM's scan of /dev, and its filter
	# The Pacemaker agent, and Debian's ocf-tester to check it.
	install -D -m 0755 "$REPO/libctl/ocf-volume" "$stage/usr/lib/ocf/resource.d/dcc/volume"
	install -D -m 0755 /usr/sbin/ocf-tester "$stage/usr/sbin/ocf-tester"
	install -D -m 0644 /usr/share/resource-agents/ra-api-1.dtd "$stage/usr/share/resource-agents/ra-api-1.dtd"
	stage_binary /usr/bin/xmllint "$stage" /usr/bin/xmllint
	stage_binary /usr/bin/fio "$stage" /usr/bin/fio
	stage_binary /usr/bin/dd "$stage" /usr/bin/dd
	stage_binary /usr/bin/cmp "$stage" /usr/bin/cmp
	stage_binary /usr/sbin/mke2fs "$stage" /usr/sbin/mke2fs
	stage_binary /usr/sbin/e2fsck "$stage" /usr/sbin/e2fsck
	stage_binary /usr/sbin/tc "$stage" /usr/sbin/tc
	stage_binary /usr/bin/iperf3 "$stage" /usr/bin/iperf3
	# DRBD 8.4's tools (drbd-utils), for the benchmark's comparison.
	stage_binary /lib/drbd/drbdsetup-84 "$stage" /usr/sbin/drbdsetup-84
	stage_binary /sbin/drbdmeta "$stage" /usr/sbin/drbdmeta
	stage_binary "$OUT/cmake/libctl/dccctl" "$stage" /usr/sbin/dccctl
	stage_binary "$OUT/cmake/dcctest" "$stage" /usr/bin/dcctest
	stage_binary "$OUT/cmake/daemon/dccd" "$stage" /usr/sbin/dccd
	mroot=$(kernel_root "$rel")/lib/modules/$rel
	: >"$stage/lib/modules/load-order"
	for m in $(module_closure "$rel" "${GUEST_MODULES[@]}"); do
		name=$(basename "$m" .xz)
		if [[ $m == *.xz ]]; then xz -dc "$mroot/$m" >"$stage/lib/modules/$name"
		else cp "$mroot/$m" "$stage/lib/modules/$name"; fi
		echo "$name" >>"$stage/lib/modules/load-order"
	done
	local extra
	for extra in "${GUEST_EXTRA_MODULES[@]}"; do
		: >"$stage/lib/modules/$extra.order"
		for m in $(module_closure "$rel" "$extra"); do
			name=$(basename "$m" .xz)
			[ -e "$stage/lib/modules/$name" ] || if [[ $m == *.xz ]]; then
				xz -dc "$mroot/$m" >"$stage/lib/modules/$name"
			else cp "$mroot/$m" "$stage/lib/modules/$name"; fi
			echo "$name" >>"$stage/lib/modules/$extra.order"
		done
	done
	cp "$ko" "$stage/lib/modules/dm-dcc.ko"
	install -m 0755 "$VMDIR/guest/init" "$stage/init"
	cp "$VMDIR/guest/lib.sh" "$stage/tests/"
	cp -r "$VMDIR/scenarios" "$VMDIR/bench" "$stage/tests/"
	# The programs and their libraries (95 MB, most of it fio's) go to a
	# read-only disk of their own, which the guest's init mounts over
	# /usr, /lib64 and /lib/x86_64-linux-gnu: the kernel unpacked them at
	# every boot from the initramfs, some 1.5 s of each under TCG, and a
	# guest reads from the disk only what it runs.  The initramfs keeps
	# busybox, init, the modules and the scenarios.
	local tools="$VMOUT/tools-$rel"
	rm -rf "$tools"
	mkdir -p "$tools/lib"
	mv "$stage/usr" "$stage/lib64" "$tools/"
	mv "$stage/lib/x86_64-linux-gnu" "$tools/lib/"
	mkdir -p "$stage/usr" "$stage/lib64" "$stage/lib/x86_64-linux-gnu" "$stage/tools"
	rm -f "$(tools_image "$rel")"
	mke2fs -q -t ext4 -O ^has_journal -L dcc-tools -d "$tools" \
		"$(tools_image "$rel")" "$(($(du -sm "$tools" | cut -f1) * 5 / 4 + 16))M" >/dev/null ||
		die "cannot make the tools disk for $rel"
	(cd "$stage" && find . | cpio -o -H newc --quiet) >"$out"
	echo "$out"
}

# The read-only disk of the guest's programs for release $1 (build_initramfs).
tools_image() { echo "$VMOUT/tools-$1.img"; }

kernel_image() { echo "$(kernel_root "$1")/boot/vmlinuz-$1"; }

# kernel_vmlinux REL: the kernel of release REL uncompressed (an ELF
# vmlinux), made once from its bzImage and kept beside it; prints its path.
# QEMU's -kernel boots it by its PVH entry point (CONFIG_PVH, which both
# Debian 12 lines have): the same kernel, without the bzImage's own
# decompression of itself, which took 3.5 s of each 7 s boot under TCG
# (measured with a scenario that only powers off).  The compressed payload
# is where the boot protocol's header says (payload_offset and
# payload_length, from the protected-mode code at (setup_sects + 1) * 512);
# its last 4 bytes are the uncompressed size, not part of the stream.
kernel_vmlinux() {
	local rel=$1 img out sects off len magic
	img=$(kernel_image "$rel")
	out="$VMOUT/kernels/$rel/vmlinux"
	[ -s "$out" ] && { echo "$out"; return 0; }
	grep -qx 'CONFIG_PVH=y' "$(kernel_root "$rel")/boot/config-$rel" ||
		die "kernel $rel has no PVH entry point (CONFIG_PVH): QEMU cannot boot its vmlinux"
	sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$img" | tr -d ' ')
	((sects)) || sects=4
	off=$(od -An -tu4 -j $((0x248)) -N4 "$img" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$img" | tr -d ' ')
	off=$(((sects + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$off" -N4 "$img" | tr -d ' ')
	payload() { dd if="$img" bs=64K iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) status=none; }
	case $magic in
	fd377a58) payload | xz -dc >"$out.tmp" ;;
	28b52ffd) payload | zstd -dcq >"$out.tmp" ;;
	*) die "kernel $rel: a payload this script does not unpack (magic $magic): add it to kernel_vmlinux" ;;
	esac || die "kernel $rel: cannot uncompress its bzImage"
	[ "$(od -An -c -N4 "$out.tmp" | tr -d ' ')" = '177ELF' ] || die "kernel $rel: its payload is no ELF image"
	mv "$out.tmp" "$out"
	echo "$out"
}
