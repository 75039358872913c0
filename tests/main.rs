//! All integration tests in one binary: each links every SDK crate, so one link is far cheaper than many.

mod support;

mod action;
mod check;
mod cli;
mod corpus;
mod drivers;
mod faults;
mod github;
mod guards;
mod localstack;
mod pacing;
mod requests;
mod stack;
mod workflows;
