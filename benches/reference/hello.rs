//! The reference for `benches/token.sh`: a trivial Rust binary, built by the script as a fresh
//! cargo package with cargo's default release profile (SPEC §10), so the benchmark compares
//! authcli's cache hit with bare process start-up.

fn main() {
    println!("hello");
}
