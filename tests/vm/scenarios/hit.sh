# Hit path: random writes and reads through a volume that holds all its
# data, checked by fio's verify, again after the table is rebuilt.
# Two vCPUs: bios submitted and completed on either CPU.
# disks: data=128M meta=1M
# cpus: 2
. ./lib.sh

check "format-meta" dccctl format-meta --data "$DATA" --meta "$META"
check "create" dcc_create vol "$DATA" "$META"
check "fio randwrite + verify" fio --name=hit --filename=/dev/mapper/vol --rw=randwrite \
	--bs=4k --ioengine=libaio --iodepth=8 --direct=1 --size=128M --io_size=16M \
	--verify=crc32c --verify_fatal=1 --randseed=42 --eta=never --output=/tmp/fio.out
expect_eq "no misses" 0 "$(misses_of vol)"
expect_eq "mode rw" rw "$(mode_of vol)"
dirty=$(dirty_count vol)
[ "$dirty" -gt 100 ] && ok "regions written are dirty ($dirty)" || bad "dirty count $dirty"
check "mixed 4k random read/write + verify" fio --name=mix --filename=/dev/mapper/vol \
	--rw=randrw --bs=4k --ioengine=libaio --iodepth=16 --direct=1 --size=128M --io_size=8M \
	--verify=md5 --verify_fatal=1 --randseed=7 --eta=never --output=/tmp/fio2.out
check "remove" dmsetup remove vol

# The dirty bits are on disk and the data survived the table.
disk_dirty=$(dccctl dump-meta --json "$META" | sed 's/.*"dirty": \([0-9]*\).*/\1/')
[ "$disk_dirty" -ge "$dirty" ] && ok "dirty bits on disk ($disk_dirty)" || bad "on-disk dirty $disk_dirty < $dirty"
check "create again" dcc_create vol "$DATA" "$META"
check "fio verify_only after re-create" fio --name=mix --filename=/dev/mapper/vol \
	--rw=randrw --bs=4k --ioengine=libaio --iodepth=16 --direct=1 --size=128M --io_size=8M \
	--verify=md5 --verify_fatal=1 --randseed=7 --verify_only --eta=never --output=/tmp/fio3.out
check "buffered write, fsync and read back" sh -c '
	/usr/bin/dd if=/dev/urandom of=/tmp/buf bs=1M count=4 status=none &&
	/usr/bin/dd if=/tmp/buf of=/dev/mapper/vol bs=1M seek=20 conv=fsync status=none &&
	echo 3 > /proc/sys/vm/drop_caches &&
	/usr/bin/dd if=/dev/mapper/vol bs=1M skip=20 count=4 status=none | cmp - /tmp/buf'
check "remove" dmsetup remove vol
finish
