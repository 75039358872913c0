"""ElastiCache additions to moto 5.2.5, documented AWS behaviour only (listed in tests/EMULATOR_GAPS.md).

- User groups: CreateUserGroup / DescribeUserGroups / ModifyUserGroup / DeleteUserGroup. A group must hold
  a user named `default` (DefaultUserRequired), its users must exist (UserNotFound), a group used by a
  replication group cannot be deleted (InvalidUserGroupState), a deleted group is reported `deleting` once
  and then is gone. Groups carry tags and are listed by the Resource Groups Tagging API.
- ModifyUser: AccessString, AppendAccessString, Passwords, NoPasswordRequired, AuthenticationMode.
- DeleteCacheSubnetGroup (CacheSubnetGroupInUse while a replication group uses it), ModifyCacheSubnetGroup.
- Cache parameter groups: Create / Describe / Modify / Reset / Delete and DescribeCacheParameters (only the
  parameters set by the user are modelled, reported with Source `user`); the member clusters report theirs.
- Replication groups: the member clusters are described by DescribeCacheClusters (security groups, subnet
  group, engine version, maintenance window, parameter group); ModifyReplicationGroup applies
  SecurityGroupIds, CacheParameterGroupName, EngineVersion, CacheNodeType, UserGroupIdsToAdd/Remove,
  SnapshotWindow, PreferredMaintenanceWindow and the transit-encryption settings; NumCacheClusters sizes a
  new group; IncreaseReplicaCount / DecreaseReplicaCount; a new group is reported
  `creating` once, then `available`; a deleted group is reported `deleting` once and then is gone, with its
  member clusters.
"""

from moto.core.responses import ActionResult
from moto.elasticache import models, responses
from moto.elasticache.exceptions import (
    CacheSubnetGroupNotFound,
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    PasswordTooShort,
    ReplicationGroupNotFound,
    UserNotFound,
)
from moto.utilities.utils import get_partition

Backend = models.ElastiCacheBackend
Response = responses.ElastiCacheResponse


class UserGroupNotFound(ElastiCacheException):
    code = "UserGroupNotFound"

    def __init__(self, group_id):
        super().__init__(f"User group {group_id} not found.")


class UserGroupAlreadyExists(ElastiCacheException):
    code = "UserGroupAlreadyExists"

    def __init__(self, group_id):
        super().__init__(f"User group {group_id} already exists.")


class DefaultUserRequired(ElastiCacheException):
    code = "DefaultUserRequired"

    def __init__(self):
        super().__init__("User group needs to contain a user with the user name default.")


class InvalidUserGroupState(ElastiCacheException):
    code = "InvalidUserGroupState"

    def __init__(self, group_id):
        super().__init__(f"User group {group_id} is in use by a replication group.")


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name):
        super().__init__(f"Cache subnet group {name} is currently in use by a replication group.")


class UserGroup:
    def __init__(self, backend, group_id, engine, user_ids):
        self.user_group_id = group_id
        self.status = "active"
        self.engine = engine
        self.user_ids = list(user_ids)
        self.minimum_engine_version = "6.0"
        self.replication_groups = []
        self.arn = (
            f"arn:{get_partition(backend.region_name)}:elasticache:{backend.region_name}:"
            f"{backend.account_id}:usergroup:{group_id}"
        )


class MemberCluster:
    """A replication group's member cluster, as DescribeCacheClusters reports it."""

    def __init__(self, backend, group, cluster_id, az, params):
        self.cache_cluster_id = cluster_id
        self.replication_group_id = group.replication_group_id
        self.cache_cluster_status = "available"
        self.num_cache_nodes = 1
        self.engine = group.engine
        self.engine_version = params.get("EngineVersion")
        self.cache_node_type = group.cache_node_type
        self.preferred_availability_zone = az
        self.cache_subnet_group_name = params.get("CacheSubnetGroupName")
        self.security_groups = [
            {"SecurityGroupId": sg, "Status": "active"} for sg in params.get("SecurityGroupIds") or []
        ]
        self.preferred_maintenance_window = params.get("PreferredMaintenanceWindow") or "sun:23:00-mon:01:30"
        self.cache_parameter_group = {
            "CacheParameterGroupName": params.get("CacheParameterGroupName") or "default.redis7",
            "ParameterApplyStatus": "in-sync",
        }
        self.snapshot_retention_limit = group.snapshot_retention_limit
        self.at_rest_encryption_enabled = group.at_rest_encryption_enabled
        self.transit_encryption_enabled = group.transit_encryption_enabled
        self.transit_encryption_mode = group.transit_encryption_mode
        self.auth_token_enabled = False
        self.arn = (
            f"arn:{get_partition(backend.region_name)}:elasticache:{backend.region_name}:"
            f"{backend.account_id}:cluster:{cluster_id}"
        )


