//! Work the hub does in the background: building releases and running integrations,
//! each process in the sandbox.

mod batch;
pub mod builder;
mod dispatcher;
mod environment;
mod executor;
pub mod files;
pub mod git;
pub mod janitor;
pub mod local;
pub mod output;
pub mod process;
mod recovery;
pub mod runs;
pub mod sandbox;
mod scheduler;
