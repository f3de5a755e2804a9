//! The hub's own records, as the admin pages list them: organizations and users, the
//! mail the hub sent, the audit log, REST API keys and outgoing webhook deliveries.
//! Reads only; who may call each is the front door's check.

use super::{Db, ServiceError};
use crate::db::api_keys::{self, ApiKeyRow};
use crate::db::audit::{self, AuditRow};
use crate::db::mail::{self, MailRow};
use crate::db::orgs::{self, OrgRow};
use crate::db::users::{self, UserListRow};
use crate::db::webhooks::{self, DeliveryRow};
use crate::outbox::Notifications;

/// The company and every partner organization.
pub async fn organizations(db: &Db) -> Result<Vec<OrgRow>, ServiceError> {
    Ok(orgs::list(db.pool()).await?)
}

/// The company's own organization.
pub async fn company(db: &Db) -> Result<OrgRow, ServiceError> {
    orgs::company(db.pool()).await?.ok_or(ServiceError::NotFound)
}

pub async fn users(db: &Db) -> Result<Vec<UserListRow>, ServiceError> {
    Ok(users::list(db.pool()).await?)
}

/// The newest `limit` messages the hub sent or kept.
pub async fn sent_mail(db: &Db, limit: i64) -> Result<Vec<MailRow>, ServiceError> {
    Ok(mail::recent(db.pool(), limit).await?)
}

/// One page of the audit log: `limit` entries older than `before` (the newest when absent).
pub async fn audit_log(db: &Db, limit: i64, before: Option<i64>) -> Result<Vec<AuditRow>, ServiceError> {
    Ok(audit::recent(db.pool(), limit, before).await?)
}

pub async fn api_keys(db: &Db) -> Result<Vec<ApiKeyRow>, ServiceError> {
    Ok(api_keys::list(db.pool()).await?)
}

/// The notification settings and the newest `limit` deliveries.
pub async fn notifications(db: &Db, limit: i64) -> Result<(Notifications, Vec<DeliveryRow>), ServiceError> {
    Ok((crate::outbox::settings(db.pool()).await?, webhooks::recent(db.pool(), limit).await?))
}
