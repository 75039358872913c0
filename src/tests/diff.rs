//! Desired vs live, without AWS: live resources are written here as the drivers would read them.

use std::collections::BTreeMap;

use super::Case;
use crate::graph::Graph;
use crate::model::{Live, Secret, Value};
use crate::plan::{self, Action, Plan};
use crate::render::{self, Style};
use crate::stack::Stack;

const STACK: &str = "
    [vpc.main]
    cidr_block = \"10.0.0.0/16\"

    [subnet.a]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.1.0/24\"
    availability_zone = \"us-east-1a\"

    [security_group.web]
    vpc = \"vpc.main\"
    ingress = [
      { from_port = 443, to_port = 443, cidr_blocks = [\"10.0.0.0/8\", \"0.0.0.0/0\"] },
      { from_port = 80, to_port = 80, cidr_blocks = [\"0.0.0.0/0\"] },
    ]

    [ssm_parameter.db]
    name = \"/t/db\"
    value_from_env = \"SET_VAR\"
";

fn live_for(s: &Stack, address: &str, id: &str, tweak: impl FnOnce(&mut Live)) -> Live {
    let r = s.get(address).unwrap();
    let mut l = Live::new(address, &r.kind, id);
    let outputs: BTreeMap<String, BTreeMap<String, String>> = [
        (
            "vpc.main".to_owned(),
            [("id".to_owned(), "vpc-1".to_owned())].into(),
        ),
        (
            "security_group.web".to_owned(),
            [("id".to_owned(), "sg-1".to_owned())].into(),
        ),
    ]
    .into();
    l.props = plan::resolve_props(&r.props, &outputs);
    l.tags = plan::desired_tags(&s.info, r);
    tweak(&mut l);
    l
}

fn plan_of(s: &Stack, live: &[Live]) -> Plan {
    let g = Graph::new(s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    plan::compute(&s.info, &s.resources, &deps, g.order(), live, false)
}

fn all_live(s: &Stack) -> Vec<Live> {
    vec![
        live_for(s, "vpc.main", "vpc-1", |_| {}),
        live_for(s, "subnet.a", "subnet-1", |_| {}),
        live_for(s, "security_group.web", "sg-1", |_| {}),
        live_for(s, "ssm_parameter.db", "/t/db", |_| {}),
    ]
}

#[test]
fn nothing_live_means_create_everything_in_order() {
    let s = Case::new(STACK).ok();
    let p = plan_of(&s, &[]);
    let actions: Vec<(&str, Action)> = p
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("vpc.main", Action::Create),
            ("subnet.a", Action::Create),
            ("security_group.web", Action::Create),
            ("ssm_parameter.db", Action::Create)
        ]
    );
    let subnet = p.get("subnet.a").unwrap();
    let vpc = subnet.changes.iter().find(|c| c.field == "vpc").unwrap();
    assert_eq!(vpc.after, Some(Value::Unknown));
    assert_eq!(
        p.summary(),
        plan::Summary {
            add: 4,
            change: 0,
            destroy: 0
        }
    );
}

#[test]
fn matching_live_state_is_no_change_whatever_the_set_order() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    // AWS returns set members in its own order.
    if let Some(Value::List(rules)) = live[2].props.get_mut("ingress") {
        rules.reverse();
        if let Some(Value::Map(m)) = rules.get_mut(1)
            && let Some(Value::List(c)) = m.get_mut("cidr_blocks")
        {
            c.reverse();
        }
    }
    let p = plan_of(&s, &live);
    assert!(!p.has_changes(), "{}", render::human(&p, Style::default()));
    assert_eq!(
        render::human(&p, Style::default()),
        "No changes. Live infrastructure matches the stack file (4 resources).\n\
         Secrets set, unchanged (write-only, never read): ssm_parameter.db.value (version 1).\n"
    );
}

#[test]
fn unmanaged_fields_are_not_compared() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    live[3].props.insert(
        "description".into(),
        Value::Str("set in the console".into()),
    );
    assert!(!plan_of(&s, &live).has_changes());
}

#[test]
fn in_place_update_shows_each_field() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    live[1]
        .props
        .insert("map_public_ip_on_launch".into(), Value::Bool(true));
    live[1].tags.insert("Owner".into(), "someone".into());
    let p = plan_of(&s, &live);
    let r = p.get("subnet.a").unwrap();
    assert_eq!(r.action, Action::Update);
    let text = render::human(&p, Style::default());
    assert_eq!(
        text,
        "zinfra will perform the following actions:

  # subnet.a will be updated in place
  ~ subnet.a (subnet-1) {
      ~ map_public_ip_on_launch = true -> false
      ~ tags                    = { Owner = \"someone\", \"zinfra:address\" = \"subnet.a\", \"zinfra:region\" = \"us-east-1\", \"zinfra:stack\" = \"t\" } -> { \"zinfra:address\" = \"subnet.a\", \"zinfra:region\" = \"us-east-1\", \"zinfra:stack\" = \"t\" }
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"
    );
}

#[test]
fn replace_says_why_and_cascades_to_dependents() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    live[0]
        .props
        .insert("cidr_block".into(), Value::Str("10.9.0.0/16".into()));
    let p = plan_of(&s, &live);
    let vpc = p.get("vpc.main").unwrap();
    assert_eq!(vpc.action, Action::Replace);
    assert_eq!(
        vpc.reason.as_deref(),
        Some("`cidr_block` cannot be changed in place")
    );
    let subnet = p.get("subnet.a").unwrap();
    assert_eq!(subnet.action, Action::Replace);
    assert_eq!(
        subnet.reason.as_deref(),
        Some("`vpc` refers to vpc.main, which is replaced")
    );
    let text = render::human(&p, Style::default());
    assert!(
        text.contains(
            "  # vpc.main must be replaced
  # (`cidr_block` cannot be changed in place)
-/+ vpc.main (vpc-1) {
      ~ cidr_block = \"10.9.0.0/16\" -> \"10.0.0.0/16\" # forces replacement
    }
"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 3 to add, 0 to change, 3 to destroy.\n"),
        "{text}"
    );
    // The saved plan keeps the reason.
    let saved: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(saved.get("subnet.a").unwrap().reason, subnet.reason);
}

#[test]
fn resources_gone_from_the_file_are_deleted_dependents_first() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    let mut old_vpc = Live::new("vpc.old", "vpc", "vpc-9");
    old_vpc
        .props
        .insert("cidr_block".into(), Value::Str("10.5.0.0/16".into()));
    live.insert(0, old_vpc);
    live.push(Live::new("subnet.old", "subnet", "subnet-9"));
    let p = plan_of(&s, &live);
    let deletes: Vec<(&str, Option<&str>)> = p
        .resources
        .iter()
        .filter(|r| r.action == Action::Delete)
        .map(|r| (r.address.as_str(), r.reason.as_deref()))
        .collect();
    assert_eq!(
        deletes,
        [
            ("subnet.old", Some("no longer in the stack file")),
            ("vpc.old", Some("no longer in the stack file"))
        ]
    );
    let ops = crate::apply::schedule(&p);
    let i_sub = ops.iter().position(|o| o.address == "subnet.old").unwrap();
    let i_vpc = ops.iter().position(|o| o.address == "vpc.old").unwrap();
    assert!(crate::apply::waits_for(&ops, i_vpc, i_sub));
}

