//! Integrations: the list, the form (new and edit), the detail page with its releases,
//! and a release's page with its build log.

mod detail;
mod form;
mod list;
mod release;

pub use detail::IntegrationPage;
pub use form::{EditIntegrationPage, NewIntegrationPage};
pub use list::IntegrationsPage;
pub use release::ReleasePage;
