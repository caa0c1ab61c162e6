# Create and remove with dmsetup; every malformed table is refused with its
# own message and leaves no device behind; numbers never wrap (D2); a data
# or metadata device another dcc table holds is refused (D1); a superblock
# whose origin or split is out of range, or whose split generation does not
# fit its split, is refused, and an old split read from disk stops all I/O;
# of the superblock's flags the lease, sync and ahead flags are taken, any
# other refused; dccctl up/down
# build and remove a declared volume's device; check-meta reports what the
# kernel would refuse.
# disks: data=64M meta=1M small=2K other=128M meta2=1M
. ./lib.sh

UUID=11111111-2222-3333-4444-555555555555
check "format-meta" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID

check "create" dcc_create vol "$DATA" "$META"
expect_eq "status: region size, valid/total" "128 1024/1024" "$(status_field vol region_sectors) $(valid_of vol)"
expect_eq "status: role owner, generation 1, mode rw, no daemon" "owner 1 rw -" \
	"$(role_of vol) $(status_field vol generation) $(mode_of vol) $(status_field vol registration)"
expect_eq "status: a fresh volume began by handover, no split" "handover -" \
	"$(status_field vol origin) $(status_field vol split)"
expect_eq "table line" "$(printf '%s' "0 131072 dcc 254:0 254:16")" "$(dmsetup table vol)"
check "IMA status" sh -c "dmsetup measure vol | grep -q 'region_sectors=128,uuid=$UUID,role=owner,generation=1,mode=rw,miss_timeout=30,origin=handover,split=-,lease=-,sync=off;'"
check "dccctl status parses the line" dccctl status vol
check "dccctl status --json" sh -c 'dccctl status --json vol | grep -q "\"registration\":null"'
check "dccctl status --json has origin and split" sh -c \
	'dccctl status --json vol | grep "\"origin\":\"handover\"" | grep -q "\"split\":\"none\""'
check "remove" dmsetup remove vol
refuse "device is gone" dmsetup info vol

# refused TABLE MESSAGE: the table is refused, the kernel says why, nothing is left.
refused() {
	dmesg -c >/dev/null
	if dmsetup create bad --table "$1" >/dev/null 2>&1; then
		bad "table '$1' was accepted"
		dmsetup remove bad
		return
	fi
	if ! dmesg | grep -qF -- "$2"; then
		bad "table '$1': no message '$2'"
		dmesg | tail -n 3
	elif dmsetup info bad >/dev/null 2>&1; then
		bad "table '$1' left a device"
		dmsetup remove bad
	else
		ok "refused '$1': $2"
	fi
}

N=$(sectors "$DATA")
refused "0 $N dcc" "Invalid argument count"
refused "0 $N dcc $DATA" "Invalid argument count"
refused "0 $N dcc /dev/nonexistent $META" "Error opening data device"
refused "0 $N dcc $DATA /dev/nonexistent" "Error opening metadata device"
refused "0 $N dcc $DATA $DATA" "Data and metadata devices must be different"
refused "0 $N dcc $DATA $META 1" "Invalid number of feature arguments"
refused "0 $N dcc $DATA $META 3 miss_timeout 5 x" "Invalid number of feature arguments"
refused "0 $N dcc $DATA $META 1 miss_timeout" "Feature miss_timeout needs a value"
refused "0 $N dcc $DATA $META 2 miss_timeout 0" "Invalid miss_timeout"
refused "0 $N dcc $DATA $META 2 miss_timeout 5x" "Invalid miss_timeout"
refused "0 $N dcc $DATA $META 2 miss_timeout 86401" "Invalid miss_timeout"
# Numbers that sscanf("%u") would wrap or take with a sign (D2).
for v in 4294967297 4294967296 -1 +-1 99999999999999999999; do
	refused "0 $N dcc $DATA $META 2 miss_timeout $v" "Invalid miss_timeout"
done
refused "0 $N dcc $DATA $META 4294967298 miss_timeout 5" "Invalid number of feature arguments"
refused "0 $N dcc $DATA $META -1" "Invalid number of feature arguments"
refused "0 $N dcc $DATA $META 1 frobnicate" "Unrecognised feature argument"
refused "0 $N dcc $DATA $META 2 miss_timeout 5 extra" "Too many arguments"
refused "0 $((N - 8)) dcc $DATA $META" "Target length does not match"
refused "0 $N dcc $DATA $SMALL" "too small to hold a superblock"
refused "0 $N dcc $DATA $OTHER" "not formatted"

