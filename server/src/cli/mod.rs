//! The hub binary's commands besides serving: checking a manifest, making an API key
//! on the hub's own database, and the REST API from a terminal (`HUB_URL`,
//! `HUB_API_KEY`). Each failure is one line on stderr and a non-zero exit status;
//! `--json` prints the API's answers as they came, for scripts.

mod api;
mod local;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What the binary was asked to do.
#[derive(Debug, Parser)]
#[command(name = "server", version, about = "The Integration Hub: the server, and commands for its users")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Starts the hub (what the binary does without a command).
    Serve,
    /// Checks a PANDIUM.yaml as the hub's build does.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Runs an integration's folder as the hub would run a tenant of it: the same
    /// PAN_* variables, sandbox and log masking, with the values given here.
    RunLocal(local::RunLocal),
    /// Makes an API key on this machine's hub database (`HUB_DATA_DIR`).
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
    /// Integrations, through the REST API.
    #[command(subcommand)]
    Integrations(ListCommand),
    /// Tenants, through the REST API.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Builds a release of an integration, through the REST API.
    Build {
        #[command(flatten)]
        remote: api::Remote,
        /// The integration's id.
        integration: i64,
        /// A branch, tag or commit (the integration's branch when left out).
        #[arg(long = "ref")]
        git_ref: Option<String>,
        /// Follows the build log and exits with the build's outcome.
        #[arg(long)]
        wait: bool,
    },
    /// Asks for a sync of a tenant, through the REST API.
    Sync {
        #[command(flatten)]
        remote: api::Remote,
        /// The tenant's id.
        tenant: i64,
        /// `normal` or `init`.
        #[arg(long, default_value = "normal")]
        mode: String,
        /// A JSON object handed to the run in PAN_CTX_RUN_TRIGGERS.
        #[arg(long)]
        payload: Option<String>,
        /// Follows the run's log and exits with its outcome (0 when it succeeded).
        #[arg(long)]
        wait: bool,
    },
    /// A tenant's metadata, through the REST API.
    #[command(subcommand)]
    Metadata(MetadataCommand),
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Prints what is wrong with the file (line and column), or that it is valid.
    Check {
        /// The file, or a folder holding PANDIUM.yaml.
        #[arg(default_value = "PANDIUM.yaml")]
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Prints a new key once; the hub keeps only its hash.
    Create {
        /// What the key is for, such as the system that will use it.
        name: String,
        /// A key that may only read.
        #[arg(long)]
        read_only: bool,
        /// Days until the key stops working (until revoked when left out).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Lists them.
    List {
        #[command(flatten)]
        remote: api::Remote,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Lists live tenants.
    List {
        #[command(flatten)]
        remote: api::Remote,
        /// Only this integration's.
        #[arg(long)]
        integration: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Prints a tenant's metadata.
    Get {
        #[command(flatten)]
        remote: api::Remote,
        tenant: i64,
    },
    /// Merges keys into a tenant's metadata (a null removes a key).
    Set {
        #[command(flatten)]
        remote: api::Remote,
        tenant: i64,
        /// A JSON object, such as '{"cursor": "abc"}'.
        #[arg(value_name = "JSON")]
        values: String,
    },
}

/// Runs a command other than `serve`.
pub async fn run(command: Command) -> ExitCode {
    let outcome = match command {
        Command::Serve => Ok(ExitCode::SUCCESS),
        Command::Manifest(ManifestCommand::Check { path }) => check_manifest(&path),
        Command::RunLocal(args) => local::run(&args).await,
        Command::ApiKey(ApiKeyCommand::Create { name, read_only, expires_in_days }) => {
            create_key(&name, read_only, expires_in_days).await
        }
        Command::Integrations(ListCommand::List { remote }) => api::integrations(&remote).await,
        Command::Tenants(TenantsCommand::List { remote, integration }) => api::tenants(&remote, integration).await,
        Command::Build { remote, integration, git_ref, wait } => {
            api::build(&remote, integration, git_ref.as_deref(), wait).await
        }
        Command::Sync { remote, tenant, mode, payload, wait } => {
            api::sync(&remote, tenant, &mode, payload.as_deref(), wait).await
        }
        Command::Metadata(MetadataCommand::Get { remote, tenant }) => api::metadata(&remote, tenant, None).await,
        Command::Metadata(MetadataCommand::Set { remote, tenant, values }) => {
            api::metadata(&remote, tenant, Some(&values)).await
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `manifest check`: the message the hub's build gives for the same file.
fn check_manifest(path: &std::path::Path) -> Result<ExitCode, String> {
    let file = if path.is_dir() { path.join("PANDIUM.yaml") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    match hub_core::domain::manifest::Manifest::parse(&text) {
        Ok(m) => {
            println!("{shown}: valid (version {}, runs `{}`)", m.version, m.run);
            if !m.connectors.is_empty() {
                println!("connectors: {} (the hub checks that it has them when it builds)", m.connectors.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", hub_core::engine::builder::describe_manifest_error(&shown, &e));
            Ok(ExitCode::from(1))
        }
    }
}

/// `api-key create`: a key made on the hub's database, as Settings → API Access makes
/// one (audited, as made by the system).
async fn create_key(name: &str, read_only: bool, days: Option<u32>) -> Result<ExitCode, String> {
    use hub_core::service::api_keys::{self, NewKeyInput};
    let dir = PathBuf::from(std::env::var("HUB_DATA_DIR").unwrap_or_else(|_| "./data".to_owned()));
    let file = dir.join(hub_core::db::DB_FILE);
    if !file.is_file() {
        return Err(format!("there is no hub database at {}: start the hub once first (HUB_DATA_DIR)", file.display()));
    }
    let db = hub_core::db::Db::open(&file).await.map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let input = NewKeyInput {
        name: name.to_owned(),
        scope: if read_only { "read" } else { "full" }.to_owned(),
        expires_in_days: days.map(|d| d.to_string()).unwrap_or_default(),
    };
    let actor = hub_core::db::audit::Actor::System;
    let (_, key) = api_keys::create(&db, &actor, &input, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
    println!("{key}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_commands_are_well_formed() {
        super::Cli::command().debug_assert();
    }
}
