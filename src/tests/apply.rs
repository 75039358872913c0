//! The executor's ordering and failure rules, with a scripted provider standing in for the cloud
//! (drivers themselves are tested against the emulator).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use async_trait::async_trait;

use super::Case;
use crate::apply::{self, Progress, Step, waits_for};
use crate::graph::Graph;
use crate::model::{Live, Resolved, Resource, Value};
use crate::plan::{self, Plan};
use crate::provider::{Provider, StackInfo};

/// Records every call; fails the create of one address.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<String>>,
    fail_create: Option<&'static str>,
}

#[async_trait]
impl Provider for Scripted {
    async fn read(&self, _: &StackInfo, _: &[Resource]) -> Result<Vec<Live>> {
        Ok(vec![])
    }
    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("create {}", r.address));
        if self.fail_create == Some(r.address.as_str()) {
            bail!("boom");
        }
        // Every reference must already be resolved to a real value.
        assert!(
            r.props.values().all(|v| !v.has_unknown()),
            "{} got unresolved props",
            r.address
        );
        let mut l = Live::new(&r.address, &r.kind, format!("id-of-{}", r.address));
        l.outputs
            .insert("arn".into(), format!("arn-of-{}", r.address));
        Ok(l)
    }
    async fn update(&self, r: &Resolved, live: &Live, _: &[String]) -> Result<Live> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("update {}", r.address));
        Ok(live.clone())
    }
    async fn delete(&self, live: &Live) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("delete {}", live.address));
        Ok(())
    }
}

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &str, _: Step) {}
    fn still_running(&self, _: &str, _: Step, _: std::time::Duration, _: Option<&str>) {}
    fn finished(&self, _: &str, _: Step, _: std::time::Duration, _: Option<&str>) {}
    fn failed(&self, _: &str, _: Step, _: &str) {}
}

const STACK: &str = "
    [vpc.main]
    cidr_block = \"10.0.0.0/16\"

    [subnet.a]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.1.0/24\"
    availability_zone = \"us-east-1a\"

    [subnet.b]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.2.0/24\"
    availability_zone = \"us-east-1b\"

    [route_table.rt]
    vpc = \"vpc.main\"
    subnets = [\"subnet.a\", \"subnet.b\"]
";

fn plan_for(live: &[Live]) -> Plan {
    let s = Case::new(STACK).ok();
    let g = Graph::new(&s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    plan::compute(&s.info, &s.resources, &deps, g.order(), live, false)
}

#[tokio::test]
async fn creates_run_in_dependency_order_with_resolved_references() {
    let p = plan_for(&[]);
    let provider = Arc::new(Scripted::default());
    let report = apply::run(&p, &[], provider.clone(), 4, Arc::new(Quiet)).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.counts(), (4, 0, 0));
    let calls = provider.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert!(pos("create vpc.main") < pos("create subnet.a"));
    assert!(pos("create subnet.b") < pos("create route_table.rt"));
}

#[tokio::test]
async fn first_failure_stops_new_work_and_the_report_says_what_was_not_done() {
    let p = plan_for(&[]);
    let provider = Arc::new(Scripted {
        fail_create: Some("subnet.a"),
        ..Default::default()
    });
    let report = apply::run(&p, &[], provider.clone(), 1, Arc::new(Quiet)).await;
    assert!(!report.ok());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, "subnet.a");
    assert!(report.failed[0].2.contains("boom"));
    let done: Vec<&str> = report.done.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(done, ["vpc.main"]);
    let not_started: Vec<&str> = report.not_started.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(not_started, ["subnet.b", "route_table.rt"]);
    assert!(
        !provider
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c == "create route_table.rt")
    );
}

#[test]
fn replacement_deletes_dependents_first_and_recreates_in_order() {
    let s = Case::new(STACK).ok();
    let outputs: BTreeMap<String, BTreeMap<String, String>> = [(
        "vpc.main".to_owned(),
        [("id".to_owned(), "vpc-1".to_owned())].into(),
    )]
    .into();
    let live: Vec<Live> = s
        .resources
        .iter()
        .map(|r| {
            let mut l = Live::new(&r.address, &r.kind, format!("id-{}", r.name));
            l.props = plan::resolve_props(&r.props, &outputs);
            l.tags = plan::desired_tags(&s.info, r);
            if r.address == "vpc.main" {
                l.props
                    .insert("cidr_block".into(), Value::Str("10.9.0.0/16".into()));
            }
            l
        })
        .collect();
    let p = plan_for(&live);
    let ops = apply::schedule(&p);
    let find = |a: &str, st: Step| {
        ops.iter()
            .position(|o| o.address == a && o.step == st)
            .unwrap()
    };
    let (del_vpc, del_a, new_vpc, new_a, rt) = (
        find("vpc.main", Step::Delete),
        find("subnet.a", Step::Delete),
        find("vpc.main", Step::Create),
        find("subnet.a", Step::Create),
        find("route_table.rt", Step::Delete),
    );
    assert!(
        waits_for(&ops, del_vpc, del_a),
        "the VPC goes after its subnets"
    );
    assert!(waits_for(&ops, del_vpc, rt), "and after its route table");
    assert!(
        waits_for(&ops, new_vpc, del_vpc),
        "the new VPC comes after the old one is gone"
    );
    assert!(
        waits_for(&ops, new_a, new_vpc),
        "the new subnet after the new VPC"
    );
}

