//! The sandbox helper for this crate's tests and benchmarks. In production the hub's
//! own executable plays this part; see `hub_core::engine::sandbox::helper`.

fn main() {
    hub_core::engine::sandbox::helper::dispatch();
    eprintln!("usage: sandbox-helper __hub-sandbox-outer|__hub-sandbox-inner …");
    std::process::exit(2);
}
