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

#[tokio::test]
async fn reopening_applies_no_migration_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE);
    drop(Db::open(&path).await.expect("first open"));
    let db = Db::open(&path).await.expect("second open");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(db.pool()).await.expect("count");
    assert!(n >= 1);
}

#[tokio::test]
async fn every_domain_table_exists() {
    let db = Db::open_in_memory().await.expect("db");
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
