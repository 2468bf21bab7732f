//! The reference for `benches/token.sh`: a trivial Rust binary built with the same profile as
//! authcli, so the benchmark compares authcli's cache hit with bare process start-up.

fn main() {
    println!("hello");
}
