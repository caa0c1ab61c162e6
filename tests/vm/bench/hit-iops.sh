# Hit-path IOPS of dcc against dm-linear on the same device in the same VM:
# 4 KiB random reads and writes, O_DIRECT, after every region was written
# once (the steady state: each region valid and dirty).  Rounds alternate
# linear and dcc so drift in the emulator hits both alike.
# disks: data=512M meta=1M
# timeout: 900
# memory: 1536
. ./lib.sh

load_extra brd rd_nr=1 rd_size=524288 || bad "brd"
ROUNDS=${DCC_ROUNDS:-3}
SECS=${DCC_SECS:-8}

iops() { # DEV RW
	fio --name=b --filename="$1" --rw="$2" --bs=4k --ioengine=libaio --iodepth=16 --direct=1 \
		--time_based --runtime=$SECS --ramp_time=1 --size=512M --randrepeat=0 \
		--output-format=terse --terse-version=3 --eta=never 2>/dev/null |
		awk -F';' -v rw="$2" '{print (rw == "randread") ? $8 : $49}'
}

echo "BENCH device workload linear dcc ratio"
for dev in "$DATA" /dev/ram0; do
	N=$(sectors "$dev")
	dccctl format-meta --data "$dev" --meta "$META" --force >/dev/null
	$DD if=/dev/zero of="$dev" bs=1M count=512 oflag=direct status=none
	dmsetup create lin --table "0 $N linear $dev 0"
	dcc_create vol "$dev" "$META"
	# Make every region dirty once, as a long-running volume is.
	$DD if=/dev/zero of=/dev/mapper/vol bs=1M count=512 oflag=direct status=none
	for rw in randread randwrite; do
		l=0 d=0 i=0
		while [ $i -lt $ROUNDS ]; do
			l=$((l + $(iops /dev/mapper/lin $rw)))
			d=$((d + $(iops /dev/mapper/vol $rw)))
			i=$((i + 1))
		done
		echo "BENCH $(basename $dev) $rw $((l / ROUNDS)) $((d / ROUNDS)) $(awk -v a=$d -v b=$l 'BEGIN{printf "%.3f", a / b}')"
	done
	expect_eq "no misses in the benchmark" 0 "$(misses_of vol)"
	dmsetup remove vol lin
done
finish
