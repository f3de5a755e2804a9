//! Integration tests of the backend against a real SQLite database.

mod accounts;
mod auth;
mod builder;
mod db;
mod engine;
mod form;
mod manifest;
mod sandbox;

use std::sync::{Arc, OnceLock};

use hub_core::engine::sandbox::{Policy, Sandbox};

/// The real sandbox, with this crate's helper executable, probed once. A machine
/// where it cannot be built fails the tests that need it, with the reason.
pub fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            let s = Sandbox::probe(Policy::new(env!("CARGO_BIN_EXE_sandbox-helper").into()));
            assert!(s.unavailable().is_none(), "{}", s.summary());
            Arc::new(s)
        })
        .clone()
}
