use hub_core::db::{Db, DB_FILE};

#[tokio::test]
async fn file_database_uses_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join(DB_FILE)).await.expect("opens");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(db.pool()).await.expect("pragma");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(db.pool()).await.expect("pragma");
    assert_eq!(fk, 1);
    assert!(db.is_reachable().await);
    // A user pointing at a missing organization is refused by the foreign key.
    let err = sqlx::query(
        "INSERT INTO users (organization_id, name, email, status, created_at) VALUES (99, 'x', 'x@example.com', 'active', '2026-01-01')",
    )
    .execute(db.pool())
    .await;
    assert!(err.is_err());
}

/// The migrations shipped with this crate: the `.sql` files of `migrations/`.
fn shipped_migrations() -> i64 {
    let dir = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations folder");
    let n = dir
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql") && !name.ends_with(".down.sql"))
        .count();
    i64::try_from(n).expect("count")
}

#[tokio::test]
async fn reopening_applies_no_migration_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE);
    drop(Db::open(&path).await.expect("first open"));
    let db = Db::open(&path).await.expect("second open");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(db.pool()).await.expect("count");
    let shipped = shipped_migrations();
    assert!(shipped >= 1, "no migration found");
    // Each one applied exactly once, and successfully.
    assert_eq!(n, shipped, "{n} migrations recorded for {shipped} shipped");
    let ok: i64 = sqlx::query_scalar("SELECT count(DISTINCT version) FROM _sqlx_migrations WHERE success")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(ok, shipped);
}

#[tokio::test]
async fn every_domain_table_exists() {
    let (db, _dir) = crate::file_db().await;
    for table in [
        "organizations",
        "users",
        "sessions",
        "invitations",
        "connectors",
        "integrations",
        "integration_connectors",
        "releases",
        "tenants",
        "connections",
        "runs",
        "run_triggers",
        "run_log_chunks",
        "audit_log",
        "settings",
    ] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_one(db.pool())
            .await
            .expect("query");
        assert_eq!(n, 1, "table {table}");
    }
}

/// A table of one counter, for the transaction tests below.
async fn counter(db: &Db) {
    sqlx::query("CREATE TABLE test_counter (n INTEGER NOT NULL)").execute(db.pool()).await.expect("table");
    sqlx::query("INSERT INTO test_counter (n) VALUES (0)").execute(db.pool()).await.expect("row");
}

async fn count(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT n FROM test_counter").fetch_one(db.pool()).await.expect("read")
}

/// Why `Db::begin_write` exists, step by step on the file database: a plain
/// (deferred) transaction that read before another connection committed cannot write
/// at all: SQLite answers SQLITE_BUSY_SNAPSHOT at once, without waiting. One begun
/// with `begin_write` holds the write lock from its start, so the other writer waits
/// for it instead.
#[tokio::test]
async fn a_deferred_transaction_that_read_before_another_commit_cannot_write_but_begin_write_can() {
    let (db, _dir) = crate::file_db().await;
    counter(&db).await;

    let mut deferred = db.pool().begin().await.expect("begin");
    let n: i64 = sqlx::query_scalar("SELECT n FROM test_counter").fetch_one(&mut *deferred).await.expect("read");
    // Another connection of the pool writes meanwhile, and commits.
    sqlx::query("UPDATE test_counter SET n = n + 100").execute(db.pool()).await.expect("the other writer");
    let err = sqlx::query("UPDATE test_counter SET n = ?")
        .bind(n + 1)
        .execute(&mut *deferred)
        .await
        .expect_err("a stale snapshot cannot write");
    let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    // SQLITE_BUSY_SNAPSHOT (SQLITE_BUSY | 2 << 8).
    assert_eq!(code.as_deref(), Some("517"), "{err}");
    deferred.rollback().await.expect("rollback");
    assert_eq!(count(&db).await, 100);

    let mut immediate = db.begin_write().await.expect("begin");
    let n: i64 = sqlx::query_scalar("SELECT n FROM test_counter").fetch_one(&mut *immediate).await.expect("read");
    // The other writer now waits (the busy timeout) until this transaction ends.
    let other = tokio::spawn({
        let db = db.clone();
        async move { sqlx::query("UPDATE test_counter SET n = n + 100").execute(db.pool()).await.map(drop) }
    });
    tokio::task::yield_now().await;
    sqlx::query("UPDATE test_counter SET n = ?").bind(n + 1).execute(&mut *immediate).await.expect("write");
    immediate.commit().await.expect("commit");
    other.await.expect("task").expect("the other writer waited, then wrote");
    assert_eq!(count(&db).await, 201);
}

/// Many read-then-write transactions at once on the pool's several connections:
/// with `begin_write` every one succeeds and none loses another's update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_then_write_transactions_begun_with_begin_write_all_succeed() {
    const N: i64 = 32;
    let (db, _dir) = crate::file_db().await;
    counter(&db).await;
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await?;
                let n: i64 = sqlx::query_scalar("SELECT n FROM test_counter").fetch_one(&mut *tx).await?;
                sqlx::query("UPDATE test_counter SET n = ?").bind(n + 1).execute(&mut *tx).await?;
                tx.commit().await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("every increment commits");
    }
    assert_eq!(count(&db).await, N);
}

