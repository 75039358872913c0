"""GuardDuty: TagResource, UntagResource and ListTagsForResource on a detector, which moto 5.2.5 lacks.

moto keeps a detector's tags from CreateDetector and returns them in GetDetector, but has no route for
the tagging calls (HTTP 404). AWS: `POST /tags/{resourceArn}` with `{"tags": {...}}`,
`DELETE /tags/{resourceArn}?tagKeys=…`, `GET /tags/{resourceArn}`; an ARN of no detector of the
account and region is `BadRequestException`. Exercised by
`existing_guardduty_and_security_hub_are_adopted_and_left_as_found` (tests/stack.rs), which tags an
existing detector when it is adopted and untags it on destroy.
"""

import json
from urllib.parse import unquote


def apply():
    from moto.guardduty import urls
    from moto.guardduty.exceptions import GuardDutyException
    from moto.guardduty.responses import GuardDutyResponse

    urls.url_paths.update({"{0}/tags/(?P<resource_arn>.+)$": GuardDutyResponse.dispatch})

    class BadRequest(GuardDutyException):
        code = 400

        def __init__(self, message):
            super().__init__("BadRequestException", message)

    def detector(self):
        backend = self.guardduty_backend
        arn = unquote(self.path.split("/tags/", 1)[-1].split("?")[0])
        prefix = f"arn:aws:guardduty:{backend.region_name}:{backend.account_id}:detector/"
        if not arn.startswith(prefix) or arn[len(prefix):] not in backend.detectors:
            raise BadRequest(f"The request is rejected because the resource {arn} does not exist.")
        return backend.detectors[arn[len(prefix):]]

    def tag_resource(self):
        d = detector(self)
        d.tags = dict(d.tags or {}, **json.loads(self.body or "{}").get("tags", {}))
        return json.dumps({})

    def untag_resource(self):
        d = detector(self)
        keys = self.querystring.get("tagKeys", [])
        d.tags = {k: v for k, v in (d.tags or {}).items() if k not in keys}
        return json.dumps({})

    def list_tags_for_resource(self):
        return json.dumps({"tags": detector(self).tags or {}})

    GuardDutyResponse.tag_resource = tag_resource
    GuardDutyResponse.untag_resource = untag_resource
    GuardDutyResponse.list_tags_for_resource = list_tags_for_resource
