//! The sample integrations a new hub starts with: each sample folder is copied into the
//! data directory, made a local git repository, registered as an integration, and its
//! first release queued.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::db::audit::Actor;
use crate::db::Db;
use crate::domain::integration::IntegrationInput;
use crate::domain::manifest::Manifest;
use crate::domain::yaml;
use crate::engine::builder::Builder;
use crate::engine::git::trusted as git;
use crate::service::{self, ServiceError};

/// `sample.yaml`: how a sample is listed.
#[derive(Deserialize)]
struct SampleInfo {
    name: String,
    #[serde(default)]
    description: String,
}

/// Seeds every sample under `samples_dir`; returns the names of the integrations made.
pub async fn seed(
    db: &Db,
    builder: &Builder,
    samples_dir: &Path,
    data_dir: &Path,
    organization_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(samples_dir)
        .map_err(|e| format!("{}: {e}", samples_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("sample.yaml").is_file())
        .collect();
    dirs.sort();
    let mut made = Vec::new();
    for dir in dirs {
        let read =
            |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{}/{name}: {e}", dir.display()));
        let info: SampleInfo =
            yaml::from_str(&read("sample.yaml")?).map_err(|e| format!("{}/sample.yaml {e}", dir.display()))?;
        let manifest =
            Manifest::parse(&read("PANDIUM.yaml")?).map_err(|e| format!("{}/PANDIUM.yaml: {e}", dir.display()))?;
        let slug = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let repo = std::path::absolute(data_dir.join("samples").join(&slug)).map_err(|e| e.to_string())?;
        make_repository(&dir, &repo).await?;
        let input = IntegrationInput {
            name: info.name.clone(),
            description: info.description,
            connectors: manifest.connectors.clone(),
            repository: repo.to_string_lossy().into_owned(),
            branch: "main".to_owned(),
            manifest_path: "PANDIUM.yaml".to_owned(),
            run_timeout_minutes: String::new(),
        };
        let id = service::integrations::create(
            db,
            &crate::egress::Egress::strict(),
            &Actor::System,
            organization_id,
            input,
            now,
        )
        .await
        .map_err(|e| describe(&info.name, e))?;
        let release =
            service::integrations::build_release(db, builder, &Actor::System, service::Scope::All, id, None, now)
                .await
                .map_err(|e| describe(&info.name, e))?;
        // Its first build becomes its default release, so a new hub's samples can be
        // installed on the Default channel and published at once.
        crate::db::releases::make_default_on_success(db.pool(), release)
            .await
            .map_err(|e| format!("sample {}: {e}", info.name))?;
        made.push(info.name);
    }
    Ok(made)
}

fn describe(name: &str, e: ServiceError) -> String {
    format!("sample {name}: {e}")
}

/// Copies the sample's files into `repo` and commits them on `main`, once.
async fn make_repository(from: &Path, repo: &Path) -> Result<(), String> {
    if repo.join(".git").exists() {
        return Ok(());
    }
    copy_dir(from, repo).map_err(|e| format!("copying {} to {}: {e}", from.display(), repo.display()))?;
    let identity = ["-c", "user.name=Integration Hub", "-c", "user.email=hub@localhost"];
    git(repo, &["init", "--quiet", "--initial-branch=main"]).await?;
    git(repo, &["add", "--all"]).await?;
    let mut commit = identity.to_vec();
    commit.extend(["commit", "--quiet", "--message", "Sample integration"]);
    git(repo, &commit).await?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
