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
        integrations::default_release, integrations::latest_release, integrations::build, integrations::build_log,
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

/// The document as JSON: utoipa's, refined (see `refine`), made once.
pub fn json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        refine(&mut doc);
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned())
    })
}

/// A tenant's name, as `domain::tenant::check_name` takes it.
const TENANT_NAME: &str = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";

/// The shape of a cron expression: five fields, or a shortcut. Each field's values
/// (ranges, steps, names) are checked by the hub, and refused with 422 naming it.
const CRON_SHAPE: &str = "^\\s*(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+(\\s+\\S+){4})\\s*$";

/// A branch, tag or commit name, as `domain::integration::check_git_ref` takes it:
/// no `..`, space, control character or any of `~^:?*[\`; not starting with `-` or
/// `/`; not ending with `/`, `.` or `.lock`.
const GIT_REF: &str = "^(?!.*\\.\\.)(?![-/])(?!.*([/.]|\\.lock)$)[^\\s\\x00-\\x1f\\x7f-\\x9f~^:?*\\[\\\\]+$";

/// What each list may be sorted by, by operation.
const SORTS: [(&str, &[&str]); 4] = [
    ("listIntegrations", &integrations::INTEGRATION_SORT),
    ("listReleases", &integrations::RELEASE_SORT),
    ("listTenants", &tenants::TENANT_SORT),
    ("listTenantRuns", &runs::RUN_SORT),
];

/// Where a client finds the ids an operation needs, from another's answer (OpenAPI
/// links): (from operation, status, to operation, parameter, where).
const LINKS: [(&str, &str, &str, &str, &str); 26] = [
    ("listIntegrations", "200", "getIntegration", "id", "$response.body#/items/0/id"),
    ("listIntegrations", "200", "listReleases", "id", "$response.body#/items/0/id"),
    ("listIntegrations", "200", "getDefaultRelease", "id", "$response.body#/items/0/id"),
    ("listIntegrations", "200", "getLatestRelease", "id", "$response.body#/items/0/id"),
    ("listIntegrations", "200", "buildRelease", "id", "$response.body#/items/0/id"),
    ("buildRelease", "202", "getRelease", "id", "$request.path.id"),
    ("buildRelease", "202", "getRelease", "release_id", "$response.body#/release_id"),
    ("buildRelease", "202", "getBuildLog", "id", "$request.path.id"),
    ("buildRelease", "202", "getBuildLog", "release_id", "$response.body#/release_id"),
    ("listTenants", "200", "getTenant", "id", "$response.body#/items/0/id"),
    ("listTenants", "200", "listTenantRuns", "id", "$response.body#/items/0/id"),
    ("createTenant", "201", "getTenant", "id", "$response.body#/id"),
    ("createTenant", "201", "updateTenant", "id", "$response.body#/id"),
    ("createTenant", "201", "archiveTenant", "id", "$response.body#/id"),
    ("createTenant", "201", "getTenantMetadata", "id", "$response.body#/id"),
    ("createTenant", "201", "updateTenantMetadata", "id", "$response.body#/id"),
    ("createTenant", "201", "syncTenant", "id", "$response.body#/id"),
    ("createTenant", "201", "listTenantRuns", "id", "$response.body#/id"),
    ("createTenant", "201", "getIntegration", "id", "$response.body#/integration_id"),
    ("syncTenant", "202", "getTriggerStatus", "id", "$response.body#/trigger_id"),
    ("getTriggerStatus", "200", "getRun", "id", "$response.body#/run_id"),
    ("getTriggerStatus", "200", "getRunLog", "id", "$response.body#/run_id"),
    ("listTenantRuns", "200", "getRun", "id", "$response.body#/items/0/id"),
    ("listTenantRuns", "200", "getRunLog", "id", "$response.body#/items/0/id"),
    ("getRun", "200", "getTenant", "id", "$response.body#/tenant_id"),
    ("getTenant", "200", "getIntegration", "id", "$response.body#/integration_id"),
];

