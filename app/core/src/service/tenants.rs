//! Operations that change tenants: the creation flow's steps, each validated, written
//! and audited together. The console and (later) the marketplace and the REST API
//! share this one copy.
//!
//! It is one file because the steps share one validation and audit shape; the patch of
//! an existing tenant's settings is in `tenant_patch`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::connections::NewLink;
use super::{invalid, is_unique_violation, ServiceError};
use crate::db::audit::{self, Actor};
pub use crate::db::tenants::TenantRow;
use crate::db::tenants::{self, NewTenant, ScheduleUpdate};
use crate::db::{connections, connectors, inbound_hooks, integrations, releases, Db, IntegrationRow, ReleaseRow};
use crate::domain::audit::AuditAction;
use crate::domain::connector::{AuthKind, Connector};
use crate::domain::form::{schema_defaults, Audience, Form, Raw, Values};
use crate::domain::manifest::Manifest;
use crate::domain::marketplace::EndUser;
use crate::domain::release::ReleaseChoice;
use crate::domain::tenant::{NewTenantInput, ScheduleInput, SetupStep, Source, VersionInput};
use crate::secrets::{random_token, SecretKey};

/// A live tenant the scope may see; otherwise not found (its existence is not revealed).
pub async fn visible(db: &Db, scope: super::Scope, id: i64) -> Result<TenantRow, ServiceError> {
    match tenants::get(db.pool(), id).await? {
        Some(t) if !t.archived && scope.allows(t.organization_id) => Ok(t),
        _ => Err(ServiceError::NotFound),
    }
}

/// The release a tenant's choice means now, with its parsed manifest.
pub async fn release_of(db: &Db, tenant: &TenantRow) -> Result<Option<(ReleaseRow, Manifest)>, ServiceError> {
    let Some(choice) = tenant.choice() else { return Ok(None) };
    with_manifest(releases::resolve(db.pool(), tenant.integration_id, choice).await?)
}

fn with_manifest(release: Option<ReleaseRow>) -> Result<Option<(ReleaseRow, Manifest)>, ServiceError> {
    Ok(release.and_then(|r| {
        let m: Manifest = serde_json::from_str(r.manifest.as_deref()?).ok()?;
        Some((r, m))
    }))
}

/// The release a choice means for an integration, or why there is none.
pub(super) async fn resolve_choice(
    db: &Db,
    integration_id: i64,
    choice: ReleaseChoice,
) -> Result<(ReleaseRow, Manifest), ServiceError> {
    with_manifest(releases::resolve(db.pool(), integration_id, choice).await?)?.ok_or_else(|| match choice {
        ReleaseChoice::Specific(_) => invalid(
            "release_id",
            "Choose a successful release of this integration (not one whose unused files were removed).",
        ),
        ReleaseChoice::Default => invalid(
            "channel",
            "This integration has no default release yet. Set one on the integration's page, or choose Latest.",
        ),
        ReleaseChoice::Latest => invalid("channel", "This integration has no successful release yet. Build one first."),
    })
}

/// Step 1 from the console: `create` for an integration the scope may see.
pub async fn create_for(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    scope: super::Scope,
    integration_id: i64,
    input: &NewTenantInput,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let integration = super::integrations::visible(db, scope, integration_id).await?;
    create(db, key, actor, &integration, input, Source::Hub, now).await
}

/// Step 1: the release choice and the name. The tenant exists from here on, paused,
/// with its configuration defaults and one disconnected connection per connector.
pub async fn create(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    integration: &IntegrationRow,
    input: &NewTenantInput,
    source: Source,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    create_owned(db, key, actor, integration, input, source, None, now).await
}

/// Step 1 for a tenant that belongs to a marketplace user from the start (linked in
/// the same transaction).
#[allow(clippy::too_many_arguments)]
pub async fn create_owned(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    integration: &IntegrationRow,
    input: &NewTenantInput,
    source: Source,
    owner: Option<&EndUser>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let plan = plan(db, integration, input).await?;
    let mut tx = db.pool().begin().await?;
    let id = insert_planned(&mut tx, key, actor, integration, &plan, source, owner, now).await?;
    tx.commit().await?;
    db.outbox_written();
    Ok(id)
}

/// What a new tenant is made of, read and checked before anything is written.
pub(super) struct Plan {
    name: String,
    choice: ReleaseChoice,
    release_name: String,
    pub(super) manifest: Manifest,
    defaults: Values,
    connector_names: Vec<String>,
    defs: Vec<crate::db::connectors::ConnectorRow>,
}

