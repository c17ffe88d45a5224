#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The fault-injecting TCP proxy of the OTA end-to-end tests (start_proxy in
# tests/lib/peers.sh), checked against nghttpd: a connection cut at the
# configured byte count, the next passed through whole, the cut logged.
set -uo pipefail
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
scratch

mkdir -p "$T/www"
head -c 300000 /dev/urandom >"$T/www/blob"
UP=$(free_port)
start_nghttpd "$T/www" "$UP"
P=$(free_port)
start_proxy "$UP" "$P" "cut:0:50000"
curl -s --http2-prior-knowledge -o "$T/a" "http://127.0.0.1:$P/blob"
got=$(stat -c %s "$T/a" 2>/dev/null || echo 0)
expect_lt "proxy: first connection cut short" "$got" 50000
curl -s --http2-prior-knowledge -o "$T/b" "http://127.0.0.1:$P/blob"
if cmp -s "$T/b" "$T/www/blob"; then ok "proxy: second connection passes through"; else
    ko "proxy: second connection differs"
fi
expect_contains "proxy: log counts the cut" "$T/proxy-$P.log" "0 50000 cut"
finish
