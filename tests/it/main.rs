//! Integration tests: the real `authcli` binary against `authcli mock-tenant` on 127.0.0.1.

mod browser;
mod deps;
mod login;
mod pages;
mod sessions;
mod support;
