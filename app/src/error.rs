//! The one error type every server function returns. Internal causes are logged on
//! the server and never reach the browser.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthorized,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    /// A value the user typed is wrong. `kept` carries the form's other non-secret
    /// values back, so a page without JavaScript can show them again.
    #[error("{message}")]
    Validation {
        field: String,
        message: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        kept: Vec<(String, String)>,
        /// Further broken fields of the same form, as (field, message).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        more: Vec<(String, String)>,
    },
    #[error("{0}")]
    Conflict(String),
    /// A fair-use limit was reached; the message says when to try again.
    #[error("{0}")]
    Limited(String),
    /// The marketplace token was refused; the reason is shown inside the frame.
    #[error("{0}")]
    TokenRefused(String),
    #[error("Something went wrong on the server. It has been logged; try again.")]
    Internal,
    /// The request itself could not be made or read (network, encoding).
    #[error("The request failed: {0}")]
    Request(String),
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { field: field.to_owned(), message: message.into(), kept: Vec::new(), more: Vec::new() }
    }

    /// The message for `field`, when this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Validation { field: f, message, .. } if f == field => Some(message.clone()),
            Self::Validation { more, .. } => more.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone()),
            _ => None,
        }
    }

    /// A value the form sent, kept for showing it again.
    pub fn kept(&self, name: &str) -> Option<String> {
        match self {
            Self::Validation { kept, .. } => kept.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Request(value.to_string())
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(value: ServerFnErrorErr) -> Self {
        Self::from_server_fn_error(value)
    }
}
