//! The hub server: configuration, start-up, and the HTTP router.

pub mod cli;
pub mod config;
pub mod csrf;
pub mod form_errors;
pub mod rest;
pub mod router;
pub mod startup;
