# Faults below the target: data device errors come back as clean EIO and
# leave the target working; a failed whole-region write to an invalid
# region leaves no dirty bit (H3); a metadata write error moves it to
# read-only mode with an event, and a SET_ROLE it fails changes neither
# role nor generation (M4); nothing oopses and everything can be removed.
# disks: data=64M meta=1M
. ./lib.sh

N=$(sectors "$DATA")
check "format-meta" dccctl format-meta --data "$DATA" --meta "$META"
check "flakey data (2s up, 2s down)" dmsetup create fd --table "0 $N flakey $DATA 0 2 2"
check "linear metadata" dmsetup create lm --table "0 $(sectors "$META") linear $META 0"
check "create" dcc_create vol /dev/mapper/fd /dev/mapper/lm
good=0 failed=0 i=0
while [ $i -lt 40 ]; do
	if $DD if=/dev/urandom of=/dev/mapper/vol bs=4k seek=$i count=1 oflag=direct status=none 2>/dev/null &&
		$DD if=/dev/mapper/vol bs=4k skip=$i count=1 iflag=direct of=/dev/null status=none 2>/dev/null; then
		good=$((good + 1))
	else
		failed=$((failed + 1))
	fi
	sleep 0.15
	i=$((i + 1))
done
[ $good -gt 0 ] && [ $failed -gt 0 ] && ok "flakey data: $good good, $failed failed I/Os" ||
	bad "flakey data: $good good, $failed failed"
expect_eq "data errors do not degrade the target" rw "$(mode_of vol)"
check "swap flakey for linear" sh -c "dmsetup suspend vol && dmsetup load fd --table '0 $N linear $DATA 0' &&
	dmsetup suspend fd && dmsetup resume fd && dmsetup resume vol"
check "fio verify after the fault" fio --name=after --filename=/dev/mapper/vol --rw=randwrite --bs=4k \
	--direct=1 --size=64M --io_size=4M --verify=crc32c --verify_fatal=1 --eta=never --output=/tmp/fio.out

# H3: a whole-region write to an invalid region that fails.  The region
# stays invalid (its content is the other site's), so its dirty bit must
# go too, or a handover would ship it and the other site drop its copy.
check "remove" dmsetup remove vol
check "re-format, no region valid" dccctl format-meta --data /dev/mapper/fd --meta /dev/mapper/lm \
	--empty --role owner --force
check "create" dcc_create vol /dev/mapper/fd /dev/mapper/lm
check "data writes fail" sh -c "dmsetup suspend fd && \
	dmsetup load fd --table '0 $N flakey $DATA 0 0 1 1 error_writes' && dmsetup resume fd"
refuse "a whole-region write to invalid region 5 fails" \
	$DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek=5 count=1 oflag=direct status=none
expect_eq "the failed write left no dirty bit" 0 "$(dirty_count vol)"
expect_eq "region 5 still invalid" 0 "$(valid_count vol)"
expect_eq "a data error does not degrade the target" rw "$(mode_of vol)"
check "data writes work again" sh -c "dmsetup suspend fd && dmsetup load fd --table '0 $N linear $DATA 0' &&
	dmsetup resume fd"
check "remove" dmsetup remove vol
check "no dirty bit on disk" sh -c "dccctl dump-meta --json /dev/mapper/lm | grep -q '\"dirty\": 0'"

# Metadata write errors: read-only mode.
check "re-format" dccctl format-meta --data /dev/mapper/fd --meta /dev/mapper/lm --force
check "create" dcc_create vol /dev/mapper/fd /dev/mapper/lm
check "write region 0 (dirty now)" $DD if=/dev/urandom of=/dev/mapper/vol bs=64k count=1 oflag=direct status=none
events() { dmsetup info -c --noheadings -o events vol; }
before=$(events)
M=$(sectors "$META")
check "metadata writes start failing" sh -c "dmsetup suspend lm &&
	dmsetup load lm --table '0 $M flakey $META 0 0 1 1 error_writes' && dmsetup resume lm"
# M4: the superblock commit fails; the role and generation stay as they were.
refuse "SET_ROLE whose commit fails" dcctest nl vol setrole replica 2
expect_eq "role and generation unchanged" "owner 1" "$(role_gen vol)"
# Region 900 is clean: its first write needs a metadata commit.
refuse "write needing a commit fails" $DD if=/dev/urandom of=/dev/mapper/vol bs=4k seek=$((900 * 16)) count=1 oflag=direct status=none
expect_eq "mode read-only" ro "$(mode_of vol)"
after=$(events)
[ "$after" -gt "$before" ] && ok "dm event raised ($before -> $after)" || bad "no dm event ($before -> $after)"
check "kernel log says why" dmesg_has "metadata commit failed (-5): switching to read-only mode"
check "reads still served" $DD if=/dev/mapper/vol bs=64k count=4 iflag=direct of=/dev/null status=none
refuse "writes refused, even to dirty regions" $DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
sleep 2
expect_eq "no escalation from the periodic commit" ro "$(mode_of vol)"
check "remove in read-only mode" dmsetup remove vol

# Metadata that cannot be read either: fail mode.
check "metadata works again" sh -c "dmsetup suspend lm && dmsetup load lm --table '0 $M linear $META 0' && dmsetup resume lm"
check "create" dcc_create vol /dev/mapper/fd /dev/mapper/lm
check "metadata device dies" sh -c "dmsetup suspend lm && dmsetup load lm --table '0 $M error' && dmsetup resume lm"
refuse "write needing a commit fails" $DD if=/dev/urandom of=/dev/mapper/vol bs=4k seek=$((901 * 16)) count=1 oflag=direct status=none
expect_eq "mode fail" fail "$(mode_of vol)"
check "kernel log says why" dmesg_has "metadata read failed (-5): switching to fail mode"
refuse "reads fail too" $DD if=/dev/mapper/vol bs=64k count=1 iflag=direct of=/dev/null status=none
check "remove in fail mode" dmsetup remove vol
check "remove the rest" dmsetup remove lm fd
finish
