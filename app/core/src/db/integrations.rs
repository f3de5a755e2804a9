//! Integrations and the connectors each one needs.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

use crate::domain::integration::IntegrationInput;

#[derive(Debug, FromRow)]
pub struct IntegrationRow {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub description: String,
    pub repository: String,
    pub branch: String,
    pub manifest_path: String,
    pub default_release_id: Option<i64>,
    pub run_timeout_secs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// "none", "ssh" or "token" (`domain::integration::RepoAccess`).
    pub repo_access: String,
    /// Build on push is on.
    pub push_on: bool,
}

#[derive(Debug, FromRow)]
pub struct IntegrationListRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub connectors: Option<String>,
    pub release_count: i64,
    pub tenant_count: i64,
    pub default_release: Option<String>,
    pub latest_release: Option<String>,
}

const COLUMNS: &str = "id, organization_id, name, description, repository, branch, manifest_path, \
                       default_release_id, run_timeout_secs, created_at, updated_at, repo_access, \
                       push_token_hash IS NOT NULL AS push_on";

/// Every integration, or only `organization`'s, with counts for the list.
pub async fn list(db: impl SqliteExecutor<'_>, organization: Option<i64>) -> sqlx::Result<Vec<IntegrationListRow>> {
    sqlx::query_as(
        "SELECT i.id, i.name, i.description,
                (SELECT group_concat(connector_name, ', ') FROM
                    (SELECT connector_name FROM integration_connectors WHERE integration_id = i.id ORDER BY position)) AS connectors,
                (SELECT count(*) FROM releases r WHERE r.integration_id = i.id) AS release_count,
                i.live_tenants AS tenant_count,
                (SELECT r.name FROM releases r WHERE r.id = i.default_release_id) AS default_release,
                (SELECT r.name FROM releases r WHERE r.integration_id = i.id AND r.status = 'succeeded'
                   ORDER BY r.finished_at DESC, r.id DESC LIMIT 1) AS latest_release
         FROM integrations i
         WHERE (?1 IS NULL OR i.organization_id = ?1)
         ORDER BY i.name COLLATE NOCASE",
    )
    .bind(organization)
    .fetch_all(db)
    .await
}

/// (id, name) of every integration, or only `organization`'s, by name: for choosers
/// that need no counts.
pub async fn names(db: impl SqliteExecutor<'_>, organization: Option<i64>) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT id, name FROM integrations WHERE (?1 IS NULL OR organization_id = ?1) ORDER BY name COLLATE NOCASE",
    )
    .bind(organization)
    .fetch_all(db)
    .await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<IntegrationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM integrations WHERE id = ?")).bind(id).fetch_optional(db).await
}

/// Every integration of an organization (of all, when `None`), by name.
pub async fn all(db: impl SqliteExecutor<'_>, organization: Option<i64>) -> sqlx::Result<Vec<IntegrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM integrations WHERE (?1 IS NULL OR organization_id = ?1) ORDER BY name COLLATE NOCASE"
    ))
    .bind(organization)
    .fetch_all(db)
    .await
}

/// The connectors of every integration of an organization (of all, when `None`):
/// (integration, connector), each integration's in order.
pub async fn all_connectors(
    db: impl SqliteExecutor<'_>,
    organization: Option<i64>,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT c.integration_id, c.connector_name FROM integration_connectors c
         JOIN integrations i ON i.id = c.integration_id
         WHERE (?1 IS NULL OR i.organization_id = ?1) ORDER BY c.integration_id, c.position",
    )
    .bind(organization)
    .fetch_all(db)
    .await
}

pub async fn connectors_of(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT connector_name FROM integration_connectors WHERE integration_id = ? ORDER BY position")
        .bind(id)
        .fetch_all(db)
        .await
}

pub async fn count(db: impl SqliteExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM integrations").fetch_one(db).await
}

