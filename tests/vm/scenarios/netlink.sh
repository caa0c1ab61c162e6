# The netlink channel: malformed and out-of-turn requests are refused with
# the right error and change nothing; one daemon per volume; stale
# registrations refused; dirty bits cleared only if armed and not written
# since; roles (yielding too), generations, origins and splits persisted, and
# an old split brain stops all I/O until it is cleared; a CLEAR_DIRTY that
# meets a write stuck below the target gives up after about a second and
# holds up no other write (M7); an owner's lease: bios held while none runs,
# sent on by the next one, failed after miss_timeout, failed at once when
# the device stops serving; the lease flag persisted; SET_ROLE's CLEAN.
# disks: data=64M meta=1M
. ./lib.sh

# 32 KiB regions: 2048 of them, more than one FILL_DONE may end.  The data
# device is a dm device so that a delay can be put under one region later.
N=$(sectors "$DATA")
check "data device" dmsetup create dd --table "0 $N linear $DATA 0"
check "format-meta" dccctl format-meta --data /dev/mapper/dd --meta "$META" --region-size 32k
check "create" dcc_create vol /dev/mapper/dd "$META"
dcctest nlprobe vol
[ $? = 0 ] && ok "netlink probe" || bad "netlink probe"

# The probe left the volume owner at generation 5, forced, the new side of a
# split.  A reload reads all of it back from the metadata.
reload() { dmsetup table vol | dmsetup load vol && dmsetup suspend vol && dmsetup resume vol; }
state() { dcctest field vol role generation origin split | tr '\n' ' '; }
expect_eq "after the probe" "owner 5 forced new " "$(state)"
check "reload the table" reload
expect_eq "origin and split survive a reload" "owner 5 forced new " "$(state)"

# The same through dcctest nl setrole: a refused request says why and
# changes nothing; an old split stops reads and writes, also after a reload.
refuse_saying "split old at the generation itself" "SPLIT_GENERATION above GENERATION" \
	dcctest nl vol setrole owner 6 --origin failover --split old --split-gen 6
refuse_saying "a split generation with split new" "SPLIT_GENERATION must be 0" \
	dcctest nl vol setrole owner 6 --split new --split-gen 7
expect_eq "refused requests changed nothing" "owner 5 forced new " "$(state)"
check "owner 6 by failover, split old" dcctest nl vol setrole owner 6 --origin failover --split old --split-gen 7
expect_eq "status shows it" "owner 6 failover old " "$(state)"
refuse "no read with an old split" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
refuse "no write with an old split" $DD if=/dev/zero of=/dev/mapper/vol bs=4k seek=$((3 * 8)) count=1 oflag=direct status=none
check "reload the table" reload
expect_eq "the old split survives a reload" "owner 6 failover old " "$(state)"
refuse "still no read after the reload" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
check "resolved: split none at the same generation" dcctest nl vol setrole owner 6 --origin failover
expect_eq "status shows it" "owner 6 failover - " "$(state)"
check "reads again" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
check "writes again" $DD if=/dev/zero of=/dev/mapper/vol bs=4k seek=$((3 * 8)) count=1 oflag=direct status=none

# Region 100 (sectors 6400-6463) is written once, then its writes are held
# for 8 s by dm-delay (reads and flushes are not).
check "write region 100" $DD if=/dev/urandom of=/dev/mapper/vol bs=32k seek=100 count=1 oflag=direct status=none
check "hold writes to region 100" sh -c "dmsetup suspend dd && printf '%s\n%s\n%s\n' \
	'0 6400 linear $DATA 0' \
	'6400 64 delay $DATA 6400 0 $DATA 6400 8000 $DATA 6400 0' \
	'6464 $((N - 6464)) linear $DATA 6464' | dmsetup load dd && dmsetup resume dd"
dcctest nlprobe vol --stuck 100 --clean 200
[ $? = 0 ] && ok "clear dirty with a write held in flight" || bad "clear dirty with a write held in flight"