def _groups(backend):
    if not hasattr(backend, "user_groups"):
        backend.user_groups = {}
    return backend.user_groups


def _members(backend, group):
    return [backend.cache_clusters[c] for c in group.member_clusters if c in backend.cache_clusters]


def _live_groups(backend):
    return [g for g in backend.replication_groups.values() if g.status != "deleting"]


# --- user groups -----------------------------------------------------------------------------------------


def create_user_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    group_id = params.get("UserGroupId")
    user_ids = params.get("UserIds") or []
    groups = _groups(backend)
    if group_id in groups:
        raise UserGroupAlreadyExists(group_id)
    for uid in user_ids:
        if uid not in backend.users:
            raise UserNotFound(uid)
    if not any(backend.users[uid].name == "default" for uid in user_ids):
        raise DefaultUserRequired()
    group = UserGroup(backend, group_id, (params.get("Engine") or "redis").lower(), user_ids)
    for uid in user_ids:
        backend.users[uid].user_group_ids.append(group_id)
    tags = params.get("Tags") or []
    if tags:
        backend.tagging_service.tag_resource(group.arn, tags)
    groups[group_id] = group
    return ActionResult(group)


def describe_user_groups(self):
    backend = self.elasticache_backend
    group_id = self._get_param("UserGroupId")
    groups = _groups(backend)
    if group_id:
        if group_id not in groups:
            raise UserGroupNotFound(group_id)
        found = [groups[group_id]]
    else:
        found = list(groups.values())
    # Like moto's users: a deleted group is reported `deleting` once, then it is gone.
    for g in found:
        if g.status == "deleting":
            groups.pop(g.user_group_id, None)
            backend.tagging_service.delete_all_tags_for_resource(g.arn)
    for g in found:
        g.replication_groups = [
            rg.replication_group_id for rg in _live_groups(backend) if g.user_group_id in rg.user_group_ids
        ]
    return ActionResult({"UserGroups": found})


def modify_user_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    group_id = params.get("UserGroupId")
    groups = _groups(backend)
    if group_id not in groups or groups[group_id].status == "deleting":
        raise UserGroupNotFound(group_id)
    group = groups[group_id]
    add = params.get("UserIdsToAdd") or []
    remove = params.get("UserIdsToRemove") or []
    for uid in add + remove:
        if uid not in backend.users:
            raise UserNotFound(uid)
    after = [u for u in group.user_ids if u not in remove] + [u for u in add if u not in group.user_ids]
    if not any(backend.users[uid].name == "default" for uid in after):
        raise DefaultUserRequired()
    for uid in remove:
        if group_id in backend.users[uid].user_group_ids:
            backend.users[uid].user_group_ids.remove(group_id)
    for uid in add:
        if group_id not in backend.users[uid].user_group_ids:
            backend.users[uid].user_group_ids.append(group_id)
    group.user_ids = after
    return ActionResult(group)


def delete_user_group(self):
    backend = self.elasticache_backend
    group_id = self._get_param("UserGroupId")
    groups = _groups(backend)
    if group_id not in groups:
        raise UserGroupNotFound(group_id)
    if any(group_id in rg.user_group_ids for rg in _live_groups(backend)):
        raise InvalidUserGroupState(group_id)
    group = groups[group_id]
    group.status = "deleting"
    for uid in group.user_ids:
        user = backend.users.get(uid)
        if user and group_id in user.user_group_ids:
            user.user_group_ids.remove(group_id)
    return ActionResult(group)


