//! The server over HTTP, in-process, on a fresh data directory per test; and the
//! binary's start-up failures.

mod api;
mod cli;
mod http;
mod marketplace;
mod oauth;
mod partners;
mod samples;
mod startup;
mod tenants;
