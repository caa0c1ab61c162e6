# Only the peer's key is let in: a site that presents another CURVE key,
# and one that speaks plaintext, never pair and are named in the log; with
# its own key it pairs.
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
	start_dccd
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
	dccd_config
	start_dccd
	barrier right-key
	check "its own key: paired" dccctl wait vol paired --timeout 60
fi
barrier done
grep -aE "link|paired|refused|warning" /tmp/dccd.log | tail -n 20
stop_dccd
check "remove" dmsetup remove vol
finish