#[test]
fn secrets_are_write_only_compared_by_version_and_rotated_by_a_bump() {
    let s = Case::new(STACK).ok();
    // As a driver reads it: version 1 (the tag), no value.
    let mut live = all_live(&s);
    live[3]
        .props
        .insert("value".into(), Value::Secret(Secret::as_read(1)));
    let p = plan_of(&s, &live);
    assert!(!p.has_changes(), "{}", render::human(&p, Style::default()));
    assert!(p.secret_writes().is_empty());
    assert!(
        render::human(&p, Style::default()).contains(
            "Secrets set, unchanged (write-only, never read): ssm_parameter.db.value (version 1)."
        ),
        "{}",
        render::human(&p, Style::default())
    );

    // A bump writes the value again: the plan says which variable the apply needs.
    let bumped = Case::new(&STACK.replace(
        "value_from_env = \"SET_VAR\"",
        "value_from_env = \"SET_VAR\"\nvalue_version = 2",
    ))
    .ok();
    let p = plan_of(&bumped, &live);
    let r = p.get("ssm_parameter.db").unwrap();
    assert_eq!(r.action, Action::Update);
    let text = render::human(&p, Style::default());
    assert!(
        text.contains("~ value = (sensitive, version 1) -> (sensitive, version 2)"),
        "{text}"
    );
    let writes = p.secret_writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(
        (writes[0].env.as_str(), writes[0].version, writes[0].why),
        ("SET_VAR", 2, "new version")
    );
    assert!(writes[0].loaded);
    let json = serde_json::to_string(&render::json(&p)).unwrap();
    let saved = serde_json::to_string(&p).unwrap();
    for out in [&text, &json, &saved] {
        assert!(!out.contains("s3cr3t-value"), "{out}");
    }

    // A change of a field whose write carries the value needs the variable too; a tag change not.
    let described = Case::new(&STACK.replace(
        "value_from_env = \"SET_VAR\"",
        "value_from_env = \"SET_VAR\"\ndescription = \"db\"",
    ))
    .ok();
    let p = plan_of(&described, &live);
    assert_eq!(p.secret_writes()[0].why, "its write carries the secret");

    // Created without the variable set: loaded is false, and apply refuses naming it.
    let unset = Case::new(&STACK.replace("SET_VAR", "UNSET_VAR")).ok();
    let p = plan_of(&unset, &all_live(&unset)[..3]);
    let writes = p.secret_writes();
    assert_eq!(
        (writes[0].env.as_str(), writes[0].why, writes[0].loaded),
        ("UNSET_VAR", "created", false)
    );
}

