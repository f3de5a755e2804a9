//! Work the hub does in the background: building releases and running integrations.

pub mod builder;
pub mod git;
pub mod output;
pub mod process;
pub mod runs;
