//! Session files as `authcli token` reads them, and the per-profile `.current` pointer.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(session) = authcli::store::fuzz_decode(data) {
        let _ = session.valid_for(60, authcli::output::now_unix());
    }
    let _ = serde_json::from_slice::<authcli::store::SessionKey>(data);
});
