//! The mock tenant's request parsing: query, form and JSON bodies, Authorization (Basic
//! credentials, bearer tokens), the Host check, user codes and fault specs. The input is
//! split on NUL bytes into content type, Authorization/Host header, query and body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == 0);
    let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
    let content_type = text(parts.next());
    let header = text(parts.next());
    let query = text(parts.next());
    let body = parts.next().unwrap_or_default();
    authcli::mock::fuzz_request(&content_type, &header, &query, body);
});
