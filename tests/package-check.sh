#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages, as an admin builds and installs them:
#   1. dpkg-buildpackage builds dcc-dkms and dcc-utils from the tracked
#      files (nothing of build/ or tests/ gets in);
#   2. they hold exactly what `cmake --install` lays out, at the same paths
#      (debhelper fails the build on an installed file no package takes),
#      and dcc-dkms nothing but the module's sources;
#   3. the module, dccd, dccctl, the man pages and the packages carry the
#      version of VERSION;
#   4. DKMS builds the module from dcc-dkms's tree for both Debian 12
#      kernel lines (isolated DKMS trees: nothing is installed).
# Ends with "N passed, N failed".
source "$(dirname "$0")/vm/common.sh"

version=$(cat "$REPO/VERSION")
P="$OUT/packages"
ok=0 failed=0
pass() { echo "PASS $*"; ok=$((ok + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
files_of() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }

if build_debs "$P"; then
	pass "dpkg-buildpackage: $(cd "$P" && ls -- *.deb | tr '\n' ' ')"
else
	tail -n 30 "$P/build.log"
	fail "dpkg-buildpackage (log: $P/build.log)"
	echo "$ok passed, $failed failed"
	exit 1
fi
arch=$(dpkg --print-architecture)
dkms_deb="$P/dcc-dkms_${version}_all.deb"
utils_deb="$P/dcc-utils_${version}_$arch.deb"

src="/usr/src/dcc-$version"
expect_dkms=$(printf '%s\n' "$src/Kbuild" "$src/VERSION" "$src/dkms.conf" \
	"$src/include/uapi/linux/dm-dcc.h" $(cd "$REPO" && ls kernel/*.[ch] | sed "s|^|$src/|") \
	/usr/share/doc/dcc-dkms/changelog.gz /usr/share/doc/dcc-dkms/copyright | sort)
got=$(files_of "$dkms_deb")
if [ "$got" = "$expect_dkms" ]; then
	pass "dcc-dkms holds the module's sources in $src and nothing else"
else
	fail "dcc-dkms's files: $(diff <(echo "$expect_dkms") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
fi
expect_utils=$(printf '%s\n' /usr/sbin/dccd /usr/sbin/dccctl \
	/lib/systemd/system/dccd.service /lib/systemd/system/dccd-witness.service \
	/lib/systemd/system/dcc-volumes.service /lib/systemd/system/dcc-metrics.service \
	/lib/systemd/system/dcc-metrics.timer /lib/udev/rules.d/56-dcc.rules /usr/lib/ocf/resource.d/dcc/volume /usr/share/man/man8/dccd.8.gz /usr/share/man/man8/dccctl.8.gz \
	/usr/share/man/man5/dccd.toml.5.gz /usr/share/man/man4/dm-dcc.4.gz \
	/usr/share/doc/dcc-utils/examples/dccd.toml.example /usr/share/bash-completion/completions/dccctl \
	/usr/share/doc/dcc-utils/changelog.gz /usr/share/doc/dcc-utils/copyright | sort)
got=$(files_of "$utils_deb")
if [ "$got" = "$expect_utils" ]; then
	pass "dcc-utils holds dccd, dccctl, the units, man pages, completion and example"
else
	fail "dcc-utils's files: $(diff <(echo "$expect_utils") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
fi
# What cmake --install laid out for the packages (debian/tmp): each file
# in one package, at the same path.
laid=$(cd "$P/dcc/debian/tmp" && find . -type f | sed 's/^\.//' | sort)
packaged=$( (files_of "$dkms_deb"; files_of "$utils_deb") | grep -v '^/usr/share/doc/dcc-[a-z]*/\(changelog\.gz\|copyright\)$' |
	sed -E 's/\.([458])\.gz$/.\1/' | sort)
if [ "$laid" = "$packaged" ]; then
	pass "the packages hold what cmake --install lays out, at the same paths"
else
	fail "cmake --install against the packages: $(diff <(echo "$laid") <(echo "$packaged") | grep '^[<>]' | tr '\n' ' ')"
fi

# Versions: the packages', the programs', the man pages'.
x="$P/utils"
dpkg-deb -x "$utils_deb" "$x"
dpkg-deb -x "$dkms_deb" "$P/dkms"
v_pkgs="$(dpkg-deb -f "$dkms_deb" Version) $(dpkg-deb -f "$utils_deb" Version)"
v_bins="$("$x/usr/sbin/dccd" --version) / $("$x/usr/sbin/dccctl" --version)"
v_man=$(zcat "$x/usr/share/man/man8/dccd.8.gz" | sed -n 's/^\.TH .*"dcc \([^"]*\)".*/\1/p')
if [ "$v_pkgs" = "$version $version" ] && [ "$v_bins" = "dccd $version / dccctl $version" ] &&
	[ "$v_man" = "$version" ]; then
	pass "packages, dccd, dccctl and man pages are version $version"
else
	fail "versions: packages '$v_pkgs', programs '$v_bins', man page '$v_man' (VERSION: $version)"
fi

# DKMS from the package's tree, as its postinst does it.
for rel in $(resolve_kernels); do
	prepare_kernel "$rel"
	t="$VMOUT/dkms-$rel"
	rm -rf "$t"
	mkdir -p "$t/src" "$t/tree"
	cp -r "$P/dkms$src" "$t/src/"
	args=(-m dcc -v "$version" --sourcetree "$t/src" --dkmstree "$t/tree")
	if dkms add "${args[@]}" >"$t/log" 2>&1 &&
		dkms build "${args[@]}" -k "$rel" --kernelsourcedir "$(kernel_build_dir "$rel")" >>"$t/log" 2>&1; then
		ko=$(find "$t/tree" -name 'dm-dcc.ko*' | head -n1)
		magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
		mver=$(modinfo -F version "$ko" 2>/dev/null)
		if [ "$magic" = "$rel" ] && [ "$mver" = "$version" ]; then
			pass "dkms build dcc/$version for $rel (module version $mver)"
			continue
		fi
		fail "dkms build for $rel: module vermagic '$magic', version '$mver'"
	else
		fail "dkms build for $rel"
		tail -n 20 "$t/log"
	fi
done
# BUILD_EXCLUSIVE_KERNEL: DKMS refuses a kernel outside the two lines
# (exit 77, its "not supported" status) before it looks for headers.
t="$VMOUT/dkms-exclusive"
rm -rf "$t"
mkdir -p "$t/src" "$t/tree"
cp -r "$P/dkms$src" "$t/src/"
args=(-m dcc -v "$version" --sourcetree "$t/src" --dkmstree "$t/tree")
rc=0
if dkms add "${args[@]}" >"$t/log" 2>&1; then
	dkms build "${args[@]}" -k 5.10.0-99-amd64 >>"$t/log" 2>&1 || rc=$?
else
	rc=add-failed
fi
if [ "$rc" = 77 ] && grep -q 'BUILD_EXCLUSIVE' "$t/log"; then
	pass "dkms refuses a kernel of another line (5.10.0-99-amd64: exit 77, BUILD_EXCLUSIVE)"
else
	fail "dkms build for 5.10.0-99-amd64: exit $rc, not refused by BUILD_EXCLUSIVE_KERNEL"
	tail -n 5 "$t/log"
fi
echo "$ok passed, $failed failed"
((failed == 0))
