//! The OpenAPI document of `/api/v2`, generated from the handlers' annotations.

use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{integrations, runs, tenants, ErrorBody, FieldErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(title = "Integration Hub API", version = "2.0.0",
        description = "Integrations, releases, tenants and runs of the hub. Every request carries an API key \
                       (Settings → API Access) in the X-API-Key header."),
    paths(
        integrations::list, integrations::get, integrations::releases, integrations::release,
        integrations::default_release, integrations::latest_release, integrations::build,
        tenants::list, tenants::get, tenants::create, tenants::update, tenants::archive,
        tenants::metadata, tenants::patch_metadata,
        runs::sync, runs::trigger_status, runs::list, runs::get, runs::log, runs::preview,
    ),
    components(schemas(ErrorBody, FieldErrorBody)),
    modifiers(&KeyScheme),
    tags(
        (name = "integrations", description = "Integrations and their releases"),
        (name = "tenants", description = "Tenants: one customer's installed integration"),
        (name = "runs", description = "Syncs on demand, runs and their logs"),
        (name = "schedules", description = "Cron schedule previews"),
    )
)]
pub struct ApiDoc;

struct KeyScheme;

impl Modify for KeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        // Every change may meet a read-only key.
        let forbidden = utoipa::openapi::ResponseBuilder::new()
            .description("The API key is read only")
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
                if op.security.is_some() {
                    op.responses.responses.entry("403".to_owned()).or_insert_with(|| forbidden.clone().into());
                }
            }
        }
    }
}

/// The document as JSON.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /api/v2/openapi.json`: public, so tools can read it without a key.
pub async fn document() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], json())
}
