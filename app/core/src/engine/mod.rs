//! Work the hub does in the background: building releases (and, later, runs).

pub mod builder;
pub mod git;
pub mod process;
