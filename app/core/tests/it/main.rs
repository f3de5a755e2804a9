//! Integration tests of the backend against a real SQLite database.

mod auth;
mod builder;
mod db;
mod manifest;
