# SPDX-License-Identifier: GPL-2.0-only
# The Debian 12 root file system of tests/debian.sh; sourced after
# common.sh.  debian_image REL PKG... prints the path of a raw ext4 image:
# debootstrap's minbase, then apt-get of systemd as PID 1, DKMS with the
# headers of kernel REL, PostgreSQL 15, resource-agents (ocf-tester),
# Pacemaker with corosync, and PKG... (the libraries dcc-utils depends
# on), and REL's modules from the kernel cache.  Nothing of dcc is in it:
# the test installs the packages.  Built once per package list and recipe
# (about 4 minutes here, 1.6 GiB), then taken from $VMOUT/debian-KEY.

# Bump when the recipe below changes what the image holds.
DEBIAN_IMAGE_RECIPE=2
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

debian_image() {
	local rel=$1 key dir root pkgs
	shift
	pkgs=(systemd systemd-sysv udev dbus kmod iproute2 iputils-ping procps e2fsprogs util-linux
		busybox dmsetup dkms "linux-headers-$rel" openssl postgresql-15 postgresql-client-15
		resource-agents libxml2-utils pacemaker corosync pacemaker-cli-utils "$@")
	key=$({ printf '%s\n' "${pkgs[@]}" | sort -u; echo "recipe $DEBIAN_IMAGE_RECIPE"; } | md5sum | cut -c1-12)
	dir="$VMOUT/debian-$key"
	if [ -f "$dir/.ready" ]; then
		echo "$dir/root.img"
		return 0
	fi
	# One image at a time: an older recipe's goes.
	rm -rf "$VMOUT"/debian-*
	mkdir -p "$dir"
	root="$dir/root"
	log "building the Debian 12 image (debootstrap, once: $dir)"
	debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$dir/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log: $dir/debootstrap.log)"; }
	# The host's sources (the kernel's headers may be in bookworm-security
	# or -updates) and its apt settings.
	rm -f "$root/etc/apt/sources.list"
	cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null ||
		printf 'deb %s bookworm main\n' "$DEBIAN_MIRROR" >"$root/etc/apt/sources.list"
	[ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list &&
		cp /etc/apt/sources.list "$root/etc/apt/sources.list"
	# No service starts in the chroot; no PostgreSQL cluster made here (the
	# test makes its own on a dcc volume).
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/etc/postgresql-common"
	echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	local rc=0
	{
		chroot "$root" apt-get update -q &&
			DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
				"${pkgs[@]}"
	} >"$dir/apt.log" 2>&1 || rc=$?
	umount "$root/dev" "$root/proc"
	((rc == 0)) || { tail -n 20 "$dir/apt.log" >&2; die "apt-get in the image failed (log: $dir/apt.log)"; }
	chroot "$root" apt-get clean
	rm -f "$root/usr/sbin/policy-rc.d"
	# Kernel REL's modules (the image package is not installed: its
	# initramfs-tools run costs minutes, and the rig boots its own kernel).
	mkdir -p "$root/usr/lib/modules/$rel"
	cp -a "$(kernel_root "$rel")/lib/modules/$rel/." "$root/usr/lib/modules/$rel/"
	depmod -b "$root" "$rel"
	chroot "$root" test -e "/lib/modules/$rel/build/Makefile" ||
		die "the image has no headers at /lib/modules/$rel/build"
	# The system around the test: the root by label, a serial console for
	# the test alone, nothing that wakes up on its own.
	echo 'LABEL=dccroot / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
	echo debian >"$root/etc/hostname"
	local u
	for u in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer \
		man-db.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
		systemd-timesyncd.service postgresql.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	# The cluster starts when the test has written its configuration.
	chroot "$root" systemctl disable -q corosync.service pacemaker.service
	install -m 0644 "$VMDIR/debian/dcc-test.service" "$root/etc/systemd/system/dcc-test.service"
	ln -sf /etc/systemd/system/dcc-test.service \
		"$root/etc/systemd/system/multi-user.target.wants/dcc-test.service"
	mkfs.ext4 -q -L dccroot -d "$root" "$dir/root.img" 4G >/dev/null ||
		die "mkfs.ext4 -d of the image failed"
	rm -rf "$root"
	touch "$dir/.ready"
	echo "$dir/root.img"
}

# The initramfs that mounts the image: busybox, and the modules of virtio
# disks and ext4 (Debian builds them as modules), in load order.
debian_initramfs() {
	local rel=$1 stage out mroot m name
	stage="$VMOUT/debian-initramfs-$rel"
	out="$VMOUT/debian-initrd-$rel.cpio"
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$stage/bin/busybox"
	mroot=$(kernel_root "$rel")/lib/modules/$rel
	: >"$stage/lib/modules/load-order"
	for m in $(module_closure "$rel" virtio_pci virtio_blk crc32c_generic ext4); do
		name=$(basename "$m" .xz)
		if [[ $m == *.xz ]]; then xz -dc "$mroot/$m" >"$stage/lib/modules/$name"
		else cp "$mroot/$m" "$stage/lib/modules/$name"; fi
		echo "$name" >>"$stage/lib/modules/load-order"
	done
	install -m 0755 "$VMDIR/debian/init" "$stage/init"
	(cd "$stage" && find . | cpio -o -H newc --quiet) >"$out"
	echo "$out"
}
