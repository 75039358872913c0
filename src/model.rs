//! The engine's view of resources: plain values, no SDK types.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `kind.name`, e.g. `vpc.main`.
pub type Address = String;
pub type Props = BTreeMap<String, Value>;
pub type Tags = BTreeMap<String, String>;

pub const TAG_STACK: &str = "zinfra:stack";
pub const TAG_ADDRESS: &str = "zinfra:address";
/// The region of the stack that owns the resource: a stack is its name, account and region, and global
/// resources (IAM, Route 53, CloudFront, S3's bucket list) are seen from every region.
pub const TAG_REGION: &str = "zinfra:region";
/// The version of a write-only secret written last (the file's `x_version`), kept by drivers on the
/// resource that holds the secret, never a user tag.
pub const TAG_SECRET_VERSION: &str = "zinfra:secret-version";

/// The ownership tags zinfra puts on every taggable resource of a stack, beside the stack's and the
/// resource's own tags (they count against AWS's tag limit too).
pub fn ownership_tags(stack: &str, address: &str, region: &str) -> [(String, String); 3] {
    [
        (TAG_STACK.to_owned(), stack.to_owned()),
        (TAG_ADDRESS.to_owned(), address.to_owned()),
        (TAG_REGION.to_owned(), region.to_owned()),
    ]
}

/// The secret version a driver read from a resource's tags (removing the tag from them): 1 when the
/// resource carries none (written before versions existed).
pub fn take_secret_version(tags: &mut Tags) -> i64 {
    tags.remove(TAG_SECRET_VERSION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// A policy document; strings inside may hold `${kind.name.attr}` interpolations until resolved.
    Json(serde_json::Value),
    /// Another resource's output, resolved at apply time.
    Ref(Ref),
    Secret(Secret),
    /// Known only after apply (the resource it depends on does not exist yet).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    pub address: Address,
    pub attr: String,
}

/// A write-only secret. Only the name of its source and its version are ever serialized or printed;
/// the value is loaded from the environment when it is there, and needed only when it is written.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secret {
    /// Environment variable it comes from; empty when read from AWS.
    pub env: String,
    /// Bumped in the file (`x_version`) to write the value again; AWS keeps the version written last
    /// in the tag [`TAG_SECRET_VERSION`]. Secrets compare by version alone, so a plan never needs the
    /// value and never reads one back.
    #[serde(default = "first_version")]
    pub version: i64,
    #[serde(skip)]
    pub value: Option<String>,
}

fn first_version() -> i64 {
    1
}

impl Secret {
    /// A secret as read from AWS: its version, never its value.
    pub fn as_read(version: i64) -> Secret {
        Secret {
            env: String::new(),
            version,
            value: None,
        }
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secret(env={:?}, version={}, value=<redacted>)",
            self.env, self.version
        )
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(l) => l,
            _ => &[],
        }
    }
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// True when this value, or anything inside it, is not known until apply.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown | Value::Ref(_) => true,
            Value::List(l) => l.iter().any(Value::has_unknown),
            Value::Map(m) => m.values().any(Value::has_unknown),
            _ => false,
        }
    }
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(l) => l.iter().any(Value::is_sensitive),
            Value::Map(m) => m.values().any(Value::is_sensitive),
            _ => false,
        }
    }
}

/// Accessors drivers use on resolved props; missing or mistyped fields read as empty.
pub trait PropsExt {
    fn str(&self, k: &str) -> Option<&str>;
    fn bool_or(&self, k: &str, d: bool) -> bool;
    fn int(&self, k: &str) -> Option<i64>;
    fn list(&self, k: &str) -> &[Value];
    fn strs(&self, k: &str) -> Vec<String>;
    fn json(&self, k: &str) -> Option<&serde_json::Value>;
    fn secret(&self, k: &str) -> Option<&str>;
}

impl PropsExt for Props {
    fn str(&self, k: &str) -> Option<&str> {
        self.get(k).and_then(Value::as_str)
    }
    fn bool_or(&self, k: &str, d: bool) -> bool {
        self.get(k).and_then(Value::as_bool).unwrap_or(d)
    }
    fn int(&self, k: &str) -> Option<i64> {
        self.get(k).and_then(Value::as_int)
    }
    fn list(&self, k: &str) -> &[Value] {
        self.get(k).map(Value::as_list).unwrap_or(&[])
    }
    fn strs(&self, k: &str) -> Vec<String> {
        self.list(k)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }
    fn json(&self, k: &str) -> Option<&serde_json::Value> {
        match self.get(k) {
            Some(Value::Json(j)) => Some(j),
            _ => None,
        }
    }
    fn secret(&self, k: &str) -> Option<&str> {
        match self.get(k) {
            Some(Value::Secret(s)) => s.value.as_deref(),
            _ => None,
        }
    }
}

/// A resource as the stack file declares it, defaults applied, references unresolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub address: Address,
    pub kind: String,
    pub name: String,
    pub props: Props,
    /// User tags from the file (merged with the stack's default tags).
    pub tags: Tags,
    pub depends_on: Vec<Address>,
    /// Seconds a slow create, update or delete may wait before it fails (the `timeout` meta field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Deliberate exceptions to baseline rules (the `waivers` meta field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
    /// The file allows apply to delete or replace this resource although its kind holds data
    /// (the `allow_destroy` meta field).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_destroy: bool,
}

/// `[[moved]]`: the resource once at `from` is now declared at `to`; apply re-tags it in place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub from: Address,
    pub to: Address,
}

/// `[[adopt]]`: the resource declared at `address` is the existing, untagged `id`; apply tags it and
/// converges it instead of refusing to take it over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adopt {
    pub address: Address,
    pub id: String,
}

/// A deliberate exception to one rule of the security baseline, written next to what it excuses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// Rule id, e.g. `ZS-S3-002`.
    pub rule: String,
    pub reason: String,
    /// `YYYY-MM-DD`; after it the rule applies again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A resource ready for a driver: every reference replaced by the value it names.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub address: Address,
    pub kind: String,
    pub name: String,
    pub props: Props,
    /// Every tag to set: stack defaults, the resource's own, and zinfra's ownership tags.
    pub tags: Tags,
}

/// A resource as it exists in AWS, normalized into the same shape as the desired props.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub address: Address,
    pub kind: String,
    /// Physical ID (VPC ID, bucket name, key ID, role name …).
    pub id: String,
    pub props: Props,
    pub tags: Tags,
    /// Attributes other resources may reference: always `id`, usually `arn`.
    pub outputs: BTreeMap<String, String>,
    /// Found by its physical name, not by the stack's tags (a declared resource that already exists):
    /// somebody else's until the file adopts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub found: bool,
}

impl Live {
    pub fn new(address: &str, kind: &str, id: impl Into<String>) -> Live {
        let id = id.into();
        let mut outputs = BTreeMap::new();
        outputs.insert("id".to_owned(), id.clone());
        Live {
            address: address.to_owned(),
            kind: kind.to_owned(),
            id,
            props: Props::new(),
            tags: Tags::new(),
            outputs,
            found: false,
        }
    }
}

pub fn kind_of(address: &str) -> &str {
    address.split_once('.').map(|(k, _)| k).unwrap_or(address)
}
