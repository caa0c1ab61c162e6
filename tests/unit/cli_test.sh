#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dccctl's help and errors, run as a user runs it (ctest passes the
# binary): every verb answers --help with its usage and exit 0, 'help
# VERB' says the same, what is not a verb is a usage error (exit 2), and
# with --json an error is an object on stdout.
dccctl=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
verbs=$("$dccctl" help | sed -n 's/^  \([a-z-]*\) .*/\1/p')
[ "$(echo "$verbs" | wc -w)" -ge 10 ] || bad "help lists only: $verbs"
for v in $verbs; do
	out=$("$dccctl" "$v" --help) || bad "$v --help: exit $?"
	echo "$out" | grep -q "^usage: dccctl $v" || bad "$v --help: $out"
	[ "$("$dccctl" help "$v")" = "$out" ] || bad "help $v differs from $v --help"
	"$dccctl" "$v" -h >/dev/null || bad "$v -h: exit $?"
done
"$dccctl" status --bogus >/dev/null 2>&1
[ $? = 2 ] || bad "an unknown option is not a usage error"
"$dccctl" help bogus >/dev/null 2>&1
[ $? = 2 ] || bad "help of no verb is not a usage error"
"$dccctl" bogus --help >/dev/null 2>&1
[ $? = 2 ] || bad "no verb with --help is not a usage error"
# With --json an error is an object on stdout too; without, stdout is empty.
out=$("$dccctl" wait --json 2>/dev/null)
rc=$?
[ $rc = 2 ] || bad "wait --json without arguments: exit $rc"
echo "$out" | grep -q '"code":"usage"' && echo "$out" | grep -q '"ok":false' &&
	echo "$out" | grep -q '"exit":2' || bad "usage error as JSON: $out"
out=$("$dccctl" dump-meta --json /nonexistent/meta 2>/dev/null)
rc=$?
[ $rc = 4 ] || bad "dump-meta of no file: exit $rc"
echo "$out" | grep -q '"code":"not-found"' || bad "not found as JSON: $out"
[ -z "$("$dccctl" dump-meta /nonexistent/meta 2>/dev/null)" ] || bad "an error without --json wrote to stdout"
# migrate's usage errors come before any request to dccd (exit 2, why).
usage_says() { # TEXT ARG...: dccctl ARG... is a usage error that says TEXT
	text=$1
	shift
	err=$("$dccctl" "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 2 ] || bad "dccctl $*: exit $rc, not 2"
	echo "$err" | grep -q "$text" || bad "dccctl $*: said '$err', not '$text'"
}
usage_says "one or more volumes, or --all" migrate --to b
usage_says "one or more volumes, or --all" migrate vm1 --all --to b
usage_says "needs --to SITE" migrate vm1 vm2
usage_says "invalid site name" migrate vm1 --to ""
usage_says "invalid site name" migrate --all --to "b c"
# The bash completion (libctl/dccctl.bash) offers what the verb table says.
complete_words() { # WORD...: what completing the last word offers
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dccctl; echo "${COMPREPLY[*]}"' \
		_ "$(dirname "$0")/../../libctl/dccctl.bash" "$@"
}
[ "$(complete_words "$dccctl" mi)" = migrate ] || bad "completion of mi: $(complete_words "$dccctl" mi)"
[ "$(complete_words "$dccctl" "")" = "$(echo $verbs)" ] || bad "completion of no verb: $(complete_words "$dccctl" "")"
[ "$(complete_words "$dccctl" migrate vm1 --)" = "--all --to --json --timeout" ] ||
	bad "completion of migrate's options: $(complete_words "$dccctl" migrate vm1 --)"
[ "$(complete_words "$dccctl" events --n)" = "--now" ] || bad "completion of events --n: $(complete_words "$dccctl" events --n)"
[ "$(complete_words "$dccctl" mode vm1 "")" = "sync async" ] || bad "completion of mode's mode"
[ "$(complete_words "$dccctl" format-meta --role "")" = "owner replica" ] || bad "completion of --role"
[ $fail = 0 ] && echo "dccctl help: $(echo "$verbs" | wc -w) verbs checked, and the completion"
exit $fail
