//! The schema alone decides what changes in place (`KindDef::in_place`): the plan replaces a resource
//! for any other change, and a driver never refuses a field its schema calls in place. Here every
//! driver is asked to update every in-place field a plan can name (compared, so not write-only),
//! one field at a time, on resources
//! that do not exist (a private moto): AWS's answer (not found, invalid, anything) is fine; the
//! toolkit's "no in-place update for" error, which a driver returns for a field it has no call for,
//! fails the test, naming the kind and field.

use std::time::Duration;

use zinfra::drivers::Aws;
use zinfra::drivers::toolkit::UNHANDLED;
use zinfra::model::{Live, Props, Resolved, TAG_ADDRESS, TAG_STACK, Tags, Value};
use zinfra::wait::{self, OpCx};

use crate::drivers::common::endpoint_at;
use crate::support::moto::start_private;

/// A resource's props as a driver gets them, every reference replaced by an id that exists nowhere.
fn stub(v: &Value) -> Value {
    match v {
        Value::Ref(r) => Value::Str(format!("zinfra-missing-{}", r.attr)),
        Value::List(items) => Value::List(items.iter().map(stub).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), stub(v))).collect()),
        Value::Unknown => Value::Str("zinfra-missing".into()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn every_driver_updates_every_field_its_schema_calls_in_place() {
    let moto = start_private();
    let aws = Aws::connect(&endpoint_at(&moto.endpoint, "us-east-1")).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let secret = |_: &str| Some("Zinfra-test-secret-1234".to_owned());
    let stacks: Vec<_> = ["stacks/zenoo-dev.toml", "stacks/zenoo-prod.toml"]
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(root.join(p)).unwrap();
            zinfra::validate::load(p, text, &secret)
                .unwrap_or_else(|e| panic!("{}", e.render(false)))
        })
        .collect();
    let mut asks = Vec::new();
    for kind in zinfra::kinds::ALL {
        let r = stacks
            .iter()
            .flat_map(|s| &s.resources)
            .find(|r| r.kind == kind.name)
            .unwrap_or_else(|| panic!("no {} in the reference stacks", kind.name));
        let props: Props = r.props.iter().map(|(k, v)| (k.clone(), stub(v))).collect();
        let mut tags = Tags::new();
        tags.insert(TAG_STACK.into(), "zinfra-updates".into());
        tags.insert(TAG_ADDRESS.into(), r.address.clone());
        let resolved = Resolved {
            address: r.address.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            props: props.clone(),
            tags,
        };
        let mut live = Live::new(&r.address, &r.kind, "zinfra-missing");
        live.props = props;
        live.outputs.insert(
            "arn".into(),
            format!(
                "arn:aws:{}:us-east-1:123456789012:zinfra-missing",
                kind.name
            ),
        );
        // What a plan can ask for: compared fields (not write-only; `x_from_env` compares as `x`), tags.
        let fields = kind
            .fields
            .iter()
            .filter(|f| !f.write_only)
            .map(|f| f.name)
            .filter(|f| {
                f.strip_suffix("_from_env")
                    .is_none_or(|base| kind.field(base).is_none())
            })
            .chain(kind.taggable.then_some("tags"))
            .filter(|f| kind.in_place(f));
        for f in fields {
            asks.push((resolved.clone(), live.clone(), f.to_owned()));
        }
    }
    assert!(asks.len() > 60, "only {} in-place fields asked", asks.len());
    let results = futures::future::join_all(asks.iter().map(|(r, live, f)| {
        let driver = aws.driver_for(&r.kind);
        async move {
            // Waits inside the update end after 2 s; the whole call after 10, by then it is retrying
            // AWS's not-found (EC2 right after a create), which is no refusal.
            let cx = OpCx::new(Some(Duration::from_secs(2)));
            let call = wait::scope(cx, driver.update(r, live, std::slice::from_ref(f)));
            match tokio::time::timeout(Duration::from_secs(10), call).await {
                Ok(Err(e)) if format!("{e:#}").contains(UNHANDLED) => {
                    Some(format!("{}.{f}: {e:#}", r.kind))
                }
                _ => None,
            }
        }
    }))
    .await;
    let refused: Vec<String> = results.into_iter().flatten().collect();
    assert!(
        refused.is_empty(),
        "drivers refuse fields their schema changes in place:\n{}",
        refused.join("\n")
    );
}