check "remove" dmsetup remove vol
check "role and generation persisted" sh -c "dccctl dump-meta --json $META | grep -q '\"generation\": 6, \"role\": \"owner\"'"
check "the dirty regions persisted (3, 43-44, 46, 52, 200)" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   3,43-44,46,52,200$'"
check "no lease flag on disk" sh -c "dccctl dump-meta --json $META | grep -q '\"lease\": false'"

# The owner's lease (DCC_CMD_SET_LEASE), with 32 KiB regions 300 and up.
lease() { status_field vol lease; }
uptime_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
rd() { $DD if=/dev/mapper/vol of=/dev/null bs=32k skip="$1" count=1 iflag=direct status=none; }
wr() { $DD if="$2" of=/dev/mapper/vol bs=32k seek="$1" count=1 oflag=direct status=none; }
# timed_read REGION OUT: a read in the background; OUT gets "ok"/"fail" and
# how long it took, in hundredths of a second.
timed_read() {
	(
		t0=$(uptime_cs)
		if rd "$1" 2>/dev/null; then r=ok; else r=fail; fi
		echo "$r $(($(uptime_cs) - t0))" >"$2"
	) &
}
$DD if=/dev/urandom of=/tmp/p1 bs=32k count=1 status=none
$DD if=/dev/urandom of=/tmp/p2 bs=32k count=1 status=none
check "create again" dcc_create vol /dev/mapper/dd "$META"
expect_eq "no lease needed" "-" "$(lease)"
check "setlease none when none is needed" dcctest nl vol setlease --ms none
expect_eq "it changed nothing" "- owner" "$(lease) $(role_of vol)"
check "setlease 3000" dcctest nl vol setlease --ms 3000
expect_eq "the lease is held" "held" "$(lease)"
check "reads under the lease" rd 300
check "writes under the lease" wr 301 /tmp/p1
check "the lease runs out" wait_until 10 is_field vol lease expired
$DD if=/tmp/p2 of=/dev/mapper/vol bs=32k seek=302 count=1 oflag=direct status=none &
W=$!
check "a write with no lease is held (the status counts it)" wait_until 20 is_field vol waiting 1
check "... not failed" running $W
check "setlease 5000" dcctest nl vol setlease --ms 5000
if wait $W; then ok "the held write completed once the lease came"; else bad "the held write failed"; fi
# A write admitted under a lease that completes after the lease ended is
# not acknowledged: region 100's writes take 8 s (dm-delay, above).
check "setlease 2000" dcctest nl vol setlease --ms 2000
t0=$(uptime_cs)
refuse "a write that outlives its lease fails" wr 100 /tmp/p1
t=$(($(uptime_cs) - t0))
[ $t -ge 700 ] && ok "... when it completed (${t} cs)" || bad "... after ${t} cs, not at its completion"
check "the kernel says why" dmesg_has "a write completed after the lease ended: failed"
check "setlease 5000" dcctest nl vol setlease --ms 5000
check "a longer lease for the checks" dcctest nl vol setlease --ms 60000
expect_eq "the held write's data is there" "$(sha256sum </tmp/p2 | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 302 32)"
expect_eq "and the data written under the lease" "$(sha256sum </tmp/p1 | cut -d' ' -f1)" "$(region_sum /dev/mapper/vol 301 32)"

# Refused: the kernel says why, and nothing changes.
for ms in 600001 1000000 4294967294; do
	refuse_saying "setlease $ms" "DCC_LEASE_MAX_MS" dcctest nl vol setlease --ms $ms
done
refuse_saying "setlease with a wrong registration number" "stale registration" \
	dcctest nl vol setlease --ms 1000 --reg-id 0
expect_eq "refused leases changed nothing" "held" "$(lease)"

