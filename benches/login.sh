#!/usr/bin/env bash
# Benchmark (SPEC §10): a headless `authcli login` against `authcli mock-tenant`, as a whole
# process, next to a minimal Python standard-library client doing the same flow, in the same
# hyperfine run. Prints both medians and the ratio (target: authcli ≥ 3× faster).
#
#   benches/login.sh            # needs cargo, python3, curl, hyperfine (apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 1; }
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

hyperfine --warmup 3 --runs "${RUNS:-40}" -N --export-json "$work/login.json" \
  -n authcli "$bin login --issuer $issuer --client-id authcli-test --audience $aud --browser-command 'curl -s -o /dev/null -L' --no-store -q -o token" \
  -n python-stdlib "python3 benches/py_login.py $issuer authcli-test $aud"

python3 - "$work/login.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, p = r["authcli"]["median"], r["python-stdlib"]["median"]
print(f"median authcli {a*1000:.1f} ms, python-stdlib {p*1000:.1f} ms: authcli is {p/a:.1f}x faster (target >= 3x)")
PY
