//! Desired vs live: what to create, change, replace or delete, and why.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{
    Address, Live, Move, Props, Resource, TAG_ADDRESS, TAG_REGION, TAG_STACK, Tags, Value,
};
use crate::provider::StackInfo;
use crate::schema::Ty;

/// 2: plans are sealed (see [`Seal`]); unsealed plans of format 1 are refused.
pub const PLAN_FORMAT: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub forces_replacement: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourcePlan {
    pub address: Address,
    pub kind: String,
    pub action: Action,
    pub changes: Vec<Change>,
    /// Why a replace or delete happens, in words.
    pub reason: Option<String>,
    /// Physical ID of the live resource, if there is one.
    pub id: Option<String>,
    /// Digest of the live resource when planned; a saved plan is stale when it no longer matches.
    pub fingerprint: Option<String>,
    /// The live resource has deletion protection on, so it cannot be deleted or replaced.
    #[serde(default)]
    pub protected: bool,
    /// A delete or replace loses this (the kind holds data or identity): apply refuses it unless allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<String>,
    /// The delete or replace of what it holds is allowed: by `destroy`, by `--allow-destroy ADDRESS`
    /// or by the file's `allow_destroy = true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
    /// The address the live resource was tagged with, when a `[[moved]]` brings it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<Address>,
    /// The existing resource `[[adopt]]` hands to the stack: apply tags it and converges it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
    /// A resource of this name already exists and is not the stack's: why it may not be created or
    /// taken over. Plan and apply refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<String>,
}

/// A live resource with this stack's name that belongs to the stack of that name in another region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Foreign {
    pub address: Address,
    pub kind: String,
    pub id: String,
    pub region: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub stack: StackInfo,
    /// Dependencies first, deletions last.
    pub resources: Vec<ResourcePlan>,
    /// The stack's resources, as declared (secret values are not saved, only where they come from).
    pub desired: Vec<Resource>,
    pub deps: BTreeMap<Address, BTreeSet<Address>>,
    pub destroy: bool,
    /// Stateful resources this run may delete or replace (`--allow-destroy`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_destroy: Vec<Address>,
    /// Resources of the same stack name owned from another region: never changed, never deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<Foreign>,
    /// `--target`, `--exclude` and `--replace`: the plan covers only part of the stack, or replaces
    /// on request. Recorded so a saved plan says what it was made for.
    #[serde(default, skip_serializing_if = "Selection::is_empty")]
    pub selection: Selection,
    /// Set when the plan is saved: what it was made from, and a digest over all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Seal>,
}

/// What an operator narrowed or forced for one run (Terraform's `-target`, `-exclude`, `-replace`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Only these and what they depend on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<Address>,
    /// Not these, nor what depends on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Address>,
    /// Replaced although nothing forces it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Address>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.target.is_empty() && self.exclude.is_empty() && self.replace.is_empty()
    }

    /// Addresses the selection names that are neither declared nor live: a typo, refused before
    /// anything is done.
    pub fn unknown<'a>(&'a self, desired: &[Resource], live: &[Live]) -> Vec<&'a str> {
        self.target
            .iter()
            .chain(&self.exclude)
            .chain(&self.replace)
            .filter(|a| {
                !desired.iter().any(|r| &r.address == *a) && !live.iter().any(|l| &l.address == *a)
            })
            .map(String::as_str)
            .collect()
    }
}

/// A secret that apply has to write (the resource is created, or the file bumped its version, or a
/// field whose write carries it changed): its environment variable must be set for that run only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretWrite {
    pub address: Address,
    pub field: String,
    pub env: String,
    pub version: i64,
    /// Whether the variable was set when the stack was loaded.
    pub loaded: bool,
    pub why: &'static str,
}

impl Plan {
    /// Every secret this plan writes; the schema says which in-place changes carry a secret.
    pub fn secret_writes(&self) -> Vec<SecretWrite> {
        let mut out = Vec::new();
        for rp in &self.resources {
            let Some(r) = self.desired.iter().find(|d| d.address == rp.address) else {
                continue;
            };
            let kind = crate::kinds::kind(&r.kind);
            let rides = |field: &str| {
                kind.and_then(|k| k.field(field))
                    .is_some_and(|f| f.rewrites_secret)
            };
            for (field, v) in &r.props {
                let Value::Secret(secret) = v else { continue };
                let why = match rp.action {
                    // An adopted resource converges in place: its secret is written then.
                    Action::Update if rp.adopted => "adopted",
                    Action::Create => "created",
                    Action::Replace => "replaced",
                    Action::Update if rp.changes.iter().any(|c| &c.field == field) => "new version",
                    Action::Update if rp.changes.iter().any(|c| rides(&c.field)) => {
                        "its write carries the secret"
                    }
                    _ => continue,
                };
                out.push(SecretWrite {
                    address: r.address.clone(),
                    field: field.clone(),
                    env: secret.env.clone(),
                    version: secret.version,
                    loaded: secret.value.is_some(),
                    why,
                });
            }
        }
        out
    }
}