/// The tenants each integration has, counted the slow way.
async fn live_by_integration(db: &Db) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT i.id, (SELECT count(*) FROM tenants t WHERE t.integration_id = i.id AND t.archived = 0)
         FROM integrations i ORDER BY i.id",
    )
    .fetch_all(db.pool())
    .await
    .expect("counts")
}

/// What the tenants list finds for `q`: its total and the names of its first page.
async fn search(db: &Db, q: &str) -> (i64, Vec<String>) {
    let query = hub_core::domain::tenant::ListQuery { q: q.to_owned(), ..Default::default() };
    let (rows, total, _) = hub_core::db::tenant_list::list(db.pool(), &query, None).await.expect("list");
    (total, rows.into_iter().map(|r| r.name).collect())
}

/// The live tenants whose names contain `q`, found by testing every name.
async fn containing(db: &Db, q: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tenants WHERE archived = 0 AND instr(name, ?) > 0")
        .bind(q)
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn the_kept_tenant_counts_and_the_name_index_follow_every_change() {
    let (db, _dir) = crate::file_db().await;
    let now = chrono::Utc::now();
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, kind, created_at) VALUES ('Co', 'company', ?) RETURNING id",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await
    .expect("org");
    let mut integrations = Vec::new();
    for name in ["Alpha", "Beta"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO integrations (organization_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(org)
        .bind(name)
        .bind(now)
        .bind(now)
        .fetch_one(db.pool())
        .await
        .expect("integration");
        integrations.push(id);
    }
    // More names share "cct" than the list looks up in the name index (it scans the
    // names in order instead); few share "special" (it reads only those).
    let mut tx = db.pool().begin().await.expect("tx");
    for n in 0..1_200 {
        let (integration, name) = if n % 100 == 7 {
            (integrations[1], format!("special-{n}"))
        } else {
            (integrations[0], format!("acct-{n:04}"))
        };
        sqlx::query(
            "INSERT INTO tenants (integration_id, name, release_choice, configs, schedule_kind, schedule, paused,
                                  source, setup_step, created_at, updated_at)
             VALUES (?, ?, 'latest', '{}', 'preset', 'hourly', 1, 'hub', 'done', ?, ?)",
        )
        .bind(integration)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("tenant");
    }
    tx.commit().await.expect("commit");
    let kept = |db: &Db| {
        let db = db.clone();
        async move {
            let rows = hub_core::db::integrations::list(db.pool(), None).await.expect("list");
            rows.into_iter().map(|r| (r.id, r.tenant_count)).collect::<Vec<_>>()
        }
    };
    assert_eq!(kept(&db).await, vec![(integrations[0], 1_188), (integrations[1], 12)]);
    assert_eq!(search(&db, "").await.0, 1_200);

    // Archive, restore, move, rename and delete: the kept counts stay the true ones.
    let exec = |sql: &'static str| {
        let db = db.clone();
        async move { sqlx::query(sql).execute(db.pool()).await.expect(sql) }
    };
    exec("UPDATE tenants SET archived = 1 WHERE name IN ('acct-0001', 'acct-0002', 'acct-0003', 'special-107')").await;
    exec("UPDATE tenants SET archived = 0 WHERE name = 'acct-0003'").await;
    exec("UPDATE tenants SET archived = 1, paused = 0 WHERE name = 'acct-0003'").await;
    exec("UPDATE tenants SET paused = 0 WHERE name = 'acct-0004'").await;
    exec("UPDATE tenants SET integration_id = (SELECT max(id) FROM integrations) WHERE name = 'acct-0005'").await;
    exec("UPDATE tenants SET integration_id = (SELECT max(id) FROM integrations) WHERE name = 'acct-0002'").await;
    exec("UPDATE tenants SET name = 'special-renamed' WHERE name = 'acct-0006'").await;
    exec("DELETE FROM tenants WHERE name IN ('acct-0008', 'acct-0001', 'special-207')").await;
    let truth = live_by_integration(&db).await;
    assert_eq!(kept(&db).await, truth);
    assert_eq!(truth, vec![(integrations[0], 1_183), (integrations[1], 11)]);
    assert_eq!(search(&db, "").await.0, 1_194);
    let beta = hub_core::domain::tenant::ListQuery { integration: Some(integrations[1]), ..Default::default() };
    assert_eq!(hub_core::db::tenant_list::list(db.pool(), &beta, None).await.expect("list").1, 11);

    // The same answers through the index as by testing each name, and the index
    // follows renames and deletions.
    for q in ["special", "special-9", "cct", "acct-00", "-0", "l-", "renamed", "acct-0006", "acct-0008", "\"x", "zzz"] {
        let (total, names) = search(&db, q).await;
        assert_eq!(total, containing(&db, q).await, "{q}");
        assert!(names.iter().all(|n| n.contains(q)), "{q}: {names:?}");
        assert_eq!(names.len() as i64, total.min(hub_core::domain::tenant::PAGE_SIZE), "{q}");
    }
    assert!(containing(&db, "cct").await > 1_000, "a search the list scans for");
    assert_eq!(search(&db, "special").await.1.first().map(String::as_str), Some("special-1007"));
    assert_eq!(search(&db, "renamed").await.0, 1);
    assert_eq!(search(&db, "acct-0006").await.0, 0);
}
