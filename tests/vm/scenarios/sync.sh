# Two sites: the replica starts empty and gets its first full copy by
# replication over CURVE; writes at the owner follow it; at the end both
# data devices are checksum-equal and the owner has nothing left dirty.
# sites: 2
# disks: data=64M meta=1M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000001
if [ "$SITE" = a ]; then
	fill_random "$DATA" 64
	check "format-meta (owner, holds the data)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID
else
	check "format-meta --empty (replica)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config
start_dccd
check "dccd paired the volume with the peer" wait_until 60 grep -q "vol: paired with $PEER" /tmp/dccd.log

if [ "$SITE" = a ]; then
	$DD if=/dev/urandom of=/tmp/w bs=1M count=2 status=none
	check "write 2 MiB at the owner while the copy runs" \
		$DD if=/tmp/w of=/dev/mapper/vol bs=1M seek=10 count=2 oflag=direct status=none
	barrier copied
	check "everything replicated (nothing dirty)" wait_until 120 sh -c '[ "$(dmsetup status vol | cut -d" " -f6)" = 0 ]'
	barrier replicated
	sum=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "both sites hold the same data" "$sum" "$(exchange sums "$sum")"
else
	check "the replica received every region" wait_until 300 sh -c '[ "$(dmsetup status vol | cut -d" " -f5)" = 1024/1024 ]'
	barrier copied
	barrier replicated
	sum=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	exchange sums "$sum" >/dev/null
	refuse "the replica serves no application reads" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
fi
stop_dccd
check "remove" dmsetup remove vol
grep -E "warning|refused" /tmp/dccd.log | head -n 5
finish
