//! The embedded marketplace's rules: its settings as typed (name, colour, logo,
//! allowed parent origins, grace period), an integration's listing as typed, the
//! claims of the company's token and what they allow, and the names of tenants the
//! marketplace installs. The browser and the server check them with this same code.

use serde::{Deserialize, Serialize};

use super::integration::FieldError;
use super::tenant::{check_name, NAME_MAX};

/// The longest a token may live: `exp` at most this many seconds after now.
pub const MAX_TOKEN_SECONDS: i64 = 24 * 60 * 60;
/// Slack allowed between the company's clock and the hub's, in seconds.
pub const CLOCK_LEEWAY_SECONDS: u64 = 60;
/// The longest grace period for a replaced secret, in hours (a week).
pub const MAX_GRACE_HOURS: i64 = 168;

fn field(name: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: name.to_owned(), message: message.into() }
}

/// Settings → Marketplace as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MarketplaceInput {
    pub name: String,
    /// `#rrggbb`.
    pub accent: String,
    /// An http(s) address of the logo image, or empty.
    pub logo_url: String,
    /// One origin a line (or separated by spaces or commas).
    pub origins: String,
}

/// The checked settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketplaceLook {
    pub name: String,
    pub accent: String,
    pub logo_url: String,
    pub origins: Vec<String>,
}

/// The colour the marketplace uses until one is chosen.
pub const DEFAULT_ACCENT: &str = "#4f46e5";

/// `#rrggbb`, lower-cased.
pub fn check_color(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    let hex = t.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(t)
    } else {
        Err(format!("{:?} is not a colour: use #rrggbb, such as #4f46e5.", text.trim()))
    }
}

/// A parent page's origin: `http(s)://host[:port]`, no path, lower-cased.
pub fn check_origin(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?} is not an origin: start it with https:// or http://."))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
        && !host.starts_with(['-', '.']);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if !host_ok || !port_ok || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!(
            "{text:?} is not an origin: give only the scheme, host and port, such as https://app.example.com."
        ));
    }
    Ok(t)
}

impl MarketplaceInput {
    /// Trims and checks every field; the first broken rule comes back.
    pub fn validate(&self) -> Result<MarketplaceLook, FieldError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(field("name", "Give the marketplace a name; your customers see it as its title."));
        }
        if name.chars().count() > 80 {
            return Err(field("name", "At most 80 characters."));
        }
        let accent = if self.accent.trim().is_empty() {
            DEFAULT_ACCENT.to_owned()
        } else {
            check_color(&self.accent).map_err(|m| field("accent", m))?
        };
        let logo_url = self.logo_url.trim().to_owned();
        if !logo_url.is_empty() {
            let ok = (logo_url.starts_with("https://") || logo_url.starts_with("http://"))
                && logo_url.len() <= 2000
                && !logo_url.contains(char::is_whitespace)
                && !logo_url.contains(['"', '<', '>']);
            if !ok {
                return Err(field(
                    "logo_url",
                    "Enter the image's full http:// or https:// address, or leave it empty.",
                ));
            }
        }
        let mut origins = Vec::new();
        for part in self.origins.split(|c: char| c.is_whitespace() || c == ',').filter(|p| !p.is_empty()) {
            let o = check_origin(part).map_err(|m| field("origins", m))?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        if origins.len() > 20 {
            return Err(field("origins", "At most 20 origins."));
        }
        Ok(MarketplaceLook { name, accent, logo_url, origins })
    }
}

/// How long a replaced secret is still accepted, as typed: whole hours, 0 to a week.
pub fn check_grace_hours(text: &str) -> Result<i64, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    match t.parse::<i64>() {
        Ok(h) if (0..=MAX_GRACE_HOURS).contains(&h) => Ok(h),
        _ => Err(field("grace_hours", format!("Enter whole hours from 0 to {MAX_GRACE_HOURS}."))),
    }
}

/// The `Content-Security-Policy` of embeddable pages: only the allowed origins may
/// frame them, and none when the list is empty.
pub fn frame_ancestors(origins: &[String]) -> String {
    if origins.is_empty() {
        "frame-ancestors 'none'".to_owned()
    } else {
        format!("frame-ancestors {}", origins.join(" "))
    }
}

/// An integration's marketplace listing as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListingInput {
    /// "on" when ticked.
    pub published: String,
    pub short_description: String,
    pub long_description: String,
    /// Comma-separated.
    pub categories: String,
    /// Comma-separated.
    pub tags: String,
    pub flag_name: String,
    pub flag_color: String,
}

/// The checked listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub published: bool,
    pub short_description: String,
    pub long_description: String,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// The flag's name and colour, when it has one.
    pub flag: Option<(String, String)>,
}

/// Splits a comma-separated list, trimmed, without empties or repeats.
pub fn split_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(part)) {
            out.push(part.to_owned());
        }
    }
    out
}

