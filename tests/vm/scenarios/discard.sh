# Discards: whole regions are passed down and tracked (no fetch for an
# invalid region, which becomes valid and dirty); a partial discard of an
# invalid region fetches first and keeps the rest of the region.
# disks: data=64M meta=1M src=64M
. ./lib.sh

R=65536
fill_random "$SRC" 64
fill_random "$DATA" 64
check "format-meta --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 3
dm=dm-$(dmsetup info -c --noheadings -o minor vol)
check "discards are supported ($dm)" sh -c "[ \$(cat /sys/block/$dm/queue/discard_max_bytes) -gt 0 ]"

check "whole-region discard of an invalid region, no daemon" blkdiscard -o $((20 * R)) -l $R /dev/mapper/vol
check "discard of regions 22-24 in one request" blkdiscard -o $((22 * R)) -l $((3 * R)) /dev/mapper/vol
expect_eq "no miss" 0 "$(misses_of vol)"
expect_eq "four regions valid" 4 "$(valid_count vol)"
expect_eq "four regions dirty" 4 "$(dirty_count vol)"
zero=$($DD if=/dev/zero bs=64k count=1 status=none | sha256sum | cut -d' ' -f1)
expect_eq "the discard reached the data device" "$zero" "$(region_sum "$DATA" 23)"

dccctl fill --source "$SRC" vol 2>/tmp/fill.log &
fill=$!
check "fill registered" wait_until 20 registered vol
check "partial discard of an invalid region" blkdiscard -o $((30 * R)) -l 16384 /dev/mapper/vol
expect_eq "it fetched once" 1 "$(misses_of vol)"
expect_eq "the rest of the region is the source's" \
	"$($DD if="$SRC" bs=16k skip=$((30 * 4 + 1)) count=3 iflag=direct status=none | sha256sum)" \
	"$($DD if=/dev/mapper/vol bs=16k skip=$((30 * 4 + 1)) count=3 iflag=direct status=none | sha256sum)"
check "discard spanning a valid and an invalid region" blkdiscard -o $((30 * R + 32768)) -l $R /dev/mapper/vol
expect_eq "region 31 fetched for its kept half" 2 "$(misses_of vol)"
expect_eq "region 31's second half is the source's" \
	"$($DD if="$SRC" bs=32k skip=$((31 * 2 + 1)) count=1 iflag=direct status=none | sha256sum)" \
	"$($DD if=/dev/mapper/vol bs=32k skip=$((31 * 2 + 1)) count=1 iflag=direct status=none | sha256sum)"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol
check "dirty on disk: 20, 22-24, 30-31" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   20,22-24,30-31$'"
finish
