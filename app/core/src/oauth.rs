//! The OAuth2 client side every flow shares: the client built from a connector's
//! definition, the tokens a connection stores, and `ready_credentials`, the refresh the
//! run engine asks for before each run.
//!
//! Credentials are sealed with the hub key before they are stored; nothing here
//! returns or logs a secret.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl, RefreshToken,
    RequestTokenError, StandardErrorResponse, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::connectors::Registry;
use crate::db::connections;
use crate::db::Db;
use crate::domain::connector::{fill, AuthKind, ClientAuth, Connector, TokenBody};
use crate::egress::{read_capped, refusal, Egress, Refused};
use crate::secrets::SecretKey;
use oauth2::http;

/// Tokens that expire sooner than this are refreshed before a run.
pub const REFRESH_MARGIN: Duration = Duration::minutes(15);
/// The path providers send the user back to, under `HUB_PUBLIC_URL`.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// What an OAuth2 connection stores, sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The connector's parameters as given when connecting.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// The token answer's values the connector keeps (`token_fields`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl OAuthTokens {
    /// The tokens of a token endpoint's answer: what the connector keeps of it, its
    /// lifetime (the connector's default when the answer has none), and the
    /// parameters the connection was made with.
    pub(crate) fn from_answer(
        token: &Token,
        connector: &Connector,
        parameters: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Self {
        let o = connector.oauth2.as_ref();
        let lifetime = token
            .expires_in()
            .and_then(|d| Duration::from_std(d).ok())
            .or_else(|| o.and_then(|o| o.default_expires_in).map(|s| Duration::seconds(s.into())));
        let kept = o.map(|o| o.token_fields.as_slice()).unwrap_or_default();
        let fields = kept
            .iter()
            .filter_map(|name| {
                let value = token.extra_fields().values.get(name)?;
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                (!value.is_null()).then(|| (name.clone(), text))
            })
            .collect();
        Self {
            access_token: token.access_token().secret().clone(),
            refresh_token: token.refresh_token().map(|r| r.secret().clone()),
            expires_at: lifetime.map(|d| now + d),
            scope: token.scopes().map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")),
            parameters,
            fields,
        }
    }
}

/// Why connecting through OAuth2 did not work, in words for the person connecting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("This link is not valid. Ask for a new one.")]
    UnknownLink,
    #[error("This link was replaced by a newer one, so it no longer works. Ask whoever sent it for the new link.")]
    ReplacedLink,
    #[error("This link has expired. Ask whoever sent it for a new one.")]
    ExpiredLink,
    #[error("{0} is not set up on this hub yet (its client id is missing). Ask the hub's administrator.")]
    NotConfigured(String),
    #[error("Consent was not given, so nothing changed. Open the link again to try once more.")]
    Denied,
    #[error("The provider reported an error ({0}), so nothing changed. Open the link again to try once more.")]
    Provider(String),
    #[error("This sign-in attempt expired or was already used, so nothing changed. Open the link again.")]
    StaleState,
    #[error(
        "The provider did not accept the sign-in ({0}), so nothing changed. Open the link again to try once more."
    )]
    Exchange(String),
    #[error("{0}")]
    Parameter(String),
    #[error("This connection's details are missing. Connect again through the link.")]
    MissingParameters,
    #[error("The hub could not store the connection. Try again.")]
    Internal,
}

/// The values of a token answer beyond the standard ones, for `token_fields`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct Extra {
    #[serde(flatten)]
    values: BTreeMap<String, serde_json::Value>,
}

impl oauth2::ExtraTokenFields for Extra {}

pub(crate) type Token = StandardTokenResponse<Extra, BasicTokenType>;

pub(crate) type Client = oauth2::Client<
    BasicErrorResponse,
    Token,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The client of one connection: the connector's URLs with the connection's
