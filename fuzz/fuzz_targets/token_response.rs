//! Token and device endpoint answers: the body → JSON / OAuth error step (status from the
//! first byte), then the token response as the flows read it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let status = [200u16, 400, 401, 403, 429, 500, 302][usize::from(first) % 7];
    let Ok(body) = std::str::from_utf8(rest) else {
        return;
    };
    let url = url::Url::parse("https://tenant.example/oauth/token").unwrap();
    if let Ok(value) = authcli::http::parse_json_body("token endpoint", &url, status, body) {
        let _ = serde_json::from_value::<authcli::http::TokenResponse>(value);
    }
    let _ = serde_json::from_str::<authcli::http::TokenResponse>(body);
    let _ = serde_json::from_str::<authcli::http::OAuthError>(body);
});
