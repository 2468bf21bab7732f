#!/usr/bin/env bash
# Mutation testing of the security-critical code (issue 11 §4), one file at a time with only
# the tests that exercise it, so each run fits a small machine. Needs cargo-mutants
# (`cargo install cargo-mutants --locked`). Settings: .cargo/mutants.toml.
#
#   benches/mutants.sh            # every file below, in order
#   benches/mutants.sh jwt        # one of: jwt refresh loopback loopback_rest client_auth
#                                 #   secret session store store_file mock_token flow (exchange,
#                                 #   id_token, client_credentials and password in flow/)
#                                 #   auth_code device keyring keyring_off
#   benches/mutants.sh jwt --list # extra arguments go to cargo mutants (before the `--`)
#
# The tree is copied (never mutated in place); CARGO_TARGET_DIR points at target/mutants in
# this tree, so every copy reuses the dependencies built there, and builds without debug info
# (a third faster to build and link per mutant). Results: mutants.out/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/mutants}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-0}"
# The copies build into this tree's target/: a file edited here during a run is older than
# that build and cargo would call the crate fresh. Touching one file on exit makes it rebuild.
trap 'touch src/lib.rs tests/it/main.rs' EXIT

run() { # name file cargo-test-args...
  local name=$1 file=$2
  shift 2
  local args=() test=()
  while (($#)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
  (($#)) && shift
  test=("$@")
  mkdir -p mutants.out
  cargo mutants --no-shuffle -j 1 --file "$file" --output "mutants.out/$name" \
    "${args[@]}" "${EXTRA[@]}" -- "${test[@]}"
}

# The security checks of jwt.rs (exit codes, message text and the list of algorithms are not).
JWT_RE='(replace|in) (parse_header|key_fits|rsa_bits|select_key|decoding_key|verify_signature|verify_id_token)\b'
# The listener's checks: Host, path, state, RFC 9207 iss, code present, unambiguous query.
LOOPBACK_RE='(delete !|replace && with \|\||replace != with ==) in Handler::handle$'
LOOPBACK_RE+='|(delete !|delete match arm \(None, true\)|replace match guard iss[^,]* with false|replace != with ==) in Handler::callback$'
LOOPBACK_RE+='|replace parse_callback_query -> |delete match arm "(code|state|iss)" in parse_callback_query'

# The store's file-system defences: private modes, no symlinks followed, ownership, atomic
# replacement, locking.
STORE_FILE_RE='in (read_private_file|open_no_follow|not_followed|private_options|FileStore::ensure_dir|write_atomic|create_temp_file|same_file|sync_dir|FileStore::lock|is_stem)\b'
# The mock's token endpoint refusing what a real provider refuses (wrong verifier, reused or
# foreign code, wrong redirect_uri, rotated refresh token, wrong client, wrong password, used or
# denied device code); not the device polling arithmetic or scope bookkeeping.
MOCK_TOKEN_RE='in (valid_verifier|exchange_code|refresh|client_credentials|password|token_inner)$'
MOCK_TOKEN_RE+='|(replace != with ==|delete match arm .*) in poll_device$'

want=${1:-all}
(($#)) && shift
EXTRA=("$@")

# name file [cargo-mutants args] -- cargo test args (targets, then -- libtest filters)
case_jwt() { run jwt src/jwt.rs --re "$JWT_RE" -- --lib --test it -- jwt:: id_token:: verify::; }
case_refresh() { run refresh src/flow/refresh.rs -- --lib --test it -- refresh; }
case_loopback() { run loopback src/loopback.rs --re "$LOOPBACK_RE" -- --lib --test it -- loopback:: id_token:: \
  harden::fixed_paths harden::pasted_url harden::second_request harden::start_url harden::a_flood \
  login::hostile login::wrong_state login::error_callback login::callback_page login::localhost_redirect; }
case_client_auth() { run client_auth src/flow/client_auth.rs -- --lib --test it -- client_auth:: grants::; }
case_secret() { run secret src/secret.rs -- --lib -- secret::; }
case_session() { run session src/session.rs -- --lib --test it -- session sessions:: grants:: id_token:: \
  cli_surface:: ux:: login::; }
case_store() { run store src/store/mod.rs -- --lib --test it -- store sessions:: store_; }
case_store_file() { run store_file src/store/file.rs --re "$STORE_FILE_RE" -- --lib --test it -- store sessions:: \
  store_; }
case_flow() { run flow src/flow/exchange.rs --file src/flow/id_token.rs --file src/flow/client_credentials.rs \
  --file src/flow/password.rs -- --lib --test it -- flow:: grants:: id_token:: login:: mock_password:: \
  cli_surface::; }
case_auth_code() { run auth_code src/flow/auth_code.rs -- --lib --test it -- flow:: login:: id_token:: harden:: ux:: \
  cli_surface::demo; }
case_device() { run device src/flow/device.rs -- --lib --test it -- device offline_access; }
# Everything in loopback.rs outside LOOPBACK_RE: binding, the start URL, the pending page, the
# stray-request warnings and the response builders.
case_loopback_rest() { run loopback_rest src/loopback.rs --exclude-re "$LOOPBACK_RE" -- --lib --test it -- \
  loopback:: harden:: login:: id_token:: pages:: browser::; }
case_keyring() { run keyring src/store/keyring.rs -- --lib --test it -- keyring; }
# The keychain stand-in of the build without the `keyring` feature, which the default build
# never compiles: its impl block's lines, mutated in that build (.ci/steps features).
case_keyring_off() {
  local lines
  lines=$(awk '/^#\[cfg\(not\(feature = "keyring"\)\)\]$/ { off = 1; next }
    off && /^impl KeyringBackend for OsKeyring/ { on = 1 }
    on { print NR } on && /^}$/ { exit }' src/store/keyring.rs | paste -sd'|')
  run keyring_off src/store/keyring.rs --no-default-features --re "keyring\.rs:($lines):" -- --lib -- \
    store::keyring
}
case_mock_token() { run mock_token src/mock/endpoints/token.rs --re "$MOCK_TOKEN_RE" -- --lib --test it -- mock:: \
  mock_tenant:: mock_grants:: mock_faults:: mock_pkjwt:: mock_password::; }

names=(jwt refresh loopback loopback_rest client_auth secret session store store_file mock_token flow auth_code
  device keyring keyring_off)
if [[ $want == all ]]; then
  for n in "${names[@]}"; do "case_$n"; done
elif [[ " ${names[*]} " == *" $want "* ]]; then
  "case_$want"
else
  (IFS='|'; echo "usage: $0 [all|${names[*]}] [cargo-mutants args]" >&2)
  exit 2
fi
