//! Users and organizations as the rest of the hub sees them.

use serde::{Deserialize, Serialize};

/// Which kind of organization a user belongs to decides what they may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Company,
    Partner,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "company" => Some(Self::Company),
            "partner" => Some(Self::Partner),
            _ => None,
        }
    }
}

/// The shortest password the hub accepts.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password; the message is shown next to the field.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("Use at least {MIN_PASSWORD_LEN} characters."));
    }
    if password.len() > 1024 {
        return Err("Use at most 1024 characters.".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_ten_characters() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("0123456789").is_ok());
        assert!(check_new_password(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn org_kinds_round_trip() {
        for k in [OrgKind::Company, OrgKind::Partner] {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OrgKind::parse("other"), None);
    }
}
