"""Eventual consistency, as AWS documents it and moto 5.2.5 never shows (tests/EMULATOR_GAPS.md).

Off unless `ZINFRA_EMULATOR_SETTLE_SECONDS` is set (a window W in seconds, e.g. 2). Then, for W seconds:

- **A new EC2 resource is not yet known to other calls.** After CreateVpc, CreateSubnet, CreateSecurityGroup,
  CreateInternetGateway or CreateRouteTable, a call that names the new id (a child's create, an attach,
  an association, a rule, a tag) is answered as AWS does while the id propagates: HTTP 400
  `InvalidVpcID.NotFound`, `InvalidSubnetID.NotFound`, `InvalidGroup.NotFound`,
  `InvalidInternetGatewayID.NotFound` or `InvalidRouteTableID.NotFound`
  (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html). Reads do not see it yet
  either: a Describe that names the id answers the same error, and a filtered Describe (by tag, say)
  leaves it out of its reply. Delete calls are left alone.
- **A parent is not deletable while its children are still going.** DeleteVpc within W of the deletion or
  detachment of one of its subnets, security groups, route tables or internet gateways answers
  `DependencyViolation`, as AWS does while those deletions settle.
- **A new IAM role is not yet a valid principal.** A KMS key policy (CreateKey, PutKeyPolicy) naming a
  role created less than W ago answers `MalformedPolicyDocumentException` ("Policy contains a statement
  with one or more invalid principals"), as KMS does until IAM has propagated the role.

`GET /zinfra-emulator/eventual` tells how many times each of these answers was given. Exercised by
`the_reference_stack_settles_through_eventual_consistency` and `a_key_policy_waits_for_a_new_role`
(tests/faults.rs), which run with W = 2 and check that every kind of answer was given.
"""

import io
import json
import os
import re
import threading
import time
from urllib.parse import parse_qs

WINDOW = float(os.environ.get("ZINFRA_EMULATOR_SETTLE_SECONDS") or 0)

# Create action -> (id element in the reply, error code while the id propagates).
EC2_CREATES = {
    "CreateVpc": ("vpcId", "InvalidVpcID.NotFound"),
    "CreateSubnet": ("subnetId", "InvalidSubnetID.NotFound"),
    "CreateSecurityGroup": ("groupId", "InvalidGroup.NotFound"),
    "CreateInternetGateway": ("internetGatewayId", "InvalidInternetGatewayID.NotFound"),
    "CreateRouteTable": ("routeTableId", "InvalidRouteTableID.NotFound"),
}
# Describe action -> (the set element of its reply, the id element of each item).
EC2_READS = {
    "DescribeVpcs": ("vpcSet", "vpcId"),
    "DescribeSubnets": ("subnetSet", "subnetId"),
    "DescribeSecurityGroups": ("securityGroupInfo", "groupId"),
    "DescribeRouteTables": ("routeTableSet", "routeTableId"),
    "DescribeInternetGateways": ("internetGatewaySet", "internetGatewayId"),
}
# Child deletions that keep a VPC busy for a while, with the parameter naming the child.
VPC_CHILD_DELETES = {
    "DeleteSubnet": "SubnetId",
    "DeleteSecurityGroup": "GroupId",
    "DeleteRouteTable": "RouteTableId",
    "DetachInternetGateway": "InternetGatewayId",
}

_lock = threading.Lock()
_fresh = {}  # id -> (created at, error code)
_parent = {}  # child id -> vpc id
_vpc_busy = {}  # vpc id -> time of the last child deletion
_roles = {}  # role ARN -> created at
_answered = {}  # error code -> how many times it was answered (GET /zinfra-emulator/eventual)


def _now():
    return time.monotonic()


def _ec2_error(code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        "<RequestID>eventual-consistency</RequestID></Response>"
    ).encode()
    return "400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


def _json_error(code, message):
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    return "400 Bad Request", headers, body


def _before(service, action, params, text):
    """An error reply (status, headers, body) while something settles, else None."""
    now = _now()
    with _lock:
        if service == "ec2":
            if action in EC2_READS:
                # Asked for by id: unknown yet, as on AWS.
                for key, value in params.items():
                    fresh = _fresh.get(value)
                    if re.fullmatch(r"[A-Za-z]+Id\.\d+", key) and fresh and now - fresh[0] < WINDOW:
                        return _ec2_error(fresh[1], f"The ID '{value}' does not exist")
                return None
            if action.startswith(("Describe", "Delete")):
                if action == "DeleteVpc":
                    vpc = params.get("VpcId", "")
                    busy = _vpc_busy.get(vpc)
                    if busy is not None and now - busy < WINDOW:
                        return _ec2_error(
                            "DependencyViolation",
                            f"The vpc '{vpc}' has dependencies and cannot be deleted.",
                        )
                return None
            for value in params.values():
                fresh = _fresh.get(value)
                if fresh and now - fresh[0] < WINDOW:
                    return _ec2_error(fresh[1], f"The ID '{value}' does not exist")
        if service == "kms" and action in ("CreateKey", "PutKeyPolicy"):
            policy = params.get("Policy") or ""
            for arn, at in _roles.items():
                if arn in policy and now - at < WINDOW:
                    return _json_error(
                        "MalformedPolicyDocumentException",
                        "Policy contains a statement with one or more invalid principals.",
                    )
    return None