/// A saved plan's seal: an edited or truncated plan file no longer matches its digest and is refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seal {
    /// SHA-256 of the stack file the plan was made from.
    pub source_sha256: String,
    /// The zinfra version that made it.
    pub zinfra: String,
    /// SHA-256 of the plan file's JSON with this field empty.
    pub digest: String,
}

impl Plan {
    /// The plan as saved: sealed with the digest of its content and of the stack file's text.
    pub fn sealed_json(&self, source: &str) -> serde_json::Result<String> {
        let mut p = self.clone();
        p.seal = Some(Seal {
            source_sha256: format!("{:x}", Sha256::digest(source.as_bytes())),
            zinfra: env!("CARGO_PKG_VERSION").to_owned(),
            digest: String::new(),
        });
        let digest = p.digest()?;
        if let Some(s) = &mut p.seal {
            s.digest = digest;
        }
        serde_json::to_string_pretty(&p)
    }

    /// Whether the seal's digest matches the content (false for an unsealed plan).
    pub fn seal_holds(&self) -> bool {
        let Some(seal) = &self.seal else {
            return false;
        };
        let mut p = self.clone();
        if let Some(s) = &mut p.seal {
            s.digest = String::new();
        }
        p.digest().is_ok_and(|d| d == seal.digest)
    }

    fn digest(&self) -> serde_json::Result<String> {
        Ok(format!(
            "{:x}",
            Sha256::digest(serde_json::to_string(self)?.as_bytes())
        ))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for r in &self.resources {
            match r.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(|r| r.action != Action::NoOp)
    }

    /// Deletes and replacements that deletion protection forbids; apply refuses them before changing anything.
    pub fn blocked(&self) -> Vec<&ResourcePlan> {
        self.resources
            .iter()
            .filter(|r| r.protected && matches!(r.action, Action::Delete | Action::Replace))
            .collect()
    }

    /// Deletes and replacements that would lose data nobody allowed this run to lose.
    pub fn unallowed(&self) -> Vec<&ResourcePlan> {
        self.resources
            .iter()
            .filter(|r| r.holds.is_some() && !r.allowed)
            .filter(|r| matches!(r.action, Action::Delete | Action::Replace))
            .collect()
    }

    /// Creates that would take over an existing resource that is not the stack's.
    pub fn taken(&self) -> Vec<&ResourcePlan> {
        self.resources
            .iter()
            .filter(|r| r.exists.is_some())
            .collect()
    }

    /// Foreign resources at addresses this file declares: the same stack, applied from two regions.
    pub fn conflicts(&self) -> Vec<&Foreign> {
        self.foreign
            .iter()
            .filter(|f| self.desired.iter().any(|r| r.address == f.address))
            .collect()
    }

    /// Let this run delete or replace the stateful resources at `addresses` (`--allow-destroy`). The
    /// ones that name no delete or replace in this plan (a typo, or a run repeated after the delete
    /// was done) come back as an error, after every other one is allowed.
    pub fn allow(&mut self, addresses: &[Address]) -> anyhow::Result<()> {
        let mut unused = Vec::new();
        for a in addresses {
            match self.resources.iter_mut().find(|r| &r.address == a) {
                Some(r) if matches!(r.action, Action::Delete | Action::Replace) => {
                    r.allowed = true;
                    if !self.allow_destroy.contains(a) {
                        self.allow_destroy.push(a.clone());
                    }
                }
                _ => unused.push(a.as_str()),
            }
        }
        if unused.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "--allow-destroy {}: the plan neither deletes nor replaces {}; nothing to allow",
            unused.join(", "),
            if unused.len() == 1 { "it" } else { "them" }
        )
    }

