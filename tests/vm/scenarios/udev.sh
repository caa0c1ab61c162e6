# udev with the device-mapper rules and 56-dcc.rules: a volume dccctl up
# made gets /dev/dcc/NAME and /dev/disk/by-id/dcc-UUID; blkid probes an
# owner holding every region (its file system shows in /dev/disk/by-uuid),
# and never a replica (every read would fail) nor an owner that lacks
# regions (each read would wait miss_timeout for a fill nobody does here):
# udev settles at once and those volumes see no read; LVM's own scan with
# the filter the docs give reads none of them either.  Once the owner holds
# every region, the target's change uevent has udev probe it; so it does
# when an owner that waited for a lease gets one.
# disks: data=16M meta=1M data2=16M meta2=1M data3=16M meta3=1M
# timeout: 300
. ./lib.sh

U1=5a5a5a5a-0000-4000-8000-0000000000a1
U2=5a5a5a5a-0000-4000-8000-0000000000a2
U3=5a5a5a5a-0000-4000-8000-0000000000a3
check "udevd starts" /lib/systemd/systemd-udevd --daemon
check "udevadm settles" udevadm settle --timeout=30

check "format-meta owner" dccctl format-meta --data "$DATA" --meta "$META" --uuid $U1
check "format-meta replica" dccctl format-meta --data "$DATA2" --meta "$META2" --uuid $U2 --role replica
check "format-meta owner, empty" dccctl format-meta --data "$DATA3" --meta "$META3" --uuid $U3 --empty --role owner
mkdir -p /tmp/vols
printf 'data = "%s"\nmeta = "%s"\n' "$DATA" "$META" >/tmp/vols/full.toml
printf 'data = "%s"\nmeta = "%s"\n' "$DATA2" "$META2" >/tmp/vols/rep.toml
printf 'data = "%s"\nmeta = "%s"\nmiss_timeout = 20\n' "$DATA3" "$META3" >/tmp/vols/hole.toml

check "up full" dccctl up --dir /tmp/vols full
check "mkfs.ext4 on the owner that holds every region" /usr/sbin/mke2fs -q -t ext4 -F /dev/mapper/full
check "dccctl up rep hole (replica, owner lacking every region)" dccctl up --dir /tmp/vols rep hole
start=$(date +%s)
check "udev settles" udevadm settle --timeout=60
took=$(($(date +%s) - start))
[ "$took" -lt 15 ] && ok "... at once (${took}s): nothing waited for a fill" ||
	bad "udev took ${took}s to settle: something read the volume that lacks its regions"
check "a change event for each" udevadm trigger --action=change --settle /dev/mapper/full /dev/mapper/rep /dev/mapper/hole

# The same device: major:minor (hex) of what a path leads to.
devno() { stat -L -c %t:%T "$1" 2>/dev/null || echo "no $1"; }
for v in full rep hole; do
	expect_eq "/dev/dcc/$v" "$(devno /dev/mapper/$v)" "$(devno /dev/dcc/$v)"
done
expect_eq "/dev/disk/by-id/dcc-UUID (full)" "$(devno /dev/mapper/full)" "$(devno /dev/disk/by-id/dcc-$U1)"
expect_eq "/dev/disk/by-id/dcc-UUID (rep)" "$(devno /dev/mapper/rep)" "$(devno /dev/disk/by-id/dcc-$U2)"
expect_eq "/dev/disk/by-id/dcc-UUID (hole)" "$(devno /dev/mapper/hole)" "$(devno /dev/disk/by-id/dcc-$U3)"

prop() { udevadm info --query=property --name="/dev/mapper/$1" | sed -n "s/^$2=//p"; }
expect_eq "dccctl udev: the owner holding every region is scanned" \
	"DCC_VOLUME=full DCC_UUID=$U1 DCC_ROLE=owner DCC_MODE=rw DCC_SPLIT=none DCC_SCAN=1" "$(dccctl udev full | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... and the replica is not" "DCC_SCAN=0" "$(dccctl udev rep | grep SCAN)"
expect_eq "... nor the owner that lacks regions" "DCC_SCAN=0" "$(dccctl udev hole | grep SCAN)"
refuse "dccctl udev of a device that is no volume" dccctl udev nosuch
expect_eq "blkid probed full: ext4" ext4 "$(prop full ID_FS_TYPE)"
expect_eq "full: DM_NOSCAN not set" "" "$(prop full DM_NOSCAN)"
fsuuid=$(prop full ID_FS_UUID)
[ -n "$fsuuid" ] && ok "full's file system UUID: $fsuuid" || bad "no ID_FS_UUID for full"
expect_eq "/dev/disk/by-uuid of full's file system" "$(devno /dev/mapper/full)" \
	"$(devno "/dev/disk/by-uuid/$fsuuid")"
