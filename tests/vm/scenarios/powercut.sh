# Power cut under a write load: after reboot every acknowledged write is on
# the data device and its region is dirty in the metadata.
# disks: data=64M meta=1M
# boots: 2
. ./lib.sh

SEED=7
if [ "$DCC_PHASE" = 1 ]; then
	check "format-meta" dccctl format-meta --data "$DATA" --meta "$META"
	check "create" dcc_create vol "$DATA" "$META"
	# O_DIRECT|O_DSYNC records; each "ACK n" is printed once acknowledged.
	dcctest seqwrite /dev/mapper/vol --seed $SEED &
	writer=$!
	sleep 3
	# The cut must come while it writes (it fills 64 MiB in some 8 s).
	running $writer && ok "the writer still runs at the power cut" || bad "the writer ended before the cut"
	echo "DCC-KILL-ME"
	sleep 600
fi

echo "the host saw $DCC_ACKED acknowledged writes before the power cut"
[ "$DCC_ACKED" -ge 50 ] && ok "enough writes before the cut ($DCC_ACKED)" || bad "only $DCC_ACKED writes acknowledged"
check "the volume comes back" dcc_create vol "$DATA" "$META"
expect_eq "mode rw" rw "$(mode_of vol)"
check "remove" dmsetup remove vol
check "every acknowledged record is there, in a dirty region" \
	dcctest seqverify "$DATA" --seed $SEED --acked "$DCC_ACKED" --meta "$META"
cat /tmp/check.out
finish
