"""Resource Groups Tagging API: a `PaginationToken` can be sent again.

On AWS a page token stays valid, so a page whose reply was lost is simply asked for again. moto 5.2.5 keeps a
live generator per token and deletes the token once used: the retried request fails with
`PaginationTokenExpiredException`, or (when the retry is of an earlier page) silently skips resources. This
keeps each token's page so asking again returns the same page. Exercised by
`a_page_of_the_tag_index_can_be_asked_for_again` (tests/faults.rs).
"""


def apply():
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend

    original = ResourceGroupsTaggingAPIBackend.get_resources

    def get_resources(self, pagination_token=None, **kwargs):
        pages = self.__dict__.setdefault("_zinfra_pages", {})
        if pagination_token and pagination_token in pages:
            return pages[pagination_token]
        result = original(self, pagination_token=pagination_token, **kwargs)
        if pagination_token:
            pages[pagination_token] = result
        return result

    ResourceGroupsTaggingAPIBackend.get_resources = get_resources