# --- users -----------------------------------------------------------------------------------------------


def modify_user(self):
    backend = self.elasticache_backend
    params = self._get_params()
    user_id = params.get("UserId")
    user = backend.users.get(user_id)
    if user is None or user.status == "deleting":
        raise UserNotFound(user_id)
    if params.get("AccessString") is not None:
        user.access_string = params["AccessString"]
    if params.get("AppendAccessString") is not None:
        user.access_string = f"{user.access_string} {params['AppendAccessString']}"
    passwords = params.get("Passwords") or []
    mode = params.get("AuthenticationMode") or {}
    no_password = self._get_bool_param("NoPasswordRequired")
    if passwords and mode.get("Passwords"):
        raise InvalidParameterCombinationException(
            "Passwords provided via multiple arguments. Use only one argument"
        )
    passwords = passwords or mode.get("Passwords") or []
    if any(len(p) < 16 or len(p) > 128 for p in passwords):
        raise PasswordTooShort
    kind = mode.get("Type")
    if kind is not None:
        if kind not in ("password", "no-password-required", "iam"):
            raise InvalidParameterValueException(f"Input Authentication type: {kind} is not in the allowed list")
        if kind == "password" and not passwords:
            raise InvalidParameterCombinationException(
                "A user with Authentication Mode: password, must have at least one password"
            )
        if kind != "password" and passwords:
            raise InvalidParameterCombinationException(
                f"Password field is not allowed with authentication type: {kind}"
            )
        user.authentication_type = kind
        user.no_password_required = kind == "no-password-required"
        user.passwords = passwords
    elif passwords:
        user.authentication_type = "password"
        user.no_password_required = False
        user.passwords = passwords
    elif no_password is not None:
        user.no_password_required = no_password
        if no_password:
            user.authentication_type = "no-password-required"
            user.passwords = []
    return ActionResult(user)


# --- subnet groups ---------------------------------------------------------------------------------------


def delete_cache_subnet_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    if name not in backend.cache_subnet_groups:
        raise CacheSubnetGroupNotFound(name)
    if any(rg.cache_subnet_group_name == name for rg in _live_groups(backend)):
        raise CacheSubnetGroupInUse(name)
    group = backend.cache_subnet_groups.pop(name)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    from moto.core.responses import EmptyResult

    return EmptyResult()


def modify_cache_subnet_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    if name not in backend.cache_subnet_groups:
        raise CacheSubnetGroupNotFound(name)
    old = backend.cache_subnet_groups[name]
    subnet_ids = self._get_param("SubnetIds") or old.subnet_ids
    description = self._get_param("CacheSubnetGroupDescription") or old.cache_subnet_group_description
    # Rebuilt from the new subnets, so VpcId and the subnets' zones are described as on create.
    group = models.CacheSubnetGroup(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_subnet_group_name=name,
        cache_subnet_group_description=description,
        subnet_ids=subnet_ids,
        tags=old.tags,
    )
    backend.cache_subnet_groups[name] = group
    return ActionResult({"CacheSubnetGroup": group})


# --- parameter groups ------------------------------------------------------------------------------------


class CacheParameterGroupNotFound(ElastiCacheException):
    code = "CacheParameterGroupNotFound"

    def __init__(self, name):
        super().__init__(f"CacheParameterGroup {name} not found.")


class CacheParameterGroupAlreadyExists(ElastiCacheException):
    code = "CacheParameterGroupAlreadyExists"

    def __init__(self, name):
        super().__init__(f"Parameter group {name} already exists.")


class InvalidCacheParameterGroupState(ElastiCacheException):
    code = "InvalidCacheParameterGroupState"

    def __init__(self, name):
        super().__init__(f"Parameter group {name} is in use by a replication group.")


class ParameterGroup:
    def __init__(self, backend, name, family, description):
        self.cache_parameter_group_name = name
        self.cache_parameter_group_family = family
        self.description = description
        self.is_global = False
        # Only the parameters set by the user: the engine defaults are not modelled.
        self.user_parameters = {}
        self.arn = (
            f"arn:{get_partition(backend.region_name)}:elasticache:{backend.region_name}:"
            f"{backend.account_id}:parametergroup:{name}"
        )


