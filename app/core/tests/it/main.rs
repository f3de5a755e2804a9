//! Integration tests of the backend against a real SQLite database.

mod accounts;
mod auth;
mod builder;
mod db;
mod engine;
mod form;
mod manifest;
