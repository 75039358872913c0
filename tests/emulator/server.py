"""moto server with zinfra's small extensions for APIs moto 5.2.5 lacks.

Each extension module in this directory patches moto with documented AWS behaviour only, has its own test
(tests/emulator/test_*.py via the e2e suite, or a driver test that exercises it), and is listed in
tests/EMULATOR_GAPS.md. Usage: `python tests/emulator/server.py -H 127.0.0.1 -p PORT` (moto_server's flags).
"""

import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Extension modules, applied in order before the server starts.
EXTENSIONS = [
    "acm_idempotency",
    "acm_signature",
    "ecr_scan_on_push",
    "ecs_deployments",
    "ecs_service_deployment_configuration",
    "elasticache",
    "eventual",
    "guardduty_administrator",
    "guardduty_tagging",
    "logs_kms",
    "msk",
    "route53_create_existing",
    "securityhub",
    "securityhub_administrator",
    "ssm_describe_parameters",
    "tagging",
    "tagging_pagination",
]

for name in EXTENSIONS:
    importlib.import_module(name).apply()

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
