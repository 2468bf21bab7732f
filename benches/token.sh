#!/usr/bin/env bash
# Benchmark (SPEC §10): `authcli token` on a cache hit against a trivial Rust hello-world built
# with cargo's default release profile, timed interleaved: one loop runs hello, the glibc
# release build (`cargo build --release`, what `cargo install` gives) and the static musl build
# (what the Linux release archives carry) in turn, round after round, each spawned directly
# (benches/reference/interleave.rs). Sequential runs of one command, then the other (as with
# hyperfine), drift by ±20 % on a shared machine; alternating puts all three under the same
# drift. Prints each median with its spread and each build's ratio to hello (target ≤ 1.3×).
#
#   benches/token.sh            # needs cargo, curl, and musl-tools + the musl target:
#                               #   apt-get install musl-tools
#                               #   rustup target add x86_64-unknown-linux-musl
#   ROUNDS=2000 benches/token.sh
#   AUTHCLI_GLIBC=path/authcli AUTHCLI_MUSL=path/authcli benches/token.sh   # no builds
set -euo pipefail
cd "$(dirname "$0")/.."
musl=x86_64-unknown-linux-musl
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
# AUTHCLI_GLIBC / AUTHCLI_MUSL: time binaries built elsewhere instead of building them here.
gnu_bin=${AUTHCLI_GLIBC:-$target_dir/release/authcli}
musl_bin=${AUTHCLI_MUSL:-$target_dir/$musl/release/authcli}
[ -n "${AUTHCLI_GLIBC:-}" ] || cargo build --locked --release --quiet --bin authcli
[ -n "${AUTHCLI_MUSL:-}" ] || cargo build --locked --release --quiet --bin authcli --target "$musl"
work=$(mktemp -d)
trap 'kill $mock 2>/dev/null || true; rm -rf "$work"' EXIT

# The reference: `cargo new` + `cargo build --release`, cargo's default release profile.
mkdir -p "$work/hello/src"
cp benches/reference/hello.rs "$work/hello/src/main.rs"
printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n' > "$work/hello/Cargo.toml"
cargo build --quiet --release --manifest-path "$work/hello/Cargo.toml" --target-dir "$work/hello/target"
hello=$work/hello/target/release/hello
rustc --edition 2021 -C opt-level=3 -o "$work/interleave" benches/reference/interleave.rs

"$gnu_bin" mock-tenant --port 0 > "$work/issuer" &
mock=$!
for _ in $(seq 100); do [ -s "$work/issuer" ] && break; sleep 0.05; done
issuer=$(head -n1 "$work/issuer")
export AUTHCLI_HOME="$work/home"
"$gnu_bin" login -q --issuer "$issuer" --client-id authcli-test --audience https://api.example.test \
  --browser-command 'curl -s -o /dev/null -L' -o token > /dev/null
# Both builds must really hit the cache (same session file) and print the same token.
t1=$("$gnu_bin" token) t2=$("$musl_bin" token)
test -n "$t1" && test "$t1" = "$t2" || { echo "the two builds do not serve the cached token" >&2; exit 1; }

echo "authcli token (cache hit) vs hello-world, interleaved, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
"$work/interleave" "${ROUNDS:-1000}" "${WARMUP:-50}" \
  "hello=$hello" "authcli-glibc=$gnu_bin,token" "authcli-musl=$musl_bin,token"
echo "target: authcli <= 1.3x hello-world (SPEC §10)"