#[test]
fn json_output_is_plain_values() {
    let s = Case::new(STACK).ok();
    let p = plan_of(&s, &[]);
    let j = render::json(&p);
    assert_eq!(
        j["summary"],
        serde_json::json!({"add": 4, "change": 0, "destroy": 0})
    );
    assert_eq!(j["resource_changes"][0]["address"], "vpc.main");
    assert_eq!(j["resource_changes"][0]["action"], "create");
    let subnet = &j["resource_changes"][1]["changes"];
    assert!(
        subnet
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "vpc" && c["after"] == "(known after apply)")
    );
}

#[test]
fn fingerprint_changes_with_live_state() {
    let s = Case::new(STACK).ok();
    let live = all_live(&s);
    let mut changed = live[1].clone();
    changed
        .props
        .insert("map_public_ip_on_launch".into(), Value::Bool(true));
    assert_ne!(plan::fingerprint(&live[1]), plan::fingerprint(&changed));
    assert_eq!(
        plan::fingerprint(&live[1]),
        plan::fingerprint(&live[1].clone())
    );
}

#[test]
fn a_policy_rewritten_by_aws_is_no_change() {
    let s = Case::new(
        "
        [iam_role.r]
        assume_role_policy = { Statement = { Effect = \"Allow\", Principal = { AWS = \"123456789012\" }, Action = \"sts:AssumeRole\" } }
        ",
    )
    .ok();
    let r = s.get("iam_role.r").unwrap();
    let mut l = Live::new("iam_role.r", "iam_role", "t-r");
    l.props = r.props.clone();
    l.tags = plan::desired_tags(&s.info, r);
    l.props.insert(
        "assume_role_policy".into(),
        Value::Json(serde_json::json!({ "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
            "Action": ["sts:AssumeRole"]
        }] })),
    );
    let p = plan_of(&s, &[l.clone()]);
    assert!(!p.has_changes(), "{}", render::human(&p, Style::default()));
    l.props.insert(
        "assume_role_policy".into(),
        Value::Json(serde_json::json!({ "Statement": [] })),
    );
    assert_eq!(
        plan_of(&s, &[l]).get("iam_role.r").unwrap().action,
        Action::Update
    );
}

#[test]
fn markdown_summary_gives_each_change_and_its_reason() {
    let s = Case::new(STACK).ok();
    let mut live = all_live(&s);
    live[0]
        .props
        .insert("cidr_block".into(), Value::Str("10.9.0.0/16".into()));
    live[3].tags.insert("Owner".into(), "someone".into());
    let p = plan_of(&s, &live);
    let md = render::markdown_plan(&p);
    let table = md.split("<details>").next().unwrap();
    assert_eq!(
        table,
        "### zinfra plan · `t` (dev, us-east-1)

**Plan:** 3 to add, 1 to change, 3 to destroy.

| Resource | Action | Why |
|---|---|---|
| `vpc.main` | **replace** | `cidr_block` cannot be changed in place |
| `subnet.a` | **replace** | `vpc` refers to vpc.main, which is replaced |
| `security_group.web` | **replace** | `vpc` refers to vpc.main, which is replaced |
| `ssm_parameter.db` | update in place | `tags` |

"
    );
    // The full plan follows, secrets as everywhere else.
    assert!(!md.contains("s3cr3t-value"), "{md}");
}

