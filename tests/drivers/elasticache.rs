//! ElastiCache driver against moto plus tests/emulator/elasticache.py (user groups, ModifyUser,
//! DeleteCacheSubnetGroup, member clusters, replica counts and deleted groups are the extension's).

use aws_sdk_elasticache::types::{AutomaticFailoverStatus, MultiAzStatus, TransitEncryptionMode};
use zinfra::drivers::{Aws, Driver};
use zinfra::model::TAG_SECRET_VERSION as PASSWORD_TAG;
use zinfra::model::{Live, Resolved, Secret, TAG_STACK, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn ec() -> aws_sdk_elasticache::Client {
    aws_sdk_elasticache::Client::new(&sdk_config().await)
}

fn strs(v: &[&str]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect())
}

fn secret(env: &str, value: &str) -> Value {
    secret_v(env, value, 1)
}

fn secret_v(env: &str, value: &str, version: i64) -> Value {
    Value::Secret(Secret {
        env: env.to_owned(),
        version,
        value: Some(value.to_owned()),
    })
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::List(l) => {
            let mut l = l.clone();
            l.sort_by_key(|x| format!("{x:?}"));
            Value::List(l)
        }
        v => v.clone(),
    }
}

/// Every prop the file sets reads back equal (the engine leaves out the others).
fn assert_props(live: &Live, r: &Resolved) {
    for (k, want) in &r.props {
        let got = live.props.get(k).unwrap_or(&Value::Null);
        // (No assert_eq!: a secret mismatch must not print either value.)
        assert!(
            sorted(got) == sorted(want),
            "{}.{k}: read {}, want {}",
            r.address,
            if got.is_sensitive() {
                "(sensitive)".into()
            } else {
                format!("{got:?}")
            },
            if want.is_sensitive() {
                "(sensitive)".into()
            } else {
                format!("{want:?}")
            },
        );
    }
}

async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, id: &str) -> Live {
    let live = read_one_live(aws, d, r, id).await;
    assert!(
        live.outputs
            .get("arn")
            .is_some_and(|a| a.starts_with("arn:aws:elasticache:us-east-1:") && a.ends_with(id)),
        "{:?}",
        live.outputs
    );
    assert_props(&live, r);
    live
}

async fn assert_gone(aws: &Aws, d: &dyn Driver, r: &Resolved, live: &Live) {
    let all = read(aws, d, r.tags[TAG_STACK].as_str(), &r.kind, &[desired(r)]).await;
    assert!(all.iter().all(|l| l.address != r.address), "{all:?}");
    d.delete(live).await.expect("deleting again is a no-op");
}

async fn create(d: &dyn Driver, r: &Resolved) -> Live {
    d.create(r)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e:#}", r.address))
}

async fn update(d: &dyn Driver, r: &Resolved, live: &Live, changed: &[&str]) {
    let changed: Vec<String> = changed.iter().map(|c| (*c).to_owned()).collect();
    d.update(r, live, &changed)
        .await
        .unwrap_or_else(|e| panic!("updating {}: {e:#}", r.address));
}

/// A VPC with two private subnets and two security groups, made directly: the tests are about the cache.
async fn network() -> (Vec<String>, Vec<String>) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let mut subnets = vec![];
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let out = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.42.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(out.subnet.unwrap().subnet_id.unwrap());
    }
    let mut sgs = vec![];
    for n in ["a", "b"] {
        let out = ec2
            .create_security_group()
            .vpc_id(&vpc)
            .group_name(unique(&format!("redis-{n}")))
            .description("redis test")
            .send()
            .await
            .unwrap();
        sgs.push(out.group_id.unwrap());
    }
    (subnets, sgs)
}

async fn cmk() -> String {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms
        .create_key()
        .description("redis test key")
        .send()
        .await
        .unwrap();
    key.key_metadata().unwrap().arn().unwrap().to_owned()
}

fn default_user(stack: &str, id: &str, password: &str) -> Resolved {
    resolved(
        stack,
        "elasticache_user",
        "default",
        props([
            ("user_id", s(id)),
            ("user_name", s("default")),
            ("engine", s("redis")),
            ("access_string", s("off -@all")),
            ("authentication", s("password")),
            ("password", secret("REDIS_DEFAULT_PASSWORD", password)),
        ]),
    )
}

