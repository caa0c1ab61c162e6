# Only the peer's key is let in: a site that presents another CURVE key,
# and one that speaks plaintext, never pair and are named in the log; with
# its own key, read from a secret_key_file only root may read, it pairs.
# dccd tells a service manager when it is ready (sd_notify, as under
# systemd's Type=notify), and SIGHUP reloads what can change while it runs.
# sites: 2
# disks: data=16M meta=1M
# timeout: 300
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-00000000000e
dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META"
logged() { grep -qF -- "$1" /tmp/dccd.log; }

if [ "$SITE" = a ]; then
	dccd_config
	dcctest notifylisten /run/notify.sock --seconds 600 >/tmp/notify.out &
	listener=$!
	wait_until 5 test -S /run/notify.sock
	export NOTIFY_SOCKET=/run/notify.sock
	start_dccd
	unset NOTIFY_SOCKET
	check "dccd says READY=1 once its control socket answers" wait_until 20 grep -q "^READY=1 STATUS=1 volumes" /tmp/notify.out
	dccctl status vol >/dev/null || bad "not ready when it said so"
	barrier wrong-key
	refuse "a peer with another key does not pair" dccctl wait vol paired --timeout 8
	check "... and the log names it" wait_until 10 logged "refused a CURVE connection from 10.99.0.2: key not allowed"
	barrier wrong-key-checked
	barrier plaintext
	refuse "a plaintext peer does not pair" dccctl wait vol paired --timeout 8
	check "... and the log says so" wait_until 10 logged "the other side does not use CURVE"
	barrier plaintext-checked
	barrier right-key
	check "the peer with its own key pairs" dccctl wait vol paired --timeout 60
	grep -a "refused" /tmp/dccd.log | head -n 5
	# SIGHUP: the rate is taken at once, a change that needs a restart is
	# named, a broken file changes nothing; dccd runs on through all three.
	echo 'replication_rate = "2M"' >>/etc/dcc/dccd.toml
	kill -HUP "$DCCD"
	check "SIGHUP: the new rate is taken" wait_until 10 logged "SIGHUP: replication_rate: 67108864 -> 2097152 bytes/s"
	check "... between RELOADING=1 and READY=1" wait_until 10 awk \
		'/^RELOADING=1/ { r = 1 } /^READY=1/ && r { ok = 1 } END { exit !ok }' /tmp/notify.out
	echo 'lease_ms = 9000' >>/etc/dcc/dccd.toml
	kill -HUP "$DCCD"
	check "SIGHUP: what needs a restart is named" wait_until 10 logged "SIGHUP: changed, taken at the next start of dccd: lease_ms"
	echo 'this is not TOML' >>/etc/dcc/dccd.toml
	kill -HUP "$DCCD"
	check "SIGHUP: a broken file changes nothing, and says why" wait_until 10 \
		logged "SIGHUP: the configuration is not taken, nothing changed: /etc/dcc/dccd.toml:"
	check "dccd runs on" kill -0 "$DCCD"
	check "... and the volume stays paired" dccctl wait vol paired --timeout 10
else
	# A key pair of its own that A does not know.
	dccd_config
	grep -v '^public_key\|^secret_key' /etc/dcc/dccd.toml >/tmp/c
	dccd keygen >>/tmp/c
	cp /tmp/c /etc/dcc/dccd.toml
	check "dccd --check takes it" dccd --check --config /etc/dcc/dccd.toml
	# A public key that is not its secret key's would only show as
	# handshakes refused: dccd says so before it starts.
	sed "s|^public_key = .*|public_key = \"$KEY_PUB_w\"|" /tmp/c >/tmp/c2
	refuse_saying "dccd --check: a key pair that is none" "is not the public key of 'secret_key'" \
		dccd --check --config /tmp/c2
	refuse_saying "dccd: the same, at start" "is not the public key of 'secret_key'" dccd --config /tmp/c2
	start_dccd
	barrier wrong-key
	refuse "with another key: not paired here either" dccctl wait vol paired --timeout 8
	barrier wrong-key-checked
	stop_dccd
	# No CURVE at all.
	dccd_config 'insecure = true' 'insecure_network = true'
	start_dccd
	barrier plaintext
	refuse "plaintext: not paired here either" dccctl wait vol paired --timeout 8
	barrier plaintext-checked
	stop_dccd
	# Its own key again, in a file of its own: only its owner may read it.
	dccd_config
	sed -n 's/^secret_key = "\(.*\)"$/\1/p' /etc/dcc/dccd.toml >/etc/dcc/dccd.key
	grep -v '^secret_key' /etc/dcc/dccd.toml >/tmp/c
	echo 'secret_key_file = "/etc/dcc/dccd.key"' >>/tmp/c
	cp /tmp/c /etc/dcc/dccd.toml
	chmod 644 /etc/dcc/dccd.key
	refuse_saying "a key file others may read is refused" \
		"/etc/dcc/dccd.key may be read or written by others (mode 0644): chmod 600 /etc/dcc/dccd.key" \
		dccd --check --config /etc/dcc/dccd.toml
	chmod 600 /etc/dcc/dccd.key
	check "... and taken once only root may" dccd --check --config /etc/dcc/dccd.toml
	start_dccd
	barrier right-key
	check "its own key: paired" dccctl wait vol paired --timeout 60
fi
barrier done
grep -aE "link|paired|refused|warning|SIGHUP" /tmp/dccd.log | tail -n 20
stop_dccd
if [ "$SITE" = a ]; then
	check "STOPPING=1 at SIGTERM" grep -q "^STOPPING=1" /tmp/notify.out
	kill "$listener" 2>/dev/null
fi
check "remove" dmsetup remove vol
finish
