//! One module per console resource.

pub mod access;
pub mod connect;
pub mod connectors;
pub mod embed;
pub mod integrations;
pub mod login;
pub mod not_found;
pub mod runs;
pub mod settings;
pub mod tenants;
pub mod users;
