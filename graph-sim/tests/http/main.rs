//! HTTP-level tests of the simulator: every request goes through a real socket.

mod app_sign_in;
mod audit_logs;
mod auth_methods;
mod batch;
mod cert_auth;
mod common;
mod directory;
mod faults;
mod federation;
mod ground_truth;
mod keys;
mod managed_identity;
mod national_cloud;
mod relying_party;
mod report_helpers;
mod reports_throttle;
mod sign_in_activity;
mod token;
mod user_insights;
