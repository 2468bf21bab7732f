#!/usr/bin/env bash
# Benchmark (SPEC §10): `authcli token` on a cache hit next to a trivial Rust hello-world built
# with the same release profile, in the same hyperfine run. Prints both medians and the ratio
# (target: authcli ≤ 1.5× hello-world).
#
#   benches/token.sh            # needs cargo, curl, hyperfine (apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --quiet --bin authcli
bin=target/release/authcli
work=$(mktemp -d)
# The reference: hello-world compiled with the release profile's settings.
rustc --edition 2021 -C opt-level=3 -C lto=fat -C codegen-units=1 -C panic=abort -C strip=symbols \
  -o "$work/hello" benches/reference/hello.rs
trap 'kill $mock 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" mock-tenant --port 0 > "$work/issuer" &
mock=$!
for _ in $(seq 100); do [ -s "$work/issuer" ] && break; sleep 0.05; done
issuer=$(head -n1 "$work/issuer")
export AUTHCLI_HOME="$work/home"
"$bin" login -q --issuer "$issuer" --client-id authcli-test --audience https://api.example.test \
  --browser-command 'curl -s -o /dev/null -L' -o token > /dev/null
test "$("$bin" token)" != "" || { echo "no cached token" >&2; exit 1; }

hyperfine --warmup 50 --runs "${RUNS:-500}" -N --export-json "$work/token.json" \
  -n hello-world "$work/hello" \
  -n "authcli token" "$bin token"

python3 - "$work/token.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
h, t = r["hello-world"]["median"], r["authcli token"]["median"]
print(f"median hello-world {h*1e3:.3f} ms, authcli token {t*1e3:.3f} ms: ratio {t/h:.2f}x (target <= 1.5x)")
PY