/// What an error status means, wherever an operation answers it.
fn error_description(status: &str) -> Option<&'static str> {
    Some(match status {
        "400" => "The request cannot be read: a body that is not JSON, or a query parameter given twice",
        "401" => "No valid API key in the X-API-Key header",
        "403" => "The API key is read only",
        "404" => "No such object (or not one this key's organization sees)",
        "409" => "The change conflicts with the object's state",
        "413" => "The body is over the size limit",
        "415" => "The body is not sent as application/json",
        "422" => "A parameter or field is invalid; `field` names it",
        "429" => "Too many requests; see Retry-After",
        _ => return None,
    })
}

/// What utoipa's annotations cannot say, added to the generated document: a
/// description for every answer, the JSON errors every operation with a body or a
/// query can meet, the sort orders of each list, the bodies that may be left out,
/// the time zones, and links between operations.
fn refine(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let error = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } });
    let zones: Vec<&str> = hub_core::domain::schedule::time_zone_names().collect();
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "TimeZone".into(),
            json!({ "type": "string", "description": "An IANA time zone name", "enum": zones }),
        );
    }
    let presets: Vec<&str> = hub_core::domain::schedule::Preset::ALL.iter().map(|p| p.as_str()).collect();
    let nullable = |schema: Value| json!({ "oneOf": [schema, { "type": "null" }] });
    let fields = [
        (
            "/components/schemas/NewTenant/properties/name",
            json!({ "type": "string", "pattern": TENANT_NAME,
            "description": "Lowercase letters, digits and '-', 1 to 63 characters, not starting or ending with '-'" }),
        ),
        (
            "/components/schemas/BuildRequest/properties/git_ref",
            nullable(json!({ "type": "string",
            "pattern": GIT_REF, "maxLength": 200 })),
        ),
        ("/components/schemas/Schedule/properties/preset", nullable(json!({ "type": "string", "enum": presets }))),
        (
            "/components/schemas/Schedule/properties/timezone",
            nullable(json!({ "$ref": "#/components/schemas/TimeZone" })),
        ),
        (
            "/components/schemas/ReleaseChoice/properties/channel",
            nullable(json!({ "type": "string", "enum": ["default", "latest", "specific"] })),
        ),
    ];
    for (at, schema) in fields {
        if let Some(place) = doc.pointer_mut(at) {
            let description = place.get("description").cloned();
            *place = schema;
            if let Some(d) = description.filter(|_| place.get("description").is_none()) {
                place["description"] = d;
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let mut ops: Vec<&mut Value> = Vec::new();
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        ops.extend(item.iter_mut().filter(|(m, _)| *m != "parameters").map(|(_, op)| op));
    }
    for op in ops {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        let has_body = op.get("requestBody").is_some();
        let has_query = op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if id == "buildRelease" || id == "syncTenant" {
            op["requestBody"]["required"] = Value::Bool(false);
        }
        if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
            for param in params {
                let name = param["name"].as_str().unwrap_or_default().to_owned();
                if let Some((_, fields)) = SORTS.iter().find(|(op, _)| *op == id).filter(|_| name == "sort_by") {
                    param["schema"]["enum"] = json!(super::sort_values(fields));
                }
                if name == "mode" {
                    param["schema"]["enum"] = json!(["normal", "init"]);
                }
                if name == "cron" {
                    param["schema"] = json!({ "type": "string", "pattern": CRON_SHAPE });
                }
                if name == "tz" {
                    param["schema"] = json!({ "$ref": "#/components/schemas/TimeZone" });
                }
            }
        }
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
        let mut extra = Vec::new();
        if has_body {
            extra.extend(["400", "413", "415"]);
        }
        if has_query {
            extra.extend(["400", "422"]);
        }
        for status in extra {
            responses.entry(status).or_insert_with(|| json!({ "content": error.clone() }));
        }
        for (status, answer) in responses.iter_mut() {
            if answer.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                answer["description"] = json!(error_description(status).unwrap_or("The answer"));
            }
        }
        for (_, status, to, param, at) in LINKS.iter().filter(|l| l.0 == id) {
            let links = &mut responses[*status]["links"];
            if links.is_null() {
                *links = json!({});
            }
            let link = &mut links[*to];
            if link.is_null() {
                *link = json!({ "operationId": to, "parameters": {} });
            }
            link["parameters"][*param] = json!(at);
        }
    }
}

/// `GET /api/v2/openapi.json`: public, so tools can read it without a key.
pub async fn document() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], json())
}
