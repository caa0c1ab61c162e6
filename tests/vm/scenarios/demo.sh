# The two-site demo (also a test).  Site A holds a volume, site B starts
# empty and receives a copy by replication; a writer runs at A; the volume
# moves to B while the writer runs; B serves I/O at once and pulls what it
# lacks; every write A acknowledged is then read back at B.
# sites: 2
# disks: data=64M meta=1M
# timeout: 600
# alone: yes
. ./lib.sh

say() { echo "demo[$SITE]: $*"; }
UUID=d0d0d0d0-0000-4000-8000-000000000001
if [ "$SITE" = a ]; then
	say "site A holds the data: dccctl format-meta"
	fill_random "$DATA" 64
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID
else
	say "site B holds nothing yet: dccctl format-meta --empty"
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty
fi
check "dmsetup create" dcc_create vol "$DATA" "$META"
dccd_config
start_dccd
check "dccd pairs the volume with the other site (CURVE)" wait_until 60 grep -q "vol: paired with $PEER" /tmp/dccd.log
dccctl status vol

if [ "$SITE" = a ]; then
	barrier copied
	# Started once B has the copy: it writes each block once, in a random
	# order, and ends at the last, which a fast host reached while the
	# copy went on.  Its writes of the last 3 s are not at B yet.
	say "a writer at A: numbered 4 KiB records, O_DIRECT|O_DSYNC"
	dcctest seqwrite /dev/mapper/vol --seed 11 >/tmp/acks 2>/dev/null &
	writer=$!
	sleep 3
	dccctl status vol
	running $writer && ok "the writer still runs" || bad "the writer ended before the move"
	say "dccctl migrate vol --to b, with the writer running"
	check "migrate to B" dccctl migrate vol --to b
	cat /tmp/check.out
	wait $writer
	acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
	say "the writer stopped when A gave the volume up; $acked was its last acknowledged record"
	dccctl status vol
	exchange acked "$acked" >/dev/null
	barrier verified
else
	check "B received a full copy" wait_until 400 is_valid vol 1024/1024
	dccctl status vol
	barrier copied
	check "B owns the volume" wait_until 120 is_field vol role owner
	dccctl status vol
	acked=$(exchange acked x)
	say "B checks every record A acknowledged (0 to $acked), fetching what it lacks"
	check "every write acknowledged at A is read back at B" dcctest seqverify /dev/mapper/vol --seed 11 --acked "$acked"
	cat /tmp/check.out
	check "B takes new writes" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=50 count=4 oflag=direct status=none
	check "hydration completes" wait_until 300 is_valid vol 1024/1024
	dccctl status vol
	barrier verified
fi
stop_dccd
grep -aE "paired|handing over|owns generation" /tmp/dccd.log
check "remove" dmsetup remove vol
finish
