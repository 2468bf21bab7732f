//! The loopback listener's callback query parser (`code`, `state`, `error`, `iss`, duplicates).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = authcli::loopback::fuzz_callback_query(query);
    }
});
