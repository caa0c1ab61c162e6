# A dirty bit cleared because its region was replicated reaches the disk
# only after the data device was flushed (M1): otherwise a power cut could
# take the data back here while the bit says the other site has it.  Data
# and metadata are two parts of one dm-log-writes device, so its log holds
# both in the order they became durable; the replay checks, at every
# metadata write that clears a dirty bit, that every earlier write to that
# region was flushed.
# disks: base=66M log=256M
. ./lib.sh

D=131072 # data sectors (64 MiB); metadata follows, 1 MiB
check "log-writes device" dmsetup create lw --table "0 $(sectors "$BASE") log-writes $BASE $LOG"
check "data part" dmsetup create d --table "0 $D linear /dev/mapper/lw 0"
check "metadata part" dmsetup create m --table "0 2048 linear /dev/mapper/lw $D"
check "format-meta" dccctl format-meta --data /dev/mapper/d --meta /dev/mapper/m
check "create" dcc_create vol /dev/mapper/d /dev/mapper/m
# Writes with no flush: in the data device's volatile cache, as far as
# anyone knows, until something flushes it.
for r in 1 2 3 5 8 13 21 34; do
	check "write region $r" $DD if=/dev/urandom of=/dev/mapper/vol bs=4k seek=$((r * 16)) count=1 \
		oflag=direct status=none
done
expect_eq "eight regions dirty" 8 "$(dirty_count vol)"
check "arm them (the daemon read them)" sh -c "dcctest nl vol arm 0 1024 | grep -qx 'armed 8'"
check "clear them (the other site acked)" sh -c "dcctest nl vol clear 0 1024 | grep -qx 'cleared 8'"
# The periodic commit writes the cleared bits (block 2 of the metadata:
# the dirty bitmap of a 1024-region volume), as it would with a daemon.
dirty_block_clean() {
	[ "$($DD if=/dev/mapper/m bs=4k skip=2 count=1 iflag=direct status=none | tr -d '\000' | wc -c)" = 0 ]
}
check "the periodic commit wrote the cleared bits" wait_until 10 dirty_block_clean
check "remove" dmsetup remove vol m d lw
check "replay: no dirty bit cleared before its data was flushed" dcctest flushcheck --log "$LOG" \
	--data-sectors $D --meta-offset $D
cat /tmp/check.out
finish
