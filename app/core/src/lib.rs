//! The hub's logic: pure domain rules (built for the browser too) and, behind the
//! `backend` feature, the database, authentication and secret handling.

pub mod domain;

#[cfg(feature = "backend")]
pub mod auth;
#[cfg(feature = "backend")]
pub mod db;
#[cfg(feature = "backend")]
pub mod secrets;
