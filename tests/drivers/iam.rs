use serde_json::json;
use zinfra::model::{Live, Props, TAG_ADDRESS, TAG_STACK, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

/// Every desired field equals the live one; lists are sets for these kinds.
fn assert_props(live: &Live, want: &Props) {
    let norm = |v: &Value| match v {
        Value::List(l) => {
            let mut l = l.clone();
            l.sort_by_key(|v| format!("{v:?}"));
            Value::List(l)
        }
        v => v.clone(),
    };
    for (k, v) in want {
        let got = live
            .props
            .get(k)
            .unwrap_or_else(|| panic!("{}: `{k}` not read back", live.address));
        assert_eq!(norm(got), norm(v), "{}: field `{k}`", live.address);
    }
}

fn decode(doc: &str) -> serde_json::Value {
    serde_json::from_str(&urlencoding::decode(doc).unwrap()).unwrap()
}

async fn create_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});
    let out = iam
        .create_policy()
        .policy_name(name)
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_owned()
}

#[tokio::test]
async fn iam_role_lifecycle() {
    let aws = aws().await;
    let driver = aws.driver_for("iam_role");
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let stack = unique("iamrole");
    let role_name = unique("zinfra-role");
    let p1 = create_policy(&iam, &unique("zinfra-p1")).await;
    let p2 = create_policy(&iam, &unique("zinfra-p2")).await;

    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    let read_doc = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket/*"}]
    });
    let mut inline = Props::new();
    inline.insert("read".into(), Value::Json(read_doc.clone()));
    let mut r = resolved(
        &stack,
        "iam_role",
        "app",
        props([
            ("role_name", s(&role_name)),
            ("path", s("/")),
            ("description", s("app tasks")),
            ("assume_role_policy", Value::Json(trust.clone())),
            ("managed_policy_arns", list(&[&p1])),
            ("inline_policies", Value::Map(inline)),
            ("max_session_duration", Value::Int(3600)),
        ]),
    );
    r.tags.insert("team".into(), "platform".into());

    let created = driver.create(&r).await.unwrap();
    assert_eq!(created.id, role_name);
    assert_eq!(created.outputs["name"], role_name);
    assert!(
        created.outputs["arn"].ends_with(&format!(":role/{role_name}")),
        "{:?}",
        created.outputs
    );

    // Declared: found through GetRole.
    let found = read(&aws, &*driver, &stack, "iam_role", &[desired(&r)]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_eq!(live.address, "iam_role.app");
    assert_eq!(live.id, role_name);
    assert_eq!(live.outputs["arn"], created.outputs["arn"]);
    assert_props(live, &r.props);
    assert_eq!(live.tags, r.tags);

    // Independently: the trust policy round-trips structurally, policies are attached.
    let role = iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(decode(role.assume_role_policy_document().unwrap()), trust);
    assert_eq!(role.description(), Some("app tasks"));
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == TAG_STACK && t.value() == stack)
    );
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == TAG_ADDRESS && t.value() == "iam_role.app")
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(attached, vec![p1.as_str()]);
    let doc = iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert_eq!(decode(doc.policy_document()), read_doc);

    // Update in place: trust, description, session length, managed and inline policies, tags.
    let trust2 = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": super::common::account()}}
        }]
    });
    let write_doc = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*"}]
    });
    let mut inline2 = Props::new();
    inline2.insert("write".into(), Value::Json(write_doc.clone()));
    let mut r2 = r.clone();
    r2.props.insert("description".into(), s("app and lambda"));
    r2.props
        .insert("assume_role_policy".into(), Value::Json(trust2.clone()));
    r2.props.insert("managed_policy_arns".into(), list(&[&p2]));
    r2.props
        .insert("inline_policies".into(), Value::Map(inline2));
    r2.props
        .insert("max_session_duration".into(), Value::Int(7200));
    r2.tags.remove("team");
    r2.tags.insert("env".into(), "test".into());
    let changed: Vec<String> = [
        "assume_role_policy",
        "description",
        "managed_policy_arns",
        "inline_policies",
        "max_session_duration",
        "tags",
    ]
    .map(String::from)
    .to_vec();
    let updated = driver.update(&r2, live, &changed).await.unwrap();
    assert_eq!(updated.id, role_name);
    assert_eq!(updated.outputs["arn"], created.outputs["arn"]);

    // Not declared any more: still found (an orphan) through ListRoleTags.
    let found = read(&aws, &*driver, &stack, "iam_role", &[]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_eq!(live.address, "iam_role.app");
    assert_props(live, &r2.props);
    assert_eq!(live.tags, r2.tags);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(attached, vec![p2.as_str()]);
    let names = iam
        .list_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["write".to_owned()]);
    let role = iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(decode(role.assume_role_policy_document().unwrap()), trust2);
    assert_eq!(role.max_session_duration(), Some(7200));

    driver.delete(live).await.unwrap();
    assert!(
        read(&aws, &*driver, &stack, "iam_role", &[desired(&r2)])
            .await
            .is_empty()
    );
    let gone = iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(zinfra::drivers::error_code(&gone), Some("NoSuchEntity"));
    driver.delete(live).await.unwrap();

    for arn in [p1, p2] {
        iam.delete_policy().policy_arn(arn).send().await.unwrap();
    }
}

#[tokio::test]
async fn iam_oidc_provider_lifecycle() {
    let aws = aws().await;
    let driver = aws.driver_for("iam_oidc_provider");
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let stack = unique("oidc");
    let host = format!("{}.example.com", unique("token"));
    let thumb1 = "a".repeat(40);
    let thumb2 = "b".repeat(40);
    let mut r = resolved(
        &stack,
        "iam_oidc_provider",
        "ci",
        props([
            ("url", s(&format!("https://{host}"))),
            ("client_ids", list(&["sts.amazonaws.com"])),
            ("thumbprints", list(&[&thumb1])),
        ]),
    );
    r.tags.insert("team".into(), "platform".into());

    let created = driver.create(&r).await.unwrap();
    assert!(created.id.starts_with("arn:aws:iam::"), "{}", created.id);
    assert!(
        created.id.ends_with(&format!(":oidc-provider/{host}")),
        "{}",
        created.id
    );
    assert_eq!(created.outputs["arn"], created.id);

    let found = read(&aws, &*driver, &stack, "iam_oidc_provider", &[desired(&r)]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_eq!(live.address, "iam_oidc_provider.ci");
    assert_eq!(live.id, created.id);
    assert_eq!(live.outputs["arn"], created.id);
    assert_props(live, &r.props);
    assert_eq!(live.tags, r.tags);

    let direct = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&created.id)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.url(), Some(host.as_str()));
    assert_eq!(direct.client_id_list(), ["sts.amazonaws.com".to_owned()]);
    assert_eq!(direct.thumbprint_list(), std::slice::from_ref(&thumb1));

    // Thumbprints and tags.
    let mut r2 = r.clone();
    r2.props.insert("thumbprints".into(), list(&[&thumb2]));
    r2.tags.remove("team");
    r2.tags.insert("env".into(), "test".into());
    driver
        .update(&r2, live, &["thumbprints".into(), "tags".into()])
        .await
        .unwrap();
    let found = read(&aws, &*driver, &stack, "iam_oidc_provider", &[desired(&r2)]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_props(live, &r2.props);
    assert_eq!(live.tags, r2.tags);

    // Client ids: one added, one removed.
    let mut r3 = r2.clone();
    r3.props
        .insert("client_ids".into(), list(&["api://zinfra-ci"]));
    match driver.update(&r3, live, &["client_ids".into()]).await {
        Ok(_) => {
            let found = read(&aws, &*driver, &stack, "iam_oidc_provider", &[desired(&r3)]).await;
            assert_eq!(found.len(), 1, "{found:?}");
            assert_props(&found[0], &r3.props);
            let direct = iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&created.id)
                .send()
                .await
                .unwrap();
            assert_eq!(direct.client_id_list(), ["api://zinfra-ci".to_owned()]);
        }
        // moto 5.2.5 does not implement AddClientIDToOpenIDConnectProvider (HTTP 500); AWS does.
        Err(e) if is_moto_unimplemented(&e, "AddClientIDToOpenIDConnectProvider") => {
            eprintln!("emulator gap: {e:#}");
        }
        Err(e) => panic!("{e:#}"),
    }

    driver.delete(live).await.unwrap();
    assert!(
        read(&aws, &*driver, &stack, "iam_oidc_provider", &[desired(&r3)])
            .await
            .is_empty()
    );
    driver.delete(live).await.unwrap();
}

fn is_moto_unimplemented(e: &anyhow::Error, op: &str) -> bool {
    let msg = format!("{e:#}");
    msg.contains(op) && msg.contains("HTTP 500")
}