def _without_fresh(text, set_tag, id_tag, now):
    """The reply without the items of its set whose own id (the item's first `id_tag`) is still fresh."""
    start = text.find(f"<{set_tag}>")
    end = text.find(f"</{set_tag}>", start)
    if start < 0 or end < 0:
        return text
    inner_start = start + len(set_tag) + 2
    inner = text[inner_start:end]
    kept, depth, item_start, pos = [], 0, None, 0
    for m in re.finditer(r"<item>|</item>", inner):
        if m.group() == "<item>":
            if depth == 0:
                item_start = m.start()
            depth += 1
        else:
            depth -= 1
            if depth == 0 and item_start is not None:
                item = inner[item_start : m.end()]
                own = re.search(f"<{id_tag}>([^<]+)</{id_tag}>", item)
                fresh = _fresh.get(own.group(1)) if own else None
                if not (fresh and now - fresh[0] < WINDOW):
                    kept.append(item)
                item_start = None
        pos = m.end()
    if depth != 0:
        return text
    return text[:inner_start] + "".join(kept) + text[end:]


def _filter_reply(service, action, reply):
    """A read's reply with what is not visible yet taken out (filtered Describe calls)."""
    if service != "ec2" or action not in EC2_READS:
        return reply
    set_tag, id_tag = EC2_READS[action]
    now = _now()
    with _lock:
        text = reply.decode("utf-8", "replace")
        out = _without_fresh(text, set_tag, id_tag, now)
    if out != text:
        key = f"{action} (hidden)"
        with _lock:
            _answered[key] = _answered.get(key, 0) + 1
    return out.encode()


def _after(service, action, params, status, body):
    if not status.startswith("2"):
        return
    now = _now()
    text = body.decode("utf-8", "replace")
    with _lock:
        if service == "ec2":
            if action in EC2_CREATES:
                element, code = EC2_CREATES[action]
                m = re.search(f"<{element}>([^<]+)</{element}>", text)
                if m:
                    _fresh[m.group(1)] = (now, code)
                    if params.get("VpcId"):
                        _parent[m.group(1)] = params["VpcId"]
            elif action == "AttachInternetGateway":
                _parent[params.get("InternetGatewayId", "")] = params.get("VpcId", "")
            elif action in VPC_CHILD_DELETES:
                vpc = _parent.get(params.get(VPC_CHILD_DELETES[action], ""))
                if vpc:
                    _vpc_busy[vpc] = now
        elif service == "iam" and action == "CreateRole":
            m = re.search(r"<Arn>([^<]+)</Arn>", text)
            if m:
                _roles[m.group(1)] = now


def _identify(environ, body):
    """(service, action, params) of a query-protocol (EC2, IAM) or JSON (KMS) request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("TrentService."):
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return "kms", target.split(".", 1)[1], {k: str(v) for k, v in params.items()}
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    service = m.group(1) if m else ""
    if service not in ("ec2", "iam"):
        return service, "", {}
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    form.update(parse_qs(environ.get("QUERY_STRING", "")))
    params = {k: v[0] for k, v in form.items() if v}
    return service, params.get("Action", ""), params


def apply():
    if WINDOW <= 0:
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def call(self, environ, start_response):
        if environ.get("PATH_INFO") == "/zinfra-emulator/eventual":
            with _lock:
                reply = json.dumps(_answered).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))]
            )
            return [reply]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, action, params = _identify(environ, body)
        if not action:
            return original(self, environ, start_response)
        early = _before(service, action, params, body)
        if early:
            status, headers, reply = early
            code = re.search(rb"<Code>([^<]+)</Code>|\"__type\": \"([^\"]+)\"", reply)
            key = (code.group(1) or code.group(2)).decode() if code else "?"
            with _lock:
                _answered[key] = _answered.get(key, 0) + 1
            start_response(status, headers)
            return [reply]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        reply = b"".join(original(self, environ, capture))
        status = captured.get("status", "500 Internal Server Error")
        _after(service, action, params, status, reply)
        if status.startswith("2"):
            reply = _filter_reply(service, action, reply)
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(reply))))
        start_response(status, headers)
        return [reply]

    DomainDispatcherApplication.__call__ = call
