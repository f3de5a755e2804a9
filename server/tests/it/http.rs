use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use server::config::Config;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

pub struct Hub {
    pub router: Router,
    pub _dir: tempfile::TempDir,
}

/// The repository's own folders (connectors, samples).
fn repo_dir(name: &str) -> String {
    format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"))
}

pub async fn prepared(demo: bool) -> (server::startup::Prepared, tempfile::TempDir) {
    prepared_with(demo, &[]).await
}

/// A hub as `prepared` makes it, with `extra` variables set too.
pub async fn prepared_with(demo: bool, extra: &[(&str, &str)]) -> (server::startup::Prepared, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    let config = Config::from_vars(|k| match k {
        "HUB_DATA_DIR" => Some(data.clone()),
        // The in-process hub is a test binary: the sandbox's helper is the real one.
        "HUB_SANDBOX_HELPER" => Some(env!("CARGO_BIN_EXE_server").to_owned()),
        "HUB_ADMIN_EMAIL" => Some("admin@example.com".to_owned()),
        "HUB_ADMIN_PASSWORD" => Some(PASSWORD.to_owned()),
        "HUB_CONNECTORS_DIR" => Some(repo_dir("connectors")),
        "HUB_SAMPLES_DIR" => Some(repo_dir("samples")),
        "HUB_DEMO" => Some(if demo { "on" } else { "off" }.to_owned()),
        other => extra.iter().find(|(k, _)| *k == other).map(|(_, v)| (*v).to_owned()),
    })
    .expect("config");
    (server::startup::prepare(&config).await.expect("prepared"), dir)
}

async fn hub() -> Hub {
    let (prepared, dir) = prepared(false).await;
    Hub { router: prepared.router, _dir: dir }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Hub {
    pub async fn send(&self, req: Request<Body>) -> Answer {
        // A request that stalls fails its test within a minute instead of holding the run.
        let resp = tokio::time::timeout(std::time::Duration::from_secs(60), self.router.clone().oneshot(req))
            .await
            .expect("answered within a minute")
            .expect("answered");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn call(&self, endpoint: &str, form: &str, cookie: Option<&str>) -> Answer {
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(form.to_owned())).expect("request")).await
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    async fn sign_in(&self) -> String {
        self.sign_in_as("admin%40example.com", "correct+horse+battery").await
    }

    /// Signs in with a form-encoded email and password; returns the cookie pair.
    pub async fn sign_in_as(&self, email: &str, password: &str) -> String {
        let a = self.call("login", &format!("email={email}&password={password}"), None).await;
        assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
        let cookie = a.headers.get(header::SET_COOKIE).expect("cookie").to_str().expect("ascii");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        cookie.split(';').next().expect("pair").to_owned()
    }
}

/// Regression: listing the app's routes switches resource loading off in a flag leptos
/// keeps for the whole process, so a page rendered while another hub in the process
/// was starting (as parallel tests do) waited for its data forever.
#[tokio::test]
async fn pages_render_while_other_hubs_start_in_the_same_process() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let others = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        for _ in 0..6 {
            drop(rt.block_on(prepared(false)));
        }
    });
    let mut pages = 0;
    while !others.is_finished() {
        let req = Request::get("/tenants").header(header::COOKIE, &cookie).body(Body::empty()).expect("request");
        let answer = tokio::time::timeout(std::time::Duration::from_secs(10), hub.router.clone().oneshot(req))
            .await
            .expect("a page answers while another hub starts")
            .expect("answered");
        assert_eq!(answer.status(), StatusCode::OK);
        pages += 1;
    }
    others.join().expect("the other hubs started");
    assert!(pages > 0);
}

