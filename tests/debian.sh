#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dcc on a real Debian 12 userspace, as an admin installs and runs it; on
# Debian 12 as root:
#   tests/debian.sh
# 1. builds dcc-dkms and dcc-utils with dpkg-buildpackage;
# 2. builds (once; cached in build/vm/debian-KEY) a Debian 12 root file
#    system with debootstrap: systemd as PID 1, DKMS and the 6.1 kernel's
#    headers and modules, PostgreSQL 15, resource-agents, Pacemaker and
#    corosync, and the libraries dcc-utils depends on, nothing of dcc
#    (tests/vm/debian/image.sh);
# 3. boots sites a and b from it (copy-on-write overlays) in QEMU, joined
#    by one virtio-net link, each with its own data and metadata disks;
#    at each boot a unit runs tests/vm/debian/guest.sh, which installs the
#    packages, checks units, udev, journald, dccd --check and ocf-tester,
#    reboots, checks that the volume came back, moves PostgreSQL under
#    pgbench from a to b by a migration after a kill -9, and has a
#    two-node Pacemaker cluster move the volume back.
# Ends with "N passed, N failed" (1 or 0 of each).  It is not part of
# tests/run-all.sh: it took 13 minutes on a 2-core machine without KVM,
# and 4 more the first time, for the image.
source "$(dirname "$0")/vm/common.sh"
source "$VMDIR/debian/image.sh"
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages and builds a root file system"
HOST_PACKAGES+=(debootstrap qemu-utils)
install_host_packages

start=$(date +%s)
W="$OUT/debian"
rel=$(resolve_kernels | sed -n 1p)
prepare_kernel "$rel"
log "building the packages"
build_debs "$W/debs" || { tail -n 30 "$W/debs/build.log" >&2; die "dpkg-buildpackage failed"; }
utils_deb=$(ls "$W"/debs/dcc-utils_*.deb)
# dcc-utils's dependencies go into the image: the guest has no archive.
deps=$(dpkg-deb -f "$utils_deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep -v '^$')
image=$(debian_image "$rel" $deps)
initrd=$(debian_initramfs "$rel")
log "image ready at $(($(date +%s) - start)) s"

# The test's disk: the packages, the scenario and lib.sh.
rm -rf "$W/t" "$W/run"
mkdir -p "$W/t" "$W/run"
cp "$W"/debs/dcc-dkms_*.deb "$utils_deb" "$VMDIR/debian/guest.sh" "$VMDIR/guest/lib.sh" "$REPO/VERSION" "$W/t/"
mkfs.ext4 -q -L dcctest -d "$W/t" "$W/run/t.img" 64M >/dev/null
for s in a b; do
	qemu-img create -q -f qcow2 -F raw -b "$image" "$W/run/root-$s.qcow2"
	truncate -s 256M "$W/run/data-$s.img"
	truncate -s 1M "$W/run/meta-$s.img"
done

# boot_site SITE NETDEV: one site, rebooting as its guest asks, until it
# powers off or TIMEOUT.
TIMEOUT=${DCC_DEBIAN_TIMEOUT:-2400}
boot_site() {
	local s=$1 n=$([ "$1" = a ] && echo 1 || echo 2) peer=$([ "$1" = a ] && echo 2 || echo 1)
	timeout -s KILL "$TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 1 -m 1536 -nographic \
		-kernel "$(kernel_image "$rel")" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 loglevel=4 dcc.site=$s dcc.ip=10.99.0.$n dcc.peer_ip=10.99.0.$peer" \
		-drive "file=$W/run/root-$s.qcow2,format=qcow2,if=virtio,cache=unsafe" \
		-drive "file=$W/run/t.img,format=raw,if=virtio,readonly=on" \
		-drive "file=$W/run/data-$s.img,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$W/run/meta-$s.img,format=raw,if=virtio,cache=unsafe" \
		-netdev "socket,id=n0,$2" -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:0$n" \
		>"$W/run/console-$s.log" 2>&1 </dev/null || echo "DCC-HOST-TIMEOUT or QEMU failed ($?)" >>"$W/run/console-$s.log"
}
port=$((20000 + RANDOM % 20000))
log "booting a and b (console: $W/run/console-{a,b}.log)"
boot_site a "listen=127.0.0.1:$port" &
pa=$!
sleep 1
boot_site b "connect=127.0.0.1:$port" &
pb=$!
wait $pa $pb || true

why=
for s in a b; do
	f="$W/run/console-$s.log"
	grep -aE 'DCC-CHECK|DCC-BEGIN|DCC-RESULT|\((dcc-dkms installed|migrated|pgbench saw)' "$f" | sed "s/^/$s: /"
	hits=$(grep -naE "$KERNEL_PROBLEMS" "$f" | head -n 3 || true)
	[ -z "$hits" ] || { why+="site $s: the kernel reported a problem: $hits; "; continue; }
	grep -aq 'DCC-HOST-TIMEOUT' "$f" && { why+="site $s hung (host timeout ${TIMEOUT}s); "; continue; }
	for taint in $(sed -n 's/^DCC-TAINT \([0-9]*\).*/\1/p' "$f"); do
		((taint & ~TAINT_ALLOWED)) && why+="site $s: kernel tainted $taint; "
	done
	expect_boots=$(grep -ac '^DCC-BEGIN' "$f" || true)
	[ "$expect_boots" = 2 ] || why+="site $s: $expect_boots boots of 2; "
	grep -aq '^DCC-RESULT debian 0' "$f" ||
		why+="site $s failed ($(grep -ac 'DCC-CHECK FAIL' "$f" || true) failed checks); "
done
took=$(($(date +%s) - start))
if [ -z "$why" ]; then
	log "PASS debian (${took}s)"
	echo "1 passed, 0 failed"
else
	log "FAIL debian (${took}s): $why"
	echo "0 passed, 1 failed"
	exit 1
fi
