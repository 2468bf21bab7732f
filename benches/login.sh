#!/usr/bin/env bash
# Benchmark (SPEC §10): a headless `authcli login` against `authcli mock-tenant`, as a whole
# process, next to a minimal Python standard-library client doing the same flow, the two timed
# interleaved (alternating rounds). Prints both medians and authcli's ratio to Python (target:
# authcli ≥ 3× faster, a ratio ≤ 0.33).
#
#   benches/login.sh            # needs cargo, python3, curl
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/authcli
work=$(mktemp -d)
trap 'kill $mock 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" mock-tenant --port 0 --ready-file "$work/ready.json" > "$work/issuer" &
mock=$!
for _ in $(seq 100); do [ -s "$work/issuer" ] && break; sleep 0.05; done
issuer=$(head -n1 "$work/issuer")
aud=https://api.example.test
export AUTHCLI_HOME="$work/home"

rustc --edition 2021 -C opt-level=3 -o "$work/interleave" benches/reference/interleave.rs
echo "headless login, authcli vs a Python stdlib client, interleaved, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
# Both run in turn, round after round (benches/reference/interleave.rs): the ratio is what counts.
"$work/interleave" "${ROUNDS:-40}" "${WARMUP:-3}" \
  "python-stdlib=python3,benches/py_login.py,$issuer,authcli-test,$aud" \
  "authcli=$bin,login,--issuer,$issuer,--client-id,authcli-test,--audience,$aud,--browser-command,curl -s -o /dev/null -L,--no-store,-q,-o,token"
echo "target: authcli >= 3x faster than python-stdlib, i.e. a ratio <= 0.33 (SPEC §10)"
