# Losing the owner in synchronous replication: nothing acknowledged is
# lost, and the failover needs no --force.
#   1. w runs the witness; a owns a volume formatted --sync at both sites,
#      which start with the same (zeroed) copy.  a writes numbered 4 KiB
#      records (O_DIRECT|O_DSYNC) and sends each acknowledgement to b as
#      it gets it; a's power is cut mid-write.
#   2. At b: `dccctl failover vol`, without --force, is granted by the
#      witness once a's lease ended there (the owner's last report put
#      nothing at risk); b owns generation 2 and serves at once.  Every
#      record a acknowledged reads back at b.
#   3. A write at b waits for the other site (sync, on_peer_loss
#      `suspend`: the default), as the failover said; `dccctl mode vol async` lets b go on
#      alone: the held write completes, and fio with verify runs at b.
# sites: 3
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000021
LEASE_MS=3000

if [ "$SITE" = w ]; then
	witness_config $LEASE_MS
	check "w: dccd --witness --init" dccd --witness --init --config /etc/dcc/witness.toml
	dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	barrier s0
	barrier_with b s2
	grep -q "claim" /tmp/witness.log && ok "w: its log shows the claim" || bad "w: no claim in its log"
	finish
fi

if [ "$SITE" = a ] && [ "${DCC_BOOT:-1}" = 2 ]; then
	ok "a: back after its power cut"
	finish
fi

dccd_config_witness $LEASE_MS
dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 8
barrier s0
start_dccd
# (busybox nc: a listener whose input ends closes the connection)
[ "$SITE" = b ] && { sleep 600 | nc -l -p 9411 >/tmp/acks & }
check "paired" dccctl wait vol paired --timeout 60

if [ "$SITE" = a ]; then
	check "1: a holds a lease" wait_until 10 sh -c '[ "$(dcctest field vol lease)" = held ]'
	# Each acknowledgement goes to b as it comes; b keeps the last.
	( dcctest seqwrite /dev/mapper/vol --seed 9 | tee /tmp/acked | nc "$(ip_of b)" 9411 ) &
	# Mid-write, once enough were acknowledged to show something (how
	# fast depends on the host: 14 to 80 a second seen).
	wait_until 120 sh -c '[ "$(tail -n 1 /tmp/acked | cut -d" " -f2)" -gt 150 ] 2>/dev/null'
	powercut
fi

check "2: b sees the link down" wait_until 300 link_down
sleep 1
acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
[ "${acked:-0}" -gt 100 ] && ok "2: a acknowledged $acked records before its power cut" ||
	bad "2: only '${acked:-}' records acknowledged: the test shows nothing"
check "2: failover without --force" dccctl failover vol
cp /tmp/check.out /tmp/fo.out
cat /tmp/fo.out
check "2: ... says writes wait for the other site (sync)" grep -q "writes wait for the other site" /tmp/fo.out
expect_eq "2: b owns generation 2" "owner 2" "$(role_gen vol)"
check "2: every record a acknowledged is at b" dcctest seqverify /dev/mapper/vol --seed 9 --acked "$acked"
tail -n 2 /tmp/check.out
( $DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=7000 oflag=direct status=none; echo $? >/tmp/w.rc ) &
check "3: a write at b waits for the other site" wait_until 20 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
check "3: dccctl mode vol async: b goes on alone" dccctl mode vol async
check "3: ... the held write completes" wait_until 5 test -e /tmp/w.rc
expect_eq "3: ... with success" 0 "$(cat /tmp/w.rc)"
check "3: fio with verify at b" fio --name=v --filename=/dev/mapper/vol --rw=randwrite --bs=4k \
	--offset=24M --size=8M --io_size=4M --iodepth=8 --ioengine=libaio --direct=1 --verify=crc32c \
	--verify_fatal=1 --randrepeat=0 --eta=never --output=/tmp/fio.out
barrier_with w s2
stop_dccd
check "remove" dmsetup remove vol
finish
