//! Integration tests, one binary: the real `authcli` binary against `authcli mock-tenant` on
//! 127.0.0.1, the mock tenant itself, and the session store.

mod browser;
mod cli_surface;
mod decode;
mod deps;
mod doctor;
mod grants;
mod harden;
mod id_token;
#[cfg(target_os = "linux")] // a real Secret Service on a private D-Bus
mod keyring_service;
mod login;
#[cfg(unix)] // stops the mock with signals (kill -TERM / -INT)
mod mock_binary;
mod mock_exposure;
mod mock_faults;
mod mock_grants;
mod mock_http;
mod mock_password;
mod mock_pkjwt;
mod mock_tenant;
mod pages;
mod sessions;
mod ship;
mod store_crash;
mod store_file;
#[cfg(target_os = "linux")] // the real keychain's failure path without a D-Bus session
mod store_keyring;
mod store_lock;
mod store_support;
mod support;
mod thirdparty_regressions;
mod tools;
mod ux;
mod verify;
