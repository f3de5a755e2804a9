//! Pure, synchronous rules with no I/O and no clock: callers pass `now` in.

pub mod api_key;
pub mod audit;
pub mod connector;
pub mod email;
pub mod fair_use;
pub mod form;
pub mod integration;
pub mod magic_link;
pub mod manifest;
pub mod marketplace;
pub mod release;
pub mod retention;
pub mod run;
pub mod schedule;
pub mod tenant;
pub mod throttle;
pub mod user;
pub mod webhook;
pub mod yaml;
