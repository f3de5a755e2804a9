//! Pieces shared by pages: the console frame, page headers, empty states, notices,
//! loading text, badges, the release choice, connections, Copy buttons and the runs
//! table.

pub mod badge;
pub mod config_form;
pub mod connection;
pub mod copy;
pub mod form;
pub mod layout;
pub mod loading;
pub mod page;
pub mod release;
pub mod runs_table;
