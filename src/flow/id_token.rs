//! The id_token check of login and refresh (SPEC §4 step 7, OIDC Core §3.1.3.7).
//!
//! The key comes from the shared JWKS cache (`jwks`): a key the cached set does not list is
//! fetched once more, so a provider that rotates its signing key between publishing the JWKS
//! and signing still works (OIDF RP test "signing-key-rotation-just-before-signing").

use crate::config::ProviderConfig;
use crate::discovery::Endpoints;
use crate::flow::FlowError;
use crate::http::HttpClient;
use crate::jwt::{self, IdTokenExpectations};
use crate::secret::Nonce;
use crate::{jwks, output};

/// Verifies an id_token against the issuer's JWKS (cached; one refetch on an unknown key).
pub async fn verify_id_token(
    http: &HttpClient,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    id_token: &str,
    nonce: Option<&Nonce>,
) -> Result<serde_json::Value, FlowError> {
    let jwks_url = endpoints.jwks.as_ref().ok_or(FlowError::NoJwks)?;
    output::step(&format!("verifying the id_token against {jwks_url}"));
    let header = jwt::parse_header("id_token", id_token, false)?;
    let key = jwks::key_for(http, jwks_url, "id_token", &header).await?;
    let expect = IdTokenExpectations {
        issuer: &endpoints.issuer,
        client_id: &provider.client_id,
        nonce,
        leeway: jwt::DEFAULT_LEEWAY_SECS,
    };
    Ok(jwt::verify_id_token(id_token, &key, &expect)?)
}
