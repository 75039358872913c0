use aws_sdk_ecs::types::{
    AssignPublicIp, ClusterField, Compatibility, LaunchType, NetworkMode, TaskDefinitionStatus,
};
use zinfra::drivers::{Aws, Driver};
use zinfra::model::{Live, Resolved, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn ecs() -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk_config().await)
}

fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(props(pairs))
}

/// A VPC with one private subnet and a security group, and an ALB target group: made directly, this
/// test is about ECS. Returns (subnet, security group, target group ARN).
async fn network() -> (String, String, String) {
    let conf = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
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
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.42.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let sg = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(unique("ecs-test"))
        .description("ecs test")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let tg = elb
        .create_target_group()
        .name(
            unique("ecs-tg")
                .replace('_', "-")
                .chars()
                .take(32)
                .collect::<String>(),
        )
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let tg = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    (subnet, sg, tg)
}

/// The container as the engine hands it over: defaults applied, references resolved.
fn container(repository: &str, tag: &str, level: &str, parameter: &str) -> Value {
    map([
        ("name", s("hub")),
        ("repository", s(repository)),
        ("tag", s(tag)),
        ("essential", Value::Bool(true)),
        (
            "port_mappings",
            Value::List(vec![map([
                ("container_port", Value::Int(8080)),
                ("protocol", s("tcp")),
            ])]),
        ),
        ("environment", map([("LOG_LEVEL", s(level))])),
        ("secrets", map([("DB_PASSWORD", s(parameter))])),
        (
            "logs",
            map([
                ("group", s("/ecs/zinfra-test")),
                ("stream_prefix", s("hub")),
            ]),
        ),
    ])
}

async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, id: &str) -> Live {
    let live = read_one_live(aws, d, r, id).await;
    assert!(live.outputs.contains_key("arn"), "{:?}", live.outputs);
    live
}