pub(super) async fn plan(db: &Db, integration: &IntegrationRow, input: &NewTenantInput) -> Result<Plan, ServiceError> {
    let (name, choice) = input.validate().map_err(ServiceError::Invalid)?;
    let (release, manifest) = resolve_choice(db, integration.id, choice).await?;
    Ok(Plan {
        name,
        choice,
        release_name: release.name,
        defaults: schema_defaults(&manifest.configs),
        manifest,
        connector_names: integrations::connectors_of(db.pool(), integration.id).await?,
        defs: connectors::list(db.pool()).await?,
    })
}

/// Writes a planned tenant, its connections (with their magic links), its audit entry
/// and its event, in the caller's transaction. Returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_planned(
    tx: &mut sqlx::SqliteConnection,
    key: &SecretKey,
    actor: &Actor,
    integration: &IntegrationRow,
    plan: &Plan,
    source: Source,
    owner: Option<&EndUser>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let Plan { name, choice, release_name, defaults, connector_names, defs, .. } = plan;
    let choice = *choice;
    let needs_credentials = connector_names
        .iter()
        .any(|n| defs.iter().find(|d| &d.name == n).is_some_and(|d| d.auth != AuthKind::None.as_str()));
    let user = match actor {
        Actor::User { id, .. } => Some(*id),
        Actor::ApiKey { .. } | Actor::Marketplace { .. } | Actor::System => None,
    };
    let row = NewTenant {
        integration_id: integration.id,
        name,
        choice,
        configs: &serde_json::Value::Object(defaults.clone()).to_string(),
        source,
        setup_step: if needs_credentials { SetupStep::Credentials } else { SetupStep::Configuration },
        created_by: user,
    };
    let id = match tenants::insert(&mut *tx, &row, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(invalid("name", "This integration already has a tenant with this name."))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(u) = owner {
        tenants::set_external(&mut *tx, id, Some((&u.sub, u.name.as_deref(), u.email.as_deref())), now).await?;
    }
    for connector in connector_names {
        connections::insert_connection(&mut *tx, id, connector, &NewLink::new(key).stored(), now).await?;
        if defs.iter().find(|d| &d.name == connector).is_some_and(|d| d.auth == AuthKind::None.as_str()) {
            connections::connect(&mut *tx, id, connector, &[], now).await?;
        }
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::Created,
        object_type: "tenant",
        object_id: Some(id.to_string()),
        detail: json!({ "name": name, "integration": integration.id, "release": choice.kind(), "resolved": release_name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    let event = json!({
        "tenant": { "id": id, "name": name, "source": source.as_str() },
        "integration": { "id": integration.id, "name": integration.name },
    });
    crate::outbox::emit(&mut *tx, "tenant_created", event, now).await?;
    Ok(id)
}

/// The connector definition of one of the tenant's connections.
pub async fn connector_of(db: &Db, tenant_id: i64, name: &str) -> Result<Connector, ServiceError> {
    let conn = connections::connections(db.pool(), tenant_id)
        .await?
        .into_iter()
        .find(|c| c.connector_name == name)
        .ok_or(ServiceError::NotFound)?;
    parse_definition(&conn.definition).ok_or_else(|| ServiceError::Conflict(format!("connector {name} is unreadable")))
}

/// A connector definition as the connectors table stores it (secrets left out).
pub fn parse_definition(stored: &str) -> Option<Connector> {
    let v: serde_json::Value = serde_json::from_str(stored).ok()?;
    serde_json::from_value(v.get("connector")?.clone()).ok()
}

/// Stores the fields of an `api_key` or `basic` connector, encrypted, and marks the
/// connection connected. Every field the connector defines is required.
pub async fn save_credentials(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    tenant: &TenantRow,
    connector: &str,
    fields: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let def = connector_of(db, tenant.id, connector).await?;
    if !matches!(def.auth, AuthKind::ApiKey | AuthKind::Basic) {
        return Err(ServiceError::Conflict(format!(
            "{} connects through its own sign-in, not a form.",
            def.display_name
        )));
    }
    let mut values = serde_json::Map::new();
    for f in &def.fields {
        let v = fields.get(&f.name).map(|s| s.trim()).unwrap_or_default();
        if v.is_empty() {
            return Err(invalid(&format!("cred.{connector}.{}", f.name), format!("{} is required.", f.label)));
        }
        values.insert(f.name.clone(), json!(v));
    }
    let sealed = key.encrypt(serde_json::Value::Object(values).to_string().as_bytes());
    let mut tx = db.pool().begin().await?;
    if !connections::connect(&mut *tx, tenant.id, connector, &sealed, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::Connected,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "connector": connector }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Leaves the credentials step (connected or not) for the configuration step.
pub async fn finish_credentials(db: &Db, tenant: &TenantRow, now: DateTime<Utc>) -> Result<(), ServiceError> {
    tenants::set_step(db.pool(), tenant.id, tenant.step().furthest(SetupStep::Configuration), now).await?;
    Ok(())
}

/// The tenant's dynamic options (what its init sync printed).
pub fn dynamic_options(tenant: &TenantRow) -> Values {
    serde_json::from_str(&tenant.dynamic_options).unwrap_or_default()
}

pub fn configs(tenant: &TenantRow) -> Values {
    serde_json::from_str(&tenant.configs).unwrap_or_default()
}

/// The drafts of a tenant, by step: what was typed into a step that failed.
fn drafts(tenant: &TenantRow) -> serde_json::Map<String, serde_json::Value> {
    tenant.draft.as_deref().and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default()
}

/// Sets (or with `None` clears) one step's draft, leaving the other steps' drafts.
async fn set_draft(
    db: impl sqlx::SqliteExecutor<'_>,
    tenant: &TenantRow,
    step: SetupStep,
    typed: Option<serde_json::Value>,
) -> Result<(), ServiceError> {
    let mut all = drafts(tenant);
    match typed {
        Some(t) => all.insert(step.as_str().to_owned(), t),
        None => all.remove(step.as_str()),
    };
    let text = (!all.is_empty()).then(|| serde_json::Value::Object(all).to_string());
    tenants::set_draft(db, tenant.id, text.as_deref()).await?;
    Ok(())
}

/// What was typed into `step` and not saved yet.
pub fn draft_for(tenant: &TenantRow, step: SetupStep) -> Option<serde_json::Value> {
    drafts(tenant).remove(step.as_str())
}

/// Reads the posted configuration against `manifest`'s form: the values to store (as
/// JSON, with what the form could not edit kept from before), or every broken rule,
/// with what was typed kept as the configuration step's draft.
async fn checked_configs(
    db: &Db,
    tenant: &TenantRow,
    manifest: &Manifest,
    raw: &Raw,
    audience: Audience,
) -> Result<(Form, String), ServiceError> {
    // An end user's form lacks the admin-only fields; `merge` keeps their values.
    let form = Form::build(&manifest.configs, audience);
    let dynamic = dynamic_options(tenant);
    match form.read(raw, &dynamic) {
        Ok(v) => {
            let text = serde_json::Value::Object(form.merge(&configs(tenant), v, &dynamic)).to_string();
            Ok((form, text))
        }
        Err(errors) => {
            set_draft(db.pool(), tenant, SetupStep::Configuration, Some(json!(raw))).await?;
            Err(ServiceError::InvalidFields(errors))
        }
    }
}

/// Step 3: the configuration form. Every broken rule comes back at once.
pub async fn save_configs(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    raw: &Raw,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    save_configs_as(db, actor, tenant, raw, Audience::Hub, now).await
}

/// Step 3 as `audience` sees the form: an end user's leaves admin-only values alone.
pub async fn save_configs_as(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    raw: &Raw,
    audience: Audience,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (_, manifest) = release_of(db, tenant).await?.ok_or_else(|| {
        ServiceError::Conflict("The tenant's release choice points at no successful release.".to_owned())
    })?;
    let (form, text) = checked_configs(db, tenant, &manifest, raw, audience).await?;
    let mut tx = db.pool().begin().await?;
    set_draft(&mut *tx, tenant, SetupStep::Configuration, None).await?;
    tenants::set_configs(&mut *tx, tenant.id, &text, tenant.step().furthest(SetupStep::Schedule), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::Configured,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "fields": form.fields().iter().map(|f| f.name.clone()).collect::<Vec<_>>() }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Settings: the release choice and the configuration together. The values are
/// checked against the form of the release the new choice means.
pub async fn save_settings(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    version: &VersionInput,
    raw: &Raw,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let choice = version.choice().map_err(ServiceError::Invalid)?;
    let (release, manifest) = resolve_choice(db, tenant.integration_id, choice).await?;
    let (_, text) = checked_configs(db, tenant, &manifest, raw, Audience::Hub).await?;
    let mut tx = db.pool().begin().await?;
    set_draft(&mut *tx, tenant, SetupStep::Configuration, None).await?;
    tenants::set_release_choice(&mut *tx, tenant.id, choice, now).await?;
    tenants::set_configs(&mut *tx, tenant.id, &text, tenant.step().furthest(SetupStep::Schedule), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::SettingsChanged,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "release": choice.kind(), "resolved": release.name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Archives a tenant: it leaves the list and never runs again.
pub async fn archive(db: &Db, actor: &Actor, tenant: &TenantRow, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut tx = db.pool().begin().await?;
    if !tenants::archive(&mut *tx, tenant.id, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::Archived,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "name": tenant.name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    let event = json!({
        "tenant": { "id": tenant.id, "name": tenant.name },
        "integration": { "id": tenant.integration_id, "name": tenant.integration_name },
    });
    crate::outbox::emit(&mut tx, "tenant_archived", event, now).await?;
    tx.commit().await?;
    db.outbox_written();
    Ok(())
}

/// Steps 4 and 5: the sync schedule, and paused or running. Saving it finishes the
/// flow; a running tenant gets its next fire time at once.
pub async fn save_schedule(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    input: &ScheduleInput,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if matches!(tenant.step(), SetupStep::Credentials | SetupStep::Configuration) {
        return Err(ServiceError::Conflict(
            "Save the tenant's configuration first; the schedule is the last step.".to_owned(),
        ));
    }
    let schedule = match input.parse() {
        Ok(s) => s,
        Err(e) => {
            let typed = json!({ "input": input, "paused": paused });
            set_draft(db.pool(), tenant, SetupStep::Schedule, Some(typed)).await?;
            return Err(ServiceError::Invalid(e));
        }
    };
    let (kind, text, tz) = schedule.to_parts();
    let next_fire_at = if paused { None } else { schedule.next_after(now, tenant.id) };
    let mut tx = db.pool().begin().await?;
    set_draft(&mut *tx, tenant, SetupStep::Schedule, None).await?;
    let update = ScheduleUpdate { kind, schedule: &text, timezone: &tz, paused, next_fire_at, step: SetupStep::Done };
    tenants::set_schedule(&mut *tx, tenant.id, &update, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ScheduleSaved,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "schedule": schedule.describe(), "paused": paused }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The path of inbound webhooks; the token follows.
pub const WEBHOOK_PATH: &str = "/hooks/";

/// Makes (or replaces) the tenant's inbound webhook token; the old URL stops working
/// at once. Returns the new URL.
pub async fn rotate_webhook(
    db: &Db,
    key: &SecretKey,
    public_url: &str,
    actor: &Actor,
    tenant: &TenantRow,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let token = random_token();
    let mut tx = db.pool().begin().await?;
    if !inbound_hooks::set_webhook(
        &mut *tx,
        tenant.id,
        &crate::secrets::token_hash(&token),
        &key.encrypt(token.as_bytes()),
    )
    .await?
    {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::WebhookUrlMade,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({}),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(webhook_url(public_url, &token))
}

/// The tenant's inbound webhook URL, when it has one.
pub async fn webhook_of(
    db: &Db,
    key: &SecretKey,
    public_url: &str,
    tenant_id: i64,
) -> Result<Option<String>, ServiceError> {
    let sealed = inbound_hooks::webhook_sealed(db.pool(), tenant_id).await?;
    Ok(sealed
        .and_then(|s| key.decrypt(&s).ok())
        .and_then(|t| String::from_utf8(t).ok())
        .map(|t| webhook_url(public_url, &t)))
}

/// The tenant an inbound webhook token belongs to.
pub async fn by_webhook_token(db: &Db, token: &str) -> Result<Option<i64>, ServiceError> {
    Ok(inbound_hooks::by_webhook_hash(db.pool(), &crate::secrets::token_hash(token)).await?)
}

fn webhook_url(public_url: &str, token: &str) -> String {
    format!("{}{WEBHOOK_PATH}{token}", public_url.trim_end_matches('/'))
}

/// A page of live tenants for the REST API (optionally of one integration), sorted by
/// a column the caller checked against its allow-list, and how many there are.
pub async fn page(
    db: &Db,
    integration: Option<i64>,
    sort: (&'static str, bool),
    limit: i64,
    skip: i64,
) -> Result<(Vec<TenantRow>, i64), ServiceError> {
    Ok(tenants::page(db.pool(), integration, sort, limit, skip).await?)
}