# A superblock for a bigger volume on a data device too small for it.
refuse_saying "check-meta: an unformatted device" "superblock: not formatted" dccctl check-meta "$META2"
rc_was "check-meta: exit 1" 1
check "format for a bigger device" dccctl format-meta --data "$OTHER" --meta "$META2"
refused "0 $N dcc $DATA $META2" "Data device is smaller than the volume size"
# check-meta finds what the kernel would refuse, and only that.
check "check-meta: the bigger device's pair" dccctl check-meta --data "$OTHER" "$META2"
refuse_saying "check-meta: a data device too small" "not this volume's data device" \
	dccctl check-meta --data "$DATA" "$META2"
refuse_saying "check-meta: data and metadata one device" "the same storage" \
	dccctl check-meta --data "$META2" "$META2"
dccctl check-meta --json --data "$DATA" "$META" | grep -q '"ok":true,"problems":\[\]' &&
	ok "check-meta --json: the first pair is fine" || bad "check-meta --json: $(dccctl check-meta --json --data "$DATA" "$META" 2>&1)"

# Corruption: one flipped byte in the superblock; then a consistent
# checksum over inconsistent fields is made by format on a different size.
$DD if="$META" of=/tmp/sb bs=512 count=1 status=none
printf '\377' | $DD of="$META" bs=1 seek=40 conv=notrunc status=none
refused "0 $N dcc $DATA $META" "checksum mismatch"
$DD if=/tmp/sb of="$META" bs=512 count=1 conv=notrunc status=none