/// `values` (its parameters) in place, and its way of presenting the client secret.
pub(crate) fn client(
    c: &Connector,
    values: &BTreeMap<String, String>,
    public_url: &str,
) -> Result<Client, ConnectError> {
    let o = c.oauth2.as_ref().ok_or_else(|| ConnectError::NotConfigured(c.display_name.clone()))?;
    if o.client_id.trim().is_empty() {
        return Err(ConnectError::NotConfigured(c.display_name.clone()));
    }
    let bad = |_| ConnectError::NotConfigured(c.display_name.clone());
    let url =
        |template: &str| fill(template, |name| values.get(name).cloned()).map_err(|_| ConnectError::MissingParameters);
    let mut client = oauth2::Client::new(ClientId::new(o.client_id.clone()))
        .set_auth_uri(AuthUrl::new(url(&o.authorize_url)?).map_err(bad)?)
        .set_token_uri(TokenUrl::new(url(&o.token_url)?).map_err(bad)?)
        .set_redirect_uri(RedirectUrl::new(callback_url(public_url)).map_err(bad)?);
    if !o.client_secret.is_empty() {
        client = client.set_client_secret(ClientSecret::new(o.client_secret.clone()));
    }
    if o.client_auth == ClientAuth::Body {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    Ok(client)
}

/// The redirect URI registered with providers.
pub fn callback_url(public_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'))
}

/// The largest token endpoint answer read.
const ANSWER_CAP: usize = 1 << 20;

/// Why a request to a token endpoint failed before an answer could be used.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("the token endpoint could not be reached")]
    Request(#[source] reqwest::Error),
    #[error("the token endpoint's answer is larger than 1 MiB")]
    TooLarge,
}

/// The HTTP client for token endpoints: through the egress guard, no redirect
/// followed (one could lead anywhere), answers read up to [`ANSWER_CAP`].
pub(crate) struct Http {
    client: reqwest::Client,
    egress: Egress,
    body: TokenBody,
}

impl Http {
    /// A client for `connector`'s token endpoint.
    pub(crate) fn new(egress: &Egress, connector: &Connector) -> Self {
        Self {
            client: egress.client(std::time::Duration::from_secs(30)),
            egress: egress.clone(),
            body: connector.oauth2.as_ref().map(|o| o.token_body).unwrap_or_default(),
        }
    }

    async fn fetch(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        let request = match self.body {
            TokenBody::Form => request,
            TokenBody::Json => as_json(request),
        };
        let request = reqwest::Request::try_from(request).map_err(HttpError::Request)?;
        self.egress.check_literal(request.url())?;
        let answer = self.client.execute(request).await.map_err(|e| match refusal(&e) {
            Some(r) => HttpError::Refused(r.clone()),
            None => HttpError::Request(e),
        })?;
        let mut response = http::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            response = response.header(name, value);
        }
        let ok = answer.status().is_success();
        let (body, longer) = read_capped(answer, ANSWER_CAP).await.map_err(HttpError::Request)?;
        if longer {
            return Err(HttpError::TooLarge);
        }
        if !ok {
            return response.body(body).map_err(|_| HttpError::TooLarge);
        }
        let (body, refused) = normalize(body);
        if refused {
            // An error answered with 200 (GitHub, Slack) is read as the error it is.
            response = response.status(http::StatusCode::BAD_REQUEST);
        }
        response.body(body).map_err(|_| HttpError::TooLarge)
    }
}

/// The token request with its form turned into a JSON object, for providers that
/// take only JSON.
fn as_json(request: oauth2::HttpRequest) -> oauth2::HttpRequest {
    let (mut parts, body) = request.into_parts();
    let object: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    parts.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    http::Request::from_parts(parts, serde_json::Value::Object(object).to_string().into_bytes())
}