def _parameter_groups(backend):
    if not hasattr(backend, "parameter_groups"):
        backend.parameter_groups = {}
    return backend.parameter_groups


def _parameter_group(backend, name):
    groups = _parameter_groups(backend)
    if name not in groups:
        raise CacheParameterGroupNotFound(name)
    return groups[name]


def _name_values(params):
    return {
        p["ParameterName"]: p.get("ParameterValue")
        for p in params.get("ParameterNameValues") or []
        if p.get("ParameterName")
    }


def create_cache_parameter_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    name = params.get("CacheParameterGroupName")
    groups = _parameter_groups(backend)
    if name in groups:
        raise CacheParameterGroupAlreadyExists(name)
    family = params.get("CacheParameterGroupFamily")
    if not family:
        raise InvalidParameterValueException("The parameter CacheParameterGroupFamily must be provided.")
    group = ParameterGroup(backend, name, family, params.get("Description") or "")
    tags = params.get("Tags") or []
    if tags:
        backend.tagging_service.tag_resource(group.arn, tags)
    groups[name] = group
    return ActionResult({"CacheParameterGroup": group})


def describe_cache_parameter_groups(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    found = [_parameter_group(backend, name)] if name else list(_parameter_groups(backend).values())
    return ActionResult({"CacheParameterGroups": found})


def describe_cache_parameters(self):
    backend = self.elasticache_backend
    group = _parameter_group(backend, self._get_param("CacheParameterGroupName"))
    source = self._get_param("Source")
    # AWS lists every engine parameter, with Source `user` for the ones set on the group; only those exist here.
    if source not in (None, "user"):
        found = []
    else:
        found = [
            {"ParameterName": k, "ParameterValue": v, "Source": "user", "IsModifiable": True}
            for k, v in sorted(group.user_parameters.items())
        ]
    return ActionResult({"Parameters": found})


def modify_cache_parameter_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    group = _parameter_group(backend, params.get("CacheParameterGroupName"))
    values = _name_values(params)
    if not values:
        raise InvalidParameterValueException("At least one parameter name and value must be provided.")
    group.user_parameters.update(values)
    return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})


def reset_cache_parameter_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    group = _parameter_group(backend, params.get("CacheParameterGroupName"))
    if self._get_bool_param("ResetAllParameters"):
        group.user_parameters.clear()
    for name in _name_values(params):
        group.user_parameters.pop(name, None)
    return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})


def delete_cache_parameter_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    group = _parameter_group(backend, name)
    for rg in _live_groups(backend):
        if any(
            (c.cache_parameter_group or {}).get("CacheParameterGroupName") == name
            for c in _members(backend, rg)
        ):
            raise InvalidCacheParameterGroupState(name)
    _parameter_groups(backend).pop(name)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    from moto.core.responses import EmptyResult

    return EmptyResult()


# --- replication groups ----------------------------------------------------------------------------------

_create_replication_group = Response.create_replication_group
_describe_replication_groups = Backend.describe_replication_groups
_modify_replication_group = Response.modify_replication_group


def create_replication_group(self):
    name = self._get_param("CacheParameterGroupName")
    if name:
        _parameter_group(self.elasticache_backend, name)
    result = _create_replication_group(self)
    backend = self.elasticache_backend
    group = backend.replication_groups[self._get_param("ReplicationGroupId")]
    params = self._get_params()
    # AWS reports a new group `creating` for minutes; here for exactly one describe after the create.
    group.status = "creating"
    for member in group.node_groups[0]["node_group_members"]:
        cid = member["cache_cluster_id"]
        backend.cache_clusters[cid] = MemberCluster(backend, group, cid, member["preferred_availability_zone"], params)
    # moto sizes a cluster-mode-disabled group from ReplicasPerNodeGroup only; AWS's NumCacheClusters counts the
    # primary plus its replicas.
    clusters = self._get_int_param("NumCacheClusters")
    if clusters and not self._get_int_param("ReplicasPerNodeGroup"):
        _set_replicas(backend, group, clusters - 1)
    return result


