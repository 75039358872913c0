#!/usr/bin/env python3
"""Generate src/constraints/aws.rs and src/constraints/regions.rs from AWS's own service models.

Every field zinfra sends to AWS is mapped here to the API member that carries it; the member's
constraints in botocore's JSON service models (the same data as the Smithy models' @length, @pattern,
@range and enum traits) become a table that `zinfra validate` checks with a file:line diagnostic and no
request. A field whose member has no constraint, or that reaches AWS in another shape (a reference
resolved to an id, a document, a secret), is listed with the reason. `tests` in src/constraints/mod.rs
fail when a schema field is in neither list, so a new field needs a decision here.

Regions and their availability zones come from the same pinned tools: botocore's endpoints.json
(regions of the `aws` partition) and moto's table of availability zones (botocore has none).

Run it after changing a kind or upgrading botocore, with the Python that has botocore and moto (the
tests' moto virtualenv has both):

    cargo run -q -- schema > /tmp/schema.json
    ~/.cache/zinfra-moto/venv/bin/python src/constraints/generate.py /tmp/schema.json
"""

import gzip
import json
import os
import sys

import botocore

DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
HERE = os.path.dirname(os.path.abspath(__file__))

# kind -> (service, operation): where the auto-mapping looks for a member named like the field.
KINDS = {
    "acm_certificate": ("acm", "RequestCertificate"),
    "cloudfront_distribution": ("cloudfront", "CreateDistributionWithTags"),
    "cloudfront_origin_access_control": ("cloudfront", "CreateOriginAccessControl"),
    "cloudwatch_log_group": ("logs", "CreateLogGroup"),
    "dynamodb_table": ("dynamodb", "CreateTable"),
    "ecr_repository": ("ecr", "CreateRepository"),
    "ecs_cluster": ("ecs", "CreateCluster"),
    "ecs_service": ("ecs", "CreateService"),
    "ecs_task_definition": ("ecs", "RegisterTaskDefinition"),
    "elasticache_parameter_group": ("elasticache", "CreateCacheParameterGroup"),
    "elasticache_replication_group": ("elasticache", "CreateReplicationGroup"),
    "elasticache_subnet_group": ("elasticache", "CreateCacheSubnetGroup"),
    "elasticache_user": ("elasticache", "CreateUser"),
    "elasticache_user_group": ("elasticache", "CreateUserGroup"),
    "guardduty_detector": ("guardduty", "CreateDetector"),
    "iam_oidc_provider": ("iam", "CreateOpenIDConnectProvider"),
    "iam_role": ("iam", "CreateRole"),
    "kms_key": ("kms", "CreateKey"),
    "lb": ("elbv2", "CreateLoadBalancer"),
    "lb_listener": ("elbv2", "CreateListener"),
    "lb_listener_rule": ("elbv2", "CreateRule"),
    "lb_target_group": ("elbv2", "CreateTargetGroup"),
    "msk_cluster": ("kafka", "CreateCluster"),
    "route53_record": ("route53", "ChangeResourceRecordSets"),
    "route53_zone": ("route53", "CreateHostedZone"),
    "route_table": ("ec2", "CreateRoute"),
    "s3_bucket": ("s3", "CreateBucket"),
    "security_group": ("ec2", "CreateSecurityGroup"),
    "ssm_parameter": ("ssm", "PutParameter"),
    "subnet": ("ec2", "CreateSubnet"),
    "vpc": ("ec2", "CreateVpc"),
    "wafv2_web_acl": ("wafv2", "CreateWebACL"),
}

