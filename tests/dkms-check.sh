#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the module with DKMS, from dkms.conf, against the headers of both
# Debian 12 kernel lines (in isolated DKMS trees: nothing is installed).
source "$(dirname "$0")/vm/common.sh"

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
ok=0 failed=0
for rel in $(resolve_kernels); do
	prepare_kernel "$rel"
	t="$VMOUT/dkms-$rel"
	rm -rf "$t"
	mkdir -p "$t/src/dcc-$version" "$t/tree"
	cp -r "$REPO/Kbuild" "$REPO/dkms.conf" "$REPO/kernel" "$REPO/include" "$t/src/dcc-$version/"
	args=(-m dcc -v "$version" --sourcetree "$t/src" --dkmstree "$t/tree")
	if dkms add "${args[@]}" >"$t/log" 2>&1 &&
		dkms build "${args[@]}" -k "$rel" --kernelsourcedir "$(kernel_build_dir "$rel")" >>"$t/log" 2>&1; then
		ko=$(find "$t/tree" -name 'dm-dcc.ko*' | head -n1)
		magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
		if [ "$magic" = "$rel" ]; then
			echo "PASS dkms build dcc/$version for $rel"
			ok=$((ok + 1))
			continue
		fi
		echo "FAIL dkms build for $rel: module vermagic '$magic'"
	else
		echo "FAIL dkms build for $rel"
		tail -n 20 "$t/log"
	fi
	failed=$((failed + 1))
done
echo "$ok passed, $failed failed"
((failed == 0))
