# Seeding from a local image: a volume whose data lives elsewhere
# (here: a local image) is mounted and used at once; missing regions are
# fetched on first touch while the rest is pulled in the background.
# disks: data=256M meta=1M src=256M
. ./lib.sh

say() { echo "seed: $*"; }
ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }

say "making the source: an ext4 file system with 40 files of 1 MiB"
/usr/sbin/mke2fs -q -t ext4 -F "$SRC" >/dev/null
mkdir -p /mnt/src /mnt/vol
mount -t ext4 "$SRC" /mnt/src
i=0
while [ $i -lt 40 ]; do
	$DD if=/dev/urandom of=/mnt/src/file$i bs=1M count=1 status=none
	i=$((i + 1))
done
(cd /mnt/src && sha256sum file* >/tmp/sums)
umount /mnt/src

say "dccctl format-meta --empty: this site holds nothing yet"
dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner
dcc_create vol "$DATA" "$META" || bad "create"
dccctl status vol
say "dccctl fill --hydrate: answer misses from the source, pull the rest behind them"
dccctl fill --source "$SRC" --hydrate --exit-when-done vol 2>/tmp/fill.log &
fill=$!
wait_until 20 registered vol
t0=$(ms)
check "mount at once" mount -t ext4 /dev/mapper/vol /mnt/vol
t1=$(ms)
say "mounted after $((t1 - t0)) ms; $(valid_count vol) of 4096 regions were here"
check "every file reads back intact while hydration runs" sh -c "cd /mnt/vol && sha256sum -c /tmp/sums"
t2=$(ms)
say "read 40 MiB of files after $((t2 - t0)) ms; status now:"
dccctl status vol
check "write a new file" sh -c "$DD if=/dev/urandom of=/mnt/vol/new bs=1M count=2 conv=fsync status=none"
wait $fill
t3=$(ms)
say "hydration finished after $((t3 - t0)) ms:"
dccctl status vol
umount /mnt/vol
expect_eq "every region valid" 4096 "$(valid_count vol)"
check "e2fsck clean" /usr/sbin/e2fsck -fn /dev/mapper/vol
check "remove" dmsetup remove vol
finish
