# A whole-region write to a region the owner does not hold yet, failed by
# the data device, leaves the region as it was: not dirty, still to be
# filled from the peer.  A migration right after it must not take the
# region away from the site that holds it (H3: the failed write left it
# dirty and invalid, the handover shipped it, and the region was lost at
# both sites).
# sites: 2
# disks: data=64M meta=1M
# timeout: 300
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000010
R=1000 # far from where hydration starts
N=$(sectors "$DATA")
if [ "$SITE" = a ]; then
	# An empty owner on a data device that can be made to fail writes.
	check "flakey data" dmsetup create fd --table "0 $N flakey $DATA 0 1000 0"
	dccctl format-meta --data /dev/mapper/fd --meta "$META" --uuid $UUID --empty --role owner >/dev/null
	check "create" dcc_create vol /dev/mapper/fd "$META" 2 miss_timeout 20
else
	fill_random "$DATA" 64
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica >/dev/null
	check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
fi
# Hydration one region at a time over a slow link: region R stays missing at A.
dccd_config 'replication_window = 1'
check "200 ms each way" /usr/sbin/tc qdisc add dev eth0 root netem delay 200ms
start_dccd
check "paired" dccctl wait vol paired --timeout 60
flakey() { dmsetup suspend fd && dmsetup load fd --table "0 $N flakey $DATA 0 $1" && dmsetup resume fd; }
if [ "$SITE" = a ]; then
	want=$(exchange want x)
	check "data writes start failing" flakey "0 1 1 error_writes"
	refuse "a whole-region write to missing region $R fails" \
		$DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek=$R count=1 oflag=direct status=none
	check "data writes work again" flakey "1000 0"
	expect_eq "the failed write left nothing dirty" 0 "$(dirty_count vol)"
	check "move the volume to B" dccctl migrate vol --to b
	barrier moved
else
	want=$(region_sum "$DATA" $R)
	exchange want "$want" >/dev/null
	barrier moved
	check "B owns it" dccctl wait vol owner=b --timeout 30
	expect_eq "region $R still holds B's data" "$want" "$(region_sum /dev/mapper/vol $R)"
	# An admin's own suspend is left alone: a restarted dccd neither resumes
	# it nor takes it for a handover of its own that was cut short.
	check "an admin suspends the volume" dmsetup suspend vol
	stop_dccd
	dccd_config 'replication_window = 1' 'handover_timeout_ms = 2000'
	start_dccd
	sleep 4
	check "dccd left it suspended" sh -c "dmsetup info vol | grep -q SUSPENDED"
	check "and says why" grep -q "suspended by someone else" /tmp/dccd.log
	expect_eq "B is still owner 2" "owner 2" "$(role_gen vol)"
	check "the admin resumes it" dmsetup resume vol
fi
barrier done
stop_dccd
check "remove" dmsetup remove vol
[ "$SITE" = a ] && check "remove flakey" dmsetup remove fd
finish
