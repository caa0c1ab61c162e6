# A power cut of the owner while it replicates, at any moment, leaves no
# region clean on its metadata whose data there differs from what the
# replica acknowledged (M1: a dirty bit cleared after the replica took the
# region is written only once the data device was flushed).  The owner's
# data and metadata are two parts of one dm-log-writes device; a writer
# writes every region once, with no flush, while dccd replicates; the
# replay then stands for a power cut at every durable point of the log.
# sites: 2
# disks: base=33M log=256M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000011
D=65536 # data sectors (32 MiB); the metadata follows, 1 MiB
if [ "$SITE" = a ]; then
	check "log-writes device" dmsetup create lw --table "0 $(sectors "$BASE") log-writes $BASE $LOG"
	lower=/dev/mapper/lw
else
	lower=$BASE
fi
check "data part" dmsetup create d --table "0 $D linear $lower 0"
check "metadata part" dmsetup create m --table "0 2048 linear $lower $D"
dccctl format-meta --data /dev/mapper/d --meta /dev/mapper/m --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol /dev/mapper/d /dev/mapper/m
dccd_config
start_dccd
check "paired" dccctl wait vol paired --timeout 60
if [ "$SITE" = a ]; then
	# Each region once, 64 KiB O_DIRECT writes and no flush, at 4 MiB/s.
	check "write every region once while dccd replicates" fio --name=w --filename=/dev/mapper/vol \
		--rw=randwrite --bs=64k --direct=1 --size=32M --io_size=32M --rate=4m --randrepeat=1 \
		--eta=never --output=/tmp/fio.out
	stop_dccd
	barrier stopped
	check "regions were cleared while the writer ran" [ "$(dirty_count vol)" -lt 512 ]
	check "remove" dmsetup remove vol m d lw
	: >/tmp/replica.hashes
	for part in $(seq 0 15); do exchange "hashes$part" x >>/tmp/replica.hashes; done
	expect_eq "the replica's hashes" 512 "$(wc -l </tmp/replica.hashes)"
	$DD if=/dev/zero of=/tmp/base.img bs=1M count=33 status=none
	check "replay: every clean region holds what the replica acknowledged" dcctest cleancheck \
		--log "$LOG" --base /tmp/base.img --replica /tmp/replica.hashes --data-sectors $D --meta-offset $D
	cat /tmp/check.out
else
	barrier stopped
	stop_dccd
	check "remove" dmsetup remove vol
	dcctest regionhash /dev/mapper/d --region-bytes 65536 >/tmp/hashes
	# In parts of 32 lines: exchange carries short values.
	for part in $(seq 0 15); do
		exchange "hashes$part" "$(sed -n "$((part * 32 + 1)),$((part * 32 + 32))p" /tmp/hashes)" >/dev/null
	done
	check "remove the rest" dmsetup remove m d
fi
finish
