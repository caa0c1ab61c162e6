# Miss path: reads of invalid regions are filled from the source and return
# its data; 64 concurrent readers of one invalid region cause one miss.
# disks: data=64M meta=1M src=64M
. ./lib.sh

fill_random "$SRC" 64
check "format-meta --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner
check "create" dcc_create vol "$DATA" "$META"
expect_eq "nothing valid yet" 0 "$(valid_count vol)"
dccctl fill --source "$SRC" vol 2>/tmp/fill.log &
fill=$!
check "fill registered" wait_until 20 registered vol
want=$($DD if="$SRC" bs=1M iflag=direct status=none | sha256sum)
got=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum)
expect_eq "whole volume read equals the source" "$want" "$got"
expect_eq "one miss per region" 1024 "$(misses_of vol)"
expect_eq "every region valid" 1024 "$(valid_count vol)"
expect_eq "nothing dirty (only reads)" 0 "$(dirty_count vol)"
expect_eq "nothing locked" 0 "$(locked_count vol)"
kill -TERM $fill
wait $fill
expect_eq "fill exits 0 on SIGTERM" 0 $?
check "fill unregistered" unregistered vol
grep -q "1024 misses filled" /tmp/fill.log && ok "fill counted 1024 misses" || bad "fill log: $(tail -n1 /tmp/fill.log)"
check "remove" dmsetup remove vol
check "data device equals the source" cmp "$DATA" "$SRC"

# 64 readers of one region, started before any daemon is there.
check "re-format --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force
$DD if=/dev/zero of="$DATA" bs=1M count=64 oflag=direct status=none
check "create" dcc_create vol "$DATA" "$META"
i=0
pids=""
while [ $i -lt 64 ]; do
	$DD if=/dev/mapper/vol bs=64k skip=7 count=1 iflag=direct of=/tmp/r.$i status=none &
	pids="$pids $!"
	i=$((i + 1))
done
check "region 7 locked by the miss" wait_until 20 is_field vol locked 1
check "the 64 reads wait on its lock" wait_until 30 is_field vol waiting 64
expect_eq "readers still waiting (no daemon)" 64 "$(for p in $pids; do kill -0 $p 2>/dev/null && echo; done | wc -l)"
dccctl fill --source "$SRC" vol 2>/tmp/fill2.log &
fill=$!
for p in $pids; do wait $p || bad "reader $p failed"; done
want=$(region_sum "$SRC" 7)
same=0
i=0
while [ $i -lt 64 ]; do
	[ "$(sha256sum </tmp/r.$i | cut -d' ' -f1)" = "$want" ] && same=$((same + 1))
	i=$((i + 1))
done
expect_eq "all 64 readers got the source data" 64 "$same"
expect_eq "exactly one miss" 1 "$(misses_of vol)"
kill -TERM $fill
wait $fill
grep -q "^dccctl fill: 1 misses filled" /tmp/fill2.log && ok "fill filled one region" || bad "fill log: $(tail -n1 /tmp/fill2.log)"
check "remove" dmsetup remove vol

# A read that waited for a fill returns once the region's data is written,
# before the commit that records the region valid: with the metadata
# device suspended the commit cannot end, and the read still returns the
# source's data, while a write to the region waits for a commit of its
# own.  The held commit then fails (the metadata device errors; a crash
# before it would leave the disk the same): the write is refused and
# never reaches the data device, and the table loaded again finds the
# region invalid and nothing dirty, and fills it again with the same data.
check "re-format --empty" dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force
msz=$(sectors "$META")
check "a linear metadata device" dmsetup create vol.m --table "0 $msz linear $META 0"
check "create on it" dcc_create vol "$DATA" /dev/mapper/vol.m
dccctl fill --source "$SRC" vol 2>/tmp/fill3.log &
fill=$!
check "fill registered" wait_until 20 registered vol
check "metadata device suspended" dmsetup suspend vol.m
$DD if=/dev/mapper/vol bs=64k skip=9 count=1 iflag=direct of=/tmp/r9 status=none &
rd=$!
# The write only once the read missed: a write that came first would be
# the first the target's worker takes, and the worker waits there for
# the write's commit, which is held.
check "the read missed" wait_until 10 eval '[ "$(misses_of vol)" -ge 1 ]'
$DD if=/dev/urandom of=/tmp/w9 bs=4k count=1 status=none
$DD if=/tmp/w9 of=/dev/mapper/vol bs=4k seek=$((9 * 16 + 1)) count=1 oflag=direct conv=notrunc status=none 2>/dev/null &
wr=$!
check "a read of region 9 returns with its commit held" wait_until 30 eval '! kill -0 $rd 2>/dev/null'
expect_eq "region 9 valid in memory" 1 "$(valid_count vol)"
check "a write to region 9 set its dirty bit in memory" wait_until 20 eval '[ "$(dirty_count vol)" = 1 ]'
check "and still waits for its commit" kill -0 $wr
check "the metadata device fails" dmsetup load vol.m --table "0 $msz error"
check "and resumes, failing the held commit" dmsetup resume vol.m
wait $rd
expect_eq "the read succeeded" 0 $?
expect_eq "it returned the source's data" "$(region_sum "$SRC" 9)" "$(sha256sum </tmp/r9 | cut -d' ' -f1)"
wait $wr
expect_eq "the write failed (EIO)" 1 $?
wait $fill
expect_eq "fill stops: the kernel could not record the region" 1 $?
check "the target stopped writing" wait_until 20 eval '[ "$(mode_of vol)" != rw ]'
check "remove" dmsetup remove vol
expect_eq "the refused write never reached the data device" "$(region_sum "$SRC" 9)" "$(region_sum "$DATA" 9)"
$DD if=/dev/zero of="$DATA" bs=64k seek=9 count=1 oflag=direct conv=notrunc status=none
check "the metadata device works again" dmsetup load vol.m --table "0 $msz linear $META 0"
check "resumed" dmsetup resume vol.m
check "create again" dcc_create vol "$DATA" /dev/mapper/vol.m
expect_eq "region 9 is invalid: its valid bit never reached the disk" 0 "$(valid_count vol)"
expect_eq "nothing dirty: the write's bit never did either" 0 "$(dirty_count vol)"
dccctl fill --source "$SRC" vol 2>/tmp/fill4.log &
fill=$!
check "a read of region 9 misses again" $DD if=/dev/mapper/vol bs=64k skip=9 count=1 iflag=direct of=/tmp/r9b status=none
expect_eq "and returns the same data" "$(region_sum "$SRC" 9)" "$(sha256sum </tmp/r9b | cut -d' ' -f1)"
expect_eq "one miss" 1 "$(misses_of vol)"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol
check "remove the metadata device" dmsetup remove vol.m
finish
