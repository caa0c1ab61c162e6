# Writes to invalid regions: a write covering a whole region needs no fetch;
# a partial write fetches first and the merge is right.
# disks: data=64M meta=1M src=64M
. ./lib.sh

fill_random "$SRC" 64
check "format-meta --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner
# A short bound: if the whole-region write needed a fetch it would fail.
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 3
$DD if=/dev/urandom of=/tmp/w64 bs=64k count=1 status=none
check "whole-region write to an invalid region, no daemon" \
	$DD if=/tmp/w64 of=/dev/mapper/vol bs=64k seek=3 count=1 oflag=direct status=none
expect_eq "no miss" 0 "$(misses_of vol)"
expect_eq "region valid" 1 "$(valid_count vol)"
expect_eq "region dirty" 1 "$(dirty_count vol)"
expect_eq "reads back" "$(sha256sum </tmp/w64 | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 3)"
# Two regions in one write (dm splits it at the region boundary).
$DD if=/dev/urandom of=/tmp/w128 bs=128k count=1 status=none
check "two-region write" $DD if=/tmp/w128 of=/dev/mapper/vol bs=128k seek=5 count=1 oflag=direct status=none
expect_eq "still no miss" 0 "$(misses_of vol)"
refuse "partial write to an invalid region fails after the bound with no daemon" \
	$DD if=/tmp/w64 of=/dev/mapper/vol bs=4k seek=$((20 * 16 + 2)) count=1 oflag=direct status=none
expect_eq "one timeout" 1 "$(timeouts_of vol)"

dccctl fill --source "$SRC" vol 2>/tmp/fill.log &
fill=$!
check "fill registered" wait_until 20 registered vol
# 4 KiB at 8 KiB into region 9: the rest must come from the source.
$DD if=/dev/urandom of=/tmp/w4 bs=4k count=1 status=none
check "partial write" $DD if=/tmp/w4 of=/dev/mapper/vol bs=4k seek=$((9 * 16 + 2)) count=1 oflag=direct status=none
$DD if="$SRC" bs=64k skip=9 count=1 iflag=direct of=/tmp/expect status=none
$DD if=/tmp/w4 of=/tmp/expect bs=4k seek=2 conv=notrunc status=none
expect_eq "merged region" "$(sha256sum </tmp/expect | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 9)"
expect_eq "the partial write fetched once" 2 "$(misses_of vol)"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol

# All of it survives the table.
check "create again" dcc_create vol "$DATA" "$META"
expect_eq "region 3 after re-create" "$(sha256sum </tmp/w64 | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 3)"
expect_eq "region 9 after re-create" "$(sha256sum </tmp/expect | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 9)"
expect_eq "valid regions: 3, 5, 6, 9" 4 "$(valid_count vol)"
check "remove" dmsetup remove vol
finish