#[tokio::test]
async fn healthz_answers_when_the_database_is_up() {
    let hub = hub().await;
    let a = hub.get("/healthz", None).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn server_functions_without_a_session_answer_401_and_no_data() {
    let hub = hub().await;
    // Each endpoint with well-formed arguments, so only the session is missing.
    for (endpoint, args) in [
        ("current_user", ""),
        ("logout", ""),
        ("activity", ""),
        ("company", ""),
        ("users", ""),
        ("connectors", ""),
        ("connector", "name=hubspot"),
        ("enable_connector", "name=hubspot&client_id=a&client_secret=b"),
        ("save_connector", "definition=name%3A+x"),
        ("remove_connector", "name=hubspot"),
        ("integrations", ""),
        ("integration", "id=1"),
        ("integration_form", ""),
        ("create_integration", "input%5Bname%5D=x&input%5Brepository%5D=%2Ftmp"),
        ("update_integration", "id=1&input%5Bname%5D=x&input%5Brepository%5D=%2Ftmp"),
        ("build_release", "integration_id=1"),
        ("set_default_release", "integration_id=1&release_id=1"),
        ("release", "id=1"),
        ("organizations", ""),
        ("add_user", "name=x&email=x%40example.com&organization_id=1"),
        ("resend_invitation", "user_id=1"),
        ("deactivate_user", "user_id=1"),
        ("create_partner", "name=x"),
        ("rename_partner", "id=1&name=x"),
        ("sent_mail", ""),
        ("change_password", "current_password=a&new_password=b&confirm=b"),
        ("tenants", "query%5Bq%5D=&query%5Bsort%5D=name&query%5Bpage%5D=1"),
        ("tenant", "id=1"),
        ("new_tenant_form", "integration_id=1"),
        ("create_tenant", "integration_id=1&input%5Bname%5D=x"),
        ("save_tenant_credentials", "tenant_id=1&connector=stripe&fields%5Bapi_key%5D=x"),
        ("run_tenant", "tenant_id=1&mode=normal"),
        ("run", "id=1"),
        ("activity_runs", "query%5Bphase%5D="),
        ("finish_tenant_credentials", "tenant_id=1"),
        ("save_tenant_configs", "tenant_id=1"),
        ("save_tenant_schedule", "tenant_id=1&input%5Bkind%5D=simple&paused=true"),
        ("preview_schedule", "tenant_id=1&input%5Bkind%5D=advanced&input%5Bcron%5D=0+9+*+*+*"),
        ("time_zone_names", ""),
        ("save_tenant_settings", "tenant_id=1&version%5Brelease_mode%5D=channel"),
        ("disconnect_connection", "tenant_id=1&connector=stripe"),
        ("archive_tenant", "tenant_id=1"),
        ("make_tenant_webhook", "tenant_id=1"),
        ("api_access", ""),
        ("create_api_key", "name=x"),
        ("revoke_api_key", "id=1"),
        ("notifications", ""),
        ("save_notifications", "url=http%3A%2F%2Flocalhost%2Fx"),
        ("rotate_webhook_secret", ""),
        ("marketplace_settings", ""),
        ("save_marketplace", "input%5Bname%5D=x"),
        ("rotate_marketplace_secret", "grace_hours=1"),
        ("end_marketplace_grace", ""),
        ("integration_listing", "integration_id=1"),
        ("save_listing", "integration_id=1&input%5Bshort_description%5D=x"),
        ("link_marketplace_user", "tenant_id=1&sub=u"),
        ("repository_access", "id=1"),
        ("set_repository_access", "id=1&access=ssh&new_key=1"),
        ("pin_host_keys", "id=1&forget=1"),
        ("set_push_builds", "id=1&push=on"),
    ] {
        let a = hub.call(endpoint, args, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{endpoint}: {}", a.body);
        assert!(!a.body.contains("admin@example.com"), "{endpoint} leaked: {}", a.body);
        // A forged cookie is no better than none.
        let a = hub.call(endpoint, args, Some("hub_session=forged")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{endpoint} with a forged cookie");
    }
}

#[tokio::test]
async fn a_session_cookie_unlocks_server_functions_until_sign_out() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let a = hub.call("current_user", "", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("admin@example.com"));
    let a = hub.call("users", "", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    hub.call("logout", "", Some(&cookie)).await;
    let a = hub.call("current_user", "", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_password_is_a_field_error_that_keeps_the_email() {
    let hub = hub().await;
    let a = hub.call("login", "email=admin%40example.com&password=nope", None).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("not correct") && a.body.contains("admin@example.com"), "{}", a.body);
    assert!(!a.body.contains("nope"), "the password must not be echoed");
    assert!(a.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_login() {
    let hub = hub().await;
    for path in
        ["/", "/integrations", "/tenants", "/activity", "/settings/company", "/settings/users", "/settings/marketplace"]
    {
        let a = hub.get(path, None).await;
        assert!(a.status.is_redirection(), "{path}: {}", a.status);
        let location = a.headers.get(header::LOCATION).expect("location").to_str().expect("ascii");
        assert!(location.starts_with("/login"), "{path} -> {location}");
    }
    assert_eq!(hub.get("/login", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn console_pages_render_for_a_signed_in_admin() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let a = hub.get("/settings/users", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("admin@example.com"), "{}", a.body);
    let a = hub.get("/activity/audit", Some(&cookie)).await;
    assert!(a.body.contains("created"), "the bootstrap is in the audit log");
    let a = hub.get("/activity", Some(&cookie)).await;
    assert!(a.body.contains("No runs"), "{}", a.body);
    // Signed in, the login page sends you on to the console.
    assert!(hub.get("/login", Some(&cookie)).await.status.is_redirection());
}

#[tokio::test]
async fn an_integration_is_created_from_a_plain_form_and_validated_on_the_server() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    // Browsers encode the brackets; unticked connectors are simply absent.
    let form = "input%5Bname%5D=Sync&input%5Brepository%5D=%2Fsrv%2Fgit%2Fsync&input%5Bconnectors%5D%5B1%5D=slack&input%5Bconnectors%5D%5B3%5D=stripe";
    let a = hub.call("create_integration", form, Some(&cookie)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let a = hub.call("integration", "id=1", Some(&cookie)).await;
    assert!(a.body.contains("\"connectors\":[\"slack\",\"stripe\"]"), "{}", a.body);
    assert!(a.body.contains("\"branch\":\"main\""), "{}", a.body);

    // The same name again is a field error that keeps what was typed.
    let a = hub.call("create_integration", form, Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("already exists") && a.body.contains("/srv/git/sync"), "{}", a.body);
    // An unknown connector is refused by the server even if a page offered it.
    let a = hub
        .call(
            "create_integration",
            "input%5Bname%5D=Other&input%5Brepository%5D=x&input%5Bconnectors%5D%5B0%5D=nope",
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("no connector named nope"), "{}", a.body);

    // The audit log names what changed and links to it.
    let audit = hub.get("/activity/audit", Some(&cookie)).await;
    assert!(audit.body.contains(r#"<a href="/integrations/1">integration Sync (#1)</a>"#), "{}", audit.body);
    assert!(audit.body.contains("user admin@example.com (#1)"), "{}", audit.body);
}

#[tokio::test]
async fn every_console_page_warns_while_the_sandbox_is_off_and_runs_record_it() {
    let warning = "The sandbox is off (HUB_SANDBOX=off)";
    let (on, _on_dir) = prepared_with(false, &[]).await;
    let (off, _off_dir) = prepared_with(false, &[("HUB_SANDBOX", "off")]).await;
    for (prepared, warned) in [(on, false), (off, true)] {
        let sandbox = prepared.state.builder.sandbox().clone();
        let hub = Hub { router: prepared.router, _dir: tempfile::tempdir().expect("tempdir") };
        let cookie = hub.sign_in().await;
        for path in ["/integrations", "/tenants", "/activity"] {
            let page = hub.get(path, Some(&cookie)).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert_eq!(page.body.contains(warning), warned, "{path}");
        }
        // Off is always worth a warning at start; on, as root here, every layer is in.
        assert!(warned == sandbox.degraded() || !nix::unistd::geteuid().is_root(), "{}", sandbox.summary());
        let recorded = sandbox.attestation(None);
        assert_eq!(recorded.starts_with("unsandboxed (HUB_SANDBOX=off)"), warned, "{recorded}");
        assert_eq!(recorded.contains("bubblewrap"), !warned, "{recorded}");
    }
}

/// A long log is shown a window at a time, with real links to the earlier and later
/// windows (no script needed).
#[tokio::test]
async fn a_long_log_is_paged_with_earlier_and_later_links() {
    let (prepared, dir) = prepared(true).await;
    let db = prepared.state.db.clone();
    let hub = Hub { router: prepared.router, _dir: dir };
    let cookie = hub.sign_in().await;
    let now = chrono::Utc::now();
    // A tenant of a sample integration, and a finished run of it with a 1.9 MB log.
    sqlx::query(
        "INSERT INTO tenants (integration_id, name, release_choice, source, created_at, updated_at)
         SELECT id, 'paged', 'latest', 'hub', ?1, ?1 FROM integrations ORDER BY id LIMIT 1",
    )
    .bind(now)
    .execute(db.pool())
    .await
    .expect("tenant");
    let run: i64 = sqlx::query_scalar(
        "INSERT INTO runs (tenant_id, integration_id, mode, phase, queued_at, started_at, finished_at)
         SELECT id, integration_id, 'normal', 'succeeded', ?1, ?1, ?1 FROM tenants ORDER BY id LIMIT 1 RETURNING id",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await
    .expect("run");
    for n in 0..3 {
        let piece = format!("line of piece {n}\n").repeat(40_000);
        hub_core::db::run_logs::append_log(&mut db.pool().acquire().await.expect("connection"), run, n, &piece, now)
            .await
            .expect("log");
    }
    let end = hub.get(&format!("/runs/{run}"), Some(&cookie)).await;
    assert_eq!(end.status, StatusCode::OK);
    assert!(end.body.contains("line of piece 2") && !end.body.contains("line of piece 0"));
    assert!(end.body.contains(&format!("href=\"/runs/{run}?log_before=1\"")), "an Earlier link");
    assert!(end.body.contains("its last"), "a note says which part is shown");
    let earlier = hub.get(&format!("/runs/{run}?log_before=1"), Some(&cookie)).await;
    assert!(earlier.body.contains("line of piece 0") && !earlier.body.contains("line of piece 2"));
    assert!(earlier.body.contains(&format!("href=\"/runs/{run}?log_from=1\"")), "a Later link");
    assert!(!earlier.body.contains("log_before="), "nothing is earlier than the first piece");
}

/// Cross-site request forgery: a state change a browser sent from another site (a
/// sibling subdomain included) is refused with a 403 and changes nothing; the same
/// change from the hub's own pages goes through.
#[tokio::test]
async fn a_state_change_from_another_site_is_refused_and_changes_nothing() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let post = |path: &str, body: &str, cookie: Option<&str>, from: (&str, &str)| {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(from.0, from.1);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.body(Body::from(body.to_owned())).expect("request")
    };
    let days = || async {
        let a = hub.call("retention", "", Some(&cookie)).await;
        serde_json::from_str::<serde_json::Value>(&a.body).expect("json")["log_days"].clone()
    };

    // Login forgery: a cross-site sign-in signs nobody in.
    let login = "email=admin%40example.com&password=correct+horse+battery";
    let a = hub.send(post("/api/login", login, None, ("sec-fetch-site", "cross-site"))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("came from another site") && a.headers.get(header::SET_COOKIE).is_none());

    // An admin's cookie sent from a sibling subdomain, or from a page that says only
    // its Origin, changes nothing.
    for from in [("sec-fetch-site", "same-site"), ("origin", "https://app.example.com"), ("origin", "null")] {
        let a = hub.send(post("/api/retention/save", "log_days=7&runs_per_tenant=100", Some(&cookie), from)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{from:?}");
    }
    assert_eq!(days().await, serde_json::json!(30));

    // From the hub's own page it goes through.
    let a = hub
        .send(post(
            "/api/retention/save",
            "log_days=7&runs_per_tenant=100",
            Some(&cookie),
            ("sec-fetch-site", "same-origin"),
        ))
        .await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    assert_eq!(days().await, serde_json::json!(7));
}

/// Pages and answers, which may show a secret, are never cached or sniffed, and their
/// addresses are not sent to other sites; the built site's files may be cached.
#[tokio::test]
async fn pages_and_answers_are_not_cached_and_files_may_be() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let value = |a: &Answer, h: header::HeaderName| a.headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    for a in [hub.get("/settings/api", Some(&cookie)).await, hub.call("company", "", Some(&cookie)).await] {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(value(&a, header::CACHE_CONTROL).as_deref(), Some("no-store"));
        assert_eq!(value(&a, header::X_CONTENT_TYPE_OPTIONS).as_deref(), Some("nosniff"));
        assert_eq!(value(&a, header::REFERRER_POLICY).as_deref(), Some("same-origin"));
    }
    let file = hub.get("/favicon.svg", None).await;
    assert_eq!(value(&file, header::X_CONTENT_TYPE_OPTIONS).as_deref(), Some("nosniff"));
    assert_ne!(value(&file, header::CACHE_CONTROL).as_deref(), Some("no-store"));
}

/// Sign-in throttling counts per client address: five wrong passwords from one address
/// lock the admin out there, not from another address; and the refusal is logged with
/// the typed email quoted, so it cannot forge a log line.
#[tokio::test]
async fn a_sign_in_lockout_holds_one_address_and_not_another() {
    let hub = hub().await;
    let from = |ip: [u8; 4], password: &str| {
        let addr = std::net::SocketAddr::from((ip, 40_000));
        Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .extension(axum::extract::ConnectInfo(addr))
            .body(Body::from(format!("email=admin%40example.com&password={password}")))
            .expect("request")
    };
    for _ in 0..5 {
        let a = hub.send(from([203, 0, 113, 9], "wrong")).await;
        assert!(a.body.contains("is not correct"), "{}", a.body);
    }
    let locked = hub.send(from([203, 0, 113, 9], "correct+horse+battery")).await;
    assert!(locked.body.contains("Try again in"), "{}", locked.body);
    assert!(locked.headers.get(header::SET_COOKIE).is_none());
    let elsewhere = hub.send(from([192, 0, 2, 1], "correct+horse+battery")).await;
    assert!(elsewhere.headers.get(header::SET_COOKIE).is_some(), "{} {}", elsewhere.status, elsewhere.body);
}

/// Every page carries a Content-Security-Policy whose script nonce is the one on the
/// page's own hydration script, with the frame rule added.
#[tokio::test]
async fn pages_carry_a_content_security_policy_with_their_script_nonce() {
    let hub = hub().await;
    let page = hub.get("/login", None).await;
    let policy = page.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).expect("a policy");
    let nonce = page.body.split("<script type=\"module\" nonce=\"").nth(1).and_then(|r| r.split('"').next());
    let nonce = nonce.expect("the hydration script has a nonce");
    assert!(policy.contains(&format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'")), "{policy}");
    assert!(policy.contains("object-src 'none'") && policy.ends_with("frame-ancestors 'none'"), "{policy}");
    // Each response has its own nonce.
    let again = hub.get("/login", None).await;
    let other = again.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(!other.contains(nonce));
}

#[tokio::test]
async fn a_webhook_receiver_inside_the_hubs_network_is_a_field_error_until_the_operator_allows_it() {
    let strict = hub().await;
    let cookie = strict.sign_in().await;
    let internal = [
        ("http://127.0.0.1:8080/hooks", "127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("https://10.0.0.1/hooks", "10.0.0.1, a private address"),
        ("http://[::1]:9000/hooks", "[::1] is ::1, a loopback address"),
        ("http://localhost:9000/hooks", "localhost is "),
    ];
    let form = |to: &str| {
        format!(
            "url={}&events%5B0%5D=run_failed",
            url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        )
    };
    for (url, said) in internal {
        let a = strict.call("save_notifications", &form(url), Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", a.body);
        assert!(a.body.contains(said) && a.body.contains("HUB_ALLOW_PRIVATE_TARGETS"), "{url}: {}", a.body);
        assert!(a.body.contains("\"url\""), "the error is the url field's: {}", a.body);
    }
    let page = strict.get("/settings/notifications", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("169.254.169.254"), "nothing was saved");
    // A repository there is refused next to its field too.
    let repo_form = "input%5Bname%5D=Metadata&input%5Brepository%5D=http%3A%2F%2F169.254.169.254%2Fx.git";
    let a = strict.call("create_integration", repo_form, Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("\"repository\"") && a.body.contains("a link-local address"), "{}", a.body);

    // Once the operator lists the ranges, the same receivers are taken.
    let (prepared, _dir) =
        prepared_with(false, &[("HUB_ALLOW_PRIVATE_TARGETS", "127.0.0.0/8, ::1, 10.0.0.0/8, 169.254.169.254/32")])
            .await;
    let allowing = Hub { router: prepared.router, _dir };
    let cookie = allowing.sign_in().await;
    for (url, _) in internal {
        let a = allowing.call("save_notifications", &form(url), Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::OK, "{url}: {}", a.body);
    }
}

#[tokio::test]
async fn a_failed_plain_form_post_carries_its_error_sealed_and_a_forged_error_is_ignored() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    // No JavaScript: the browser posts the form and follows the redirect back.
    let post = Request::post("/api/retention/save")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://localhost/settings/company")
        .header(header::COOKIE, &cookie)
        .body(Body::from("log_days=0&runs_per_tenant=typed-by-me"))
        .expect("request");
    let a = hub.send(post).await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let location = a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(location.contains("__err="), "{location}");
    // What was typed is not readable in the URL, not even as base64.
    let err = location.split("__err=").nth(1).unwrap_or_default().split('&').next().unwrap_or_default();
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE, err.replace("%3D", "="))
        .or_else(|_| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, err))
        .unwrap_or_default();
    assert!(!String::from_utf8_lossy(&decoded).contains("typed-by-me"), "{location}");
    let back = location.trim_start_matches("http://localhost");
    let page = hub.get(back, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Days to keep run logs must be a whole number"), "the error is shown");
    assert!(page.body.contains("typed-by-me"), "and what was typed is kept");

    // An error made by hand (as another site could link to) pre-fills nothing.
    let forged = serde_json::json!({ "Validation": { "field": "log_days", "message": "Forged advice: visit evil.example",
        "kept": [["runs_per_tenant", "planted-value"]] } });
    let forged = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, forged.to_string());
    for query in [
        format!("__path=%2Fapi%2Fretention%2Fsave&__err={forged}"),
        format!("%5F%5Fpath=%2Fapi%2Fretention%2Fsave&%5F%5Ferr={forged}"),
    ] {
        let page = hub.get(&format!("/settings/company?{query}"), Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Forged advice") && !page.body.contains("planted-value"), "shown: {query}");
    }
}

/// The answer's status, headers and raw body bytes.
async fn raw(router: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.expect("answered");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.into_body().collect().await.expect("body").to_bytes().to_vec())
}

fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read as _;
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut out).expect("gzip");
    out
}

/// The site's files go out as their precompressed twins, kept for a year when named by
/// their content; pages and API answers are compressed on the way out.
#[tokio::test]
async fn site_files_and_pages_go_out_compressed() {
    use std::io::Write as _;
    let site = tempfile::tempdir().expect("site");
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg");
    let wasm = "hub.Zp3n1pAGmeXvOTUFaXxQ3A.wasm";
    let plain = vec![7u8; 20_000];
    std::fs::write(pkg.join(wasm), &plain).expect("wasm");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&plain).expect("gzip");
    let twin = gz.finish().expect("gzip");
    std::fs::write(pkg.join(format!("{wasm}.gz")), &twin).expect("twin");
    std::fs::write(site.path().join("favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("icon");
    let root = site.path().to_string_lossy().into_owned();
    let (prepared, _dir) = prepared_with(false, &[("LEPTOS_SITE_ROOT", &root)]).await;
    let router = prepared.router;
    let get = |path: &str, encoding: Option<&str>| {
        let mut req = Request::get(path);
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        req.body(Body::empty()).expect("request")
    };

    // The wasm: its gzip twin as built, kept for a year; without gzip, the file itself.
    let (status, headers, body) = raw(&router, get(&format!("/pkg/{wasm}"), Some("gzip, deflate"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(headers[header::VARY], "accept-encoding");
    assert_eq!(body, twin);
    let (status, headers, body) = raw(&router, get(&format!("/pkg/{wasm}"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body, plain);
    // A file not named by its content is checked again on each use.
    let (status, headers, _) = raw(&router, get("/favicon.svg", Some("gzip"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");

    // A page and an API answer are compressed for a client that accepts it.
    let (status, headers, body) = raw(&router, get("/login", Some("gzip"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(gunzip(&body).contains("Sign in"));
    let (status, headers, body) = raw(&router, get("/api/v2/openapi.json", Some("br;q=0.5, gzip"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(gunzip(&body).contains("\"openapi\""));
    // Without Accept-Encoding, as it was.
    let (_, headers, body) = raw(&router, get("/login", None)).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert!(String::from_utf8_lossy(&body).contains("Sign in"));
}

/// The schedule form's preview comes from the server: the schedule in words and its
/// next five fire times in its time zone, or the field a bad input fails on.
#[tokio::test]
async fn the_schedule_preview_is_read_on_the_server() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let a = hub
        .call(
            "preview_schedule",
            "tenant_id=1&input%5Bkind%5D=advanced&input%5Bcron%5D=30+9+*+*+mon-fri&input%5Btimezone%5D=Europe%2FBerlin",
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["Fires"]["reading"], "At 09:30, on Monday through Friday (Europe/Berlin)");
    let times = v["Fires"]["times"].as_array().expect("times");
    assert_eq!(times.len(), 5);
    assert!(times.iter().all(|t| t.as_str().is_some_and(|t| t.contains("09:30 CE"))), "{times:?}");

    let a = hub
        .call("preview_schedule", "tenant_id=1&input%5Bkind%5D=advanced&input%5Bcron%5D=61+*+*+*+*", Some(&cookie))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["Invalid"]["field"], "cron");
    assert!(v["Invalid"]["message"].as_str().is_some_and(|m| m.contains("minute must be from 0 to 59")), "{v}");

    // The form's time zone suggestions come from the server too.
    let a = hub.call("time_zone_names", "", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let names: Vec<String> = serde_json::from_str(&a.body).expect("json");
    assert!(names.len() > 400, "{}", names.len());
    assert!(names.iter().any(|n| n == "Europe/Berlin") && names.iter().any(|n| n == "UTC"));
}

#[tokio::test]
async fn the_connectors_page_shows_the_redirect_uri_and_the_catalogue_and_what_it_enabled() {
    let (p, dir) = prepared_with(false, &[("HUB_CATALOGUE", "shopify, sendgrid")]).await;
    let hub = Hub { router: p.router, _dir: dir };
    let cookie = hub.sign_in_as("admin%40example.com", PASSWORD).await;
    let page = hub.get("/connectors", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "/oauth/callback</code>",
        "from the catalogue",
        "Each connection is asked for: <!>Shop name",
        "Not configured: set <!>SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET",
        "Catalogue (36 connectors)",
        "A client id and secret",
        "from the catalogue (HUB_CATALOGUE)",
        "from the file slack.yaml",
        "https://partners.shopify.com/",
    ] {
        assert!(page.body.contains(needle), "{needle} in {}", page.body);
    }
    // Two enabled from the catalogue, and three of the folder's files with a catalogue
    // entry of the same name (Slack, Stripe, SFTP), are marked in use.
    assert_eq!(page.body.matches(r#">In use</span>"#).count(), 5);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::from_vars(|k| match k {
        "HUB_DATA_DIR" => Some(dir.path().to_string_lossy().into_owned()),
        "HUB_CONNECTORS_DIR" => Some(repo_dir("connectors")),
        "HUB_CATALOGUE" => Some("shopify,shopifi".to_owned()),
        _ => None,
    })
    .expect("config");
    let refused = server::startup::prepare(&config).await.map(drop).expect_err("no such connector");
    assert_eq!(refused.to_string(), "HUB_CATALOGUE: the catalogue has no connector named shopifi");
}

/// A catalogue connector enabled on the Connectors page is in use at once, its secret
/// never shown again; a broken definition is refused with its line and column; a
/// forged cross-site change changes nothing.
#[tokio::test]
async fn connectors_are_enabled_and_written_in_the_console_without_a_restart() {
    let hub = hub().await;
    let cookie = hub.sign_in().await;
    let secret = "very-secret-client-value";
    let enable = format!("name=hubspot&client_id=hub-client&client_secret={secret}");

    let mut forged = Request::post("/api/enable_connector")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("sec-fetch-site", "cross-site")
        .header(header::COOKIE, &cookie)
        .body(Body::from(enable.clone()))
        .expect("request");
    forged.headers_mut().insert("origin", header::HeaderValue::from_static("https://evil.example"));
    assert_eq!(hub.send(forged).await.status, StatusCode::FORBIDDEN);
    let form = hub.call("integration_form", "", Some(&cookie)).await;
    assert!(!form.body.contains("\"hubspot\""), "{}", form.body);

    let a = hub.call("enable_connector", &enable, Some(&cookie)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    // Integrations can name it now: no restart.
    let form = hub.call("integration_form", "", Some(&cookie)).await;
    assert!(form.body.contains("\"hubspot\""), "{}", form.body);
    let list = hub.get("/connectors", Some(&cookie)).await;
    assert!(list.body.contains("from the catalogue, enabled in the console"), "{}", list.body);
    let page = hub.get("/connectors/hubspot", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("A secret is stored") && page.body.contains("hub-client"), "{}", page.body);
    for answer in [list, page, hub.call("connector", "name=hubspot", Some(&cookie)).await] {
        assert!(!answer.body.contains(secret), "the secret is never shown again");
    }

    let broken = "definition=name%3A+acme%0Aauth%3A+%5Boauth2";
    let a = hub.call("save_connector", broken, Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["Validation"]["field"], "definition", "{v}");
    let message = v["Validation"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Line 2, column"), "{message}");
    assert!(!hub.get("/connectors/acme", Some(&cookie)).await.body.contains("Definition (YAML)"), "nothing was saved");
    let new = hub.get("/connectors/new", Some(&cookie)).await;
    assert!(new.body.contains("Definition (YAML)"), "{}", new.body);
}
