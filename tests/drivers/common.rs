use std::collections::BTreeMap;

use zinfra::drivers::{Aws, Driver, Endpoint, ReadCx};
use zinfra::model::{Live, Props, Resolved, Resource, TAG_ADDRESS, TAG_STACK, Tags, Value};

use crate::support::moto;

/// Provider wired to the emulator, as the CLI builds it.
pub async fn aws() -> Aws {
    Aws::connect(&endpoint("us-east-1")).await
}

/// The shared emulator, in `region`, with its credentials given directly (no process environment).
pub fn endpoint(region: &str) -> Endpoint {
    endpoint_at(&moto().endpoint, region)
}

/// [`endpoint`] for another emulator (a private moto, a proxy in front of one).
pub fn endpoint_at(url: &str, region: &str) -> Endpoint {
    Endpoint {
        url: Some(url.to_owned()),
        region: region.into(),
        static_credentials: Some(("testing".into(), "testing".into())),
    }
}

/// A resolved resource with zinfra's ownership tags, the way the engine hands it to a driver.
pub fn resolved(stack: &str, kind: &str, name: &str, props: Props) -> Resolved {
    let address = format!("{kind}.{name}");
    let mut tags = Tags::new();
    tags.insert(TAG_STACK.into(), stack.into());
    tags.insert(TAG_ADDRESS.into(), address.clone());
    Resolved {
        address,
        kind: kind.into(),
        name: name.into(),
        props,
        tags,
    }
}

pub fn desired(r: &Resolved) -> Resource {
    Resource {
        address: r.address.clone(),
        kind: r.kind.clone(),
        name: r.name.clone(),
        props: r.props.clone(),
        tags: BTreeMap::new(),
        depends_on: vec![],
        timeout: None,
        waivers: vec![],
        allow_destroy: false,
    }
}

/// What `read` returns for one kind of a stack, as the engine would ask for it.
pub async fn read(
    aws: &Aws,
    driver: &dyn Driver,
    stack: &str,
    kind: &str,
    desired: &[Resource],
) -> Vec<Live> {
    let run = aws.read_run(stack);
    let tagged = run.index().await.unwrap().of_kind(kind);
    let cx = ReadCx {
        stack,
        kind,
        desired: desired.iter().collect(),
        tagged,
        run: &run,
    };
    driver.read(&cx).await.unwrap()
}

pub fn s(v: &str) -> Value {
    Value::Str(v.into())
}

pub fn props<const N: usize>(pairs: [(&str, Value); N]) -> Props {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The one live resource at `r`'s address, read as the engine reads the stack: checks its physical id,
/// its `id` output and zinfra's ownership tags.
pub async fn read_one_live(aws: &Aws, d: &dyn Driver, r: &Resolved, id: &str) -> Live {
    let all = read(aws, d, r.tags[TAG_STACK].as_str(), &r.kind, &[desired(r)]).await;
    let mut found: Vec<Live> = all.into_iter().filter(|l| l.address == r.address).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {}, got {found:?}",
        r.address
    );
    let live = found.remove(0);
    assert_eq!(live.id, id);
    assert_eq!(live.outputs.get("id").map(String::as_str), Some(id));
    assert_eq!(live.tags, r.tags, "tags of {}", r.address);
    assert_eq!(live.tags[TAG_ADDRESS], r.address);
    live
}

/// The emulator's account id, from STS (moto's and LocalStack's differ).
pub fn account() -> String {
    static ACCOUNT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ACCOUNT
        .get_or_init(|| {
            std::thread::spawn(|| {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    crate::support::account_of(&crate::support::sdk_config().await).await
                })
            })
            .join()
            .unwrap()
        })
        .clone()
}
