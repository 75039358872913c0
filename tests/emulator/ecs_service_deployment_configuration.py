"""ECS: `CreateService` keeps `deploymentConfiguration` (the deployment circuit breaker).

moto 5.2.5 drops the parameter on create (it keeps it on `UpdateService`), so `DescribeServices` shows no
circuit breaker for a service created with one. Exercised by
`ecs_cluster_task_definition_and_service_lifecycle` (tests/drivers/ecs.rs) and the reference stack tests.
"""


def apply():
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = EC2ContainerServiceResponse.create_service

    def create_service(self):
        result = original(self)
        conf = self._get_param("deploymentConfiguration")
        if conf is not None:
            service = self.ecs_backend._get_service(
                self._get_param("cluster", "default"), self._get_param("serviceName")
            )
            service.deployment_configuration = conf
        return result

    EC2ContainerServiceResponse.create_service = create_service
