# Volumes above 2 TiB: sector and region arithmetic is 64-bit throughout.
# disks: data=3T meta=16M src=3T
. ./lib.sh

TIB=$((1024 * 1024)) # in MiB
check "format-meta, 3 TiB" dccctl format-meta --data "$DATA" --meta "$META"
check "create" dcc_create vol "$DATA" "$META"
expect_eq "regions" "50331648/50331648" "$(valid_of vol)"
$DD if=/dev/urandom of=/tmp/w bs=1M count=1 status=none
for off in $((5 * TIB / 2)) $((3 * TIB - 1)); do
	check "write 1 MiB at $off MiB" $DD if=/tmp/w of=/dev/mapper/vol bs=1M seek=$off count=1 oflag=direct status=none
	check "read it back" sh -c "$DD if=/dev/mapper/vol bs=1M skip=$off count=1 iflag=direct status=none | cmp - /tmp/w"
	check "it is on the data device at the same place" sh -c "$DD if=$DATA bs=1M skip=$off count=1 iflag=direct status=none | cmp - /tmp/w"
done
expect_eq "32 dirty regions" 32 "$(dirty_count vol)"
check "remove" dmsetup remove vol
check "dirty ranges on disk" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   41943040-41943055,50331632-50331647'"

# A miss far above 2 TiB.
$DD if=/tmp/w of="$SRC" bs=1M seek=$((11 * TIB / 4)) count=1 oflag=direct status=none
check "format-meta --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force
check "create" dcc_create vol "$DATA" "$META"
dccctl fill --source "$SRC" vol 2>/tmp/fill.log &
fill=$!
check "read of a region past 2 TiB is filled" sh -c "$DD if=/dev/mapper/vol bs=1M skip=$((11 * TIB / 4)) count=1 iflag=direct status=none | cmp - /tmp/w"
expect_eq "16 misses" 16 "$(misses_of vol)"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol

# SET_INVALID over tens of millions of regions (a handover's ranges can be
# that large): the kernel clears them a word at a time with IRQs off,
# where a bit at a time kept them off for seconds.  A range that starts
# and ends inside words and spans metadata blocks, then all of it, the
# dirty regions with --force.
check "format-meta" dccctl format-meta --data "$DATA" --meta "$META" --force
check "create" dcc_create vol "$DATA" "$META"
check "write 1 MiB at 1 TiB" $DD if=/tmp/w of=/dev/mapper/vol bs=1M seek=$TIB count=1 oflag=direct status=none
check "SET_INVALID of regions 1000-70999" dcctest nl vol invalid 1000 70000
expect_eq "regions" "$((50331648 - 70000))/50331648" "$(valid_of vol)"
check "remove" dmsetup remove vol
check "on disk" sh -c "dccctl dump-meta --ranges $META | grep -qx 'valid ranges   0-999,71000-50331647'"
check "create" dcc_create vol "$DATA" "$META"
D=$((TIB * 16)) # the first of the 16 regions written at 1 TiB
check "SET_INVALID --force of 5 of those 16 dirty regions (inside a word)" dcctest nl vol invalid $((D + 4)) 5 --force
expect_eq "11 dirty, 11 unconfirmed left" "11 11" "$(dirty_count vol) $(status_field vol unconfirmed)"
check "SET_INVALID of the dirty ones refused without --force" sh -c \
	"! dcctest nl vol invalid 0 50331648"
expect_eq "... nothing changed" "$((50331648 - 70005))/50331648" "$(valid_of vol)"
check "SET_INVALID of all 50331648 regions (--force)" dcctest nl vol invalid 0 50331648 --force
expect_eq "no region valid" "0/50331648" "$(valid_of vol)"
expect_eq "none dirty" 0 "$(dirty_count vol)"
check "remove" dmsetup remove vol
check "on disk too" sh -c "dccctl dump-meta --ranges $META | grep -qx 'valid ranges *'"
finish