/// A successful token answer in the standard's shape where providers stray from it:
/// no `token_type` (Shopify), `expires_in` as text, or 0 for a token that does not
/// expire (Mailchimp). Also says whether the answer is an error answered with 200.
fn normalize(body: Vec<u8>) -> (Vec<u8>, bool) {
    let Ok(serde_json::Value::Object(mut answer)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (body, false);
    };
    if !answer.contains_key("access_token") {
        let refused = answer.get("error").is_some_and(serde_json::Value::is_string);
        return (body, refused);
    }
    answer.entry("token_type").or_insert_with(|| "bearer".into());
    let seconds = match answer.get("expires_in") {
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(v) => v.as_u64(),
        None => None,
    };
    match seconds {
        Some(0) | None => answer.remove("expires_in"),
        Some(s) => answer.insert("expires_in".to_owned(), s.into()),
    };
    (serde_json::Value::Object(answer).to_string().into_bytes(), false)
}

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.fetch(request))
    }
}

/// A token endpoint's refusal in words, without any secret: the OAuth2 error code and
/// its description, or what kind of failure it was.
pub(crate) fn describe(e: &RequestTokenError<HttpError, StandardErrorResponse<BasicErrorResponseType>>) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error_description() {
            Some(d) => format!("{}: {d}", r.error()),
            None => r.error().to_string(),
        },
        RequestTokenError::Request(e) => e.to_string(),
        RequestTokenError::Parse(_, _) => "the token endpoint answered with something that is not a token".to_owned(),
        RequestTokenError::Other(m) => m.clone(),
    }
}

/// Why credentials could not be made ready for a run: the run fails as
/// `Failed (Refresh)` with this reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RefreshError(pub String);

/// The credentials of one connection, ready for a run: an OAuth2 access token that
/// expires within [`REFRESH_MARGIN`] is refreshed first. A rotated refresh token is
/// stored at once, but only over the credentials the refresh started from: a
/// disconnect, a reconnect or another refresh that committed meanwhile wins, and the
/// run uses what is stored then. When the provider answers `invalid_grant`, the
/// stored credentials are read again before deciding, for the same reason. A real
/// failure marks the connection as error with the reason, unless it changed meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn ready_credentials(
    db: &Db,
    key: &SecretKey,
    registry: &Registry,
    egress: &Egress,
    public_url: &str,
    tenant_id: i64,
    connector_name: &str,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, RefreshError> {
    let fail = |m: &str| RefreshError(m.to_owned());
    let read = || async {
        let sealed = connections::credentials(db.pool(), tenant_id, connector_name)
            .await
            .map_err(|_| fail("the stored credentials could not be read"))?
            .ok_or_else(|| fail("not connected"))?;
        let plain = key.decrypt(&sealed).map_err(|_| fail("the stored credentials could not be decrypted"))?;
        let value = serde_json::from_slice::<serde_json::Value>(&plain)
            .map_err(|_| fail("the stored credentials are unreadable"))?;
        Ok::<_, RefreshError>((value, sealed))
    };
    let (stored, before) = read().await?;
    let connector = registry
        .connectors
        .get(connector_name)
        .map(|l| l.connector.clone())
        .ok_or_else(|| fail("the connector is no longer defined"))?;
    if connector.auth != AuthKind::Oauth2 {
        return Ok(stored);
    }
    let tokens: OAuthTokens =
        serde_json::from_value(stored.clone()).map_err(|_| fail("the stored token is unreadable"))?;
    let due = tokens.expires_at.is_some_and(|at| at - now <= REFRESH_MARGIN);
    if !due {
        return Ok(stored);
    }
    let Some(refresh) = tokens.refresh_token.clone() else {
        let reason = "the access token expires and the provider gave no refresh token; connect again";
        return Err(mark_error(db, tenant_id, connector_name, &before, reason, now).await);
    };
    // The parameters are checked again: the connector's definition may have changed.
    if crate::connectors::check_parameters(&connector, &tokens.parameters).is_err() {
        let reason = "the connection's details no longer fit the connector's definition; connect again";
        return Err(mark_error(db, tenant_id, connector_name, &before, reason, now).await);
    }
    let client = client(&connector, &tokens.parameters, public_url).map_err(|e| RefreshError(e.to_string()))?;
    let http = Http::new(egress, &connector);
    match client.exchange_refresh_token(&RefreshToken::new(refresh.clone())).request_async(&http).await {
        Ok(token) => {
            let mut fresh = OAuthTokens::from_answer(&token, &connector, tokens.parameters.clone(), now);
            // Providers that do not rotate keep the old refresh token valid; a value a
            // refresh does not repeat (an instance URL) stays as it was.
            fresh.refresh_token = fresh.refresh_token.or(Some(refresh));
            fresh.scope = fresh.scope.or(tokens.scope);
            for (name, value) in tokens.fields {
                fresh.fields.entry(name).or_insert(value);
            }
            let value = serde_json::to_value(&fresh).map_err(|_| fail("the refreshed token could not be stored"))?;
            let sealed = key.encrypt(value.to_string().as_bytes());
            let stored = connections::store_refreshed(db.pool(), tenant_id, connector_name, &sealed, &before)
                .await
                .map_err(|_| fail("the refreshed token could not be stored"))?;
            if stored {
                return Ok(value);
            }
            // Disconnected, reconnected or refreshed meanwhile: that change stands.
            Ok(read().await?.0)
        }
        Err(RequestTokenError::ServerResponse(r)) if *r.error() == BasicErrorResponseType::InvalidGrant => {
            // Another refresh may have rotated the token a moment ago: if what is stored
            // now differs from what was sent, use it.
            let (now_stored, now_sealed) = read().await?;
            if now_sealed != before {
                return Ok(now_stored);
            }
            let current: Option<OAuthTokens> = serde_json::from_value(now_stored.clone()).ok();
            if current.as_ref().and_then(|c| c.refresh_token.as_deref()) != Some(refresh.as_str()) {
                return Ok(now_stored);
            }
            let reason = format!("the provider refused the refresh token ({}); connect again", describe_response(&r));
            Err(mark_error(db, tenant_id, connector_name, &before, &reason, now).await)
        }
        Err(e) => {
            let reason = format!("the token could not be refreshed: {}", describe(&e));
            Err(mark_error(db, tenant_id, connector_name, &before, &reason, now).await)
        }
    }
}