fn app_user(stack: &str, id: &str, password: &str) -> Resolved {
    resolved(
        stack,
        "elasticache_user",
        "app",
        props([
            ("user_id", s(id)),
            ("user_name", s("app")),
            ("engine", s("redis")),
            ("access_string", s("on ~app:* +@read +@write")),
            ("authentication", s("password")),
            ("password", secret("REDIS_APP_PASSWORD", password)),
        ]),
    )
}

#[tokio::test]
async fn elasticache_subnet_group_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("elasticache_subnet_group");
    let (subnets, _) = network().await;
    let stack = unique("ec-sng");
    let name = unique("zinfra-sng");
    let mut r = resolved(
        &stack,
        "elasticache_subnet_group",
        "redis",
        props([
            ("name", s(&name)),
            ("description", s("redis subnets")),
            ("subnets", strs(&[&subnets[0]])),
        ]),
    );
    create(&*d, &r).await;
    let live = read_one(&aws, &*d, &r, &name).await;

    // Subnets, description and tags change in place.
    r.props
        .insert("subnets".into(), strs(&[&subnets[0], &subnets[1]]));
    r.props
        .insert("description".into(), s("both private subnets"));
    r.tags.insert("team".into(), "data".into());
    update(&*d, &r, &live, &["subnets", "description", "tags"]).await;
    let live = read_one(&aws, &*d, &r, &name).await;
    let out = ec()
        .await
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(&name)
        .send()
        .await
        .unwrap();
    let mut got: Vec<&str> = out.cache_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .collect();
    got.sort();
    let mut want: Vec<&str> = subnets.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);

    // DeleteCacheSubnetGroup is the emulator extension's.
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_gone(&aws, &*d, &r, &live).await;
}

fn parameter_group(stack: &str, name: &str, params: &[(&str, &str)]) -> Resolved {
    resolved(
        stack,
        "elasticache_parameter_group",
        name,
        props([
            ("name", s(&unique("zinfra-pg"))),
            ("family", s("redis7")),
            ("description", s("zenoo redis parameters")),
            (
                "parameters",
                Value::Map(
                    params
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), s(v)))
                        .collect(),
                ),
            ),
        ]),
    )
}

#[tokio::test]
async fn elasticache_parameter_group_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("elasticache_parameter_group");
    let ec = ec().await;
    let stack = unique("ec-pg");
    let mut r = parameter_group(
        &stack,
        "redis",
        &[("maxmemory-policy", "allkeys-lru"), ("timeout", "300")],
    );
    let name = r.props["name"].as_str().unwrap().to_owned();
    create(&*d, &r).await;
    let live = read_one(&aws, &*d, &r, &name).await;

    // One changed, one reset to the engine default, one added; tags.
    r.props.insert(
        "parameters".into(),
        Value::Map(
            [
                ("maxmemory-policy", "volatile-lru"),
                ("notify-keyspace-events", "Ex"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), s(v)))
            .collect(),
        ),
    );
    r.tags.insert("team".into(), "data".into());
    update(&*d, &r, &live, &["parameters", "tags"]).await;
    let live = read_one(&aws, &*d, &r, &name).await;
    let out = ec
        .describe_cache_parameters()
        .cache_parameter_group_name(&name)
        .source("user")
        .send()
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = out
        .parameters()
        .iter()
        .map(|p| (p.parameter_name().unwrap(), p.parameter_value().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("maxmemory-policy", "volatile-lru"),
            ("notify-keyspace-events", "Ex")
        ]
    );

    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_gone(&aws, &*d, &r, &live).await;
}