for v in rep hole; do
	expect_eq "$v: DM_NOSCAN=1" 1 "$(prop $v DM_NOSCAN)"
	expect_eq "$v: not probed" "" "$(prop $v ID_FS_TYPE)"
done
expect_eq "hole: no read reached it (no miss)" 0 "$(misses_of hole)"
expect_eq "hole: no bio timed out" 0 "$(timeouts_of hole)"
# LVM reads every block device under /dev (not only what udev probed):
# the filter the docs give keeps it off dcc volumes.
mkdir -p /etc/lvm /run/lock/lvm /run/lvm
filter='devices { global_filter = [ "r|^/dev/dcc/|", "r|^/dev/disk/by-id/dm-uuid-DCC-|" ] }'
start=$(date +%s)
check "lvm pvs with the filter" env LVM_SUPPRESS_FD_WARNINGS=1 lvm pvs --config "$filter"
took=$(($(date +%s) - start))
[ "$took" -lt 15 ] && ok "... at once (${took}s)" || bad "lvm pvs took ${took}s"
expect_eq "lvm read nothing of hole (no miss)" 0 "$(misses_of hole)"
check "lvm pvs -a names no dcc volume" sh -c "! env LVM_SUPPRESS_FD_WARNINGS=1 lvm pvs -a --config '$filter' 2>&1 | grep -E 'dm-|mapper|dcc'"

# When it holds every region the same owner is probed: fill it from a copy
# of full's data; the target's change uevent, once every region is valid,
# has udev look again (nobody triggers it here).
check "fill hole from full's data (a local source)" \
	dccctl fill --source /dev/mapper/full --hydrate --exit-when-done hole
dmsetup status hole
expect_eq "hole, now whole: DCC_SCAN=1" "DCC_SCAN=1" "$(dccctl udev hole | grep SCAN)"
probed() { [ "$(prop hole ID_FS_TYPE)" = ext4 ]; }
check "hole, now whole: probed (ext4), on the target's uevent alone" wait_until 30 probed

# An owner that waits for a lease (its flag set, as dccd does with a
# witness) is not probed; the grant of one has udev look again: the
# target's uevent, once, not at each renewal.
check "full: the lease flag set, no lease running" dcctest nl full setlease --ms 0
expect_eq "full: its lease expired" expired "$(status_field full lease)"
expect_eq "... so it is not to be probed" "DCC_SCAN=0" "$(dccctl udev full | grep SCAN)"
check "udev looks (a change event)" udevadm trigger --action=change --settle /dev/mapper/full
expect_eq "full: udev holds DCC_SCAN=0" 0 "$(prop full DCC_SCAN)"
# (the kernel counts every uevent it sends)
seqnum() { cat /sys/kernel/uevent_seqnum; }
n0=$(seqnum)
check "full: a lease" dcctest nl full setlease --ms 60000
scan1() { [ "$(prop full DCC_SCAN)" = 1 ]; }
check "... udev looks again on the target's uevent: DCC_SCAN=1" wait_until 10 scan1
n1=$(seqnum)
[ "$n1" -gt "$n0" ] && ok "... a uevent was sent ($n0 -> $n1)" || bad "no uevent sent for the lease ($n0)"
check "full: the lease renewed" dcctest nl full setlease --ms 60000
sleep 1
expect_eq "... no uevent for the renewal" "$n1" "$(seqnum)"
check "full: the lease flag cleared" dcctest nl full setlease --ms none

check "down" dccctl down --dir /tmp/vols full rep hole
check "udev settles after the removal" udevadm settle --timeout=30
[ ! -e /dev/dcc/full ] && ok "/dev/dcc/full is gone" || bad "/dev/dcc/full is still there"
[ ! -e "/dev/disk/by-id/dcc-$U1" ] && ok "its by-id link is gone" || bad "its by-id link is still there"
dmesg | grep -aE "Buffer I/O error|I/O error" | head -n 5
expect_eq "no I/O error in the kernel log" 0 "$(dmesg | grep -acE 'Buffer I/O error|I/O error')"
finish
