//! The embedded marketplace checks the company's token on every request (there is no
//! cookie in a third-party frame). This measures that check, `verify` (the settings
//! read from SQLite, the secret unsealed, the JWT's signature and claims checked),
//! against the console's own per-request check in the same run: `session_user`, one
//! indexed read of a session and its user.
//!
//! `cargo bench -p hub-core --features backend --bench marketplace` (add `-- quick`
//! for fewer rounds). Figures go to stdout.

use std::time::Instant;

use chrono::Utc;
use hub_core::auth;
use hub_core::db::audit::Actor;
use hub_core::db::{Db, DB_FILE};
use hub_core::domain::email::Email;
use hub_core::secrets::SecretKey;
use hub_core::service::marketplace as mp;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

const PASSWORD: &str = "bench password 123";

fn per_call(label: &str, n: u32, elapsed: std::time::Duration) -> f64 {
    let us = elapsed.as_secs_f64() * 1e6 / f64::from(n);
    println!("{label:<44} {us:>8.1} µs per check ({n} checks)");
    us
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let n: u32 = if quick { 2_000 } else { 20_000 };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join(DB_FILE)).await.expect("db");
    let key = SecretKey::generate();
    let now = Utc::now();
    let email = Email::parse("admin@example.com").expect("email");
    auth::bootstrap(&db, "Acme", &email, Some(PASSWORD), now).await.expect("bootstrap");
    let session = auth::sign_in(&db, "admin@example.com", PASSWORD, "10.0.0.1", now).await.expect("session");
    let secret = mp::rotate_secret(&db, &key, &Actor::System, "0", now).await.expect("secret");
    let claims = serde_json::json!({
        "sub": "user-42", "name": "Ann Example", "email": "ann@example.com",
        "iat": now.timestamp(), "exp": now.timestamp() + 3600,
        "xti": { "allowed_installs": 5, "hidden_integrations": [3, "Legacy"] },
    });
    let token =
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("token");

    // Warm both paths (the pool's connections, SQLite's page cache).
    for _ in 0..200 {
        auth::session_user(&db, &session, now).await.expect("session").expect("user");
        mp::verify(&db, &key, &token, now).await.expect("valid");
    }

    let start = Instant::now();
    for _ in 0..n {
        auth::session_user(&db, &session, now).await.expect("session").expect("user");
    }
    let base = per_call("baseline: console session check", n, start.elapsed());

    let start = Instant::now();
    for _ in 0..n {
        mp::verify(&db, &key, &token, now).await.expect("valid");
    }
    let full = per_call("marketplace token check (verify)", n, start.elapsed());

    let keys = [secret.into_bytes()];
    let start = Instant::now();
    for _ in 0..n {
        mp::check_token(&token, &keys, now).expect("valid");
    }
    let pure = per_call("  of which the JWT check alone", n, start.elapsed());

    println!("ratio verify / session check: {:.2}", full / base);
    println!("share of verify spent on the JWT itself: {:.0}%", 100.0 * pure / full);
}
