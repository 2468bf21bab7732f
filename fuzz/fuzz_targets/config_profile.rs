//! `config.toml` as `authcli` reads it: the file, then the default profile resolved into a
//! provider and a login configuration (issuer, URLs, params, ports, redirect, browser command).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn config_path() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let home = std::env::temp_dir().join(format!("authcli-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        std::env::set_var("AUTHCLI_HOME", &home);
        home.join("config.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = config_path();
    std::fs::write(path, data).unwrap();
    for (name, explicit) in [("default", false), ("work", true)] {
        if let Ok(profile) = authcli::config::load_profile(name, explicit) {
            let args = authcli::cli::LoginArgs::default();
            let _ = authcli::config::ProviderConfig::resolve(&args.provider, &profile);
            let _ = authcli::config::LoginConfig::resolve_with(&args, &profile);
        }
    }
});
