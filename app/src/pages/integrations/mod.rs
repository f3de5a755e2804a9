//! Integrations: the list, the form (new and edit), the detail page with its releases,
//! a release's page with its build log, and the repository's access and builds on push.

mod detail;
mod form;
mod list;
mod release;
mod repository;

pub use detail::IntegrationPage;
pub use form::{EditIntegrationPage, NewIntegrationPage};
pub use list::IntegrationsPage;
pub use release::ReleasePage;
pub use repository::RepositoryPage;
