//! HTTP-level tests of the simulator: every request goes through a real socket.

mod common;
mod directory;
mod faults;
mod ground_truth;
mod sign_in_activity;
mod token;
