//! Pure, synchronous rules with no I/O and no clock: callers pass `now` in.

pub mod email;
pub mod throttle;
pub mod user;