def _sync_members(backend, group):
    for c in _members(backend, group):
        c.cache_node_type = group.cache_node_type
        c.snapshot_retention_limit = group.snapshot_retention_limit
        c.transit_encryption_enabled = group.transit_encryption_enabled
        c.transit_encryption_mode = group.transit_encryption_mode


def modify_replication_group(self):
    backend = self.elasticache_backend
    group_id = self._get_param("ReplicationGroupId")
    if group_id not in backend.replication_groups:
        raise ReplicationGroupNotFound(group_id)
    group = backend.replication_groups[group_id]
    params = self._get_params()
    members = _members(backend, group)
    if params.get("SecurityGroupIds") is not None:
        group.security_group_ids = params["SecurityGroupIds"]
        for c in members:
            c.security_groups = [{"SecurityGroupId": sg, "Status": "active"} for sg in params["SecurityGroupIds"]]
    if params.get("EngineVersion") is not None:
        group.engine_version = params["EngineVersion"]
        for c in members:
            c.engine_version = params["EngineVersion"]
    if params.get("CacheParameterGroupName") is not None:
        _parameter_group(backend, params["CacheParameterGroupName"])
        for c in members:
            c.cache_parameter_group = {
                "CacheParameterGroupName": params["CacheParameterGroupName"],
                "ParameterApplyStatus": "in-sync",
            }
    if params.get("PreferredMaintenanceWindow") is not None:
        for c in members:
            c.preferred_maintenance_window = params["PreferredMaintenanceWindow"]
    if params.get("SnapshotWindow") is not None:
        group.snapshot_window = params["SnapshotWindow"]
    for gid in params.get("UserGroupIdsToRemove") or []:
        if gid in group.user_group_ids:
            group.user_group_ids.remove(gid)
    for gid in params.get("UserGroupIdsToAdd") or []:
        if gid not in _groups(backend):
            raise UserGroupNotFound(gid)
        if gid not in group.user_group_ids:
            group.user_group_ids.append(gid)
    if self._get_bool_param("TransitEncryptionEnabled") is not None:
        group.transit_encryption_enabled = self._get_bool_param("TransitEncryptionEnabled")
    if params.get("TransitEncryptionMode") is not None:
        group.transit_encryption_mode = params["TransitEncryptionMode"]
    result = _modify_replication_group(self)
    _sync_members(backend, group)
    return result


def _replica_count(self, increase):
    backend = self.elasticache_backend
    group_id = self._get_param("ReplicationGroupId")
    if group_id not in backend.replication_groups:
        raise ReplicationGroupNotFound(group_id)
    group = backend.replication_groups[group_id]
    want = self._get_int_param("NewReplicaCount")
    node_group = group.node_groups[0]
    have = len(node_group["node_group_members"]) - 1
    if want is None or (increase and want <= have) or (not increase and want >= have) or want < 0:
        raise InvalidParameterValueException(
            f"The new replica count must be {'greater' if increase else 'less'} than the current count {have}."
        )
    if not increase and want == 0 and group.automatic_failover == "enabled":
        raise InvalidParameterCombinationException(
            "Cannot have 0 replicas while automatic failover is enabled."
        )
    _set_replicas(backend, group, want)
    return ActionResult({"ReplicationGroup": group})


