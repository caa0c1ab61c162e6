# A file system across sites: mkfs.ext4 and files at A, a planned migration
# while the copy is still under way, then B mounts it at once: every file
# intact, e2fsck clean; files written at B come back to A the same way.
# sites: 2
# disks: data=128M meta=1M
# timeout: 600
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000008
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config 'replication_rate = "2M"'
start_dccd
check "paired" dccctl wait vol paired --timeout 60
mkdir -p /mnt/vol
# make_files DIR N: N files of random sizes, and their checksums in DIR.sums
make_files() {
	mkdir -p "$1"
	for n in $(seq 1 "$2"); do
		$DD if=/dev/urandom of="$1/f$n" bs=1k count=$((($(head -c2 /dev/urandom | od -An -tu2) % 900) + 1)) status=none
	done
	(cd "$1" && sha256sum f*) >/tmp/$(basename "$1").sums
}
check_files() { (cd "/mnt/vol/$1" && sha256sum -c "/tmp/$1.sums" >/dev/null); }

if [ "$SITE" = a ]; then
	check "mkfs.ext4 at A" /usr/sbin/mke2fs -q -t ext4 -F /dev/mapper/vol
	check "mount at A" mount -t ext4 /dev/mapper/vol /mnt/vol
	make_files /mnt/vol/from-a 60
	check "umount at A" umount /mnt/vol
	d=$(dirty_count vol)
	[ "$d" -gt 0 ] && ok "$d regions not yet replicated when the volume moves" || bad "nothing dirty: the test would prove little"
	check "migrate to B" dccctl migrate vol --to b
	exchange sums-a "$(cat /tmp/from-a.sums | tr '\n' ';')" >/dev/null
	barrier b-wrote
	check "migrate back to A (asked at A)" dccctl migrate vol --to a
	cat /tmp/check.out
	echo "$(exchange sums-b x)" | tr ';' '\n' | sed '/^$/d' >/tmp/from-b.sums
	check "e2fsck at A: clean" /usr/sbin/e2fsck -fn /dev/mapper/vol
	check "mount at A again" mount -t ext4 /dev/mapper/vol /mnt/vol
	check "A's files intact" check_files from-a
	check "B's files intact at A" check_files from-b
	check "umount" umount /mnt/vol
else
	check "B owns the volume" dccctl wait vol owner=b --timeout 120
	exchange sums-a x | tr ';' '\n' | sed '/^$/d' >/tmp/from-a.sums
	expect_eq "B is not hydrated yet" no "$([ "$(status_field vol 2)" = 2048/2048 ] && echo yes || echo no)"
	check "e2fsck at B: clean" /usr/sbin/e2fsck -fn /dev/mapper/vol
	cat /tmp/check.out | tail -n 2
	check "mount at B" mount -t ext4 /dev/mapper/vol /mnt/vol
	check "A's 60 files intact at B" check_files from-a
	make_files /mnt/vol/from-b 20
	check "umount at B" umount /mnt/vol
	exchange sums-b "$(cat /tmp/from-b.sums | tr '\n' ';')" >/dev/null
	barrier b-wrote
	check "A owns it again" dccctl wait vol owner=a --timeout 120
fi
check "in sync at the end" dccctl wait vol in-sync --timeout 300
stop_dccd
check "remove" dmsetup remove vol
finish