#[tokio::test]
async fn elasticache_users_and_user_group() {
    let aws = aws().await;
    let du = aws.driver_for("elasticache_user");
    let dg = aws.driver_for("elasticache_user_group");
    let ec = ec().await;
    let stack = unique("ec-rbac");
    let (default_id, app_id) = (unique("zdef"), unique("zapp"));
    let (p1, p2) = (
        unique("default-pass-0123456789"),
        unique("app-pass-0123456789"),
    );
    let default = default_user(&stack, &default_id, &p1);
    let mut app = app_user(&stack, &app_id, &p2);
    create(&*du, &default).await;
    let created = create(&*du, &app).await;
    assert!(!format!("{created:?}").contains(&p2), "the secret leaks");
    let live_default = read_one(&aws, &*du, &default, &default_id).await;
    let live_app = read_one(&aws, &*du, &app, &app_id).await;
    assert!(
        !format!("{live_app:?}").contains(&p2),
        "the secret leaks through Debug"
    );

    // AWS holds a password user tagged with the version written (1); the tag is the driver's own.
    let u = &ec
        .describe_users()
        .user_id(&app_id)
        .send()
        .await
        .unwrap()
        .users()[0]
        .clone();
    assert_eq!(
        u.authentication().unwrap().r#type().unwrap().as_str(),
        "password"
    );
    assert_eq!(u.authentication().unwrap().password_count(), Some(1));
    let arn = live_app.outputs["arn"].clone();
    let tags = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .unwrap();
    let fp = tags
        .tag_list()
        .iter()
        .find(|t| t.key() == Some(PASSWORD_TAG))
        .unwrap();
    assert_eq!(fp.value(), Some("1"));
    assert!(!live_app.tags.contains_key(PASSWORD_TAG));

    // A new value in the environment alone is no change (write-only; the plan never needs it): a
    // version bump is. After the update (ModifyUser: the extension's) it reads back equal.
    let p3 = unique("app-pass-rotated-0123456789");
    app.props
        .insert("password".into(), secret("REDIS_APP_PASSWORD", &p3));
    let same = read(&aws, &*du, &stack, "elasticache_user", &[desired(&app)]).await;
    let same = same.iter().find(|l| l.address == app.address).unwrap();
    assert!(same.props.get("password") == app.props.get("password"));
    app.props
        .insert("password".into(), secret_v("REDIS_APP_PASSWORD", &p3, 2));
    let stale = read(&aws, &*du, &stack, "elasticache_user", &[desired(&app)]).await;
    let stale = stale.iter().find(|l| l.address == app.address).unwrap();
    assert!(
        stale.props.get("password") != app.props.get("password"),
        "rotation not seen"
    );
    app.props
        .insert("access_string".into(), s("on ~app:* +@read"));
    update(&*du, &app, &live_app, &["password", "access_string"]).await;
    let live_app = read_one(&aws, &*du, &app, &app_id).await;
    let u = &ec
        .describe_users()
        .user_id(&app_id)
        .send()
        .await
        .unwrap()
        .users()[0]
        .clone();
    assert_eq!(u.access_string(), Some("on ~app:* +@read"));

    // From a password to IAM authentication (user id = user name): the version tag goes with the password.
    let iam_id = unique("ziam");
    let mut iam = resolved(
        &stack,
        "elasticache_user",
        "worker",
        props([
            ("user_id", s(&iam_id)),
            ("user_name", s(&iam_id)),
            ("engine", s("redis")),
            ("access_string", s("on ~jobs:* +@list")),
            ("authentication", s("password")),
            ("password", secret("REDIS_WORKER_PASSWORD", &p2)),
        ]),
    );
    let iam_live = create(&*du, &iam).await;
    iam.props.insert("authentication".into(), s("iam"));
    iam.props.remove("password");
    update(&*du, &iam, &iam_live, &["authentication", "password"]).await;
    let iam_live = read_one(&aws, &*du, &iam, &iam_id).await;
    assert_eq!(iam_live.props.get("password"), None);
    let u = &ec
        .describe_users()
        .user_id(&iam_id)
        .send()
        .await
        .unwrap()
        .users()[0]
        .clone();
    assert_eq!(
        u.authentication().unwrap().r#type().unwrap().as_str(),
        "iam"
    );
    let tags = ec
        .list_tags_for_resource()
        .resource_name(&iam_live.outputs["arn"])
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_list()
            .iter()
            .all(|t| t.key() != Some(PASSWORD_TAG))
    );
    du.delete(&iam_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    // The user group: the disabled default user and the app user.
    let group_id = unique("zgrp");
    let mut g = resolved(
        &stack,
        "elasticache_user_group",
        "redis",
        props([
            ("user_group_id", s(&group_id)),
            ("engine", s("redis")),
            ("users", strs(&[&default_id])),
        ]),
    );
    create(&*dg, &g).await;
    let live_g = read_one(&aws, &*dg, &g, &group_id).await;
    // A group without a user named `default` is refused (the extension follows AWS).
    let bad = resolved(
        &stack,
        "elasticache_user_group",
        "bad",
        props([
            ("user_group_id", s(&unique("zbad"))),
            ("users", strs(&[&app_id])),
        ]),
    );
    let err = format!("{:#}", dg.create(&bad).await.expect_err("no default user"));
    assert!(err.contains("DefaultUserRequired"), "{err}");

    g.props
        .insert("users".into(), strs(&[&default_id, &app_id]));
    g.tags.insert("team".into(), "data".into());
    update(&*dg, &g, &live_g, &["users", "tags"]).await;
    let live_g = read_one(&aws, &*dg, &g, &group_id).await;
    let out = ec
        .describe_user_groups()
        .user_group_id(&group_id)
        .send()
        .await
        .unwrap();
    let grp = &out.user_groups()[0];
    assert_eq!(grp.status(), Some("active"));
    for uid in grp.user_ids() {
        let u = &ec
            .describe_users()
            .user_id(uid)
            .send()
            .await
            .unwrap()
            .users()[0]
            .clone();
        if u.user_name() == Some("default") {
            assert!(
                u.access_string().unwrap().starts_with("off"),
                "default user enabled"
            );
        }
    }

    dg.delete(&live_g).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_gone(&aws, &*dg, &g, &live_g).await;
    for (r, l) in [(&app, &live_app), (&default, &live_default)] {
        du.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_gone(&aws, &*du, r, l).await;
    }
}

