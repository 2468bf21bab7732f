#!/usr/bin/env bash
# A CI smoke test against the mock tenant: start it, log in headlessly with curl as the
# "browser", and assert on the token. Copy it into your pipeline; see the README's CI section.
#
#   AUTHCLI=path/to/authcli examples/ci-smoke.sh
set -euo pipefail
authcli=${AUTHCLI:-authcli}
work=$(mktemp -d)
trap 'kill "$mock" 2>/dev/null || true; rm -rf "$work"' EXIT
export AUTHCLI_HOME="$work/home"

"$authcli" mock-tenant --port 0 --ready-file "$work/ready.json" > "$work/issuer" &
mock=$!
for _ in $(seq 100); do [ -s "$work/issuer" ] && break; sleep 0.05; done
issuer=$(head -n1 "$work/issuer")

token=$("$authcli" login --issuer "$issuer" --client-id authcli-test \
  --audience https://api.example.test --browser-command 'curl -fsS -o /dev/null -L' -o token)

# The access token is a JWT for the API, issued to the mock's default user.
payload=$(printf '%s' "$token" | cut -d. -f2 | tr '_-' '/+')
while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
claims=$(printf '%s' "$payload" | base64 -d)
case "$claims" in
  *'"sub":"auth0|alice"'*) ;;
  *) echo "unexpected token claims: $claims" >&2; exit 1 ;;
esac
case "$claims" in
  *'https://api.example.test'*) ;;
  *) echo "token is not for the API: $claims" >&2; exit 1 ;;
esac
# Scripts get the same token from the session store, without a request.
test "$("$authcli" token)" = "$token"
echo "ci-smoke: ok (logged in as auth0|alice against $issuer)"
