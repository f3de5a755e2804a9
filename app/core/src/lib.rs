//! The hub's logic: pure domain rules (built for the browser too) and, behind the
//! `backend` feature, the database, authentication and secret handling.

pub mod domain;

#[cfg(feature = "backend")]
pub mod accounts;
#[cfg(feature = "backend")]
pub mod auth;
#[cfg(feature = "backend")]
pub mod connectors;
#[cfg(feature = "backend")]
pub mod db;
#[cfg(feature = "backend")]
pub mod egress;
#[cfg(feature = "backend")]
pub mod engine;
#[cfg(feature = "backend")]
pub mod mail;
#[cfg(feature = "backend")]
pub mod oauth;
#[cfg(feature = "backend")]
pub mod outbox;
#[cfg(feature = "backend")]
pub mod samples;
#[cfg(feature = "backend")]
pub mod secrets;
#[cfg(feature = "backend")]
pub mod service;
#[cfg(feature = "backend")]
pub mod worker;

#[cfg(feature = "backend")]
pub use db::Db;
