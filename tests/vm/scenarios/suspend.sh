# Suspend and resume under load lose nothing; suspend and remove finish in
# bounded time even with a miss pending and no daemon; a noflush suspend
# hands pending bios back to dm, and they complete after resume; an
# interrupted noflush suspend leaves misses waiting for fills (M6); a table
# reload carries the fills in progress over, so a fill still holds its
# region (M2); a fill whose device was removed and created again writes
# nothing over the new table's writes.
# disks: data=64M meta=1M src=64M
. ./lib.sh

fill_random "$SRC" 64
check "format-meta" dccctl format-meta --data "$DATA" --meta "$META"
check "create" dcc_create vol "$DATA" "$META"
fio --name=load --filename=/dev/mapper/vol --rw=randwrite --bs=4k --ioengine=libaio \
	--iodepth=8 --direct=1 --size=64M --io_size=24M --verify=crc32c --verify_fatal=1 \
	--randseed=3 --eta=never --output=/tmp/fio.out &
load=$!
n=0
while running $load && [ $n -lt 8 ]; do
	sleep 0.5
	dmsetup suspend vol && dmsetup resume vol || bad "suspend/resume $n"
	n=$((n + 1))
done
[ $n -ge 3 ] && ok "$n suspend/resume cycles under load" || bad "only $n cycles before fio ended"
wait $load && ok "fio verify after suspend/resume cycles" || { bad "fio failed"; cat /tmp/fio.out; }
check "remove" dmsetup remove vol

# A pending miss and no daemon: suspend waits at most the bound.
dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
check "create with miss_timeout 4" dcc_create vol "$DATA" "$META" 2 miss_timeout 4
$DD if=/dev/mapper/vol bs=64k skip=2 count=1 iflag=direct of=/dev/null status=none 2>/dev/null &
reader=$!
check "locked" wait_until 10 is_field vol locked 1
t0=$(date +%s)
check "suspend" dmsetup suspend vol
t=$(($(date +%s) - t0))
[ $t -le 10 ] && ok "suspend returned in ${t}s" || bad "suspend took ${t}s"
if wait $reader; then bad "read succeeded"; else ok "the read failed by the bound"; fi
check "resume" dmsetup resume vol

# noflush: the bio goes back to dm at once and runs after resume.
$DD if=/dev/mapper/vol bs=64k skip=6 count=1 iflag=direct of=/tmp/read status=none &
reader=$!
check "locked" wait_until 10 is_field vol locked 1
t0=$(date +%s)
check "suspend --noflush" dmsetup suspend --noflush vol
t=$(($(date +%s) - t0))
[ $t -le 2 ] && ok "noflush suspend returned in ${t}s" || bad "noflush suspend took ${t}s"
check "the read is held, not failed" running $reader
dccctl fill --source "$SRC" vol 2>/tmp/fill.log &
fill=$!
check "fill registered while suspended" wait_until 20 registered vol
check "resume" dmsetup resume vol
wait $reader && ok "the held read completed after resume" || bad "held read failed"
expect_eq "with the source data" "$(region_sum "$SRC" 6)" "$(sha256sum </tmp/read | cut -d' ' -f1)"
kill -TERM $fill
wait $fill

# Table reload keeps the data and the daemon registration.
dccctl fill --source "$SRC" vol 2>/tmp/fill2.log &
fill=$!
check "fill registered" wait_until 20 registered vol
reg=$(status_field vol registration)
check "reload the same table" sh -c "dmsetup table vol | dmsetup load vol && dmsetup suspend vol && dmsetup resume vol"
expect_eq "registration kept over the reload" "$reg" "$(status_field vol registration)"
expect_eq "region 6 still valid after reload" "$(region_sum "$SRC" 6)" "$(region_sum /dev/mapper/vol 6)"
expect_eq "region 9 filled through the new table" "$(region_sum "$SRC" 9)" "$(region_sum /dev/mapper/vol 9)"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol

# M6: a noflush suspend that is interrupted (its caller killed while dm
# waits for a write in flight) must not leave misses failing at once.
N=$(sectors "$DATA")
check "data device" dmsetup create dd --table "0 $N linear $DATA 0"
dccctl format-meta --data /dev/mapper/dd --meta "$META" --empty --role owner --force >/dev/null
check "create" dcc_create vol /dev/mapper/dd "$META"
check "write region 0 whole (valid, dirty)" \
	$DD if=/dev/urandom of=/dev/mapper/vol bs=64k count=1 oflag=direct status=none
check "hold writes to region 0 for 10 s" sh -c "dmsetup suspend dd && printf '%s\n%s\n' \
	'0 128 delay $DATA 0 0 $DATA 0 10000 $DATA 0 0' \
	'128 $((N - 128)) linear $DATA 128' | dmsetup load dd && dmsetup resume dd"
$DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none &
writer=$!
writes_held() {
	[ "$(awk '{print $2}' "/sys/dev/block/$(dmsetup info -c --noheadings -o major,minor \
		--separator : vol)/inflight")" -gt 0 ]
}
check "a write is in flight" wait_until 5 writes_held
dmsetup suspend --noflush vol &
susp=$!
sleep 1
check "the noflush suspend waits for the write" running $susp
kill -KILL $susp
wait $susp 2>/dev/null
check "the interrupted suspend left the volume active" sh -c "dmsetup info vol | grep -q 'State: *ACTIVE'"
dccctl fill --source "$SRC" vol 2>/tmp/fill4.log &
fill=$!
check "fill registered" wait_until 20 registered vol
check "a read of an invalid region waits for its fill" \
	$DD if=/dev/mapper/vol bs=64k skip=6 count=1 iflag=direct of=/tmp/read6 status=none
expect_eq "with the source data" "$(region_sum "$SRC" 6)" "$(sha256sum </tmp/read6 | cut -d' ' -f1)"
wait $writer && ok "the held write completed" || bad "the held write failed"
kill -TERM $fill
wait $fill
check "remove" dmsetup remove vol dd

# fresh_paused_fill LOG: a new empty owner volume, and the fill tool
# stopped just after it locked a region (FILL_BEGIN): its pid in $fill,
# the region in $R.
fresh_paused_fill() {
	dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
	check "create" dcc_create vol "$DATA" "$META"
	dccctl fill --source "$SRC" --hydrate --pause-at claimed --verbose vol 2>"$1" &
	fill=$!
	check "the fill tool locked a region" wait_until 20 paused_at "$1" claimed
	R=$(sed -n 's/.*paused at claimed region \([0-9]*\).*/\1/p' "$1" | head -n1)
}

# M2: a table reload while the fill tool has region R locked (it stopped
# itself after FILL_BEGIN).  The new table must hold R for that fill: a
# whole-region write to R waits until the fill is reported, the fill's
# FILL_DONE succeeds, and the write lands after it.
fresh_paused_fill /tmp/fill5.log
expect_eq "one region locked" 1 "$(locked_count vol)"
check "reload the table" sh -c "dmsetup table vol | dmsetup load vol && dmsetup suspend vol && dmsetup resume vol"
expect_eq "the fill's lock carried over" 1 "$(locked_count vol)"
$DD if=/dev/urandom of=/tmp/pattern bs=64k count=1 status=none
misses0=$(misses_of vol)
$DD if=/tmp/pattern of=/dev/mapper/vol bs=64k seek="$R" count=1 oflag=direct status=none &
writer=$!
missed() { [ "$(misses_of vol)" -gt "$misses0" ]; }
check "the whole-region write to region $R waits for the fill" wait_until 10 missed
check "and is still waiting" running $writer
kill -CONT $fill
wait $writer && ok "the write completed after the fill" || bad "the write failed"
check "the fill of region $R was reported" wait_until 10 grep -q "region $R filled" /tmp/fill5.log
check "its FILL_DONE succeeded" sh -c "! grep -q 'no longer waits' /tmp/fill5.log"
expect_eq "region $R holds the write, not the fill" "$(sha256sum </tmp/pattern | cut -d' ' -f1)" \
	"$(region_sum /dev/mapper/vol "$R")"
kill -KILL $fill
wait $fill 2>/dev/null
check "remove" dmsetup remove vol

# M2, the other way: the device removed and created again (a new target,
# which holds none of the old one's locks) while the fill tool holds
# region R.  A whole-region write to R then completes at once; the fill,
# resumed, finds that its registration is gone and writes nothing over it.
fresh_paused_fill /tmp/fill6.log
check "remove the device" dmsetup remove vol
check "create it again" dcc_create vol "$DATA" "$META"
expect_eq "the new table holds no lock" 0 "$(locked_count vol)"
$DD if=/dev/urandom of=/tmp/pattern6 bs=64k count=1 status=none
check "a whole-region write to region $R completes" \
	$DD if=/tmp/pattern6 of=/dev/mapper/vol bs=64k seek="$R" count=1 oflag=direct status=none
kill -CONT $fill
if wait $fill; then bad "the fill tool went on"; else ok "the fill tool stopped"; fi
check "... saying why" grep -q "region $R not written: this registration is gone" /tmp/fill6.log
expect_eq "region $R holds the write, not the fill's data" "$(sha256sum </tmp/pattern6 | cut -d' ' -f1)" \
	"$(region_sum /dev/mapper/vol "$R")"
check "remove" dmsetup remove vol
finish
