//! Links GCC's unwinder statically on Linux with glibc.
//!
//! Rust's standard library links the unwinder (panics, backtraces) from `libgcc_s.so.1`: one
//! more shared library for the dynamic loader to find, map and relocate, whose constructor then
//! probes the CPU with a dozen `cpuid` instructions, in every process, before `main`. That is
//! 13 % of a hello-world's start-up here, and `authcli token` is called once per `curl` in
//! scripts (SPEC §10: a cache hit within 1.3× of a hello-world; benches/token.sh).
//! `libgcc_eh.a`, the same unwinder as a static archive, ships with GCC beside `libgcc_s.so`;
//! named here, it comes before the standard library's `-lgcc_s` on the link line, so the
//! linker takes `_Unwind_*` from it and, linking `--as-needed`, drops `libgcc_s.so.1`. musl
//! builds are static already; macOS and Windows have their own unwinders.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-lib=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