# Field -> (service, operation, member path) where the name differs; `[]` steps into a list's items.
MEMBERS = {
    "kms_key.alias": ("kms", "CreateAlias", "AliasName"),
    "kms_key.deletion_window_in_days": ("kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
    "route_table.routes[].destination": ("ec2", "CreateRoute", "DestinationCidrBlock"),
    "security_group.group_name": ("ec2", "CreateSecurityGroup", "GroupName"),
    "security_group.ingress[].from_port": ("ec2", "AuthorizeSecurityGroupIngress", "IpPermissions[].FromPort"),
    "security_group.ingress[].to_port": ("ec2", "AuthorizeSecurityGroupIngress", "IpPermissions[].ToPort"),
    "security_group.ingress[].description": ("ec2", "AuthorizeSecurityGroupIngress", "IpPermissions[].IpRanges[].Description"),
    "security_group.egress[].from_port": ("ec2", "AuthorizeSecurityGroupEgress", "IpPermissions[].FromPort"),
    "security_group.egress[].to_port": ("ec2", "AuthorizeSecurityGroupEgress", "IpPermissions[].ToPort"),
    "security_group.egress[].description": ("ec2", "AuthorizeSecurityGroupEgress", "IpPermissions[].IpRanges[].Description"),
    "s3_bucket.sse_algorithm": ("s3", "PutBucketEncryption", "ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault.SSEAlgorithm"),
    "dynamodb_table.hash_key": ("dynamodb", "CreateTable", "KeySchema[].AttributeName"),
    "dynamodb_table.range_key": ("dynamodb", "CreateTable", "KeySchema[].AttributeName"),
    "dynamodb_table.read_capacity": ("dynamodb", "CreateTable", "ProvisionedThroughput.ReadCapacityUnits"),
    "dynamodb_table.write_capacity": ("dynamodb", "CreateTable", "ProvisionedThroughput.WriteCapacityUnits"),
    "dynamodb_table.ttl_attribute": ("dynamodb", "UpdateTimeToLive", "TimeToLiveSpecification.AttributeName"),
    "msk_cluster.name": ("kafka", "CreateCluster", "ClusterName"),
    "msk_cluster.broker_instance_type": ("kafka", "CreateCluster", "BrokerNodeGroupInfo.InstanceType"),
    "msk_cluster.ebs_volume_size": ("kafka", "CreateCluster", "BrokerNodeGroupInfo.StorageInfo.EbsStorageInfo.VolumeSize"),
    "msk_cluster.client_broker_encryption": ("kafka", "CreateCluster", "EncryptionInfo.EncryptionInTransit.ClientBroker"),
    "msk_cluster.publish_bootstrap_brokers_to": ("ssm", "PutParameter", "Name"),
    "ssm_parameter.value": ("ssm", "PutParameter", "Value"),
    "iam_role.assume_role_policy": ("iam", "CreateRole", "AssumeRolePolicyDocument"),
    "iam_role.managed_policy_arns": ("iam", "AttachRolePolicy", "PolicyArn"),
    "iam_role.inline_policies": ("iam", "PutRolePolicy", "PolicyDocument"),
    "iam_oidc_provider.client_ids": ("iam", "CreateOpenIDConnectProvider", "ClientIDList[]"),
    "iam_oidc_provider.thumbprints": ("iam", "CreateOpenIDConnectProvider", "ThumbprintList[]"),
    "route53_zone.comment": ("route53", "CreateHostedZone", "HostedZoneConfig.Comment"),
    "route53_record.name": ("route53", "ChangeResourceRecordSets", "ChangeBatch.Changes[].ResourceRecordSet.Name"),
    "route53_record.type": ("route53", "ChangeResourceRecordSets", "ChangeBatch.Changes[].ResourceRecordSet.Type"),
    "route53_record.ttl": ("route53", "ChangeResourceRecordSets", "ChangeBatch.Changes[].ResourceRecordSet.TTL"),
    "route53_record.records": ("route53", "ChangeResourceRecordSets", "ChangeBatch.Changes[].ResourceRecordSet.ResourceRecords[].Value"),
    "acm_certificate.subject_alternative_names": ("acm", "RequestCertificate", "SubjectAlternativeNames[]"),
    "lb.idle_timeout": ("elbv2", "ModifyLoadBalancerAttributes", "Attributes[].Value"),
    "lb_target_group.health_check.path": ("elbv2", "CreateTargetGroup", "HealthCheckPath"),
    "lb_target_group.health_check.matcher": ("elbv2", "CreateTargetGroup", "Matcher.HttpCode"),
    "lb_target_group.health_check.interval_seconds": ("elbv2", "CreateTargetGroup", "HealthCheckIntervalSeconds"),
    "lb_target_group.health_check.timeout_seconds": ("elbv2", "CreateTargetGroup", "HealthCheckTimeoutSeconds"),
    "lb_target_group.health_check.healthy_threshold": ("elbv2", "CreateTargetGroup", "HealthyThresholdCount"),
    "lb_target_group.health_check.unhealthy_threshold": ("elbv2", "CreateTargetGroup", "UnhealthyThresholdCount"),
    "lb_target_group.deregistration_delay": ("elbv2", "ModifyTargetGroupAttributes", "Attributes[].Value"),
    "lb_listener_rule.host_headers": ("elbv2", "CreateRule", "Conditions[].HostHeaderConfig.Values[]"),
    "lb_listener_rule.path_patterns": ("elbv2", "CreateRule", "Conditions[].PathPatternConfig.Values[]"),
    "wafv2_web_acl.rate_limit": ("wafv2", "CreateWebACL", "Rules[].Statement.RateBasedStatement.Limit"),
    "wafv2_web_acl.max_body_size": ("wafv2", "CreateWebACL", "Rules[].Statement.SizeConstraintStatement.Size"),
    "wafv2_web_acl.managed_rule_groups": ("wafv2", "CreateWebACL", "Rules[].Statement.ManagedRuleGroupStatement.Name"),
    "cloudfront_origin_access_control.name": ("cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.Name"),
    "cloudfront_origin_access_control.signing_behavior": ("cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.SigningBehavior"),
    "cloudfront_distribution.origins[].origin_id": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.Origins.Items[].Id"),
    "cloudfront_distribution.origins[].origin_path": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.Origins.Items[].OriginPath"),
    "cloudfront_distribution.default_origin": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.DefaultCacheBehavior.TargetOriginId"),
    "cloudfront_distribution.viewer_protocol_policy": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy"),
    "cloudfront_distribution.minimum_protocol_version": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.ViewerCertificate.MinimumProtocolVersion"),
    "cloudfront_distribution.aliases": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.Aliases.Items[]"),
    "cloudfront_distribution.default_root_object": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.DefaultRootObject"),
    "cloudfront_distribution.price_class": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.PriceClass"),
    "cloudfront_distribution.behaviors[].path_pattern": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.CacheBehaviors.Items[].PathPattern"),
    "cloudfront_distribution.behaviors[].origin": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.CacheBehaviors.Items[].TargetOriginId"),
    "cloudfront_distribution.cache_policy_id": ("cloudfront", "CreateDistributionWithTags", "DistributionConfigWithTags.DistributionConfig.DefaultCacheBehavior.CachePolicyId"),
    "cloudwatch_log_group.retention_in_days": ("logs", "PutRetentionPolicy", "retentionInDays"),
    "ecr_repository.encryption_type": ("ecr", "CreateRepository", "encryptionConfiguration.encryptionType"),
    "ecr_repository.lifecycle_policy": ("ecr", "PutLifecyclePolicy", "lifecyclePolicyText"),
    "ecr_repository.repository_policy": ("ecr", "SetRepositoryPolicy", "policyText"),
    "ecs_cluster.container_insights": ("ecs", "CreateCluster", "settings[].value"),
    "ecs_task_definition.container_definitions[].name": ("ecs", "RegisterTaskDefinition", "containerDefinitions[].name"),
    "ecs_task_definition.container_definitions[].image": ("ecs", "RegisterTaskDefinition", "containerDefinitions[].image"),
    "ecs_task_definition.container_definitions[].port_mappings[].container_port": ("ecs", "RegisterTaskDefinition", "containerDefinitions[].portMappings[].containerPort"),
    "ecs_task_definition.container_definitions[].port_mappings[].protocol": ("ecs", "RegisterTaskDefinition", "containerDefinitions[].portMappings[].protocol"),
    "ecs_task_definition.container_definitions[].environment": ("ecs", "RegisterTaskDefinition", "containerDefinitions[].environment[].value"),
    "ecs_service.load_balancers[].container_name": ("ecs", "CreateService", "loadBalancers[].containerName"),
    "ecs_service.load_balancers[].container_port": ("ecs", "CreateService", "loadBalancers[].containerPort"),
    "elasticache_subnet_group.name": ("elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupName"),
    "elasticache_subnet_group.description": ("elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupDescription"),
    "elasticache_parameter_group.name": ("elasticache", "CreateCacheParameterGroup", "CacheParameterGroupName"),
    "elasticache_parameter_group.family": ("elasticache", "CreateCacheParameterGroup", "CacheParameterGroupFamily"),
    "elasticache_parameter_group.parameters": ("elasticache", "ModifyCacheParameterGroup", "ParameterNameValues[].ParameterValue"),
    "elasticache_user.authentication": ("elasticache", "CreateUser", "AuthenticationMode.Type"),
    "elasticache_replication_group.description": ("elasticache", "CreateReplicationGroup", "ReplicationGroupDescription"),
    "elasticache_replication_group.node_type": ("elasticache", "CreateReplicationGroup", "CacheNodeType"),
    "elasticache_replication_group.replicas": ("elasticache", "CreateReplicationGroup", "ReplicasPerNodeGroup"),
    "elasticache_replication_group.snapshot_window": ("elasticache", "CreateReplicationGroup", "SnapshotWindow"),
    "elasticache_replication_group.maintenance_window": ("elasticache", "CreateReplicationGroup", "PreferredMaintenanceWindow"),
    "wafv2_web_acl.default_action": ("wafv2", "CreateWebACL", "DefaultAction"),
}

# Fields that reach AWS in no member of their own, or whose value zinfra shapes itself.
NONE = {
    "kms_key.policy": "a policy document: its grammar is checked by zinfra's policy rules",
    "subnet.tier": "zinfra's own: decides routes and checks, not sent",
    "subnet.availability_zone": "checked against the stack's region (src/constraints/regions.rs)",
    "vpc.cidr_block": "CIDR syntax and the /16 to /28 size AWS allows are checked by the kind",
    "subnet.cidr_block": "CIDR syntax, /16 to /28, inside its VPC: checked by the kind",
    "security_group.ingress[].protocol": "zinfra's own enum, sent as IpProtocol numbers/names",
    "security_group.egress[].protocol": "zinfra's own enum, sent as IpProtocol numbers/names",
    "security_group.ingress[].cidr_blocks": "CIDR syntax checked by the kind",
    "security_group.egress[].cidr_blocks": "CIDR syntax checked by the kind",
    "s3_bucket.policy": "a policy document: its grammar is checked by zinfra's policy rules",
    "s3_bucket.bucket": "S3's naming rules (3-63 characters, lowercase, no IP form) are checked by the kind; the API model has none",
    "s3_bucket_policy.policy": "a policy document: its grammar is checked by zinfra's policy rules",
    "dynamodb_table.attributes": "zinfra's own enum of attribute types (S, N, B)",
    "ssm_parameter.value_from_env": "the name of an environment variable; the value is never read at validate",
    "ssm_parameter.value_version": "zinfra's own counter, kept in a tag",
    "elasticache_user.password_from_env": "the name of an environment variable; the value is never read at validate",
    "elasticache_user.password_version": "zinfra's own counter, kept in a tag",
    "msk_cluster.enhanced_monitoring": "zinfra's own enum of AWS's levels",
    "ecs_task_definition.network_mode": "always awsvpc: checked by the kind",
    "ecs_task_definition.container_definitions[].tag": "joined to the repository URL into `image`",
    "ecs_task_definition.container_definitions[].logs.group": "sent as a log option string; CloudWatch Logs' group name rules are checked by the kind",
    "ecs_task_definition.container_definitions[].logs.stream_prefix": "sent as a log option string",
    "acm_certificate.region": "zinfra's own: where the certificate is requested",
    "lb_listener.default_action": "zinfra's own enum (forward, redirect-https), sent as DefaultActions",
    "lb_listener.ssl_policy": "zinfra's own enum of the TLS 1.2+ policies",
    "route53_zone.delegation": "zinfra's own: says how a subdomain is delegated, never sent",
    "wafv2_web_acl.scope": "zinfra's own enum (REGIONAL, CLOUDFRONT)",
}

NO_CONSTRAINT_TYPES = {"reference", "boolean", "list<reference>", "object", "list<object>", "map<reference>"}


def model(service):
    root = os.path.join(DATA, service)
    version = sorted(os.listdir(root))[-1]
    for name in ("service-2.json", "service-2.json.gz"):
        p = os.path.join(root, version, name)
        if os.path.exists(p):
            with (gzip.open(p) if name.endswith(".gz") else open(p, "rb")) as f:
                return json.load(f)
    raise SystemExit(f"no model for {service}")


MODELS = {}


def member(service, operation, path):
    m = MODELS.setdefault(service, model(service))
    shape = m["shapes"][m["operations"][operation]["input"]["shape"]]
    list_shape = None
    for step in path.split("."):
        items = step.endswith("[]")
        name = step[:-2] if items else step
        members = shape.get("members", {})
        found = next((k for k in members if k.lower() == name.lower().replace("_", "")), None)
        if found is None:
            return None
        shape = m["shapes"][members[found]["shape"]]
        if items:
            list_shape = shape
            shape = m["shapes"][shape["member"]["shape"]]
    return shape, list_shape


def auto(kind, path):
    if kind not in KINDS or "." in path or "[]" in path:
        return None
    service, op = KINDS[kind]
    name = "".join(p.capitalize() for p in path.split("_"))
    got = member(service, op, name)
    return (service, op, name, got) if got else None


def constraint(shape):
    c = {}
    if "min" in shape and shape["type"] in ("string",):
        c["min_len"] = shape["min"]
    if "max" in shape and shape["type"] in ("string",):
        c["max_len"] = shape["max"]
    if "min" in shape and shape["type"] in ("integer", "long"):
        c["min"] = shape["min"]
    if "max" in shape and shape["type"] in ("integer", "long"):
        c["max"] = shape["max"]
    if "pattern" in shape:
        c["pattern"] = shape["pattern"]
    if "enum" in shape:
        c["one_of"] = shape["enum"]
    return c


def esc(s):
    # A Rust string literal: JSON's escapes are Rust's too (non-ASCII stays as it is, not \uXXXX).
    return json.dumps(s, ensure_ascii=False)


def main():
    schema = json.load(open(sys.argv[1]))
    rows, missing, counts = [], [], {"aws": 0, "aws_none": 0, "none": 0, "by_type": 0}
    for kind, fields in schema.items():
        for f in fields:
            key = f"{kind}.{f['path']}"
            if f["type"] in NO_CONSTRAINT_TYPES:
                counts["by_type"] += 1
                continue
            if key in NONE:
                rows.append((kind, f["path"], None, NONE[key]))
                counts["none"] += 1
                continue
            if key in MEMBERS:
                service, op, path = MEMBERS[key]
                got = member(service, op, path)
                if got is None:
                    raise SystemExit(f"{key}: {service} {op} has no member {path}")
            else:
                a = auto(kind, f["path"])
                if a is None:
                    missing.append(key)
                    continue
                service, op, path, got = a
            shape, list_shape = got
            c = constraint(shape)
            api = f"{service} {op} {path}"
            if c:
                rows.append((kind, f["path"], api, c))
                counts["aws"] += 1
            else:
                rows.append((kind, f["path"], None, f"{api}: the API model has no constraint"))
                counts["aws_none"] += 1
    if missing:
        raise SystemExit("no AWS member or reason for:\n  " + "\n  ".join(missing))

    out = [
        "//! Generated by src/constraints/generate.py from botocore "
        f"{botocore.__version__}'s service models: do not edit.",
        f"//! {counts['aws']} fields with a constraint, {counts['aws_none'] + counts['none']} without one "
        f"({counts['aws_none']} whose API member has none); {counts['by_type']} references, booleans and "
        "tables need none.",
        "",
        "use super::types::{C, Entry};",
        "",
        "pub static FIELDS: &[(&str, &str, Entry)] = &[",
    ]
    for kind, path, api, c in rows:
        if api is None:
            out.append(f"    ({esc(kind)}, {esc(path)}, Entry::None({esc(c)})),")
            continue
        parts = []
        for k in ("min_len", "max_len", "min", "max"):
            parts.append(f"{k}: {'Some(' + str(c[k]) + ')' if k in c else 'None'}")
        parts.append(f"pattern: {'Some(' + esc(c['pattern']) + ')' if 'pattern' in c else 'None'}")
        parts.append("one_of: &[" + ", ".join(esc(v) for v in c.get("one_of", [])) + "]")
        out.append(f"    ({esc(kind)}, {esc(path)}, Entry::Aws({esc(api)}, C {{ {', '.join(parts)} }})),")
    out.append("];")
    open(os.path.join(HERE, "aws.rs"), "w").write("\n".join(out) + "\n")

    # Regions of the aws partition, with their availability zones (moto's table).
    endpoints = json.load(open(os.path.join(DATA, "endpoints.json")))
    regions = sorted(next(p for p in endpoints["partitions"] if p["partition"] == "aws")["regions"])
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    zones = RegionsAndZonesBackend.zones
    lines = [
        "//! Generated by src/constraints/generate.py (regions: botocore "
        f"{botocore.__version__}'s endpoints.json; zones: moto's table): do not edit.",
        "",
        "pub static REGIONS: &[(&str, &[&str])] = &[",
    ]
    for r in regions:
        zs = sorted(z.name for z in zones.get(r, []))
        lines.append(f"    ({esc(r)}, &[{', '.join(esc(z) for z in zs)}]),")
    lines.append("];")
    open(os.path.join(HERE, "regions.rs"), "w").write("\n".join(lines) + "\n")
    print(counts)


main()
