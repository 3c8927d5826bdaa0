//! The workspace's integration and conformance tests, as one test binary.

mod access_log;
mod aggregate;
mod auth;
mod cli;
mod cors;
mod dashboard;
mod deploy;
mod hardening;
mod http_api;
mod jwt;
mod lambda;
mod loader;
mod mapping;
mod metrics;
mod policies;
mod reload;
mod rest;
mod runtimes;
mod server;
mod templates;
mod tls;
mod traces;
mod upstreams;
mod usage;
mod validation;
mod vtl;