    pub fn get(&self, address: &str) -> Option<&ResourcePlan> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// The complete tag set a resource carries: stack defaults, its own, and zinfra's ownership tags.
pub fn desired_tags(stack: &StackInfo, r: &Resource) -> Tags {
    let mut tags = stack.tags.clone();
    tags.extend(r.tags.clone());
    tags.extend(crate::model::ownership_tags(
        &stack.name,
        &r.address,
        &stack.region,
    ));
    tags
}

/// Apply the file's `[[moved]]`: a live resource still tagged with a `from` address is the one
/// declared at `to` (unless something already lives there). The next apply re-tags it.
pub fn moved(mut live: Vec<Live>, moves: &[Move]) -> Vec<Live> {
    for m in moves {
        if live.iter().any(|l| l.address == m.to) {
            continue;
        }
        for l in live.iter_mut().filter(|l| l.address == m.from) {
            l.address = m.to.clone();
        }
    }
    live
}

/// What was read, sorted by whose it is.
pub struct Claimed<'a> {
    /// The stack's own resources, and the existing ones the file adopts.
    pub ours: Vec<&'a Live>,
    /// The stack of the same name in another region owns these.
    pub foreign: Vec<Foreign>,
    /// Declared resources that already exist but are not the stack's (untagged, or another's), with
    /// why they are not.
    pub taken: Vec<(&'a Live, String)>,
}

/// Sort what was read by owner. The stack of the same name in another region owns what carries
/// another `zinfra:region`, and (kinds without tags: records, bucket policies, associations, origin
/// access controls) what is attached to such a resource or used by one; legacy resources without the region tag are the stack's own (the next
/// apply tags them). A resource found by its physical name is the stack's only when the file adopts
/// exactly it and no other stack's tags are on it.
pub fn claim<'a>(stack: &StackInfo, live: &'a [Live]) -> Claimed<'a> {
    let tagged = |l: &Live| {
        l.tags
            .get(TAG_REGION)
            .filter(|r| **r != stack.region)
            .cloned()
    };
    let theirs: Vec<(&Live, String)> = live.iter().filter_map(|l| Some((l, tagged(l)?))).collect();
    let region_of = |l: &Live| {
        tagged(l).or_else(|| {
            let untaggable = crate::kinds::kind(&l.kind).is_some_and(|k| !k.taggable);
            untaggable
                .then(|| {
                    // Attached to one of theirs (a record in their zone), or used by one (an origin
                    // access control their distribution names).
                    theirs
                        .iter()
                        .find(|(t, _)| {
                            l.props.values().any(|v| mentions(v, &t.outputs))
                                || t.props.values().any(|v| mentions(v, &l.outputs))
                        })
                        .map(|(_, r)| r.clone())
                })
                .flatten()
        })
    };
    let mut out = Claimed {
        ours: Vec::new(),
        foreign: Vec::new(),
        taken: Vec::new(),
    };
    for l in live {
        if l.found {
            match taken_because(stack, l) {
                Some(why) => out.taken.push((l, why)),
                None => out.ours.push(l),
            }
            continue;
        }
        match region_of(l) {
            Some(region) => out.foreign.push(Foreign {
                address: l.address.clone(),
                kind: l.kind.clone(),
                id: l.id.clone(),
                region,
            }),
            None => out.ours.push(l),
        }
    }
    out
}

/// Why an existing resource found by name is not the stack's to change, or `None` when the file
/// adopts exactly it.
fn taken_because(stack: &StackInfo, l: &Live) -> Option<String> {
    let noun = l.kind.rsplit('_').next().unwrap_or(&l.kind);
    // Already the stack's, at this address: found by name before the tag index listed it.
    if l.tags.get(TAG_STACK) == Some(&stack.name) && l.tags.get(TAG_ADDRESS) == Some(&l.address) {
        return None;
    }
    if let Some(owner) = l.tags.get(TAG_STACK) {
        let addr = l.tags.get(TAG_ADDRESS).map_or("a resource", String::as_str);
        return Some(format!(
            "{noun} {} already exists in this account and belongs to {addr} in stack {owner}",
            l.id
        ));
    }
    // The account's detector or hub, enabled before the stack: used as it is, never replaced.
    let singleton = crate::kinds::kind(&l.kind).is_some_and(|k| k.account_singleton);
    let adopted = singleton
        || stack
            .adopt
            .iter()
            .any(|a| a.address == l.address && a.id == l.id);
    (!adopted).then(|| {
        format!(
            "{noun} {} already exists and is not this stack's (it has no zinfra tags): declare [[adopt]] address = \"{}\" id = \"{}\" to take it over, or give the resource another name",
            l.id, l.address, l.id
        )
    })
}