fn describe_response(r: &StandardErrorResponse<BasicErrorResponseType>) -> String {
    match r.error_description() {
        Some(d) => format!("{}: {d}", r.error()),
        None => r.error().to_string(),
    }
}

/// Marks the connection failed, unless its credentials changed since `before` (a
/// reconnect must not be marked with an old token's failure).
async fn mark_error(
    db: &Db,
    tenant_id: i64,
    connector: &str,
    before: &[u8],
    reason: &str,
    now: DateTime<Utc>,
) -> RefreshError {
    if let Err(e) = connections::mark_error(db.pool(), tenant_id, connector, before, reason, now).await {
        tracing::error!("cannot mark connection {connector} of tenant {tenant_id} as failed: {e}");
    }
    RefreshError(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use serde_json::{json, Value};

    fn read(answer: Value) -> (Value, bool) {
        let (body, refused) = normalize(answer.to_string().into_bytes());
        (serde_json::from_slice(&body).expect("json"), refused)
    }

    #[test]
    fn token_answers_that_stray_from_the_standard_are_made_readable() {
        let (a, refused) = read(json!({ "access_token": "t", "expires_in": "3600" }));
        assert_eq!((a, refused), (json!({ "access_token": "t", "expires_in": 3600, "token_type": "bearer" }), false));
        let (a, _) = read(json!({ "access_token": "t", "token_type": "Bearer", "expires_in": 0 }));
        assert_eq!(a, json!({ "access_token": "t", "token_type": "Bearer" }), "0: a token that does not expire");
        let (a, _) = read(json!({ "access_token": "t", "token_type": "bearer", "expires_in": 60 }));
        assert_eq!(a["expires_in"], 60);
        assert!(read(json!({ "ok": false, "error": "invalid_code" })).1, "an error answered with 200");
        assert!(!read(json!({ "ok": true })).1);
        assert_eq!(normalize(b"not json".to_vec()), (b"not json".to_vec(), false));
    }
}
