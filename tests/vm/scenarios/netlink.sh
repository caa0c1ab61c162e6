# The netlink channel: malformed and out-of-turn requests are refused with
# the right error and change nothing; one daemon per volume; stale
# registrations refused; dirty bits cleared only if armed and not written
# since; roles (yielding too), generations, origins and splits persisted, and
# an old split brain stops all I/O until it is cleared; a CLEAR_DIRTY that
# meets a write stuck below the target gives up after about a second and
# holds up no other write (M7).
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
check "the dirty regions persisted (3, 52, 200)" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   3,52,200$'"
check "remove the data device" dmsetup remove dd
finish
