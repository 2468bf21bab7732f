#!/usr/bin/env python3
"""Reference for the login benchmark: the same headless PKCE login as `authcli login`, done by a
minimal Python standard-library client. Discovery, loopback listener on a random port,
authorize (following redirects like a browser), code exchange, id_token claim checks.

The standard library cannot verify an RS256 signature, so this client checks iss/aud/exp/nonce
only: the comparison favours Python (authcli also fetches the JWKS and verifies signatures).
"""
import base64
import hashlib
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    issuer, client_id, audience = sys.argv[1], sys.argv[2], sys.argv[3]
    meta = json.load(urllib.request.urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration"))
    assert meta["issuer"] == issuer, "issuer mismatch"
    verifier = b64url(secrets.token_bytes(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    state, nonce = b64url(secrets.token_bytes(16)), b64url(secrets.token_bytes(16))
    result = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            if q.get("state") == [state] and "code" in q:
                result["code"] = q["code"][0]
                self.send_response(200)
            else:
                self.send_response(400)
            self.end_headers()
            self.wfile.write(b"done")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    redirect_uri = f"http://127.0.0.1:{server.server_port}/callback"
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "openid profile email offline_access", "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256", "audience": audience,
    }
    urllib.request.urlopen(meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)).read()
    thread.join()
    form = urllib.parse.urlencode({
        "grant_type": "authorization_code", "client_id": client_id, "code": result["code"],
        "code_verifier": verifier, "redirect_uri": redirect_uri, "audience": audience,
    }).encode()
    tokens = json.load(urllib.request.urlopen(meta["token_endpoint"], data=form))
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == issuer and claims["aud"] == client_id
    assert claims["nonce"] == nonce and claims["exp"] > time.time()
    print(tokens["access_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