def _set_replicas(backend, group, want):
    group_id = group.replication_group_id
    node_group = group.node_groups[0]
    primary = node_group["node_group_members"][0]
    template = next(iter(_members(backend, group)), None)
    while len(node_group["node_group_members"]) - 1 < want:
        n = 1 + max(int(m["cache_cluster_id"].rsplit("-", 1)[1]) for m in node_group["node_group_members"])
        cid = f"{group_id}-{n:0>3}"
        az = "us-east-1b" if primary["preferred_availability_zone"] != "us-east-1b" else "us-east-1a"
        member = {
            "cache_cluster_id": cid,
            "cache_node_id": node_group["node_group_id"],
            "read_endpoint": {
                "address": primary["read_endpoint"]["address"].replace(primary["cache_cluster_id"], cid, 1),
                "port": group.port,
            },
            "preferred_availability_zone": az,
            "current_role": "replica",
        }
        node_group["node_group_members"].append(member)
        group.member_clusters.append(cid)
        cluster = MemberCluster(backend, group, cid, az, {})
        if template is not None:
            cluster.engine_version = template.engine_version
            cluster.cache_subnet_group_name = template.cache_subnet_group_name
            cluster.security_groups = list(template.security_groups)
            cluster.preferred_maintenance_window = template.preferred_maintenance_window
            cluster.cache_parameter_group = dict(template.cache_parameter_group)
        backend.cache_clusters[cid] = cluster
    while len(node_group["node_group_members"]) - 1 > want:
        member = node_group["node_group_members"].pop()
        group.member_clusters.remove(member["cache_cluster_id"])
        backend.cache_clusters.pop(member["cache_cluster_id"], None)


def increase_replica_count(self):
    return _replica_count(self, True)


def decrease_replica_count(self):
    return _replica_count(self, False)


def describe_replication_groups(self, replication_group_id=None):
    found = _describe_replication_groups(self, replication_group_id)
    for g in found:
        if g.status == "creating":
            if getattr(g, "_described_creating", False):
                g.status = "available"
            else:
                g._described_creating = True
    # A deleted group is reported `deleting` once, then it is gone with its member clusters.
    for g in found:
        if g.status == "deleting":
            self.replication_groups.pop(g.replication_group_id, None)
            for cid in list(g.member_clusters) + [
                m["cache_cluster_id"] for ng in g.node_groups for m in ng["node_group_members"]
            ]:
                self.cache_clusters.pop(cid, None)
            self.tagging_service.delete_all_tags_for_resource(g.arn)
    return found


# --- tagging ---------------------------------------------------------------------------------------------

_init = Backend.__init__
_iter_tagged = Backend.iter_tagged_resources


def init(self, region_name, account_id):
    _init(self, region_name, account_id)
    self.arn_regex = __import__("re").compile(
        r"^arn:aws:elasticache:.*:[0-9]*:(cluster|snapshot|subnetgroup|replicationgroup|user|usergroup|parametergroup):.*$"
    )


def iter_tagged_resources(self):
    for r in _iter_tagged(self):
        # Member clusters are the replication group's parts; they carry no tags of their own here.
        if not isinstance(self.cache_clusters.get(r.arn.rsplit(":", 1)[-1]), MemberCluster):
            yield r
    for g in _parameter_groups(self).values():
        yield models.TaggedResource(
            arn=g.arn,
            tags=self.tagging_service.get_tag_dict_for_resource(g.arn),
            resource_type="elasticache:parametergroup",
            extra={"include_untagged": True},
        )
    for g in _groups(self).values():
        yield models.TaggedResource(
            arn=g.arn,
            tags=self.tagging_service.get_tag_dict_for_resource(g.arn),
            resource_type="elasticache:usergroup",
            extra={"include_untagged": True},
        )


def apply():
    Response.create_user_group = create_user_group
    Response.describe_user_groups = describe_user_groups
    Response.modify_user_group = modify_user_group
    Response.delete_user_group = delete_user_group
    Response.modify_user = modify_user
    Response.delete_cache_subnet_group = delete_cache_subnet_group
    Response.modify_cache_subnet_group = modify_cache_subnet_group
    Response.create_cache_parameter_group = create_cache_parameter_group
    Response.describe_cache_parameter_groups = describe_cache_parameter_groups
    Response.describe_cache_parameters = describe_cache_parameters
    Response.modify_cache_parameter_group = modify_cache_parameter_group
    Response.reset_cache_parameter_group = reset_cache_parameter_group
    Response.delete_cache_parameter_group = delete_cache_parameter_group
    Response.create_replication_group = create_replication_group
    Response.modify_replication_group = modify_replication_group
    Response.increase_replica_count = increase_replica_count
    Response.decrease_replica_count = decrease_replica_count
    Backend.describe_replication_groups = describe_replication_groups
    Backend.__init__ = init
    Backend.iter_tagged_resources = iter_tagged_resources
