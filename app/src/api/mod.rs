//! Server functions: public HTTP endpoints under `/api`. Each one checks who is
//! calling, calls one core function, and maps the result to a wire type.

pub mod access;
pub mod activity;
pub mod connect;
pub mod connectors;
pub mod embed;
pub mod integrations;
pub mod marketplace;
pub mod repository;
pub mod runs;
pub mod session;
pub mod settings;
pub mod tenants;
pub mod users;

#[cfg(feature = "ssr")]
pub mod ctx;