/// What deleting or replacing `l` would lose, if its kind holds data or identity.
fn holds(l: &Live, used: bool) -> Option<String> {
    let h = crate::kinds::kind(&l.kind)?.holds?;
    if h.only_if.is_some_and(|f| !f(&l.props)) || (h.when_used && !used) {
        return None;
    }
    Some(h.what.to_owned())
}

/// The physical name a resource has (declared) or has live, for rename detection.
fn physical_name<'a>(kind: &str, props: &'a Props) -> Option<&'a str> {
    props
        .get(crate::kinds::kind(kind)?.physical_name?)?
        .as_str()
}

/// A stable digest of what was read; secrets count by their version (their values are never read).
pub fn fingerprint(live: &Live) -> String {
    let json = serde_json::to_string(&(&live.id, &live.props, &live.tags)).unwrap_or_default();
    format!("{:x}", Sha256::digest(json.as_bytes()))
}

fn protected(live: &Live) -> bool {
    live.props.get("deletion_protection") == Some(&Value::Bool(true))
}

/// Outputs known before apply: those of live resources that the plan leaves in place.
fn known_outputs(
    live: &BTreeMap<&str, &Live>,
    actions: &BTreeMap<Address, Action>,
) -> BTreeMap<Address, BTreeMap<String, String>> {
    live.iter()
        .filter(|(a, _)| matches!(actions.get(**a), Some(Action::NoOp | Action::Update)))
        .map(|(a, l)| ((*a).to_owned(), l.outputs.clone()))
        .collect()
}

/// Replace every reference with the output it names, or `Unknown` when that is not known yet.
pub fn resolve(v: &Value, outputs: &BTreeMap<Address, BTreeMap<String, String>>) -> Value {
    match v {
        Value::Ref(r) => outputs
            .get(&r.address)
            .and_then(|o| o.get(&r.attr))
            .map(|s| Value::Str(s.clone()))
            .unwrap_or(Value::Unknown),
        Value::List(l) => Value::List(l.iter().map(|x| resolve(x, outputs)).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, outputs)))
                .collect(),
        ),
        Value::Json(j) => match resolve_json(j, outputs) {
            Some(j) => Value::Json(j),
            None => Value::Unknown,
        },
        other => other.clone(),
    }
}

