//! The boundary between the engine and the cloud: plain model types only.

use anyhow::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{Live, Resolved, Resource, Tags};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackInfo {
    pub name: String,
    pub environment: String,
    pub region: String,
    /// Tags every resource gets.
    pub tags: Tags,
    /// `zinfra destroy` refuses to run (the stack's `protected = true`).
    #[serde(default)]
    pub protected: bool,
    /// Waivers of stack-level baseline rules (`[stack] waivers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<crate::model::Waiver>,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Every live resource that belongs to the stack.
    async fn read(&self, stack: &StackInfo, desired: &[Resource]) -> Result<Vec<Live>>;
    async fn create(&self, r: &Resolved) -> Result<Live>;
    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live>;
    async fn delete(&self, live: &Live) -> Result<()>;
}
