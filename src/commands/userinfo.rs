//! `authcli userinfo`: the provider's userinfo answer for the session's access token.

use serde_json::Value;

use super::error::Error;
use crate::cli::UserinfoArgs;
use crate::http::HttpClient;
use crate::session::{self};
use crate::store::Session;
use crate::{discovery, output};

use super::{print, runtime, selected_session, wants_json};

/// `authcli userinfo`.
pub fn userinfo(args: &UserinfoArgs) -> Result<u8, Error> {
    let (session, profile) = selected_session(&args.session, 10, false)?;
    let provider = session::provider_for(&session, &args.session.provider, &profile)?;
    let fetch = |session: &Session| {
        runtime()?.block_on(async {
            let http = HttpClient::for_provider(&provider)?;
            let endpoints = discovery::resolve(&http, &provider).await?;
            let url =
                endpoints
                    .userinfo
                    .ok_or(crate::discovery::DiscoveryError::MissingEndpoint {
                        what: "userinfo endpoint",
                        flag: "--userinfo-url",
                    })?;
            Ok::<Value, Error>(
                http.get_json_bearer("userinfo endpoint", &url, &session.access_token)
                    .await?,
            )
        })
    };
    let info = match fetch(&session) {
        // Revoked or rotated out early: one refresh, one retry, never a loop.
        Err(Error::Http(e))
            if e.oauth_error() == Some("invalid_token") && session.refresh_token.is_some() =>
        {
            output::step("the access token was refused: refreshing once and retrying");
            let (fresh, _) = selected_session(&args.session, 0, true)?;
            fetch(&fresh)?
        }
        other => other?,
    };
    if wants_json(args.output) {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&info).unwrap_or_default()
        ))?;
    } else if let Value::Object(map) = &info {
        let mut text = String::new();
        for (k, v) in map {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            text.push_str(&format!("{k:<16} {}\n", output::sanitize(&v)));
        }
        print(&text)?;
    }
    Ok(0)
}