#[tokio::test]
async fn elasticache_replication_group_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("elasticache_replication_group");
    let ec = ec().await;
    let (subnets, sgs) = network().await;
    let key = cmk().await;
    let stack = unique("ec-rg");
    // Its subnet group, users and user group, through their drivers.
    let (sng_name, group_id, parents) = parents(&aws, &stack, &subnets).await;
    let dp = aws.driver_for("elasticache_parameter_group");
    let (pg1, pg2) = (
        parameter_group(&stack, "one", &[("maxmemory-policy", "allkeys-lru")]),
        parameter_group(&stack, "two", &[]),
    );
    let (pg1_live, pg2_live) = (create(&*dp, &pg1).await, create(&*dp, &pg2).await);

    let id = unique("zinfra-redis");
    let mut r = resolved(
        &stack,
        "elasticache_replication_group",
        "redis",
        props([
            ("replication_group_id", s(&id)),
            ("description", s("zenoo cache")),
            ("engine", s("redis")),
            ("engine_version", s("7.1")),
            ("node_type", s("cache.t4g.small")),
            ("replicas", Value::Int(0)),
            ("subnet_group", s(&sng_name)),
            ("security_groups", strs(&[&sgs[0]])),
            ("at_rest_encryption", Value::Bool(true)),
            ("kms_key", s(&key)),
            ("transit_encryption", Value::Bool(true)),
            ("transit_encryption_mode", s("required")),
            ("automatic_failover", Value::Bool(false)),
            ("multi_az", Value::Bool(false)),
            ("user_group", s(&group_id)),
            ("snapshot_retention_limit", Value::Int(1)),
            ("maintenance_window", s("sun:05:00-sun:06:00")),
            ("parameter_group", s(&pg1_live.id)),
        ]),
    );
    let created = create(&*d, &r).await;
    assert!(
        created.outputs.contains_key("primary_endpoint"),
        "{:?}",
        created.outputs
    );
    let live = read_one(&aws, &*d, &r, &id).await;

    // Every control, straight from AWS.
    let g = ec
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.kms_key_id(), Some(key.as_str()));
    assert_eq!(g.transit_encryption_enabled(), Some(true));
    assert_eq!(
        g.transit_encryption_mode(),
        Some(&TransitEncryptionMode::Required)
    );
    assert_eq!(g.user_group_ids(), std::slice::from_ref(&group_id));
    let c = ec
        .describe_cache_clusters()
        .cache_cluster_id(&g.member_clusters()[0])
        .send()
        .await
        .unwrap();
    let c = &c.cache_clusters()[0];
    assert_eq!(c.cache_subnet_group_name(), Some(sng_name.as_str()));
    let ids: Vec<_> = c
        .security_groups()
        .iter()
        .filter_map(|m| m.security_group_id())
        .collect();
    assert_eq!(ids, [sgs[0].as_str()]);
    assert_eq!(
        c.cache_parameter_group()
            .and_then(|g| g.cache_parameter_group_name()),
        Some(pg1_live.id.as_str())
    );

    // In place: node type, engine upgrade, security groups, snapshots, one replica with failover across AZs.
    r.props.insert("node_type".into(), s("cache.t4g.medium"));
    r.props.insert("engine_version".into(), s("7.2"));
    r.props.insert("security_groups".into(), strs(&[&sgs[1]]));
    r.props
        .insert("snapshot_retention_limit".into(), Value::Int(7));
    r.props.insert("replicas".into(), Value::Int(1));
    r.props
        .insert("automatic_failover".into(), Value::Bool(true));
    r.props.insert("multi_az".into(), Value::Bool(true));
    r.tags.insert("team".into(), "data".into());
    let changed = [
        "node_type",
        "engine_version",
        "security_groups",
        "snapshot_retention_limit",
        "replicas",
        "automatic_failover",
        "multi_az",
        "tags",
    ];
    update(&*d, &r, &live, &changed).await;
    let live = read_one(&aws, &*d, &r, &id).await;
    let g = ec
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.member_clusters().len(), 2);
    assert_eq!(
        g.automatic_failover(),
        Some(&AutomaticFailoverStatus::Enabled)
    );
    assert_eq!(g.multi_az(), Some(&MultiAzStatus::Enabled));

    // In use, the subnet group and the user group cannot be deleted (the extension refuses as AWS does).
    let err = ec
        .delete_cache_subnet_group()
        .cache_subnet_group_name(&sng_name)
        .send()
        .await
        .expect_err("the group uses it");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("CacheSubnetGroupInUse")
    );
    let err = ec
        .delete_user_group()
        .user_group_id(&group_id)
        .send()
        .await
        .expect_err("the group uses it");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidUserGroupState")
    );

    let err = ec
        .delete_cache_parameter_group()
        .cache_parameter_group_name(&pg1_live.id)
        .send()
        .await
        .expect_err("the group uses it");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidCacheParameterGroupState")
    );

    // Another user group and another parameter group, in place (UserGroupIdsToRemove + UserGroupIdsToAdd,
    // CacheParameterGroupName).
    let group2 = unique("zrggrp2");
    let grp2 = resolved(
        &stack,
        "elasticache_user_group",
        "redis2",
        props([
            ("user_group_id", s(&group2)),
            ("engine", s("redis")),
            ("users", live_users(&ec, &group_id).await),
        ]),
    );
    let grp2_live = create(&*aws.driver_for("elasticache_user_group"), &grp2).await;
    r.props.insert("user_group".into(), s(&group2));
    r.props.insert("parameter_group".into(), s(&pg2_live.id));
    update(&*d, &r, &live, &["user_group", "parameter_group"]).await;
    let live = read_one(&aws, &*d, &r, &id).await;
    let g = ec
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.replication_groups()[0].user_group_ids(),
        std::slice::from_ref(&group2)
    );

    // Back to no replicas: failover off first, then DecreaseReplicaCount.
    r.props.insert("replicas".into(), Value::Int(0));
    r.props
        .insert("automatic_failover".into(), Value::Bool(false));
    r.props.insert("multi_az".into(), Value::Bool(false));
    update(
        &*d,
        &r,
        &live,
        &["replicas", "automatic_failover", "multi_az"],
    )
    .await;
    let live = read_one(&aws, &*d, &r, &id).await;

    // A lost create reply: the same create adopts the group instead of failing or making another.
    let again = create(&*d, &r).await;
    assert_eq!(again.id, id);

    // Delete waits until the group is gone (the extension drops a deleted group after one `deleting`).
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_gone(&aws, &*d, &r, &live).await;
    aws.driver_for("elasticache_user_group")
        .delete(&grp2_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    for l in [&pg1_live, &pg2_live] {
        dp.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
    }
    for l in parents.iter().rev() {
        aws.driver_for(&l.kind)
            .delete(l)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
}

/// The user ids of a user group, as AWS lists them.
async fn live_users(ec: &aws_sdk_elasticache::Client, group: &str) -> Value {
    let out = ec
        .describe_user_groups()
        .user_group_id(group)
        .send()
        .await
        .unwrap();
    Value::List(
        out.user_groups()[0]
            .user_ids()
            .iter()
            .map(|u| s(u))
            .collect(),
    )
}

/// A subnet group, a disabled default user and a user group holding it: (subnet group, user group, lives).
async fn parents(aws: &Aws, stack: &str, subnets: &[String]) -> (String, String, Vec<Live>) {
    let sng_name = unique("zinfra-rg-sng");
    let sng = resolved(
        stack,
        "elasticache_subnet_group",
        "redis",
        props([
            ("name", s(&sng_name)),
            ("description", s("x")),
            ("subnets", strs(&[&subnets[0], &subnets[1]])),
        ]),
    );
    let sng_live = create(&*aws.driver_for("elasticache_subnet_group"), &sng).await;
    let (def_id, group_id) = (unique("zrgdef"), unique("zrggrp"));
    let def = default_user(stack, &def_id, &unique("default-pass-0123456789"));
    let def_live = create(&*aws.driver_for("elasticache_user"), &def).await;
    let grp = resolved(
        stack,
        "elasticache_user_group",
        "redis",
        props([
            ("user_group_id", s(&group_id)),
            ("engine", s("redis")),
            ("users", strs(&[&def_id])),
        ]),
    );
    let grp_live = create(&*aws.driver_for("elasticache_user_group"), &grp).await;
    (sng_name, group_id, vec![sng_live, def_live, grp_live])
}

#[tokio::test]
async fn elasticache_replication_group_resumes_after_a_timeout() {
    let aws = aws().await;
    let d = aws.driver_for("elasticache_replication_group");
    let ec = ec().await;
    let (subnets, sgs) = network().await;
    let key = cmk().await;
    let stack = unique("ec-resume");
    let (sng_name, group_id, parents) = parents(&aws, &stack, &subnets).await;
    let id = unique("zinfra-resume");
    let r = resolved(
        &stack,
        "elasticache_replication_group",
        "redis",
        props([
            ("replication_group_id", s(&id)),
            ("engine_version", s("7.1")),
            ("node_type", s("cache.t4g.small")),
            ("subnet_group", s(&sng_name)),
            ("security_groups", strs(&[&sgs[0]])),
            ("kms_key", s(&key)),
            ("user_group", s(&group_id)),
        ]),
    );
    // The resource's `timeout` runs out while AWS still reports `creating`.
    let op = zinfra::wait::OpCx::new(Some(std::time::Duration::from_millis(1)));
    let err = zinfra::wait::scope(op, d.create(&r))
        .await
        .expect_err("the wait times out");
    let err = format!("{err:#}");
    assert!(
        err.contains("timed out after 1ms waiting for replication group (last state: creating)"),
        "{err}"
    );
    // The next run finds the group by its tags, and a create (a lost reply) adopts it: never a second one.
    let live = read_one_live(&aws, &*d, &r, &id).await;
    let again = create(&*d, &r).await;
    assert_eq!(again.id, live.id);
    let all = ec.describe_replication_groups().send().await.unwrap();
    let ours: Vec<_> = all
        .replication_groups()
        .iter()
        .filter(|g| g.replication_group_id() == Some(id.as_str()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].status(), Some("available"));

    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    for l in parents.iter().rev() {
        aws.driver_for(&l.kind)
            .delete(l)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
}
