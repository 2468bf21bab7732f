//! The one way to the token endpoint: every grant, refresh included, ends here.
//!
//! It adds what every token request shares (client authentication, `audience`), records when
//! the answer arrived (so `expires_at` does not drift by the request's duration), and verifies
//! an id_token before anything is returned: a grant file only says which parameters it sends.

use crate::config::ProviderConfig;
use crate::discovery::Endpoints;
use crate::flow::client_auth::Credential;
use crate::flow::FlowError;
use crate::flow::TokenSet;
use crate::http::{HttpClient, HttpError};
use crate::output;
use crate::secret::Nonce;

/// A client at one provider's token endpoint.
#[derive(Debug, Clone, Copy)]
pub struct TokenEndpoint<'a> {
    pub http: &'a HttpClient,
    pub provider: &'a ProviderConfig,
    pub endpoints: &'a Endpoints,
    pub credential: &'a Credential,
}

/// What differs between grants beyond their parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Expect<'a> {
    /// Send the configured `audience` (Auth0 wants it on code, password and M2M requests).
    pub audience: bool,
    /// The login's nonce, which the id_token must carry.
    pub nonce: Option<&'a Nonce>,
    /// A user login that asked for `offline_access`: say so when no refresh token came.
    pub refresh_token: bool,
}

impl TokenEndpoint<'_> {
    /// Sends one token request with `params` and returns verified tokens.
    pub async fn exchange(
        &self,
        params: &[(&str, &str)],
        expect: Expect<'_>,
    ) -> Result<TokenSet, FlowError> {
        let now = output::now_unix();
        let auth =
            self.credential
                .for_request(&self.provider.client_id, &self.endpoints.token, now)?;
        let mut form = params.to_vec();
        if expect.audience {
            if let Some(aud) = &self.provider.audience {
                form.push(("audience", aud));
            }
        }
        let response = self
            .http
            .token_request(
                &self.endpoints.token,
                &form,
                auth.as_http(),
                &self.provider.client_id,
            )
            .await?;
        if expect.refresh_token
            && response.refresh_token.is_none()
            && self.provider.scopes.iter().any(|s| s == "offline_access")
        {
            output::warn("no refresh token was issued although `offline_access` was requested: `authcli token` will need a new login when this token expires (Auth0: allow offline access on the API; some providers also need --param prompt=consent)");
        }
        let id_claims = match &response.id_token {
            Some(id_token) => Some(
                crate::flow::auth_code::verify_id_token(
                    self.http,
                    self.provider,
                    self.endpoints,
                    id_token.expose(),
                    expect.nonce,
                )
                .await?,
            ),
            None => None,
        };
        Ok(TokenSet::from_response(response, now, id_claims))
    }
}

/// The OAuth `error` code of a failed exchange, when the provider sent one.
pub fn oauth_error(err: &FlowError) -> Option<&str> {
    match err {
        FlowError::Http(e) => e.oauth_error(),
        _ => None,
    }
}

/// The provider's error response, when there was one.
pub fn http_error(err: &FlowError) -> Option<&HttpError> {
    match err {
        FlowError::Http(e) => Some(e),
        _ => None,
    }
}
