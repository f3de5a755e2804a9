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
