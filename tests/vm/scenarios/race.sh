# A fill racing a write to the same region never overwrites the write: the
# region is locked from the miss until the fill is reported, so the write
# waits and lands on top of the fetched data.
# disks: data=64M meta=1M src=64M
. ./lib.sh

fill_random "$SRC" 64
$DD if=/dev/urandom of=/tmp/w4 bs=4k count=1 status=none

for stage in claimed written; do
	dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
	check "create ($stage)" dcc_create vol "$DATA" "$META"
	r=$((12 + ${#stage}))
	# A read misses; the fill stops itself after reading the source
	# (claimed) or after writing the data but before reporting it (written).
	$DD if=/dev/mapper/vol bs=64k skip=$r count=1 iflag=direct of=/tmp/read status=none &
	reader=$!
	dccctl fill --source "$SRC" --pause-at $stage vol 2>/tmp/fill.log &
	fill=$!
	check "fill paused at $stage" wait_until 30 paused_at /tmp/fill.log $stage
	$DD if=/tmp/w4 of=/dev/mapper/vol bs=4k seek=$((r * 16 + 1)) count=1 oflag=direct status=none &
	writer=$!
	check "the read and the write wait on the region's lock ($stage)" wait_until 30 is_field vol waiting 2
	check "the write waits for the fill ($stage)" running $writer
	check "the read waits for the fill ($stage)" running $reader
	kill -CONT $fill
	wait $writer && ok "write completed ($stage)" || bad "write failed ($stage)"
	wait $reader && ok "read completed ($stage)" || bad "read failed ($stage)"
	expect_eq "the read saw the source ($stage)" "$(region_sum "$SRC" $r)" "$(sha256sum </tmp/read | cut -d' ' -f1)"
	$DD if="$SRC" bs=64k skip=$r count=1 iflag=direct of=/tmp/expect status=none
	$DD if=/tmp/w4 of=/tmp/expect bs=4k seek=1 conv=notrunc status=none
	expect_eq "the write is on top of the fill ($stage)" "$(sha256sum </tmp/expect | cut -d' ' -f1)" \
		"$(region_sum /dev/mapper/vol $r)"
	kill -TERM $fill
	wait $fill
	check "remove ($stage)" dmsetup remove vol
	expect_eq "on the data device too ($stage)" "$(sha256sum </tmp/expect | cut -d' ' -f1)" "$(region_sum "$DATA" $r)"
done
finish
