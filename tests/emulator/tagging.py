"""Resource Groups Tagging API pages that stay consistent under concurrent changes (tests/EMULATOR_GAPS.md).

moto 5.2.5 walks the backends lazily across `GetResources` pages. When another client creates or deletes a
resource between two pages (the e2e tests run concurrently against one server), the walk can fail with
"dictionary changed size during iteration" (HTTP 500); the SDK retries the request with the same page
token, the dead walk ends at once, and the caller gets a silently truncated listing. AWS's pagination does
not drop resources that way. Here the walk is done eagerly when the first page is asked for, so each
listing is one consistent snapshot and a failed first request is simply retried from scratch.
Exercised by every reference-stack test (tests/stack.rs), which reads the stack through this API.
"""


def apply():
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend

    original = ResourceGroupsTaggingAPIBackend._get_resources_generator

    def eager(self, *args, **kwargs):
        return iter(list(original(self, *args, **kwargs)))

    ResourceGroupsTaggingAPIBackend._get_resources_generator = eager