#[test]
fn markdown_report_lists_every_step() {
    use crate::apply::{Report, Step};
    use std::time::Duration;
    let s = Case::new(STACK).ok();
    let p = plan_of(&s, &[]);
    let report = Report {
        done: vec![(
            "vpc.main".into(),
            Step::Create,
            Duration::from_millis(1200),
            Some("vpc-1".into()),
        )],
        failed: vec![(
            "subnet.a".into(),
            Step::Create,
            "CreateSubnet: InvalidParameterValue: bad | worse".into(),
        )],
        not_started: vec![("security_group.web".into(), Step::Create)],
        interrupted: vec![],
        signalled: false,
        errors: vec![],
    };
    assert_eq!(
        render::markdown_report(&p, &report, "Apply", Duration::from_millis(2500)),
        "### zinfra apply · `t` (dev, us-east-1): **failed**

**Resources:** 1 added, 0 changed, 0 destroyed in 2.5 s.

| Resource | Step | Result | Time |
|---|---|---|---|
| `vpc.main` | create | created (`vpc-1`) | 1.2 s |
| `subnet.a` | create | **failed**: CreateSubnet: InvalidParameterValue: bad \\| worse | |
| `security_group.web` | create | not started | |

Nothing else was changed. Fix the cause and run the same command again: it picks up where this run stopped.

"
    );
}

fn plan_selected(s: &Stack, live: &[Live], selection: &plan::Selection) -> Plan {
    let g = Graph::new(s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    plan::compute_with(
        &s.info,
        &s.resources,
        &deps,
        g.order(),
        live,
        false,
        selection,
    )
}

#[test]
fn target_exclude_and_replace_narrow_or_force_a_plan() {
    let s = Case::new(STACK).ok();
    let addresses =
        |p: &Plan| -> Vec<String> { p.resources.iter().map(|r| r.address.clone()).collect() };
    // --target: the target and what it depends on.
    let sel = plan::Selection {
        target: vec!["subnet.a".into()],
        ..Default::default()
    };
    let p = plan_selected(&s, &[], &sel);
    assert_eq!(addresses(&p), ["vpc.main", "subnet.a"]);
    let text = render::human(&p, Style::default());
    assert!(
        text.contains("Targeted (--target): only subnet.a and what it depends on"),
        "{text}"
    );
    // --exclude: the excluded and what depends on it.
    let sel = plan::Selection {
        exclude: vec!["vpc.main".into()],
        ..Default::default()
    };
    assert_eq!(
        addresses(&plan_selected(&s, &[], &sel)),
        ["ssm_parameter.db"]
    );
    // --replace: forced, said why, and named for this run.
    let sel = plan::Selection {
        replace: vec!["security_group.web".into()],
        ..Default::default()
    };
    let p = plan_selected(&s, &all_live(&s), &sel);
    let r = p.get("security_group.web").unwrap();
    assert_eq!(r.action, Action::Replace);
    assert_eq!(
        r.reason.as_deref(),
        Some("replacement requested with --replace")
    );
    assert!(r.allowed);
    assert_eq!(p.selection, sel);
    let saved: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(saved.selection, sel);
    // A typo is named, never ignored.
    let sel = plan::Selection {
        target: vec!["subnet.z".into()],
        ..Default::default()
    };
    assert_eq!(sel.unknown(&s.resources, &all_live(&s)), ["subnet.z"]);
}

/// A field's schema says how it is compared (`Field::normalize`): a zone written with capitals and
/// a trailing dot is the zone AWS reads back in lower case without one.
#[test]
fn fields_compare_as_their_schema_normalises_them() {
    let s = Case::new(
        "
        [route53_zone.main]
        name = \"Dev.Zenoo.Example.\"
        delegation = \"external\"
        ",
    )
    .ok();
    let live = live_for(&s, "route53_zone.main", "Z1", |l| {
        l.props
            .insert("name".into(), Value::Str("dev.zenoo.example".into()));
    });
    assert!(!plan_of(&s, std::slice::from_ref(&live)).has_changes());
    let other = live_for(&s, "route53_zone.main", "Z1", |l| {
        l.props
            .insert("name".into(), Value::Str("prod.zenoo.example".into()));
    });
    let p = plan_of(&s, &[other]);
    assert_eq!(p.get("route53_zone.main").unwrap().action, Action::Replace);
}
