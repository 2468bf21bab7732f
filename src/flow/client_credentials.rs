//! The client credentials grant: machine to machine, with the client's own secret or key.
//!
//! No user, no browser, no listener, no refresh token: a session made this way is renewed by
//! running the grant again with the same credential source (`flow::client_auth`).

use crate::flow::exchange::{Expect, TokenEndpoint};
use crate::flow::FlowError;
use crate::flow::TokenSet;

/// Obtains an access token for the configured `audience` and scopes.
pub async fn obtain(te: TokenEndpoint<'_>) -> Result<TokenSet, FlowError> {
    let scope = te.provider.scope_string();
    let mut params = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        params.push(("scope", scope.as_str()));
    }
    // No authorization request in this grant: the token request carries `--param` (RFC 8707
    // `resource`, Ory Hydra's `audience` is `--audience`), or it would be silently dropped.
    for (k, v) in &te.provider.extra_params {
        params.push((k.as_str(), v.as_str()));
    }
    te.exchange(
        &params,
        Expect {
            audience: true,
            ..Expect::default()
        },
    )
    .await
}
