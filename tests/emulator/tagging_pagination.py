"""Resource Groups Tagging API: a `PaginationToken` can be sent again, and pages are sized by resources.

On AWS a page token stays valid, so a page whose reply was lost is simply asked for again. moto 5.2.5 keeps a
live generator per token and deletes the token once used: the retried request fails with
`PaginationTokenExpiredException`, or (when the retry is of an earlier page) silently skips resources. This
keeps each token's page so asking again returns the same page. Exercised by
`a_page_of_the_tag_index_can_be_asked_for_again` (tests/faults.rs).

AWS sizes pages by `ResourcesPerPage` and recommends it over `TagsPerPage`, which only limits a page when it
is sent. moto 5.2.5 applies a `TagsPerPage` of 100 when none is sent, so a request for 100 resources a page
gets about 15 (zinfra's resources carry six or more tags). Here an absent `TagsPerPage` does not limit the
page. Exercised by the request budgets (tests/requests.rs).
"""

import threading

_request = threading.local()


def apply():
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend
    from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse

    original = ResourceGroupsTaggingAPIBackend.get_resources

    def get_resources(self, pagination_token=None, **kwargs):
        pages = self.__dict__.setdefault("_zinfra_pages", {})
        if pagination_token and pagination_token in pages:
            return pages[pagination_token]
        if getattr(_request, "no_tag_limit", False):
            kwargs["tags_per_page"] = 10**9
        result = original(self, pagination_token=pagination_token, **kwargs)
        if pagination_token:
            pages[pagination_token] = result
        return result

    ResourceGroupsTaggingAPIBackend.get_resources = get_resources

    original_response = ResourceGroupsTaggingAPIResponse.get_resources

    def get_resources_response(self):
        _request.no_tag_limit = self._get_param("TagsPerPage") is None
        try:
            return original_response(self)
        finally:
            _request.no_tag_limit = False

    ResourceGroupsTaggingAPIResponse.get_resources = get_resources_response
