//! The shapes of the generated tables (`aws.rs`).

/// One API member's documented constraints (botocore's `min`/`max`/`pattern`/`enum`).
#[derive(Debug)]
pub struct C {
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<&'static str>,
    pub one_of: &'static [&'static str],
}

/// A schema field: the API member that carries it (`"iam CreateRole RoleName"`) with its
/// constraints, or why it has none.
#[derive(Debug)]
pub enum Entry {
    Aws(&'static str, C),
    None(&'static str),
}
