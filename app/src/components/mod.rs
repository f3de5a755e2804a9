//! Pieces shared by pages: the console frame, page headers, empty states, notices.

pub mod config_form;
pub mod form;
pub mod layout;
pub mod page;
