#!/usr/bin/env bash
# Benchmark (SPEC §10) of `authcli mock-tenant`, in one run:
#   - client_credentials (RS256) throughput vs the `oauth2-mock-server` npm package, same load
#     tool (wrk), same request shape, 2 connections, fixed duration; and vs the rate one core
#     signs RSA-2048 (`openssl speed rsa2048`), the physical ceiling;
#   - process start to first served request (target ≤ 50 ms) and idle RSS (≤ 15 MB).
#
#   benches/mock.sh     # needs cargo, node/npm, python3, wrk and openssl (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk node npm openssl python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install wrk nodejs npm openssl)" >&2; exit 1; }
done
DURATION=${DURATION:-10s}
cargo build --release --quiet --bin authcli
bin=$PWD/target/release/authcli
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# The reference server, from npm, pinned.
(cd "$work" && npm install --silent --no-audit --no-fund oauth2-mock-server@8 >/dev/null)
cat > "$work/ref.mjs" <<'JS'
import { OAuth2Server } from 'oauth2-mock-server';
const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');
console.log(server.issuer.url);
JS

"$bin" mock-tenant --port 0 > "$work/authcli.url" & pids+=($!)
(cd "$work" && exec node ref.mjs > "$work/ref.url") & pids+=($!)
for f in authcli.url ref.url; do
  for _ in $(seq 200); do [ -s "$work/$f" ] && break; sleep 0.05; done
done
authcli_url=$(head -n1 "$work/authcli.url"); ref_url=$(head -n1 "$work/ref.url")

cat > "$work/cc.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=authcli-m2m&client_secret=authcli-m2m-secret&audience=https%3A%2F%2Fapi.example.test"
LUA
# Both answer the request with a signed RS256 JWT (checked once before loading).
for target in "${authcli_url%/}/oauth/token" "${ref_url%/}/token"; do
  curl -sf -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    --data 'grant_type=client_credentials&client_id=authcli-m2m&client_secret=authcli-m2m-secret&audience=https%3A%2F%2Fapi.example.test' \
    "$target" | grep -q '"access_token":"ey' || { echo "no token from $target" >&2; exit 1; }
done
rate() { wrk -t1 -c2 -d"$DURATION" -s "$work/cc.lua" "$1" | awk '/Requests\/sec/ {print $2}'; }
authcli_rps=$(rate "${authcli_url%/}/oauth/token")
ref_rps=$(rate "${ref_url%/}/token")
sign_rps=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')

# Start-up and idle memory.
python3 - "$bin" "$authcli_rps" "$ref_rps" "$sign_rps" <<'PY'
import statistics, subprocess, sys, time, urllib.request
bin_, a, r, s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
starts = []
for _ in range(20):
    t0 = time.perf_counter()
    p = subprocess.Popen([bin_, "mock-tenant", "--port", "0"], stdout=subprocess.PIPE, text=True)
    url = p.stdout.readline().strip()
    urllib.request.urlopen(url + ".well-known/openid-configuration").read()
    starts.append((time.perf_counter() - t0) * 1000)
    time.sleep(1.0)
    rss = int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])
    p.terminate(); p.wait()
print(f"client_credentials RS256: authcli mock-tenant {a:.0f} req/s, oauth2-mock-server {r:.0f} req/s: {a/r:.1f}x (target >= 3x)")
print(f"one core signs {s:.0f} RSA-2048/s: authcli reaches {a/s:.2f}x of it (target >= 0.8x)")
print(f"start to first served request: median {statistics.median(starts):.1f} ms (target <= 50 ms); idle RSS {rss/1024:.1f} MB (target <= 15 MB)")
PY