pub async fn insert(
    tx: &mut SqliteConnection,
    organization_id: i64,
    input: &IntegrationInput,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO integrations (organization_id, name, description, repository, branch, manifest_path,
                                   run_timeout_secs, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(organization_id)
    .bind(&input.name)
    .bind(&input.description)
    .bind(&input.repository)
    .bind(&input.branch)
    .bind(&input.manifest_path)
    .bind(input.run_timeout_secs())
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    set_connectors(tx, id, &input.connectors).await?;
    Ok(id)
}

pub async fn update(
    tx: &mut SqliteConnection,
    id: i64,
    input: &IntegrationInput,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE integrations SET name = ?, description = ?, repository = ?, branch = ?, manifest_path = ?,
                run_timeout_secs = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(&input.name)
    .bind(&input.description)
    .bind(&input.repository)
    .bind(&input.branch)
    .bind(&input.manifest_path)
    .bind(input.run_timeout_secs())
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    set_connectors(tx, id, &input.connectors).await?;
    Ok(true)
}

async fn set_connectors(tx: &mut SqliteConnection, id: i64, connectors: &[String]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM integration_connectors WHERE integration_id = ?").bind(id).execute(&mut *tx).await?;
    for (position, name) in connectors.iter().enumerate() {
        sqlx::query("INSERT INTO integration_connectors (integration_id, connector_name, position) VALUES (?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub async fn set_default_release(
    db: impl SqliteExecutor<'_>,
    id: i64,
    release_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE integrations SET default_release_id = ?, updated_at = ? WHERE id = ?")
        .bind(release_id)
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// An integration's marketplace listing.
#[derive(Debug, FromRow)]
pub struct ListingRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub published: bool,
    pub short_description: String,
    pub long_description: String,
    /// JSON arrays of strings.
    pub categories: String,
    pub tags: String,
    pub flag_name: Option<String>,
    pub flag_color: Option<String>,
    pub default_release_id: Option<i64>,
}

impl ListingRow {
    pub fn categories(&self) -> Vec<String> {
        serde_json::from_str(&self.categories).unwrap_or_default()
    }

    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

const LISTING: &str = "SELECT id, name, description, published, short_description, long_description, categories, tags,
        flag_name, flag_color, default_release_id FROM integrations";

pub async fn listing(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<ListingRow>> {
    sqlx::query_as(&format!("{LISTING} WHERE id = ?")).bind(id).fetch_optional(db).await
}

/// The published integrations, by name: what the marketplace offers.
pub async fn published(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<ListingRow>> {
    sqlx::query_as(&format!("{LISTING} WHERE published = 1 ORDER BY name COLLATE NOCASE")).fetch_all(db).await
}

pub async fn set_listing(
    db: impl SqliteExecutor<'_>,
    id: i64,
    l: &crate::domain::marketplace::Listing,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned());
    sqlx::query(
        "UPDATE integrations SET published = ?, short_description = ?, long_description = ?, categories = ?,
                tags = ?, flag_name = ?, flag_color = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(l.published)
    .bind(&l.short_description)
    .bind(&l.long_description)
    .bind(json(&l.categories))
    .bind(json(&l.tags))
    .bind(l.flag.as_ref().map(|f| f.0.as_str()))
    .bind(l.flag.as_ref().map(|f| f.1.as_str()))
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// How the builder reaches an integration's repository, and its push settings.
#[derive(Debug, FromRow)]
pub struct AccessRow {
    pub organization_id: i64,
    pub branch: String,
    pub repo_access: String,
    pub repo_username: String,
    /// Sealed: the token, or the deploy key's private half in OpenSSH form.
    pub repo_secret: Option<Vec<u8>>,
    pub repo_public_key: Option<String>,
    pub repo_known_hosts: Option<String>,
    pub push_token_sealed: Option<Vec<u8>>,
    pub push_secret: Option<Vec<u8>>,
    pub push_sets_default: bool,
}

const ACCESS: &str = "SELECT organization_id, branch, repo_access, repo_username, repo_secret, repo_public_key,
        repo_known_hosts, push_token_sealed, push_secret, push_sets_default FROM integrations";

pub async fn access(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<AccessRow>> {
    sqlx::query_as(&format!("{ACCESS} WHERE id = ?")).bind(id).fetch_optional(db).await
}

/// The integration a push URL's token (its hash) belongs to, with its access row.
pub async fn by_push_token(db: impl SqliteExecutor<'_>, token_hash: &str) -> sqlx::Result<Option<(i64, AccessRow)>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        #[sqlx(flatten)]
        access: AccessRow,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, organization_id, branch, repo_access, repo_username, repo_secret, repo_public_key,
                repo_known_hosts, push_token_sealed, push_secret, push_sets_default
         FROM integrations WHERE push_token_hash = ?",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.access)))
}

/// New repository credentials; the pinned host keys are forgotten with them.
pub struct NewAccess<'a> {
    pub access: &'a str,
    pub username: &'a str,
    pub secret: Option<&'a [u8]>,
    pub public_key: Option<&'a str>,
}

pub async fn set_access(
    db: impl SqliteExecutor<'_>,
    id: i64,
    a: &NewAccess<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE integrations SET repo_access = ?, repo_username = ?, repo_secret = ?, repo_public_key = ?,
                repo_known_hosts = NULL, updated_at = ?
         WHERE id = ?",
    )
    .bind(a.access)
    .bind(a.username)
    .bind(a.secret)
    .bind(a.public_key)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Pins (or, with `None`, forgets) the SSH host keys.
pub async fn set_known_hosts(db: impl SqliteExecutor<'_>, id: i64, known_hosts: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE integrations SET repo_known_hosts = ? WHERE id = ?")
        .bind(known_hosts)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// After the repository moved to another host: forgets the pinned host keys, and an
/// access token (which was given for the old host). A deploy key stays: it signs,
/// and is never sent.
pub async fn forget_host(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE integrations SET repo_known_hosts = NULL,
                repo_secret = CASE WHEN repo_access = 'token' THEN NULL ELSE repo_secret END,
                repo_username = CASE WHEN repo_access = 'token' THEN '' ELSE repo_username END,
                repo_access = CASE WHEN repo_access = 'token' THEN 'none' ELSE repo_access END
         WHERE id = ?",
    )
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Pins the host keys the first fetch accepted, unless some are pinned already.
pub async fn pin_known_hosts(db: impl SqliteExecutor<'_>, id: i64, known_hosts: &str) -> sqlx::Result<bool> {
    sqlx::query("UPDATE integrations SET repo_known_hosts = ? WHERE id = ? AND repo_known_hosts IS NULL")
        .bind(known_hosts)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Build on push: a new URL token and signing secret (both `None` turns it off).
pub struct Push<'a> {
    pub token_hash: Option<&'a str>,
    pub token_sealed: Option<&'a [u8]>,
    pub secret: Option<&'a [u8]>,
}

pub async fn set_push(db: impl SqliteExecutor<'_>, id: i64, p: &Push<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE integrations SET push_token_hash = ?, push_token_sealed = ?, push_secret = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(p.token_hash)
    .bind(p.token_sealed)
    .bind(p.secret)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

pub async fn set_push_sets_default(db: impl SqliteExecutor<'_>, id: i64, on: bool) -> sqlx::Result<bool> {
    sqlx::query("UPDATE integrations SET push_sets_default = ? WHERE id = ?")
        .bind(on)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}
