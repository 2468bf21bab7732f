//! Unverified JWT decoding (`authcli decode`, subjects of stored sessions).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = authcli::jwt::decode_unverified("token", token);
    }
});