# Origin, split and split generation (generation 1 here), rewritten with a
# good checksum: out of range, or a split generation that does not fit.
sb_with() {
	$DD if=/tmp/sb of="$META" bs=512 count=1 conv=notrunc status=none
	check "superblock with $*" dcctest sbedit "$META" "$@"
}
sb_with --origin 4
refused "0 $N dcc $DATA $META" "Metadata superblock has an unknown origin"
sb_with --origin 4294967295
refused "0 $N dcc $DATA $META" "Metadata superblock has an unknown origin"
sb_with --split 3
refused "0 $N dcc $DATA $META" "Metadata superblock has an unknown split state"
for bad in "1 0" "1 1" "2 2" "0 2" "0 18446744073709551615"; do
	sb_with --split ${bad% *} --split-gen ${bad#* }
	refused "0 $N dcc $DATA $META" "split generation does not fit its split state"
done
# Flags: an unknown one is refused; the lease flag is taken, and an owner
# that has it waits for its first lease; the sync flag is taken, and with
# no daemon a write is held, then fails after miss_timeout; the ahead
# flag is taken with it.
sb_with --flags 8
refused "0 $N dcc $DATA $META" "Metadata superblock has unknown flags"
sb_with --flags 0x80000001
refused "0 $N dcc $DATA $META" "Metadata superblock has unknown flags"
sb_with --flags 1
check "create with the lease flag" dcc_create vol "$DATA" "$META"
expect_eq "status: an owner with no lease yet" "owner expired" "$(role_of vol) $(status_field vol lease)"
check "IMA status: lease=expired" sh -c "dmsetup measure vol | grep -q 'split=-,lease=expired,sync=off;'"
check "remove" dmsetup remove vol
sb_with --flags 2
check "create with the sync flag" dcc_create vol "$DATA" "$META" 2 miss_timeout 2
expect_eq "status: sync, no write held" 0 "$(status_field vol held)"
check "IMA status: sync=on" sh -c "dmsetup measure vol | grep -q 'lease=-,sync=on;'"
check "a read needs no daemon" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
refuse "with no daemon a write fails after miss_timeout" \
	$DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
expect_eq "... counted as a timeout, nothing held" "1 0" "$(status_field vol timeouts) $(status_field vol held)"
check "remove" dmsetup remove vol
sb_with --flags 6
check "create with the sync and ahead flags" dcc_create vol "$DATA" "$META" 2 miss_timeout 2
expect_eq "status: sync, nothing held, every dirty region unconfirmed after a load" \
	"0 $(status_field vol dirty)" "$(status_field vol held) $(status_field vol unconfirmed)"
check "remove" dmsetup remove vol
dccctl dump-meta "$META" | grep -q "^ahead  *yes" && ok "dump-meta shows the ahead flag" ||
	bad "dump-meta does not show the ahead flag: $(dccctl dump-meta "$META" | grep ahead)"
# An old split on disk: the table loads, shows it and serves nothing.
sb_with --origin 2 --split 1 --split-gen 2
check "create with an old split" dcc_create vol "$DATA" "$META"
expect_eq "status: forced, old" "owner 1 forced old" \
	"$(role_of vol) $(status_field vol generation) $(status_field vol origin) $(status_field vol split)"
check "IMA status: forced, old" sh -c "dmsetup measure vol | grep -q 'miss_timeout=30,origin=forced,split=old,lease=-,sync=off;'"
refuse "no read with an old split" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
refuse "no write with an old split" $DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
check "remove" dmsetup remove vol
sb_with --origin 1 --split 2
check "create with a new split" dcc_create vol "$DATA" "$META"
expect_eq "status: failover, new" "failover new" "$(status_field vol origin) $(status_field vol split)"
check "the new side of a split reads" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
check "remove" dmsetup remove vol
$DD if=/tmp/sb of="$META" bs=512 count=1 conv=notrunc status=none
check "restored superblock accepted" dcc_create vol "$DATA" "$META" 2 miss_timeout 7
expect_eq "features in the table line" "2 miss_timeout 7" "$(dmsetup table vol | cut -d' ' -f6-)"

# Messages: bad ones refused and change nothing, good ones accepted.
refuse "unknown message" dmsetup message vol 0 frobnicate
refuse "miss_timeout without value" dmsetup message vol 0 miss_timeout
refuse "miss_timeout junk" dmsetup message vol 0 miss_timeout 3s
for v in 4294967297 4294967296 -1 0 86401 5x ""; do
	refuse "miss_timeout '$v'" dmsetup message vol 0 miss_timeout "$v"
done
expect_eq "miss_timeout unchanged by refused messages" "2 miss_timeout 7" "$(dmsetup table vol | cut -d' ' -f6-)"
check "miss_timeout 9" dmsetup message vol 0 miss_timeout 9
expect_eq "miss_timeout 9 in the table line" "2 miss_timeout 9" "$(dmsetup table vol | cut -d' ' -f6-)"
check "fail_pending" dmsetup message vol 0 fail_pending
check "requeue_pending" dmsetup message vol 0 requeue_pending
check "remove" dmsetup remove vol

# format-meta refuses what would destroy data or makes no sense.
refuse "format over existing metadata without --force" dccctl format-meta --data "$DATA" --meta "$META"
code=0; dccctl format-meta --data "$DATA" --meta "$META" >/dev/null 2>&1 || code=$?
expect_eq "exit code 3 (refused)" 3 "$code"
code=0; dccctl format-meta --data "$DATA" --meta "$META" --region-size 3k >/dev/null 2>&1 || code=$?
expect_eq "bad region size: exit code 2 (usage)" 2 "$code"
code=0; dccctl frobnicate >/dev/null 2>&1 || code=$?
expect_eq "unknown verb: exit code 2" 2 "$code"
check "create again" dcc_create vol "$DATA" "$META"
code=0; dccctl format-meta --data "$DATA" --meta "$META" --force >/dev/null 2>&1 || code=$?
expect_eq "format of a live metadata device refused even with --force" 3 "$code"
check "remove" dmsetup remove vol

# D1: one dcc table per data and metadata device.  A second table on a live
# volume's metadata device, with another data device or with the volume's
# own pair, would write that metadata from a stale copy: refused, and the
# live volume's committed dirty bit survives.
check "re-format" dccctl format-meta --data "$DATA" --meta "$META" --force
check "create" dcc_create vol "$DATA" "$META"
dmesg -c >/dev/null
refuse "a second table on vol's metadata device" dmsetup create vol2 --table "0 $N dcc $OTHER $META"
check "the kernel says which device and why" \
	dmesg_has "Metadata device is in use as the metadata device of another dcc target"
refuse "a second table on vol's own pair" dmsetup create vol3 --table "0 $N dcc $DATA $META"
check "the kernel says which device and why" \
	dmesg_has "Data device is in use as the data device of another dcc target"
refuse "vol's metadata device as another table's data device" \
	dmsetup create vol4 --table "0 2048 dcc $META $META2"
check "write region 3 of vol (dirty, committed)" \
	$DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek=3 count=1 oflag=direct status=none
# What would happen with a table let through: it writes its stale bitmap.
for v in vol2 vol3; do
	if dmsetup info $v >/dev/null 2>&1; then
		$DD if=/dev/urandom of=/dev/mapper/$v bs=4k seek=$((9 * 16)) count=1 oflag=direct status=none
		dmsetup remove $v
	fi
done
dmsetup remove vol4 >/dev/null 2>&1
check "reload of vol's own table is no conflict" sh -c \
	"dmsetup table vol | dmsetup load vol && dmsetup suspend vol && dmsetup resume vol"
check "remove" dmsetup remove vol
check "the live volume's committed dirty bit survives" sh -c \
	"dccctl dump-meta --ranges $META | grep -q 'dirty ranges   3$'"

# A table loaded but never resumed holds its devices too, until it goes.
check "an inactive table" sh -c "dmsetup create hold --notable && \
	dmsetup load hold --table '0 $(sectors "$OTHER") dcc $OTHER $META2'"
refuse "a table on the inactive table's devices" dmsetup create vol5 --table "0 $(sectors "$OTHER") dcc $OTHER $META2"
check "remove the inactive table" dmsetup remove hold
check "its devices are free again" dmsetup create vol5 --table "0 $(sectors "$OTHER") dcc $OTHER $META2"
check "remove" dmsetup remove vol5

# Declared volumes: dccctl up builds the table from the file and the
# superblock, with the dm UUID DCC-<volume uuid>; down removes it; each
# says why not, and one volume's failure leaves the others alone.
mkdir -p /tmp/vols
printf 'data = "%s"\nmeta = "%s"\nmiss_timeout = 60\n' "$OTHER" "$META2" >/tmp/vols/vol6.toml
printf 'data = "%s"\n' "$OTHER" >/tmp/vols/vol7.toml
check "dccctl up" dccctl up --dir /tmp/vols vol6
uuid=$(dccctl dump-meta --json "$META2" | sed -n 's/.*"uuid": *"\([^"]*\)".*/\1/p')
expect_eq "its dm UUID" "DCC-$uuid" "$(dmsetup info -c --noheadings -o uuid vol6)"
expect_eq "its table" "0 $(sectors "$OTHER") dcc" "$(dmsetup table vol6 | cut -d' ' -f1-3)"
expect_eq "... with the declared miss_timeout" "2 miss_timeout 60" "$(dmsetup table vol6 | cut -d' ' -f6-)"
expect_eq "up again: up already" "vol6: up already" "$(dccctl up --dir /tmp/vols vol6)"
refuse_saying "a declaration without meta" "/tmp/vols/vol7.toml: 'meta' is missing" dccctl up --dir /tmp/vols vol7
expect_eq "... exit 2" 2 "$(cat /tmp/check.rc)"
refuse_saying "a volume not declared" "vol8: not declared (no /tmp/vols/vol8.toml)" dccctl up --dir /tmp/vols vol8
exec 3</dev/mapper/vol6
refuse_saying "down of an open volume" "vol6 is in use (open count 1): stop what uses it first" dccctl down --dir /tmp/vols vol6
exec 3<&-
check "dccctl down" dccctl down --dir /tmp/vols vol6
expect_eq "down again: down already" "vol6: down already" "$(dccctl down --dir /tmp/vols vol6)"
refuse_saying "up --all: the bad one fails" "'meta' is missing" dccctl up --dir /tmp/vols --all
grep -q "^vol6: up (0 $(sectors "$OTHER") dcc " /tmp/check.out && ok "... and the good one comes up" ||
	bad "up --all: $(cat /tmp/check.out)"
check "dccctl down --all" dccctl down --dir /tmp/vols --all
check "a device that is no dcc volume" dmsetup create notdcc --table "0 8 linear $DATA 0"
refuse_saying "down of a device dccctl up did not make" "notdcc is no volume dccctl up made" \
	dccctl down --dir /tmp/vols notdcc
check "(it is still there)" dmsetup remove notdcc
expect_eq "up --all of no directory: nothing to do" "" "$(dccctl up --dir /tmp/none --all)"
expect_eq "no device left" "No devices found" "$(dmsetup ls 2>&1)"
finish
