//! The guards that keep zinfra from losing or taking what is not clearly handed to it: stateful
//! resources, renames and moves, stacks of the same name in other regions. Pure plans, no network.

use std::collections::BTreeMap;

use super::Case;
use crate::graph::Graph;
use crate::model::{Live, TAG_ADDRESS, TAG_REGION, TAG_STACK, Value};
use crate::plan::{self, Action, Plan};
use crate::render::{self, Style};
use crate::stack::Stack;

const TABLE: &str = "
    [dynamodb_table.orders]
    table_name = \"orders\"
    hash_key = \"pk\"
    attributes = { pk = \"S\" }
";

const RENAMED: &str = "
    [dynamodb_table.purchases]
    table_name = \"orders\"
    hash_key = \"pk\"
    attributes = { pk = \"S\" }
";

/// `address` of `s` as a driver would read it after apply.
fn live_as(s: &Stack, address: &str, id: &str) -> Live {
    let r = s.get(address).unwrap();
    let mut l = Live::new(address, &r.kind, id);
    l.props = plan::resolve_props(&r.props, &BTreeMap::new());
    l.tags = plan::desired_tags(&s.info, r);
    l
}

fn plan_of(s: &Stack, live: Vec<Live>, destroy: bool) -> Plan {
    let g = Graph::new(s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    let live = plan::moved(live, &s.info.moved);
    plan::compute(&s.info, &s.resources, &deps, g.order(), &live, destroy)
}

#[test]
fn removing_a_table_is_refused_unless_allowed_for_the_run() {
    let before = Case::new(TABLE).ok();
    let live = vec![live_as(&before, "dynamodb_table.orders", "orders")];
    let after = Case::new("").ok();
    let mut p = plan_of(&after, live, false);
    let r = p.get("dynamodb_table.orders").unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(r.holds.as_deref(), Some("its items"));
    assert_eq!(p.unallowed().len(), 1);
    assert!(
        render::human(&p, Style::default()).contains(
            "# (dynamodb_table.orders holds its items: apply refuses to delete it unless run with --allow-destroy dynamodb_table.orders"
        ),
        "{}",
        render::human(&p, Style::default())
    );
    // A typo in --allow-destroy is an error, not a silent no-op.
    assert!(p.allow(&["dynamodb_table.order".into()]).is_err());
    p.allow(&["dynamodb_table.orders".into()]).unwrap();
    assert!(p.unallowed().is_empty());
    assert_eq!(p.allow_destroy, ["dynamodb_table.orders"]);
}

#[test]
fn destroy_is_allowed_by_the_command_itself() {
    let s = Case::new(TABLE).ok();
    let live = vec![live_as(&s, "dynamodb_table.orders", "orders")];
    let p = plan_of(&s, live, true);
    assert!(p.unallowed().is_empty());
    assert_eq!(p.resources[0].action, Action::Delete);
}

#[test]
fn a_replacement_of_a_stateful_resource_is_guarded_unless_the_file_allows_it() {
    let s = Case::new(TABLE).ok();
    let mut live = live_as(&s, "dynamodb_table.orders", "orders");
    live.props
        .insert("hash_key".into(), Value::Str("id".into()));
    let p = plan_of(&s, vec![live.clone()], false);
    assert_eq!(p.resources[0].action, Action::Replace);
    assert_eq!(p.unallowed().len(), 1);
    let s = Case::new(&format!("{TABLE}allow_destroy = true\n")).ok();
    let p = plan_of(&s, vec![live], false);
    assert!(p.unallowed().is_empty());
}

#[test]
fn only_secure_strings_count_as_stateful_parameters() {
    let s = Case::new(
        "
        [ssm_parameter.plain]
        name = \"/t/plain\"
        type = \"String\"
        value = \"x\"

        [ssm_parameter.secret]
        name = \"/t/secret\"
        value_from_env = \"SET_VAR\"
        ",
    )
    .ok();
    let live = vec![
        live_as(&s, "ssm_parameter.plain", "/t/plain"),
        live_as(&s, "ssm_parameter.secret", "/t/secret"),
    ];
    let p = plan_of(&Case::new("").ok(), live, false);
    let held: Vec<_> = p.unallowed().iter().map(|r| r.address.clone()).collect();
    assert_eq!(held, ["ssm_parameter.secret"]);
}

#[test]
fn a_rename_without_a_move_is_called_what_it_looks_like() {
    let before = Case::new(TABLE).ok();
    let live = vec![live_as(&before, "dynamodb_table.orders", "orders")];
    let p = plan_of(&Case::new(RENAMED).ok(), live, false);
    let gone = p.get("dynamodb_table.orders").unwrap();
    assert_eq!(gone.action, Action::Delete);
    let why = gone.reason.as_deref().unwrap();
    assert!(why.contains("looks like a rename: declare a move"), "{why}");
    assert!(
        why.contains(
            "[[moved]] from = \"dynamodb_table.orders\" to = \"dynamodb_table.purchases\""
        ),
        "{why}"
    );
    assert_eq!(p.unallowed().len(), 1);
    let new = p.get("dynamodb_table.purchases").unwrap();
    assert!(
        new.reason
            .as_deref()
            .unwrap()
            .contains("looks like a rename of dynamodb_table.orders")
    );
}

#[test]
fn a_declared_move_retags_in_place() {
    let before = Case::new(TABLE).ok();
    let live = vec![live_as(&before, "dynamodb_table.orders", "orders")];
    let s = Case::new(&format!(
        "{RENAMED}\n[[moved]]\nfrom = \"dynamodb_table.orders\"\nto = \"dynamodb_table.purchases\"\n"
    ))
    .ok();
    let p = plan_of(&s, live, false);
    let actions: Vec<_> = p
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r.action))
        .collect();
    assert_eq!(actions, [("dynamodb_table.purchases", Action::Update)]);
    let r = &p.resources[0];
    assert_eq!(r.moved_from.as_deref(), Some("dynamodb_table.orders"));
    assert_eq!(r.changes.len(), 1, "only the tags change: {:?}", r.changes);
    assert_eq!(r.changes[0].field, "tags");
    let text = render::human(&p, Style::default());
    assert!(
        text.contains(
            "# dynamodb_table.purchases has moved from dynamodb_table.orders (re-tagged in place)"
        ),
        "{text}"
    );
    // Once re-tagged, the move is done: no change.
    let mut moved = live_as(&s, "dynamodb_table.purchases", "orders");
    moved
        .tags
        .insert(TAG_ADDRESS.into(), "dynamodb_table.purchases".into());
    assert!(!plan_of(&s, vec![moved], false).has_changes());
}

#[test]
fn the_same_stack_name_in_another_region_is_left_alone_or_refused() {
    let s = Case::new(
        "
        [iam_role.app]
        assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = { Service = \"ecs-tasks.amazonaws.com\" } }] }
        ",
    )
    .ok();
    let mut theirs = live_as(&s, "iam_role.app", "t-app");
    theirs.tags.insert(TAG_REGION.into(), "eu-west-1".into());
    let mut other = theirs.clone();
    other.address = "iam_role.worker".into();
    other.id = "t-worker".into();
    // Declared here too: a conflict the plan refuses (cli names both stacks).
    let p = plan_of(&s, vec![theirs.clone(), other.clone()], false);
    let conflicts: Vec<_> = p
        .conflicts()
        .iter()
        .map(|f| (f.address.clone(), f.region.clone()))
        .collect();
    assert_eq!(
        conflicts,
        [("iam_role.app".to_owned(), "eu-west-1".to_owned())]
    );
    // Not declared here: never deleted, named in the plan as left alone.
    assert!(p.get("iam_role.worker").is_none());
    let p = plan_of(&Case::new("").ok(), vec![theirs, other], true);
    assert!(
        !p.has_changes(),
        "destroy must not touch another region's stack"
    );
    assert!(
        render::human(&p, Style::default())
            .contains("Left alone: 2 resources of stack t in eu-west-1 (another stack of the same name; this one is in us-east-1)."),
        "{}",
        render::human(&p, Style::default())
    );
}

#[test]
fn what_is_attached_to_another_regions_resource_is_that_regions_too() {
    let s = Case::new(
        "
        [route53_zone.main]
        name = \"example.test\"

        [route53_record.www]
        zone = \"route53_zone.main\"
        name = \"www.example.test\"
        type = \"A\"
        ttl = 60
        records = [\"192.0.2.1\"]
        ",
    )
    .ok();
    let mut zone = live_as(&s, "route53_zone.main", "Z1");
    zone.tags.insert(TAG_REGION.into(), "eu-west-1".into());
    // Records carry no tags: only the zone they are in says whose they are.
    let mut record = Live::new(
        "route53_record.www",
        "route53_record",
        "Z1/www.example.test/A",
    );
    record.props.insert("zone".into(), Value::Str("Z1".into()));
    let p = plan_of(&Case::new("").ok(), vec![zone, record], true);
    assert!(!p.has_changes(), "{}", render::human(&p, Style::default()));
    assert_eq!(p.foreign.len(), 2);
}

#[test]
fn an_existing_resource_is_adopted_only_when_the_file_says_so() {
    const BUCKET: &str = "[s3_bucket.assets]\nbucket = \"hand-made\"\n";
    let s = Case::new(BUCKET).ok();
    // What a driver's `find` returns: the bucket of that name, without the stack's tags.
    let mut found = live_as(&s, "s3_bucket.assets", "hand-made");
    found.tags = [("team".to_owned(), "web".to_owned())].into();
    found.found = true;
    let p = plan_of(&s, vec![found.clone()], false);
    let r = p.get("s3_bucket.assets").unwrap();
    assert_eq!(r.action, Action::Create);
    assert_eq!(
        r.exists.as_deref(),
        Some(
            "bucket hand-made already exists and is not this stack's (it has no zinfra tags): declare [[adopt]] address = \"s3_bucket.assets\" id = \"hand-made\" to take it over, or give the resource another name"
        )
    );
    assert_eq!(p.taken().len(), 1);

    // Another stack's bucket is never adopted, declared or not.
    let mut other = found.clone();
    other.tags.insert(TAG_STACK.into(), "someone-else".into());
    other
        .tags
        .insert(TAG_ADDRESS.into(), "s3_bucket.logs".into());
    let adopting = Case::new(&format!(
        "{BUCKET}\n[[adopt]]\naddress = \"s3_bucket.assets\"\nid = \"hand-made\"\n"
    ))
    .ok();
    let p = plan_of(&adopting, vec![other], false);
    assert_eq!(
        p.get("s3_bucket.assets").unwrap().exists.as_deref(),
        Some(
            "bucket hand-made already exists in this account and belongs to s3_bucket.logs in stack someone-else"
        )
    );

    // Adopted: an in-place update that tags it and converges it.
    let p = plan_of(&adopting, vec![found], false);
    let r = p.get("s3_bucket.assets").unwrap();
    assert_eq!(
        (r.action, r.adopted, r.exists.is_none()),
        (Action::Update, true, true)
    );
    assert!(r.changes.iter().any(|c| c.field == "tags"));
    assert!(
        render::human(&p, Style::default())
            .contains("# s3_bucket.assets will be adopted (tagged and converged in place)")
    );
}

#[test]
fn what_another_regions_resource_uses_is_that_regions_too() {
    // An origin access control carries no tags and names nothing; only the distribution that uses
    // it says whose it is.
    let mut distribution = Live::new(
        "cloudfront_distribution.cdn",
        "cloudfront_distribution",
        "E1",
    );
    distribution.tags.insert(TAG_STACK.into(), "t".into());
    distribution
        .tags
        .insert(TAG_ADDRESS.into(), "cloudfront_distribution.cdn".into());
    distribution
        .tags
        .insert(TAG_REGION.into(), "eu-west-1".into());
    distribution.props.insert(
        "origins".into(),
        Value::List(vec![Value::Map(BTreeMap::from([(
            "origin_access_control".to_owned(),
            Value::Str("OAC1".into()),
        )]))]),
    );
    let oac = Live::new(
        "cloudfront_origin_access_control.s3",
        "cloudfront_origin_access_control",
        "OAC1",
    );
    let p = plan_of(&Case::new("").ok(), vec![distribution, oac], true);
    assert!(!p.has_changes(), "{}", render::human(&p, Style::default()));
    assert_eq!(p.foreign.len(), 2);
}
