//! The reference for `benches/token.sh`: a trivial Rust binary, compiled by the script with the
//! release profile's settings, so the benchmark compares authcli's cache hit with bare start-up.

fn main() {
    println!("hello");
}
