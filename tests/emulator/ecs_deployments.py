"""ECS: service deployments that roll out, complete, fail and roll back, as AWS's do.

moto 5.2.5 gives a service one deployment at create, which stays IN_PROGRESS unless the process-wide
MOTO_ECS_SERVICE_RUNNING says otherwise, and `UpdateService` with a new task definition starts no new
deployment at all. So nothing that waits for a rollout can be tested against it. This extension follows
AWS's documented deployment model (ECS developer guide, "Deployment circuit breaker"):

- `UpdateService` that changes the task definition, the network configuration or the load balancers, or
  sets `forceNewDeployment`, starts a new PRIMARY deployment (rolloutState IN_PROGRESS); the previous
  PRIMARY becomes ACTIVE.
- A deployment's tasks start once it has been in progress for ZINFRA_EMULATOR_ECS_ROLLOUT_SECONDS
  (default 1; AWS takes minutes). Then it is COMPLETED, runningCount = desiredCount, and the older
  deployments are drained (removed), unless a task cannot start.
- A task cannot start when a container image cannot be pulled. The emulator knows only one registry:
  an image in this account's ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or
  `@sha256:…`) whose repository or tag is not in moto's ECR backend is CannotPullContainerError. Any
  other registry is assumed reachable.
- With the circuit breaker on, such a deployment turns FAILED ("tasks failed to start"); with rollback
  on, ECS starts a new PRIMARY deployment of the task definition of the last COMPLETED deployment and
  sets the service back to it. With the breaker off it stays IN_PROGRESS, retrying, as on AWS.
- Each step is recorded in the service's events with AWS's wording.

Progress is computed when the service is described (DescribeServices), so no thread is needed.
Exercised by `image_deploys_wait_for_the_rollout_and_a_failed_one_rolls_back` (tests/stack.rs).
"""

import os
import re
from datetime import timedelta

ECR_IMAGE = re.compile(
    r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)(?::([^@]+)|@(sha256:[0-9a-f]+))?$"
)


def rollout_seconds():
    try:
        return max(float(os.environ.get("ZINFRA_EMULATOR_ECS_ROLLOUT_SECONDS", "1")), 0.0)
    except ValueError:
        return 1.0


def apply():
    from moto.core.utils import utcnow
    from moto.ecs.models import EC2ContainerServiceBackend as ECSBackend
    from moto.moto_api._internal import mock_random

    def event(service, message):
        service.events.insert(
            0,
            {
                "id": str(mock_random.uuid4()),
                "createdAt": utcnow(),
                "message": f"(service {service.name}) {message}",
            },
        )

    def new_deployment(service, task_definition):
        now = utcnow()
        deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
        return {
            "createdAt": now,
            "desiredCount": service.desired_count,
            "failedTasks": 0,
            "id": deployment_id,
            "launchType": service.launch_type,
            "pendingCount": service.desired_count,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            "runningCount": 0,
            "platformVersion": service.platform_version,
            "networkConfiguration": getattr(service, "network_configuration", None) or None,
            "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "updatedAt": now,
        }

    def cannot_pull(backend, task_definition):
        """Why a task of `task_definition` cannot pull its image, or None."""
        from moto.ecr.models import ecr_backends

        try:
            definition = backend.describe_task_definition(task_definition)
        except Exception:
            return "task definition not found"
        for container in definition.container_definitions:
            image = container.get("image") or ""
            m = ECR_IMAGE.match(image)
            if not m or m.group(1) != backend.account_id:
                continue
            account, region, repo, tag, digest = m.groups()
            repository = ecr_backends[account][region].repositories.get(repo)
            found = repository is not None and any(
                (tag or "latest") in i.image_tags if digest is None else i.get_image_digest() == digest
                for i in repository.images
            )
            if not found:
                return (
                    f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                    f"failed to resolve ref {image}: not found"
                )
        return None

    def breaker(service):
        conf = getattr(service, "deployment_configuration", None) or {}
        cb = conf.get("deploymentCircuitBreaker") or {}
        return bool(cb.get("enable")), bool(cb.get("rollback"))

    def progress(backend, service):
        now = utcnow()
        for d in list(service.deployments):
            if d.get("rolloutState") != "IN_PROGRESS":
                continue
            if now - d["createdAt"] < timedelta(seconds=rollout_seconds()):
                continue
            problem = cannot_pull(backend, d["taskDefinition"])
            d["updatedAt"] = now
            if problem is None:
                d.update(
                    rolloutState="COMPLETED",
                    rolloutStateReason=f"ECS deployment {d['id']} completed.",
                    runningCount=d["desiredCount"],
                    pendingCount=0,
                )
                if d["status"] == "PRIMARY":
                    service.deployments = [d]  # the older ones drained
                    service.running_count = d["desiredCount"]
                    service.pending_count = 0
                    event(service, "has reached a steady state.")
                continue
            enabled, rollback = breaker(service)
            d.update(failedTasks=d["desiredCount"], runningCount=0)
            if not enabled:
                continue  # AWS keeps launching tasks, forever
            d.update(
                rolloutState="FAILED",
                rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
            )
            event(service, f"(deployment {d['id']}) deployment failed: tasks failed to start. {problem}")
            if d["status"] != "PRIMARY" or not rollback:
                continue
            previous = [
                o
                for o in service.deployments
                if o is not d and o.get("rolloutState") == "COMPLETED"
            ]
            if not previous:
                continue  # nothing ever completed: nothing to roll back to
            target = previous[0]["taskDefinition"]
            d["status"] = "ACTIVE"
            back = new_deployment(service, target)
            service.deployments = [back, d]
            service.task_definition = target
            event(service, f"rolling back to deployment {back['id']}.")

    original_update = ECSBackend.update_service
    original_describe = ECSBackend.describe_services

    def update_service(self, service_properties):
        props = dict(service_properties)
        force = bool(props.pop("force_new_deployment", False))
        cluster = props.get("cluster", "default")
        name = props.get("service", "").split("/")[-1]
        service = self._get_service(cluster, name)
        before = service.task_definition
        starts = (
            force
            or props.get("network_configuration") is not None
            or props.get("load_balancers") is not None
        )
        result = original_update(self, props)
        starts = starts or result.task_definition != before
        if starts and result.deployment_controller.get("type", "ECS") == "ECS":
            for d in result.deployments:
                d["status"] = "ACTIVE"
            result.deployments.insert(0, new_deployment(result, result.task_definition))
        return result

    def describe_services(self, cluster_str, service_names_or_arns):
        services, failures = original_describe(self, cluster_str, service_names_or_arns)
        for service in services:
            progress(self, service)
        return services, failures

    ECSBackend.update_service = update_service
    ECSBackend.describe_services = describe_services
