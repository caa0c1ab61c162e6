# The netlink channel: malformed and out-of-turn requests are refused with
# the right error and change nothing; one daemon per volume; stale
# registrations refused; dirty bits cleared only if not written since read;
# role and generation persisted.
# disks: data=64M meta=1M
. ./lib.sh

# 32 KiB regions: 2048 of them, more than one FILL_DONE may end.
check "format-meta" dccctl format-meta --data "$DATA" --meta "$META" --region-size 32k
check "create" dcc_create vol "$DATA" "$META"
dcctest nlprobe vol
[ $? = 0 ] && ok "netlink probe" || bad "netlink probe"
check "remove" dmsetup remove vol
check "role and generation persisted" sh -c "dccctl dump-meta --json $META | grep -q '\"generation\": 3, \"role\": \"owner\"'"
check "the dirty region 3 persisted" sh -c "dccctl dump-meta --ranges $META | grep -q 'dirty ranges   3$'"
finish