# A reload keeps the lease it was given; then a short miss_timeout.
check "reload with miss_timeout 2" sh -c "dmsetup table vol | sed 's/\$/ 2 miss_timeout 2/' | dmsetup load vol && dmsetup suspend vol && dmsetup resume vol"
expect_eq "the reloaded table runs the same lease" "held 2 miss_timeout 2" "$(lease) $(dmsetup table vol | cut -d' ' -f6-)"
check "reads after the reload" rd 300
check "setlease 0: it ends now" dcctest nl vol setlease --ms 0
expect_eq "expired" "expired" "$(lease)"
timed_read 303 /tmp/read.out
wait
read -r res cs </tmp/read.out
expect_eq "a read with no lease fails" "fail" "$res"
[ "$cs" -ge 150 ] && [ "$cs" -le 800 ] && ok "after about miss_timeout (${cs}0 ms)" ||
	bad "a read with no lease failed after ${cs}0 ms, not about 2 s"
check "miss_timeout 30 again" dmsetup message vol 0 miss_timeout 30

# A held bio ends as any other once the device stops serving.
timed_read 303 /tmp/read.out
sleep 1
check "a read is held" running $!
check "replica at the same generation" dcctest nl vol setrole replica 6 --origin failover
wait
read -r res cs </tmp/read.out
expect_eq "the held read failed when the device stopped serving" "fail" "$res"
[ "$cs" -le 1500 ] && ok "at once, not after miss_timeout (${cs}0 ms)" ||
	bad "the held read took ${cs}0 ms to fail"
check "owner again" dcctest nl vol setrole owner 6 --origin failover
expect_eq "an owner again, still without a lease" "owner expired" "$(role_of vol) $(lease)"

# The flag is on disk: a new device holds I/O until it is given a lease.
check "remove" dmsetup remove vol
check "the lease flag on disk" sh -c "dccctl dump-meta --json $META | grep -q '\"lease\": true'"
check "dump-meta says so" sh -c "dccctl dump-meta $META | grep -q '^lease *needed'"
check "create with the flag" dcc_create vol /dev/mapper/dd "$META"
expect_eq "no lease yet" "expired" "$(lease)"
timed_read 301 /tmp/read.out
sleep 1
check "a read is held" running $!
check "setlease 5000" dcctest nl vol setlease --ms 5000
wait
read -r res cs </tmp/read.out
expect_eq "the held read completed once the lease came" "ok" "$res"

# DCC_LEASE_NONE clears the flag, on disk too.
check "setlease none" dcctest nl vol setlease --ms none
expect_eq "no lease needed" "-" "$(lease)"
check "remove" dmsetup remove vol
check "create again" dcc_create vol /dev/mapper/dd "$META"
expect_eq "still no lease needed" "-" "$(lease)"
check "serves without a lease" rd 300

# SET_ROLE replica with CLEAN (version 8) drops every dirty bit in its
# commit, only from a target whose committed role is not owner: the old
# owner of a handover the new one took.
dirty() { dcctest field vol dirty; }
check "write region 310" $DD if=/dev/urandom of=/dev/mapper/vol bs=32k seek=310 count=1 oflag=direct status=none
[ "$(dirty)" -gt 0 ] && ok "dirty regions before the clean ($(dirty))" || bad "no dirty region before the clean"
d0=$(dirty)
refuse_saying "clean from an owner" "CLEAN from an owner" dcctest nl vol setrole replica 7 --clean 1
refuse_saying "clean with role owner" "CLEAN needs ROLE replica" dcctest nl vol setrole owner 7 --clean 1
expect_eq "refused cleans changed nothing" "owner 6 failover - $d0" "$(state)$(dirty)"
check "yielding 7" dcctest nl vol setrole yielding 7 --origin handover
check "replica 7, clean" dcctest nl vol setrole replica 7 --origin handover --clean 1
expect_eq "replica 7 and no dirty region" "replica 7 handover - 0" "$(state)$(dirty)"
check "remove" dmsetup remove vol
check "no dirty bit on disk either" sh -c "dccctl dump-meta --json $META | grep -q '\"dirty\": 0[,}]'"
check "no lease flag on disk" sh -c "dccctl dump-meta --json $META | grep -q '\"lease\": false'"
check "remove the data device" dmsetup remove dd
finish
