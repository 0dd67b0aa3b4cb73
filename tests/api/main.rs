//! One test binary, so the crate links once.

mod attachments;
mod auth;
mod bulletins;
mod concurrency;
mod database;
mod errors;
mod health;
mod helpers;
mod holidays;
mod http_semantics;
mod idempotency;
mod integration_clients;
mod kims;
mod limits;
mod logs;
mod members;
mod migrations;
mod openapi;
mod reference_data;
mod report_timeline;
mod reports;
mod revocation;
mod role_matrix;
mod sign_in_throttling;
mod startup_modes;
mod users;
