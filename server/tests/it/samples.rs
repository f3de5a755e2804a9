//! A new hub seeds the sample integrations, and each sample's first release builds and
//! becomes its default.

use hub_core::db::{integrations, releases};

#[tokio::test]
async fn a_new_hub_builds_every_sample() {
    let (prepared, _dir) = crate::http::prepared(true).await;
    let db = &prepared.state.db;
    let list = integrations::list(db.pool(), None).await.expect("list");
    let names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Counter Sync", "Pokémon of the Day", "Slack Notifier"]);
    hub_core::worker::run_until_idle(&prepared.state.builder, chrono::Utc::now()).await.expect("built");
    for i in &list {
        let built = releases::list_for(db.pool(), i.id).await.expect("releases");
        assert_eq!(built.len(), 1, "{}", i.name);
        let log = releases::get(db.pool(), built[0].id).await.expect("release").map(|r| r.build_log);
        assert_eq!(
            built[0].status,
            hub_core::domain::release::ReleaseStatus::Succeeded,
            "{}: {:?}\n{log:?}",
            i.name,
            built[0].error,
        );
        let now = integrations::get(db.pool(), i.id).await.expect("db").expect("integration");
        assert_eq!(now.default_release_id, Some(built[0].id), "{}", i.name);
    }
}
