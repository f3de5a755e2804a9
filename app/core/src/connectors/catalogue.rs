//! The catalogue: connector definitions for widely used systems, shipped inside the
//! binary (`connectors/catalogue/*.yaml`), each written from its provider's public
//! documentation of its endpoints, scopes and registration. An operator enables one
//! by naming it in `HUB_CATALOGUE` and setting the variables it names; an admin, on
//! the Connectors page with the app's client id and secret.

use crate::domain::connector::Connector;

/// Each definition by connector name, in name order.
macro_rules! catalogue {
    ($($name:literal),* $(,)?) => {
        const DEFINITIONS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../../connectors/catalogue/", $name, ".yaml")))),*
        ];
    };
}

catalogue!(
    "airtable",
    "asana",
    "atlassian",
    "box",
    "calendly",
    "docusign",
    "dropbox",
    "freshbooks",
    "freshdesk",
    "github",
    "gitlab",
    "google",
    "hubspot",
    "intercom",
    "linear",
    "linkedin",
    "mailchimp",
    "microsoft",
    "monday",
    "notion",
    "pipedrive",
    "postgres",
    "quickbooks",
    "salesforce",
    "sendgrid",
    "sftp",
    "shopify",
    "slack",
    "square",
    "stripe",
    "twilio",
    "typeform",
    "xero",
    "zendesk",
    "zoho",
    "zoom",
);

/// Every definition of the catalogue: its name and text.
pub fn all() -> &'static [(&'static str, &'static str)] {
    DEFINITIONS
}

/// The text of the catalogue's definition of `name`.
pub fn definition(name: &str) -> Option<&'static str> {
    DEFINITIONS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The catalogue's definition of `name`, parsed (no environment).
pub fn connector(name: &str) -> Option<Connector> {
    parsed().iter().find(|(c, _)| c.name == name).map(|(c, _)| c.clone())
}

/// The catalogue's definitions, parsed once (no environment: variables are listed as
/// missing), sorted by category and name.
pub fn parsed() -> &'static [(Connector, Vec<String>)] {
    static PARSED: std::sync::OnceLock<Vec<(Connector, Vec<String>)>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        let mut all: Vec<(Connector, Vec<String>)> =
            DEFINITIONS.iter().filter_map(|(_, text)| super::parse(text, |_| None).ok()).collect();
        all.sort_by(|(a, _), (b, _)| {
            (&a.category, a.display_name.to_lowercase()).cmp(&(&b.category, b.display_name.to_lowercase()))
        });
        all
    })
}