fn resolve_json(
    j: &serde_json::Value,
    outputs: &BTreeMap<Address, BTreeMap<String, String>>,
) -> Option<serde_json::Value> {
    Some(match j {
        serde_json::Value::String(s) if s.contains("${") => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let end = rest[start..].find('}')? + start;
                out.push_str(&rest[..start]);
                let inner = &rest[start + 2..end];
                let (addr, attr) = inner.rsplit_once('.')?;
                out.push_str(outputs.get(addr)?.get(attr)?);
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            serde_json::Value::String(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(
            a.iter()
                .map(|x| resolve_json(x, outputs))
                .collect::<Option<_>>()?,
        ),
        serde_json::Value::Object(o) => serde_json::Value::Object(
            o.iter()
                .map(|(k, x)| Some((k.clone(), resolve_json(x, outputs)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

pub fn resolve_props(
    props: &Props,
    outputs: &BTreeMap<Address, BTreeMap<String, String>>,
) -> Props {
    props
        .iter()
        .map(|(k, v)| (k.clone(), resolve(v, outputs)))
        .collect()
}

/// A value in canonical form for comparison: sets sorted, objects' fields canonical.
/// `v` as the field's schema says it is compared (`Field::normalize`).
fn normalized(f: &crate::schema::Field, v: &Value) -> Value {
    match (f.normalize, v) {
        (Some((n, _)), Value::Str(s)) => Value::Str(n(s)),
        _ => v.clone(),
    }
}

pub fn canon(ty: &Ty, v: &Value) -> Value {
    match (ty, v) {
        (Ty::Set(inner), Value::List(l)) => {
            let mut items: Vec<Value> = l.iter().map(|x| canon(inner, x)).collect();
            items.sort_by_cached_key(|x| serde_json::to_string(x).unwrap_or_default());
            // Two values not known yet are not known to be equal.
            items.dedup_by(|a, b| a == b && !a.has_unknown());
            Value::List(items)
        }
        (Ty::List(inner), Value::List(l)) => {
            Value::List(l.iter().map(|x| canon(inner, x)).collect())
        }
        (Ty::Map(inner), Value::Map(m)) => Value::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), canon(inner, x)))
                .collect(),
        ),
        (Ty::Object(fields), Value::Map(m)) => {
            let mut out = m.clone();
            for f in fields.iter() {
                let c = canon(&f.ty, &normalized(f, m.get(f.name).unwrap_or(&Value::Null)));
                if c.is_null() {
                    out.remove(f.name);
                } else {
                    out.insert(f.name.to_owned(), c);
                }
            }
            Value::Map(out)
        }
        (Ty::Json, Value::Json(j)) => Value::Json(crate::policy::normalize(j)),
        // An empty set and an absent one mean the same to AWS.
        (Ty::Set(_) | Ty::List(_), Value::Null) => Value::List(vec![]),
        (Ty::Map(_), Value::Null) => Value::Map(BTreeMap::new()),
        _ => v.clone(),
    }
}

/// Compare desired (resolved) with live; `None` when the resource needs nothing.
/// Whether `v` holds one of `outputs` (an id or ARN), anywhere inside.
fn mentions(v: &Value, outputs: &BTreeMap<String, String>) -> bool {
    match v {
        Value::Str(s) => outputs.values().any(|o| o == s),
        Value::List(l) => l.iter().any(|x| mentions(x, outputs)),
        Value::Map(m) => m.values().any(|x| mentions(x, outputs)),
        Value::Json(j) => {
            let text = j.to_string();
            outputs
                .values()
                .any(|o| !o.is_empty() && text.contains(o.as_str()))
        }
        _ => false,
    }
}

/// What differs between a resource as declared (references resolved) and as it is live.
pub fn diff(r: &Resource, resolved: &Props, tags: &Tags, live: &Live) -> Vec<Change> {
    diff_resource(r, resolved, tags, live)
}

fn diff_resource(r: &Resource, resolved: &Props, tags: &Tags, live: &Live) -> Vec<Change> {
    let kind = crate::kinds::kind(&r.kind).expect("known kind");
    let mut changes = Vec::new();
    for f in kind.fields {
        if f.write_only {
            continue;
        }
        let key = f.name.strip_suffix("_from_env").unwrap_or(f.name);
        if key != f.name && kind.field(key).is_some() {
            continue; // `x_from_env` is compared as `x`
        }
        let Some(want) = resolved.get(key) else {
            continue;
        };
        if want.is_null() {
            continue; // unmanaged: AWS's default stands
        }
        let have = live.props.get(key).cloned().unwrap_or(Value::Null);
        let want_c = canon(&f.ty, &normalized(f, want));
        let have_c = canon(&f.ty, &normalized(f, &have));
        if want.has_unknown() || want_c != have_c {
            changes.push(Change {
                field: key.to_owned(),
                before: Some(have_c),
                after: Some(want_c),
                forces_replacement: kind.replaces(f.name),
            });
        }
    }
    if kind.taggable && &live.tags != tags {
        changes.push(Change {
            field: "tags".to_owned(),
            before: Some(tags_value(&live.tags)),
            after: Some(tags_value(tags)),
            forces_replacement: false,
        });
    }
    changes
}

fn tags_value(t: &Tags) -> Value {
    Value::Map(
        t.iter()
            .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
            .collect(),
    )
}

/// Kinds in an order where a kind comes after every kind its fields reference; deletes run in reverse.
pub fn kind_rank() -> BTreeMap<&'static str, usize> {
    fn refs(ty: &Ty, out: &mut BTreeSet<Address>) {
        match ty {
            Ty::Ref(kinds, _) => out.extend(kinds.iter().map(|k| (*k).to_owned())),
            Ty::List(i) | Ty::Set(i) | Ty::Map(i) => refs(i, out),
            Ty::Object(fields) => fields.iter().for_each(|f| refs(&f.ty, out)),
            _ => {}
        }
    }
    let names: Vec<Address> = crate::kinds::ALL
        .iter()
        .map(|k| k.name.to_owned())
        .collect();
    let deps: BTreeMap<Address, BTreeSet<Address>> = crate::kinds::ALL
        .iter()
        .map(|k| {
            let mut d = BTreeSet::new();
            k.fields.iter().for_each(|f| refs(&f.ty, &mut d));
            d.remove(k.name);
            (k.name.to_owned(), d)
        })
        .collect();
    let order = crate::graph::topo(&names, &deps).unwrap_or(names);
    crate::kinds::ALL
        .iter()
        .map(|k| (k.name, order.iter().position(|n| n == k.name).unwrap_or(0)))
        .collect()
}

/// Build the plan. `graph_order` lists desired addresses dependencies-first.
pub fn compute(
    stack: &StackInfo,
    desired: &[Resource],
    deps: &BTreeMap<Address, BTreeSet<Address>>,
    graph_order: &[Address],
    live: &[Live],
    destroy: bool,
) -> Plan {
    compute_with(
        stack,
        desired,
        deps,
        graph_order,
        live,
        destroy,
        &Selection::default(),
    )
}

/// [`compute`], narrowed or forced by an operator's selection. Unknown addresses are the caller's
/// to refuse ([`Selection::unknown`]).
pub fn compute_with(
    stack: &StackInfo,
    desired: &[Resource],
    deps: &BTreeMap<Address, BTreeSet<Address>>,
    graph_order: &[Address],
    live: &[Live],
    destroy: bool,
    selection: &Selection,
) -> Plan {
    let Claimed {
        ours: live,
        foreign,
        taken,
    } = claim(stack, live);
    let live = &live[..];
    // Two live resources may claim one address (a create retried after its reply was lost, before
    // zinfra guarded against it): keep the one others use, delete the rest.
    let used = |l: &Live| {
        live.iter()
            .filter(|o| o.address != l.address)
            .filter(|o| o.props.values().any(|v| mentions(v, &l.outputs)))
            .count()
    };
    let mut live_by: BTreeMap<&str, &Live> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for &l in live {
        match live_by.get(l.address.as_str()) {
            Some(kept) if used(l) > used(kept) => {
                duplicates.push(*kept);
                live_by.insert(&l.address, l);
            }
            Some(_) => duplicates.push(l),
            None => {
                live_by.insert(&l.address, l);
            }
        }
    }
    let by_addr: BTreeMap<&str, &Resource> =
        desired.iter().map(|r| (r.address.as_str(), r)).collect();
    let mut actions: BTreeMap<Address, Action> = BTreeMap::new();
    let mut resources = Vec::new();

    if !destroy {
        for addr in graph_order {
            let r = by_addr[addr.as_str()];
            let outputs = known_outputs(&live_by, &actions);
            let resolved = resolve_props(&r.props, &outputs);
            let tags = desired_tags(stack, r);
            let plan = match live_by.get(addr.as_str()) {
                None => ResourcePlan {
                    address: addr.clone(),
                    kind: r.kind.clone(),
                    action: Action::Create,
                    changes: resolved
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .chain(
                            crate::kinds::kind(&r.kind)
                                .filter(|k| k.taggable)
                                .map(|_| ("tags".to_owned(), tags_value(&tags))),
                        )
                        .map(|(field, v)| Change {
                            field,
                            before: None,
                            after: Some(v),
                            forces_replacement: false,
                        })
                        .collect(),
                    reason: None,
                    id: None,
                    fingerprint: None,
                    protected: false,
                    holds: None,
                    allowed: false,
                    moved_from: None,
                    adopted: false,
                    exists: taken
                        .iter()
                        .find(|(l, _)| &l.address == addr)
                        .map(|(_, why)| why.clone()),
                },
                Some(l) => {
                    let changes = diff_resource(r, &resolved, &tags, l);
                    let forcing: Vec<&Change> =
                        changes.iter().filter(|c| c.forces_replacement).collect();
                    let requested = selection.replace.contains(addr);
                    let (action, reason) = if requested {
                        (
                            Action::Replace,
                            Some("replacement requested with --replace".to_owned()),
                        )
                    } else if changes.is_empty() {
                        (Action::NoOp, None)
                    } else if forcing.is_empty() {
                        (Action::Update, None)
                    } else {
                        (Action::Replace, Some(replace_reason(r, &forcing, &actions)))
                    };
                    ResourcePlan {
                        address: addr.clone(),
                        kind: r.kind.clone(),
                        action,
                        changes,
                        reason,
                        id: Some(l.id.clone()),
                        fingerprint: Some(fingerprint(l)),
                        protected: protected(l),
                        holds: (action == Action::Replace)
                            .then(|| holds(l, used(l) > 0))
                            .flatten(),
                        // Naming it for replacement is naming it for this run.
                        allowed: r.allow_destroy || requested,
                        moved_from: l.tags.get(TAG_ADDRESS).filter(|a| *a != addr).cloned(),
                        adopted: l.found,
                        exists: None,
                    }
                }
            };
            actions.insert(addr.clone(), plan.action);
            resources.push(plan);
        }
    }

    let rank = kind_rank();
    let mut deletes: Vec<&Live> = live
        .iter()
        .copied()
        .filter(|l| destroy || !by_addr.contains_key(l.address.as_str()))
        .filter(|l| {
            live_by
                .get(l.address.as_str())
                .is_some_and(|x| std::ptr::eq(*x, *l))
        })
        .chain(duplicates.iter().copied())
        .collect();
    // Dependents first: reverse graph order for declared ones, reverse kind order for the rest.
    let pos = |a: &str| graph_order.iter().position(|x| x == a);
    deletes.sort_by_key(|l| {
        (
            std::cmp::Reverse(rank.get(l.kind.as_str()).copied().unwrap_or(0)),
            std::cmp::Reverse(pos(&l.address)),
            l.address.clone(),
        )
    });
    for l in deletes {
        let held = holds(l, used(l) > 0);
        // A stateful resource gone from the file while one of its kind and physical name is created
        // at another address: almost surely a rename that would lose the data.
        let renamed_to = (held.is_some() && !destroy)
            .then(|| {
                let name = physical_name(&l.kind, &l.props).unwrap_or(&l.id);
                resources.iter().find(|c| {
                    c.action == Action::Create
                        && c.kind == l.kind
                        && by_addr
                            .get(c.address.as_str())
                            .is_some_and(|r| physical_name(&r.kind, &r.props) == Some(name))
                })
            })
            .flatten()
            .map(|c| c.address.clone());
        let reason = if destroy {
            "destroy requested".to_owned()
        } else if by_addr.contains_key(l.address.as_str()) {
            format!("a second live resource ({}) claims this address", l.id)
        } else if let Some(to) = &renamed_to {
            format!(
                "no longer in the stack file; {to} is created with the same name ({}): looks like a rename: declare a move to keep it: [[moved]] from = \"{}\" to = \"{to}\"",
                physical_name(&l.kind, &l.props).unwrap_or(&l.id),
                l.address
            )
        } else {
            "no longer in the stack file".to_owned()
        };
        if let Some(to) = &renamed_to
            && let Some(c) = resources.iter_mut().find(|c| &c.address == to)
        {
            c.reason = Some(format!(
                "looks like a rename of {}: declare a move to keep the live one",
                l.address
            ));
        }
        resources.push(ResourcePlan {
            address: l.address.clone(),
            kind: l.kind.clone(),
            action: Action::Delete,
            changes: vec![],
            reason: Some(reason),
            id: Some(l.id.clone()),
            fingerprint: Some(fingerprint(l)),
            protected: protected(l),
            holds: held,
            allowed: destroy,
            moved_from: None,
            adopted: false,
            exists: None,
        });
    }

    let resources = select(resources, deps, selection);
    Plan {
        format: PLAN_FORMAT,
        stack: stack.clone(),
        resources,
        desired: desired.to_vec(),
        deps: deps.clone(),
        destroy,
        allow_destroy: Vec::new(),
        foreign,
        selection: selection.clone(),
        seal: None,
    }
}

/// How plan `now` differs from the reviewed plan `was`, a line per difference: resources whose
/// action or changes differ, and resources only one of them touches. Empty when they are the same.
pub fn differences(was: &Plan, now: &Plan) -> Vec<String> {
    let changing = |p: &Plan| -> BTreeMap<Address, ResourcePlan> {
        p.resources
            .iter()
            .filter(|r| r.action != Action::NoOp)
            .map(|r| (r.address.clone(), r.clone()))
            .collect()
    };
    let (was_r, now_r) = (changing(was), changing(now));
    let verb = |a: Action| format!("{a:?}").to_lowercase();
    let mut out = Vec::new();
    if was.stack.name != now.stack.name || was.stack.region != now.stack.region {
        out.push(format!(
            "the reviewed plan is for stack {} in {}, this one for {} in {}",
            was.stack.name, was.stack.region, now.stack.name, now.stack.region
        ));
    }
    for (a, r) in &was_r {
        match now_r.get(a) {
            None => out.push(format!("{a}: reviewed {}, now no change", verb(r.action))),
            Some(n) if n.action != r.action => out.push(format!(
                "{a}: reviewed {}, now {}",
                verb(r.action),
                verb(n.action)
            )),
            Some(n) => {
                let fields =
                    |p: &ResourcePlan| -> BTreeMap<String, (Option<Value>, Option<Value>)> {
                        p.changes
                            .iter()
                            .map(|c| (c.field.clone(), (c.before.clone(), c.after.clone())))
                            .collect()
                    };
                let (fw, fnow) = (fields(r), fields(n));
                let differing: Vec<&str> = fw
                    .keys()
                    .chain(fnow.keys())
                    .filter(|k| fw.get(*k) != fnow.get(*k))
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if !differing.is_empty() {
                    out.push(format!(
                        "{a}: {} differently: {}",
                        verb(r.action),
                        differing.join(", ")
                    ));
                }
            }
        }
    }
    for (a, n) in &now_r {
        if !was_r.contains_key(a) {
            out.push(format!("{a}: reviewed no change, now {}", verb(n.action)));
        }
    }
    out
}

/// Keep what `--target` reaches (the targets and, transitively, what they depend on) and drop what
/// `--exclude` reaches (the excluded and, transitively, what depends on them).
fn select(
    resources: Vec<ResourcePlan>,
    deps: &BTreeMap<Address, BTreeSet<Address>>,
    selection: &Selection,
) -> Vec<ResourcePlan> {
    let closure = |start: &[Address], next: &dyn Fn(&str) -> Vec<Address>| {
        let mut seen: BTreeSet<Address> = BTreeSet::new();
        let mut todo: Vec<Address> = start.to_vec();
        while let Some(a) = todo.pop() {
            if seen.insert(a.clone()) {
                todo.extend(next(&a));
            }
        }
        seen
    };
    let targeted = (!selection.target.is_empty()).then(|| {
        closure(&selection.target, &|a| {
            deps.get(a).into_iter().flatten().cloned().collect()
        })
    });
    let excluded = closure(&selection.exclude, &|a| {
        deps.iter()
            .filter(|(_, d)| d.contains(a))
            .map(|(k, _)| k.clone())
            .collect()
    });
    resources
        .into_iter()
        .filter(|r| targeted.as_ref().is_none_or(|t| t.contains(&r.address)))
        .filter(|r| !excluded.contains(&r.address))
        .collect()
}

fn replace_reason(
    r: &Resource,
    forcing: &[&Change],
    actions: &BTreeMap<Address, Action>,
) -> String {
    // Fields that cannot change in place for the same stated reason are named together.
    let mut fixed: Vec<(Vec<String>, Option<&str>)> = Vec::new();
    let mut parts: Vec<Option<String>> = Vec::new();
    for c in forcing {
        // A reference that is unknown because its target is replaced or created is the real cause.
        let mut refs = Vec::new();
        if let Some(v) = r.props.get(&c.field) {
            crate::stack::value_refs(v, &mut refs);
        }
        let cause = refs.iter().find(|x| {
            matches!(
                actions.get(&x.address),
                Some(Action::Replace | Action::Create)
            )
        });
        match cause {
            Some(x) if c.after.as_ref().is_some_and(Value::has_unknown) => parts.push(Some(
                format!("`{}` refers to {}, which is replaced", c.field, x.address),
            )),
            _ => {
                let note = crate::kinds::kind(&r.kind)
                    .and_then(|k| k.field(&c.field))
                    .and_then(|f| f.replace_note);
                match fixed.iter_mut().find(|(_, n)| note.is_some() && *n == note) {
                    Some((fields, _)) => fields.push(format!("`{}`", c.field)),
                    None => {
                        fixed.push((vec![format!("`{}`", c.field)], note));
                        parts.push(None);
                    }
                }
            }
        }
    }
    let mut fixed = fixed.into_iter();
    parts
        .into_iter()
        .map(|p| {
            p.unwrap_or_else(|| {
                let (fields, note) = fixed.next().unwrap_or_default();
                let fields = match fields.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(", "))
                    }
                    _ => fields.join(""),
                };
                match note {
                    Some(note) => format!("{fields} cannot be changed in place: {note}"),
                    None => format!("{fields} cannot be changed in place"),
                }
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}
