//! KIM API: the service behind the Kelompok Informasi Masyarakat of Kota Metro.
//!
//! `startup` assembles the HTTP application from the resource modules; `main.rs`
//! only parses the command line and hands a [`config::Settings`] to it.

pub mod activities;
pub mod alert_sources;
pub mod api_document;
pub mod attachments;
pub mod audience;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod backup;
pub mod body_deadline;
pub mod bulletins;
pub mod clock;
pub mod concurrency;
pub mod config;
pub mod consultations;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod engagement;
pub mod error;
pub mod events;
pub mod export;
pub mod extract;
pub mod health;
pub mod holidays;
pub mod i18n;
pub mod idempotency;
pub mod integration_clients;
pub mod kims;
pub mod members;
pub mod mentoring;
pub mod metrics;
pub mod notifications;
pub mod open311;
pub mod openapi;
pub mod outbound;
pub mod page_cache;
pub mod pagination;
pub mod rate_limit;
pub mod regions;
pub mod report_categories;
pub mod reports;
pub mod routes;
pub mod sessions;
pub mod shutdown;
pub mod startup;
pub mod stats;
pub mod sync;
pub mod telemetry;
pub mod unit_of_work;
pub mod users;
pub mod webhooks;
