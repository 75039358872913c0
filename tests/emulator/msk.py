"""MSK life cycle calls that moto 5.2.5 lacks (tests/EMULATOR_GAPS.md).

Documented AWS behaviour only:
- A new cluster is CREATING, then ACTIVE (moto keeps it CREATING forever). Here it is ACTIVE at its
  first read, unless it was created with the tag `zinfra-emulator:creating-seconds` = N: then it stays
  CREATING for N seconds. A test uses that to provoke a wait timeout and check that a re-run picks the
  cluster up. (The tag is the emulator's knob only; zinfra never sets it.)
- GetBootstrapBrokers (GET /v1/clusters/<arn>/bootstrap-brokers): for a cluster with SASL/IAM on,
  `BootstrapBrokerStringSaslIam` lists one `b-<n>.<name>.<id>.c<k>.kafka.<region>.amazonaws.com:9098`
  per broker (AWS lists up to three); TLS clusters also get `BootstrapBrokerStringTls` on port 9094.
- UpdateBrokerCount (PUT /v1/clusters/<arn>/nodes/count) and UpdateBrokerStorage
  (PUT /v1/clusters/<arn>/nodes/storage): need the cluster's current version (else BadRequestException),
  set the new count or volume size and give the cluster a new current version.
- DescribeCluster / DeleteCluster of an unknown cluster: NotFoundException (moto: HTTP 500).
- `creationTime` is an RFC 3339 timestamp with its offset (moto's has none, which the SDKs cannot parse).
Tested by tests/drivers/kafka.rs through the SDK.
"""

import json
import time
from datetime import datetime, timezone
import uuid
from urllib.parse import unquote

from moto.kafka.exceptions import BadRequestException, NotFoundException


def _missing(arn):
    return NotFoundException(f"The specified cluster ARN {arn} was not found.")


def _cluster(backend, path, suffix):
    arn = unquote(path.split("/clusters/", 1)[1].split("?")[0])
    arn = arn[: -len(suffix)] if suffix and arn.endswith(suffix) else arn
    if arn not in backend.clusters:
        raise _missing(arn)
    return backend.clusters[arn]


def _settle(cluster):
    if cluster.state == "CREATING" and time.time() >= getattr(cluster, "zinfra_active_at", 0):
        cluster.state = "ACTIVE"


def _bump(cluster, body):
    if body.get("currentVersion") != cluster.current_version:
        raise BadRequestException(
            "The provided current version does not match the cluster's current version."
        )
    cluster.current_version = "K" + uuid.uuid4().hex[:12].upper()


def apply():
    from moto.kafka.models import KafkaBackend
    from moto.kafka.responses import KafkaResponse

    original_create = KafkaBackend.create_cluster

    def create_cluster(self, *args, **kwargs):
        arn, name, state = original_create(self, *args, **kwargs)
        delay = float((kwargs.get("tags") or {}).get("zinfra-emulator:creating-seconds", 0))
        cluster = self.clusters[arn]
        cluster.zinfra_active_at = time.time() + delay
        # AWS sends an RFC 3339 timestamp with its offset; moto's has none, which the SDKs reject.
        cluster.creation_time = datetime.now(timezone.utc).isoformat()
        return arn, name, state

    KafkaBackend.create_cluster = create_cluster

    for name in ("describe_cluster", "list_clusters"):
        original = getattr(KafkaBackend, name)

        def settled(self, *args, _original=original, **kwargs):
            for c in self.clusters.values():
                _settle(c)
            return _original(self, *args, **kwargs)

        setattr(KafkaBackend, name, settled)

    # An unknown (or deleted) cluster is NotFoundException, as on AWS (moto fails with HTTP 500).
    for name in ("describe_cluster", "delete_cluster"):
        original = getattr(KafkaBackend, name)

        def known(self, cluster_arn, *args, _original=original, **kwargs):
            if cluster_arn not in self.clusters:
                raise _missing(cluster_arn)
            return _original(self, cluster_arn, *args, **kwargs)

        setattr(KafkaBackend, name, known)

    def body(self):
        return json.loads(self.body) if self.body else {}

    def get_bootstrap_brokers(self):
        c = _cluster(self.kafka_backend, self.path, "/bootstrap-brokers")
        _settle(c)
        hosts = [
            f"b-{i + 1}.{c.cluster_name}.{c.cluster_id[:6]}.c{i + 1}.kafka.{c.region_name}.amazonaws.com"
            for i in range(min(c.number_of_broker_nodes or 0, 3))
        ]
        out = {}
        auth = c.client_authentication or {}
        transit = (c.encryption_info or {}).get("encryptionInTransit") or {}
        if ((auth.get("sasl") or {}).get("iam") or {}).get("enabled"):
            out["bootstrapBrokerStringSaslIam"] = ",".join(f"{h}:9098" for h in hosts)
        if transit.get("clientBroker", "TLS") in ("TLS", "TLS_PLAINTEXT"):
            out["bootstrapBrokerStringTls"] = ",".join(f"{h}:9094" for h in hosts)
        return json.dumps(out)

    def update_broker_count(self):
        c = _cluster(self.kafka_backend, self.path, "/nodes/count")
        b = body(self)
        _bump(c, b)
        c.number_of_broker_nodes = b["targetNumberOfBrokerNodes"]
        return json.dumps({"clusterArn": c.arn, "clusterOperationArn": c.arn + "/op"})

    def update_broker_storage(self):
        c = _cluster(self.kafka_backend, self.path, "/nodes/storage")
        b = body(self)
        _bump(c, b)
        size = b["targetBrokerEBSVolumeInfo"][0]["volumeSizeGB"]
        info = c.broker_node_group_info or {}
        info.setdefault("storageInfo", {}).setdefault("ebsStorageInfo", {})["volumeSize"] = size
        c.broker_node_group_info = info
        return json.dumps({"clusterArn": c.arn, "clusterOperationArn": c.arn + "/op"})

    KafkaResponse.get_bootstrap_brokers = get_bootstrap_brokers
    KafkaResponse.update_broker_count = update_broker_count
    KafkaResponse.update_broker_storage = update_broker_storage