impl ListingInput {
    /// The form's values by name, to show again after a refused plain POST.
    pub fn kept(&self) -> Vec<(String, String)> {
        [
            ("published", &self.published),
            ("short_description", &self.short_description),
            ("long_description", &self.long_description),
            ("categories", &self.categories),
            ("tags", &self.tags),
            ("flag_name", &self.flag_name),
            ("flag_color", &self.flag_color),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
    }

    pub fn validate(&self) -> Result<Listing, FieldError> {
        let short_description = self.short_description.trim().to_owned();
        if short_description.chars().count() > 160 {
            return Err(field("short_description", "At most 160 characters: it is shown on the tile."));
        }
        let long_description = self.long_description.trim().to_owned();
        if long_description.chars().count() > 5000 {
            return Err(field("long_description", "At most 5,000 characters."));
        }
        let published = matches!(self.published.as_str(), "on" | "true" | "1");
        if published && short_description.is_empty() {
            return Err(field("short_description", "A published integration needs a short description for its tile."));
        }
        let categories = split_list(&self.categories);
        let tags = split_list(&self.tags);
        for (name, list) in [("categories", &categories), ("tags", &tags)] {
            if list.len() > 20 || list.iter().any(|c| c.chars().count() > 40) {
                return Err(field(name, "At most 20 entries of 40 characters each."));
            }
        }
        let flag_name = self.flag_name.trim().to_owned();
        let flag = if flag_name.is_empty() {
            None
        } else {
            if flag_name.chars().count() > 24 {
                return Err(field("flag_name", "At most 24 characters: it is a small label on the tile."));
            }
            let colour = if self.flag_color.trim().is_empty() {
                DEFAULT_ACCENT.to_owned()
            } else {
                check_color(&self.flag_color).map_err(|m| field("flag_color", m))?
            };
            Some((flag_name, colour))
        };
        Ok(Listing { published, short_description, long_description, categories, tags, flag })
    }
}

/// The company's extra rules for one user (`xti`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtraRules {
    /// Integrations this user does not see, by id or by name.
    pub hidden_integrations: Vec<serde_json::Value>,
    /// How many tenants this user may install in all.
    pub allowed_installs: Option<u32>,
    pub user_group: Option<String>,
}

/// The claims of a marketplace token, as the company's backend signs them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Required; optional here so that a token without it is named as such.
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub xti: ExtraRules,
}

/// The end user a valid token names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUser {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub rules: ExtraRules,
    /// When the token runs out (Unix seconds).
    pub exp: i64,
}

impl EndUser {
    /// The checks the signature check leaves: `sub` present and not too long, `exp`
    /// at most a day ahead.
    pub fn from_claims(c: Claims, now_unix: i64) -> Result<Self, String> {
        let sub = c.sub.trim().to_owned();
        if sub.is_empty() {
            return Err("The token has no sub claim: it must name the user.".to_owned());
        }
        if sub.chars().count() > 200 {
            return Err("The token's sub claim is longer than 200 characters.".to_owned());
        }
        let exp = c.exp.ok_or_else(|| "The token has no exp claim, which is required.".to_owned())?;
        let most = MAX_TOKEN_SECONDS + CLOCK_LEEWAY_SECONDS as i64;
        // A day at most from now, and from when it was issued when it says so.
        if exp > now_unix.saturating_add(most) || c.iat.is_some_and(|iat| exp.saturating_sub(iat) > most) {
            return Err("The token's exp is more than 24 hours ahead; sign tokens that expire sooner.".to_owned());
        }
        let clean =
            |v: Option<String>| v.map(|s| s.trim().chars().take(200).collect::<String>()).filter(|s| !s.is_empty());
        Ok(Self { sub, name: clean(c.name), email: clean(c.email), rules: c.xti, exp })
    }

    /// Whether `xti.hidden_integrations` hides the integration (by id or by name).
    pub fn hides(&self, id: i64, name: &str) -> bool {
        self.rules.hidden_integrations.iter().any(|h| match h {
            serde_json::Value::Number(n) => n.as_i64() == Some(id),
            serde_json::Value::String(s) => s.eq_ignore_ascii_case(name) || s.parse::<i64>().ok() == Some(id),
            _ => false,
        })
    }

    /// Whether one more install stays within `xti.allowed_installs`.
    pub fn may_install(&self, installed: i64) -> bool {
        self.rules.allowed_installs.is_none_or(|cap| installed < i64::from(cap))
    }

    /// A readable label: the name, else the email, else the sub.
    pub fn label(&self) -> &str {
        self.name.as_deref().or(self.email.as_deref()).unwrap_or(&self.sub)
    }
}

/// The name of a tenant the marketplace installs for `sub`: the integration's name and
/// the user's, lower-cased, within the name rules; `n` > 1 adds a number to stay
/// unique.
pub fn tenant_name(integration: &str, sub: &str, n: u32) -> String {
    fn slug(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches('-').to_owned()
    }
    let suffix = if n > 1 { format!("-{n}") } else { String::new() };
    let mut integration = slug(integration);
    if integration.is_empty() {
        integration = "app".to_owned();
    }
    let mut user = slug(sub);
    if user.is_empty() {
        user = "user".to_owned();
    }
    integration.truncate(24);
    let room = NAME_MAX - integration.trim_end_matches('-').len() - 1 - suffix.len();
    user.truncate(room);
    let name = format!("{}-{}{suffix}", integration.trim_end_matches('-'), user.trim_end_matches('-'));
    debug_assert!(check_name(&name).is_ok(), "{name}");
    name
}

#[cfg(test)]
mod tests;
