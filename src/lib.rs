//! zinfra: a secure AWS stack from one declarative TOML file.
//!
//! The pipeline: [`stack`] parses and validates the file into resources, [`graph`] orders them,
//! [`plan`] diffs them against live state read through a [`provider::Provider`], and [`apply`]
//! carries the plan out. Only [`drivers`] knows about the AWS SDK.

pub mod apply;
pub mod check;
pub mod cli;
pub mod constraints;
pub mod diagnostic;
pub mod drivers;
pub mod graph;
pub mod kinds;
pub mod model;
pub mod output;
pub mod plan;
pub mod policy;
pub mod provider;
pub mod render;
pub mod schema;
pub mod stack;
pub mod ui;
pub mod validate;
pub mod wait;

#[cfg(test)]
mod tests;
