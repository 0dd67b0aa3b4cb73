//! One test binary, so the crate links once.

mod auth;
mod database;
mod errors;
mod health;
mod helpers;
mod migrations;
mod openapi;
mod reference_data;
mod startup_modes;
