# The netlink channel: malformed and out-of-turn requests are refused with
# the right error and change nothing; one daemon per volume; stale
# registrations refused; dirty bits cleared only if armed and not written
# since; roles (yielding too) and generations persisted; a CLEAR_DIRTY that
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
check "role and generation persisted" sh -c "dccctl dump-meta --json $META | grep -q '\"generation\": 3, \"role\": \"owner\"'"
check "the dirty regions persisted (3, 52, 200)" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   3,52,200$'"
check "remove the data device" dmsetup remove dd
finish
