//! What the audit log records: one action per kind of change.

/// A change the audit log records. Stored as its text; the log reads entries back as
/// text, since it keeps what earlier versions of the hub wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    Created,
    Updated,
    Archived,
    Configured,
    SettingsChanged,
    ScheduleSaved,
    MetadataChanged,
    Connected,
    ConnectedThroughMagicLink,
    Disconnected,
    RunRequested,
    WebhookUrlMade,
    BuildQueued,
    DefaultReleaseSet,
    ListingSaved,
    MarketplaceSaved,
    MarketplaceSecretMade,
    MarketplaceOldSecretEnded,
    NotificationsSaved,
    WebhookSecretRotated,
    ApiKeyCreated,
    ApiKeyRevoked,
    MarketplaceUserLinked,
    MarketplaceUserUnlinked,
    Invited,
    InvitationResent,
    Deactivated,
    PasswordSet,
    PasswordChanged,
    Renamed,
    RetentionSaved,
    SignedOutEverywhere,
}

impl AuditAction {
    /// The text stored and shown in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Archived => "archived",
            Self::Configured => "configured",
            Self::SettingsChanged => "settings changed",
            Self::ScheduleSaved => "schedule saved",
            Self::MetadataChanged => "metadata changed",
            Self::Connected => "connected",
            Self::ConnectedThroughMagicLink => "connected through the magic link",
            Self::Disconnected => "disconnected",
            Self::RunRequested => "run requested",
            Self::WebhookUrlMade => "webhook url made",
            Self::BuildQueued => "build queued",
            Self::DefaultReleaseSet => "default release set",
            Self::ListingSaved => "listing saved",
            Self::MarketplaceSaved => "marketplace saved",
            Self::MarketplaceSecretMade => "marketplace secret made",
            Self::MarketplaceOldSecretEnded => "marketplace old secret ended",
            Self::NotificationsSaved => "notifications saved",
            Self::WebhookSecretRotated => "webhook secret rotated",
            Self::ApiKeyCreated => "api key created",
            Self::ApiKeyRevoked => "api key revoked",
            Self::MarketplaceUserLinked => "marketplace user linked",
            Self::MarketplaceUserUnlinked => "marketplace user unlinked",
            Self::Invited => "invited",
            Self::InvitationResent => "invitation resent",
            Self::Deactivated => "deactivated",
            Self::PasswordSet => "password set",
            Self::PasswordChanged => "password changed",
            Self::Renamed => "renamed",
            Self::RetentionSaved => "retention saved",
            Self::SignedOutEverywhere => "signed out everywhere",
        }
    }
}
