//! The boundary between the engine and the cloud: plain model types only.

use anyhow::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{Live, Resolved, Resource, Tags};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Renames declared in the file (`[[moved]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<crate::model::Move>,
    /// Existing resources the file takes over (`[[adopt]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopt: Vec<crate::model::Adopt>,
    /// `[variables]` and the values this run used (`--var`, `ZINFRA_VAR_*`, defaults): a saved plan
    /// records them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, String>,
    /// `[outputs]`: names a pipeline reads with `zinfra output`, each a resource's output.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub outputs: std::collections::BTreeMap<String, crate::model::Ref>,
}

/// An AWS call whose outcome is unknown: the connection broke, the reply was lost, or the service
/// failed while acting. The engine looks (reads by tag) before it tries again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutcomeUnknown(pub String);

/// An error AWS gives while a change made a moment ago settles (a new role not yet assumable, a
/// dependent still being deleted): the same call succeeds a little later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotYet(pub String);

/// The service does not exist at the endpoint: an emulator that does not serve it (LocalStack's free
/// edition answers HTTP 501 for MSK, ECR, WAF, CloudFront, ...), or a region without it. A definite
/// answer: never retried, and no error at all for a kind the stack does not use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

pub fn unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Unavailable>())
}

pub fn outcome_unknown(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<OutcomeUnknown>())
}

pub fn not_yet(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<NotYet>())
}

/// `err` with every occurrence of `secret` replaced, keeping what the engine needs to know about it
/// (outcome unknown, not yet): a redacted error is retried exactly like the original.
pub fn redact(err: anyhow::Error, secret: &str) -> anyhow::Error {
    if secret.is_empty() {
        return err;
    }
    let text = format!("{err:#}").replace(secret, "<redacted>");
    if outcome_unknown(&err) {
        OutcomeUnknown(text).into()
    } else if not_yet(&err) {
        NotYet(text).into()
    } else {
        anyhow::anyhow!(text)
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Every live resource that belongs to the stack.
    async fn read(&self, stack: &StackInfo, desired: &[Resource]) -> Result<Vec<Live>>;
    /// The live resources of one kind (after a failed change, to see what AWS did).
    async fn read_kind(
        &self,
        stack: &StackInfo,
        kind: &str,
        desired: &[Resource],
    ) -> Result<Vec<Live>> {
        let all = self.read(stack, desired).await?;
        Ok(all.into_iter().filter(|l| l.kind == kind).collect())
    }
    async fn create(&self, r: &Resolved) -> Result<Live>;
    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live>;
    async fn delete(&self, live: &Live) -> Result<()>;
}
