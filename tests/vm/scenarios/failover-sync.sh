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
# sites: 3
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000021
LEASE_MS=3000
powercut() { echo "DCC-KILL-ME"; sleep 600; }
link_down() { dccctl status --json | grep -q '"link":"down"'; }

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

dccd_config "witness = \"tcp://$WITNESS_IP:7790\"" "witness_public_key = \"$KEY_PUB_w\"" \
	"lease_ms = $LEASE_MS"
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
	( dcctest seqwrite /dev/mapper/vol --seed 9 | nc "$(ip_of b)" 9411 ) &
	sleep 4
	powercut
fi

check "2: b sees the link down" wait_until 300 link_down
sleep 1
acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
[ "${acked:-0}" -gt 100 ] && ok "2: a acknowledged $acked records before its power cut" ||
	bad "2: only '${acked:-}' records acknowledged: the test shows nothing"
check "2: failover without --force" dccctl failover vol
cat /tmp/check.out
expect_eq "2: b owns generation 2" "owner 2" "$(role_gen vol)"
check "2: every record a acknowledged is at b" dcctest seqverify /dev/mapper/vol --seed 9 --acked "$acked"
tail -n 2 /tmp/check.out
barrier_with w s2
stop_dccd
check "remove" dmsetup remove vol
finish