const SERVICE_STACK: &str = "
    [iam_role.exec]
    assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }

    [vpc.main]
    cidr_block = \"10.0.0.0/16\"

    [subnet.a]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.1.0/24\"
    availability_zone = \"us-east-1a\"

    [security_group.app]
    vpc = \"vpc.main\"

    [ecs_cluster.main]

    [ecs_task_definition.app]
    cpu = 256
    memory = 512
    execution_role = \"iam_role.exec\"
    container_definitions = [{ name = \"app\", image = \"nginx:1.27\" }]

    [ecs_service.app]
    cluster = \"ecs_cluster.main\"
    task_definition = \"ecs_task_definition.app\"
    subnets = [\"subnet.a\"]
    security_groups = [\"security_group.app\"]
";

#[tokio::test]
async fn a_new_task_definition_revision_is_registered_before_the_old_one_is_deregistered() {
    let s = Case::new(SERVICE_STACK).ok();
    let outputs: BTreeMap<String, BTreeMap<String, String>> = s
        .resources
        .iter()
        .map(|r| {
            let id = format!("id-{}", r.address);
            let arn = format!("arn-{}", r.address);
            (
                r.address.clone(),
                [("id".into(), id), ("arn".into(), arn)].into(),
            )
        })
        .collect();
    let live: Vec<Live> = s
        .resources
        .iter()
        .map(|r| {
            let mut l = Live::new(&r.address, &r.kind, format!("id-{}", r.address));
            l.outputs = outputs[&r.address].clone();
            l.props = plan::resolve_props(&r.props, &outputs);
            l.tags = plan::desired_tags(&s.info, r);
            if r.address == "ecs_task_definition.app" {
                // The running revision has an older image.
                let mut c = l.props["container_definitions"].as_list()[0]
                    .as_map()
                    .unwrap()
                    .clone();
                c.insert("image".into(), Value::Str("nginx:1.26".into()));
                l.props.insert(
                    "container_definitions".into(),
                    Value::List(vec![Value::Map(c)]),
                );
            }
            l
        })
        .collect();
    let g = Graph::new(&s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    let p = plan::compute(&s.info, &s.resources, &deps, g.order(), &live, false);
    let td = p.get("ecs_task_definition.app").unwrap();
    assert_eq!(td.action, plan::Action::Replace);
    assert_eq!(
        td.reason.as_deref(),
        Some(
            "`container_definitions` cannot be changed in place: task definitions are immutable, so a new revision is registered, the service moves to it, and this revision is deregistered"
        )
    );
    assert_eq!(
        p.get("ecs_service.app").unwrap().action,
        plan::Action::Update,
        "the service moves in place"
    );

    let provider = Arc::new(Scripted::default());
    let report = apply::run(&p, &live, provider.clone(), 4, Arc::new(Quiet)).await;
    assert!(report.ok(), "{report:?}");
    let calls = provider.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            "create ecs_task_definition.app",
            "update ecs_service.app",
            "delete ecs_task_definition.app"
        ]
    );
}

#[tokio::test]
async fn destroy_follows_references_against_the_kind_order() {
    // The deploy role's policy names the service: an IAM role that must go before an ECS service,
    // although task definitions (after roles in kind order) use roles.
    let text = format!(
        "{SERVICE_STACK}
    [iam_role.deploy]
    assume_role_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Service = \"ecs-tasks.amazonaws.com\" }}, Action = \"sts:AssumeRole\" }}] }}
    inline_policies.deploy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Action = \"ecs:UpdateService\", Resource = \"${{ecs_service.app.arn}}\" }}] }}
"
    );
    let s = Case::new(&text).ok();
    let live: Vec<Live> = s
        .resources
        .iter()
        .map(|r| {
            let mut l = Live::new(&r.address, &r.kind, format!("id-{}", r.address));
            l.tags = plan::desired_tags(&s.info, r);
            l
        })
        .collect();
    let g = Graph::new(&s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    let p = plan::compute(&s.info, &s.resources, &deps, g.order(), &live, true);
    let provider = Arc::new(Scripted::default());
    let report = apply::run(&p, &live, provider.clone(), 4, Arc::new(Quiet)).await;
    assert!(report.ok(), "{report:?}");
    assert!(report.not_started.is_empty(), "{report:?}");
    let calls = provider.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert!(pos("delete iam_role.deploy") < pos("delete ecs_service.app"));
    assert!(pos("delete ecs_service.app") < pos("delete ecs_task_definition.app"));
    assert!(pos("delete ecs_task_definition.app") < pos("delete iam_role.exec"));
    assert!(pos("delete ecs_service.app") < pos("delete ecs_cluster.main"));
    assert!(pos("delete ecs_service.app") < pos("delete subnet.a"));
}

#[tokio::test]
async fn a_new_revision_and_a_replaced_subnet_in_one_apply() {
    let s = Case::new(SERVICE_STACK).ok();
    let outputs: BTreeMap<String, BTreeMap<String, String>> = s
        .resources
        .iter()
        .map(|r| {
            let id = format!("id-{}", r.address);
            let arn = format!("arn-{}", r.address);
            (
                r.address.clone(),
                [("id".into(), id), ("arn".into(), arn)].into(),
            )
        })
        .collect();
    let live: Vec<Live> = s
        .resources
        .iter()
        .map(|r| {
            let mut l = Live::new(&r.address, &r.kind, format!("id-{}", r.address));
            l.outputs = outputs[&r.address].clone();
            l.props = plan::resolve_props(&r.props, &outputs);
            l.tags = plan::desired_tags(&s.info, r);
            match r.address.as_str() {
                "subnet.a" => {
                    l.props
                        .insert("cidr_block".into(), Value::Str("10.0.9.0/24".into()));
                }
                "ecs_task_definition.app" => {
                    l.props.insert("cpu".into(), Value::Int(512));
                }
                _ => {}
            }
            l
        })
        .collect();
    let g = Graph::new(&s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    let p = plan::compute(&s.info, &s.resources, &deps, g.order(), &live, false);
    let provider = Arc::new(Scripted::default());
    let report = apply::run(&p, &live, provider.clone(), 4, Arc::new(Quiet)).await;
    assert!(report.ok(), "{report:?}");
    assert!(report.not_started.is_empty(), "{report:?}");
    let calls = provider.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert!(pos("delete subnet.a") < pos("create subnet.a"));
    assert!(pos("create subnet.a") < pos("update ecs_service.app"));
    assert!(pos("create ecs_task_definition.app") < pos("update ecs_service.app"));
    assert!(pos("update ecs_service.app") < pos("delete ecs_task_definition.app"));
}

/// AWS as seen through a faulty network: the route table's create is made but its reply is lost, and
/// the first update that would finish it fails the same way.
#[derive(Default)]
struct LostReplies {
    calls: Mutex<Vec<String>>,
    made: Mutex<Vec<Live>>,
}

#[async_trait]
impl Provider for LostReplies {
    async fn read(&self, _: &StackInfo, _: &[Resource]) -> Result<Vec<Live>> {
        Ok(self.made.lock().unwrap().clone())
    }
    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("create {}", r.address));
        let mut l = Live::new(&r.address, &r.kind, format!("id-of-{}", r.address));
        l.props = r.props.clone();
        l.tags = r.tags.clone();
        if r.address == "route_table.rt" {
            // Made without its associations, and the reply never arrives.
            l.props.remove("subnets");
            self.made.lock().unwrap().push(l);
            return Err(crate::provider::OutcomeUnknown("connection closed".into()).into());
        }
        self.made.lock().unwrap().push(l.clone());
        Ok(l)
    }
    async fn update(&self, r: &Resolved, live: &Live, _: &[String]) -> Result<Live> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(format!("update {}", r.address));
        if calls.iter().filter(|c| c.starts_with("update")).count() == 1 {
            return Err(crate::provider::OutcomeUnknown("reply lost".into()).into());
        }
        let mut l = live.clone();
        l.props = r.props.clone();
        let mut made = self.made.lock().unwrap();
        made.retain(|m| m.address != r.address);
        made.push(l.clone());
        Ok(l)
    }
    async fn delete(&self, live: &Live) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("delete {}", live.address));
        Ok(())
    }
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_finished_by_updates_never_made_twice() {
    let p = plan_for(&[]);
    let provider = Arc::new(LostReplies::default());
    let report = apply::run(&p, &[], provider.clone(), 4, Arc::new(Quiet)).await;
    assert!(report.ok(), "{report:?}");
    let calls = provider.calls.lock().unwrap().clone();
    let rt: Vec<&str> = calls
        .iter()
        .filter(|c| c.ends_with("route_table.rt"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        rt,
        [
            "create route_table.rt",
            "update route_table.rt",
            "update route_table.rt"
        ]
    );
    let made = provider.made.lock().unwrap();
    assert_eq!(
        made.iter()
            .filter(|l| l.address == "route_table.rt")
            .count(),
        1
    );
}
