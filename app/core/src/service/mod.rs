//! The hub's use cases, one call per thing a front door does: the console's server
//! functions, the embedded marketplace and the REST API each check who is calling, make
//! one call here, and map the answer. A change is validated, written and audited in one
//! transaction; a read returns what the caller's scope may see.
//!
//! Services may wake the background loops (`engine`, `mail`); those never call back in.

use crate::auth::SessionUser;
pub use crate::db::audit::Actor;
pub use crate::db::{Db, DbError};
use crate::domain::fair_use::describe_wait;
use crate::domain::integration::FieldError;
use crate::domain::user::OrgKind;

pub mod api_keys;
pub mod connections;
pub mod connectors;
pub mod embed;
pub mod integrations;
pub mod marketplace;
pub mod overview;
pub mod records;
pub mod repository;
pub mod retention;
pub mod runs;
pub mod tenant_patch;
pub mod tenants;
pub mod webhooks;

/// Which organizations' rows a caller may see: all of them (the company's users and
/// API keys) or one partner organization's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Organization(i64),
}

impl Scope {
    /// Company users see everything; a partner's users only their organization's.
    pub fn of(user: &SessionUser) -> Self {
        match user.organization_kind {
            OrgKind::Partner => Scope::Organization(user.organization_id),
            OrgKind::Company => Scope::All,
        }
    }

    /// The organization to filter by, if any.
    pub fn organization(self) -> Option<i64> {
        match self {
            Scope::All => None,
            Scope::Organization(o) => Some(o),
        }
    }

    pub fn allows(self, organization_id: i64) -> bool {
        self.organization().is_none_or(|o| o == organization_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// Several fields of one form broke their rules (a configuration form).
    #[error("{} fields are invalid", .0.len())]
    InvalidFields(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A fair-use limit was reached: the message says which, and when to try again.
    #[error("{message}")]
    Limited { message: String, retry_after_secs: i64 },
    #[error("database: {0}")]
    Db(#[from] DbError),
}

/// The fair-use refusal for `what` ("You asked for 60 syncs in the last hour"), with
/// the wait in words.
pub(crate) fn limited(what: String, wait: chrono::Duration) -> ServiceError {
    ServiceError::Limited {
        message: format!("{what}, the most this hub allows. Try again in {}.", describe_wait(wait)),
        retry_after_secs: wait.num_seconds().max(1),
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(FieldError { field: field.to_owned(), message: message.into() })
}

/// True when a write broke a UNIQUE constraint (a name or email already taken).
pub fn is_unique_violation(e: &DbError) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}
