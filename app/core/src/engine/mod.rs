//! Work the hub does in the background: building releases and running integrations,
//! each process in the sandbox.

pub mod builder;
pub mod files;
pub mod git;
pub mod output;
pub mod process;
pub mod runs;
pub mod sandbox;