#[tokio::test]
async fn ecs_cluster_task_definition_and_service_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("ecs_service");
    let ecs = ecs().await;
    let stack = unique("ecs-life");
    let (subnet, sg, tg) = network().await;
    let account = &super::common::account();
    let repo_name = unique("zinfra-test/hub");
    let repo = format!("{account}.dkr.ecr.us-east-1.amazonaws.com/{repo_name}");
    // A deployment pulls the image: it must be in the repository (the emulator checks, as ECS does).
    let ecr = aws_sdk_ecr::Client::new(&crate::support::sdk_config().await);
    ecr.create_repository()
        .repository_name(&repo_name)
        .send()
        .await
        .unwrap();
    ecr.put_image()
        .repository_name(&repo_name)
        .image_tag("v1")
        .image_manifest(r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:v1"},"layers":[]}"#)
        .send()
        .await
        .unwrap();
    let exec_role = format!("arn:aws:iam::{account}:role/{}", unique("exec"));
    let task_role = format!("arn:aws:iam::{account}:role/{}", unique("task"));
    let parameter = format!(
        "arn:aws:ssm:us-east-1:{account}:parameter/{}/db",
        unique("zinfra-test")
    );

    // --- cluster: Container Insights on.
    let cluster_name = unique("zinfra-test-cluster");
    let mut cluster = resolved(
        &stack,
        "ecs_cluster",
        "main",
        props([
            ("cluster_name", s(&cluster_name)),
            ("container_insights", s("enabled")),
        ]),
    );
    let created = d.create(&cluster).await.unwrap_or_else(|e| panic!("{e:#}"));
    let cluster_live = read_one(&aws, &*d, &cluster, &cluster_name).await;
    assert_eq!(cluster_live.props, cluster.props);
    assert_eq!(created.outputs, cluster_live.outputs);
    let cluster_arn = cluster_live.outputs["arn"].clone();
    let insights = |c: &aws_sdk_ecs::types::Cluster| {
        c.settings()
            .iter()
            .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
            .and_then(|s| s.value())
            .map(str::to_owned)
    };
    let describe_cluster = || async {
        ecs.describe_clusters()
            .clusters(&cluster_name)
            .include(ClusterField::Settings)
            .send()
            .await
            .unwrap()
            .clusters()[0]
            .clone()
    };
    assert_eq!(
        insights(&describe_cluster().await).as_deref(),
        Some("enabled")
    );
    cluster
        .props
        .insert("container_insights".into(), s("disabled"));
    cluster.tags.insert("team".into(), "platform".into());
    d.update(
        &cluster,
        &cluster_live,
        &["container_insights".into(), "tags".into()],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let cluster_live = read_one(&aws, &*d, &cluster, &cluster_name).await;
    assert_eq!(cluster_live.props, cluster.props);
    assert_eq!(
        insights(&describe_cluster().await).as_deref(),
        Some("disabled")
    );

    // --- task definition, first revision.
    // The family is `<stack>-<name>`.
    let family = format!("{stack}-hub");
    let td_props = |level: &str| {
        props([
            ("cpu", Value::Int(512)),
            ("memory", Value::Int(1024)),
            ("network_mode", s("awsvpc")),
            ("execution_role", s(&exec_role)),
            ("task_role", s(&task_role)),
            (
                "container_definitions",
                Value::List(vec![container(&repo, "v1", level, &parameter)]),
            ),
        ])
    };
    let mut td = resolved(&stack, "ecs_task_definition", "hub", td_props("info"));
    let rev1 = d.create(&td).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        rev1.id.ends_with(&format!("task-definition/{family}:1")),
        "{}",
        rev1.id
    );
    let td_live = read_one(&aws, &*d, &td, &rev1.id).await;
    assert_eq!(td_live.props, td.props);
    let described = ecs
        .describe_task_definition()
        .task_definition(&rev1.id)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(
        described.requires_compatibilities(),
        [Compatibility::Fargate]
    );
    assert_eq!(described.network_mode(), Some(&NetworkMode::Awsvpc));
    assert_eq!(
        (described.cpu(), described.memory()),
        (Some("512"), Some("1024"))
    );
    assert_eq!(described.execution_role_arn(), Some(exec_role.as_str()));
    assert_eq!(described.task_role_arn(), Some(task_role.as_str()));
    let c = &described.container_definitions()[0];
    assert_eq!(c.image(), Some(format!("{repo}:v1").as_str()));
    assert_eq!(c.essential(), Some(true));
    assert_eq!(c.port_mappings()[0].container_port(), Some(8080));
    assert_eq!(c.secrets()[0].name(), "DB_PASSWORD");
    assert_eq!(
        c.secrets()[0].value_from(),
        parameter,
        "valueFrom is the parameter's ARN"
    );
    assert_eq!(c.environment()[0].value(), Some("info"));
    let logs = c.log_configuration().unwrap();
    assert_eq!(logs.log_driver().as_str(), "awslogs");
    let opts = logs.options().unwrap();
    assert_eq!(opts["awslogs-group"], "/ecs/zinfra-test");
    assert_eq!(opts["awslogs-region"], "us-east-1");
    assert_eq!(opts["awslogs-stream-prefix"], "hub");

    // --- service: Fargate, private subnet, no public IP, circuit breaker with rollback, behind the ALB.
    let service_name = unique("zinfra-test-hub");
    let mut svc = resolved(
        &stack,
        "ecs_service",
        "hub",
        props([
            ("service_name", s(&service_name)),
            ("cluster", s(&cluster_arn)),
            ("task_definition", s(&rev1.id)),
            ("desired_count", Value::Int(2)),
            ("subnets", Value::List(vec![s(&subnet)])),
            ("security_groups", Value::List(vec![s(&sg)])),
            ("assign_public_ip", Value::Bool(false)),
            ("circuit_breaker", Value::Bool(true)),
            (
                "load_balancers",
                Value::List(vec![map([
                    ("target_group", s(&tg)),
                    ("container_name", s("hub")),
                    ("container_port", Value::Int(8080)),
                ])]),
            ),
        ]),
    );
    let svc_created = d.create(&svc).await.unwrap_or_else(|e| panic!("{e:#}"));
    let svc_live = read_one(&aws, &*d, &svc, &svc_created.id).await;
    assert_eq!(svc_live.props, svc.props);
    assert_eq!(svc_live.outputs["name"], service_name);
    let describe_service = || async {
        ecs.describe_services()
            .cluster(&cluster_arn)
            .services(&service_name)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    };
    let live_svc = describe_service().await;
    assert_eq!(live_svc.launch_type(), Some(&LaunchType::Fargate));
    let vpc = live_svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(vpc.subnets(), std::slice::from_ref(&subnet));
    assert_eq!(vpc.security_groups(), std::slice::from_ref(&sg));
    assert_eq!(vpc.assign_public_ip(), Some(&AssignPublicIp::Disabled));
    let breaker = live_svc
        .deployment_configuration()
        .unwrap()
        .deployment_circuit_breaker()
        .unwrap();
    assert!(breaker.enable() && breaker.rollback());
    assert_eq!(
        live_svc.load_balancers()[0].target_group_arn(),
        Some(tg.as_str())
    );
    assert_eq!(live_svc.load_balancers()[0].container_port(), Some(8080));

    // Desired count in place.
    svc.props.insert("desired_count".into(), Value::Int(3));
    d.update(&svc, &svc_live, &["desired_count".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let svc_live = read_one(&aws, &*d, &svc, &svc_created.id).await;
    assert_eq!(svc_live.props, svc.props);
    assert_eq!(describe_service().await.desired_count(), 3);

    // A changed container is a new revision; the service moves to it, then the old one is deregistered
    // (the order apply runs a task definition's replacement in).
    td.props = td_props("debug");
    let rev2 = d.create(&td).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        rev2.id.ends_with(&format!("task-definition/{family}:2")),
        "{}",
        rev2.id
    );
    svc.props.insert("task_definition".into(), s(&rev2.id));
    d.update(&svc, &svc_live, &["task_definition".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        describe_service().await.task_definition(),
        Some(rev2.id.as_str())
    );
    // Both revisions are ACTIVE for a moment: the newest is read first, the engine deletes the other.
    let both = read(&aws, &*d, &stack, "ecs_task_definition", &[desired(&td)]).await;
    assert_eq!(
        both.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [rev2.id.as_str(), rev1.id.as_str()]
    );
    d.delete(&td_live).await.unwrap_or_else(|e| panic!("{e:#}"));
    let old = ecs
        .describe_task_definition()
        .task_definition(&rev1.id)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(old.status(), Some(&TaskDefinitionStatus::Inactive));
    let td_live = read_one(&aws, &*d, &td, &rev2.id).await;
    assert_eq!(td_live.props, td.props);
    let svc_live = read_one(&aws, &*d, &svc, &svc_created.id).await;
    assert_eq!(svc_live.props, svc.props);

    // Orphans of every kind are read too.
    for kind in ["ecs_cluster", "ecs_task_definition", "ecs_service"] {
        assert_eq!(read(&aws, &*d, &stack, kind, &[]).await.len(), 1, "{kind}");
    }

    // Delete: the service scales to zero and is INACTIVE, then the revision and the cluster go.
    d.delete(&svc_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let gone = describe_service().await;
    assert_eq!((gone.status(), gone.desired_count()), (Some("INACTIVE"), 0));
    d.delete(&td_live).await.unwrap_or_else(|e| panic!("{e:#}"));
    d.delete(&cluster_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    for kind in ["ecs_cluster", "ecs_task_definition", "ecs_service"] {
        assert!(
            read(&aws, &*d, &stack, kind, &[]).await.is_empty(),
            "{kind}"
        );
    }
    let active = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(active.task_definition_arns().is_empty());
    // Deleting again is a no-op.
    d.delete(&svc_live).await.expect("service again");
    d.delete(&td_live).await.expect("task definition again");
    d.delete(&cluster_live).await.expect("cluster again");
    ecr.delete_repository()
        .repository_name(&repo_name)
        .force(true)
        .send()
        .await
        .unwrap();
}
