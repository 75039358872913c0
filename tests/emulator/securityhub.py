"""Security Hub standards and tags, which moto 5.2.5 lacks (tests/EMULATOR_GAPS.md).

Documented AWS behaviour only:
- BatchEnableStandards (POST /standards/register) subscribes the account to each standard ARN; the
  subscription ARN is `arn:aws:securityhub:<region>:<account>:subscription/<standard path after standards/>`.
  AWS reports PENDING, then READY; the emulator reports READY at once.
- GetEnabledStandards (POST /standards/get) lists the subscriptions; BatchDisableStandards
  (POST /standards/deregister) removes them. All need Security Hub enabled (InvalidAccessException).
- TagResource / UntagResource / ListTagsForResource (/tags/<hub ARN>) on the hub; EnableSecurityHub's
  `Tags` are the hub's tags. DisableSecurityHub drops the subscriptions.
Tested by tests/drivers/securityhub.rs through the SDK.
"""

import json
from urllib.parse import unquote

from moto.securityhub.exceptions import SecurityHubClientError as RESTError


def _subs(backend):
    if not hasattr(backend, "zinfra_standards"):
        backend.zinfra_standards = {}
    return backend.zinfra_standards


def _require_enabled(backend):
    if not backend.enabled:
        raise RESTError(
            "InvalidAccessException", "Account is not subscribed to AWS Security Hub"
        )


def _subscription(backend, standards_arn):
    path = standards_arn.split(":standards/", 1)[-1]
    return {
        "StandardsSubscriptionArn": f"arn:aws:securityhub:{backend.region_name}:{backend.account_id}:subscription/{path}",
        "StandardsArn": standards_arn,
        "StandardsInput": {},
        "StandardsStatus": "READY",
    }


def apply():
    from moto.securityhub import urls
    from moto.securityhub.models import SecurityHubBackend
    from moto.securityhub.responses import SecurityHubResponse

    urls.url_paths.update(
        {
            "{0}/standards/register$": SecurityHubResponse.dispatch,
            "{0}/standards/deregister$": SecurityHubResponse.dispatch,
            "{0}/standards/get$": SecurityHubResponse.dispatch,
            "{0}/tags/(?P<ResourceArn>.+)$": SecurityHubResponse.dispatch,
        }
    )

    original_disable = SecurityHubBackend.disable_security_hub

    def disable_security_hub(self):
        result = original_disable(self)
        _subs(self).clear()
        return result

    SecurityHubBackend.disable_security_hub = disable_security_hub

    def body(self):
        return json.loads(self.body) if self.body else {}

    def batch_enable_standards(self):
        backend = self.securityhub_backend
        _require_enabled(backend)
        out = []
        for req in body(self).get("StandardsSubscriptionRequests", []):
            sub = _subscription(backend, req["StandardsArn"])
            _subs(backend)[sub["StandardsSubscriptionArn"]] = sub
            out.append(sub)
        return json.dumps({"StandardsSubscriptions": out})

    def batch_disable_standards(self):
        backend = self.securityhub_backend
        _require_enabled(backend)
        out = []
        for arn in body(self).get("StandardsSubscriptionArns", []):
            sub = _subs(backend).pop(arn, None)
            if sub:
                out.append(dict(sub, StandardsStatus="DELETING"))
        return json.dumps({"StandardsSubscriptions": out})

    def get_enabled_standards(self):
        backend = self.securityhub_backend
        _require_enabled(backend)
        wanted = body(self).get("StandardsSubscriptionArns")
        subs = [s for a, s in _subs(backend).items() if not wanted or a in wanted]
        return json.dumps({"StandardsSubscriptions": subs})

    def _hub(self):
        backend = self.securityhub_backend
        arn = unquote(self.path.split("/tags/", 1)[-1].split("?")[0])
        _require_enabled(backend)
        if arn != f"arn:aws:securityhub:{backend.region_name}:{backend.account_id}:hub/default":
            raise RESTError("ResourceNotFoundException", f"{arn} not found")
        return backend

    def tag_resource(self):
        backend = _hub(self)
        backend.tags = dict(backend.tags or {}, **body(self).get("Tags", {}))
        return json.dumps({})

    def untag_resource(self):
        backend = _hub(self)
        keys = self.querystring.get("tagKeys", [])
        backend.tags = {k: v for k, v in (backend.tags or {}).items() if k not in keys}
        return json.dumps({})

    def list_tags_for_resource(self):
        backend = _hub(self)
        return json.dumps({"Tags": backend.tags or {}})

    SecurityHubResponse.batch_enable_standards = batch_enable_standards
    SecurityHubResponse.batch_disable_standards = batch_disable_standards
    SecurityHubResponse.get_enabled_standards = get_enabled_standards
    SecurityHubResponse.tag_resource = tag_resource
    SecurityHubResponse.untag_resource = untag_resource
    SecurityHubResponse.list_tags_for_resource = list_tags_for_resource
