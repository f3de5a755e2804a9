//! Every page is its own route, loaded lazily: the browser fetches the code of the
//! page it shows (and of the pages it goes to) rather than the whole console's. The
//! server renders each page whole either way; the browser loads the page's code
//! before it hydrates it.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::pages::{access, connect, connectors, embed, integrations, login, runs, settings, tenants, users};

/// One lazily loaded route per page: `Name => view`, where the view is built only in
/// the route's own chunk of the browser's code.
macro_rules! lazy_pages {
    ($($route:ident => $view:expr;)*) => {$(
        #[doc = concat!("The lazily loaded route of `", stringify!($view), "`.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $view.into_any()
            }
        }
    )*};
}

lazy_pages! {
    Login => view! { <login::LoginPage/> };
    Invite => view! { <users::InvitePage/> };
    Connect => view! { <connect::ConnectPage/> };
    EmbedHome => view! { <embed::EmbedHomePage/> };
    EmbedListing => view! { <embed::EmbedListingPage form="full"/> };
    EmbedInstall => view! { <embed::EmbedListingPage form="install"/> };
    EmbedAuth => view! { <embed::EmbedListingPage form="auth"/> };
    EmbedApp => view! { <embed::EmbedAppPage/> };
    Integrations => view! { <integrations::IntegrationsPage/> };
    NewIntegration => view! { <integrations::NewIntegrationPage/> };
    Integration => view! { <integrations::IntegrationPage/> };
    EditIntegration => view! { <integrations::EditIntegrationPage/> };
    IntegrationRepository => view! { <integrations::RepositoryPage/> };
    Release => view! { <integrations::ReleasePage/> };
    Connectors => view! { <connectors::ConnectorsPage/> };
    NewConnector => view! { <connectors::NewConnectorPage/> };
    Connector => view! { <connectors::ConnectorPage/> };
    Tenants => view! { <tenants::TenantsPage/> };
    NewTenant => view! { <tenants::NewTenantPage/> };
    Tenant => view! { <tenants::TenantPage/> };
    TenantSettings => view! { <tenants::SettingsPage/> };
    TenantSchedule => view! { <tenants::SchedulePage/> };
    TenantSetupStart => view! { <tenants::SetupRedirect/> };
    TenantSetup => view! { <tenants::SetupPage/> };
    TenantSetupSchedule => view! { <tenants::SetupSchedulePage/> };
    Run => view! { <runs::RunPage/> };
    Activity => view! { <runs::ActivityPage/> };
    Audit => view! { <runs::AuditPage/> };
    Company => view! { <settings::CompanyPage/> };
    Users => view! { <users::UsersPage/> };
    NewUser => view! { <users::NewUserPage/> };
    Partners => view! { <users::PartnersPage/> };
    SentMail => view! { <users::SentMailPage/> };
    Account => view! { <users::AccountPage/> };
    Marketplace => view! { <settings::MarketplacePage/> };
    ApiAccess => view! { <access::ApiAccessPage/> };
    Notifications => view! { <access::NotificationsPage/> };
}
