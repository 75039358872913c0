"""ECR: `PutImageScanningConfiguration` with `scanOnPush` omitted turns scanning off.

AWS treats a missing `scanOnPush` as false, and the AWS SDK for Rust omits booleans that are false, so
turning scan on push off sends `imageScanningConfiguration: {}`. moto 5.2.5 ignores an empty configuration
and keeps scanning on. Exercised by `ecr_repository_lifecycle` (tests/drivers/ecr.rs).
"""


def apply():
    from moto.ecr.models import Repository

    def _update_image_scanning_configuration(self, image_scanning_configuration):
        conf = image_scanning_configuration or {}
        self.image_scanning_configuration = {"scanOnPush": bool(conf.get("scanOnPush", False))}

    Repository._update_image_scanning_configuration = _update_image_scanning_configuration
