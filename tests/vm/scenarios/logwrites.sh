# Valid bits never reach the disk before their data.  The data and
# metadata devices are two parts of one dm-log-writes device, so its log
# holds every write of both in the order they became durable; replaying it
# and checking at every flush and FUA that each region marked valid holds
# the source's data covers every power cut the hydration could have seen.
# disks: base=66M log=512M src=64M
. ./lib.sh

fill_random "$SRC" 64
D=131072 # data sectors (64 MiB); metadata follows, 1 MiB
check "log-writes device" dmsetup create lw --table "0 $(sectors "$BASE") log-writes $BASE $LOG"
check "data part" dmsetup create d --table "0 $D linear /dev/mapper/lw 0"
check "metadata part" dmsetup create m --table "0 2048 linear /dev/mapper/lw $D"
check "format-meta --empty" dccctl format-meta --data /dev/mapper/d --meta /dev/mapper/m --empty --role owner
check "create" dcc_create vol /dev/mapper/d /dev/mapper/m
# Reads (misses) race the background hydration.
$DD if=/dev/mapper/vol bs=1M iflag=direct of=/dev/null status=none &
reader=$!
dccctl fill --source "$SRC" --hydrate --exit-when-done --progress --json vol >/tmp/fill.json 2>/tmp/fill.err
expect_eq "hydrate from the source (--json: exit 0)" 0 $?
cat /tmp/fill.json
grep -q '"ok":true' /tmp/fill.json && grep -q '"valid":1024,' /tmp/fill.json &&
	grep -q '"regions":1024,' /tmp/fill.json && ok "fill --json: ok, 1024 of 1024 valid" ||
	bad "fill --json: $(cat /tmp/fill.json)"
# --progress: a line every two seconds while it ran.
secs=$(sed -n 's/.*"seconds":\([0-9]*\).*/\1/p' /tmp/fill.json)
lines=$(grep -c '^dccctl fill: vol: [0-9.]* %, [0-9]* regions left' /tmp/fill.err)
grep '^dccctl fill: vol:' /tmp/fill.err | head -n 3
[ "${secs:-0}" -lt 3 ] || [ "$lines" -ge 1 ] && ok "fill --progress: $lines lines in ${secs}s" ||
	bad "fill --progress: no progress line in ${secs}s: $(cat /tmp/fill.err)"
wait $reader && ok "reads during hydration" || bad "reads during hydration failed"
expect_eq "every region valid" 1024 "$(valid_count vol)"
expect_eq "volume equals the source" "$($DD if="$SRC" bs=1M iflag=direct status=none | sha256sum)" \
	"$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum)"
check "remove" dmsetup remove vol m d lw
$DD if=/dev/zero of=/tmp/base.img bs=1M count=66 status=none
check "replay: valid never ahead of data" dcctest logcheck --log "$LOG" --base /tmp/base.img \
	--source "$SRC" --data-sectors $D --meta-offset $D
cat /tmp/check.out
finish
