//! Tenants: the list (search, filters, order and page, all in the URL), the creation
//! flow (release and name; credentials; configuration; schedule, paused or running),
//! and the tenant's page with its settings and sync schedule.

mod detail;
mod list;
mod new;
mod schedule;
mod settings;
mod setup;

pub use detail::TenantPage;
pub use list::TenantsPage;
pub use new::NewTenantPage;
pub use schedule::SchedulePage;
pub use settings::SettingsPage;
pub use setup::{SetupPage, SetupRedirect, SetupSchedulePage};
