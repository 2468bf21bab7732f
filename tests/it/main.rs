//! Integration tests, one binary: the real `authcli` binary against `authcli mock-tenant` on
//! 127.0.0.1, the mock tenant itself, and the session store.

mod browser;
mod deps;
mod login;
#[cfg(unix)] // stops the mock with signals (kill -TERM / -INT)
mod mock_binary;
mod mock_faults;
mod mock_grants;
mod mock_http;
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
