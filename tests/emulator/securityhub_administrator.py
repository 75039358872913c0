"""Security Hub: a member account sees the administrator that made it a member.

On AWS, an administrator account's CreateMembers (or the organisation's auto-enable) makes another account
a member, and the member's GetAdministratorAccount then names the administrator. moto 5.2.5 keeps the
members in the administrator's backend only, and answers a member's GetAdministratorAccount from its
Organizations setup alone, so a member never sees it. Here, when moto finds none, the answer is the
account (same region) whose members include the caller, as AWS does. Exercised by
`an_organisation_managed_security_hub_is_adopted_and_its_standards_left_to_the_organisation`
(tests/stack.rs), which makes the account a member with a second account's CreateMembers.
"""


def apply():
    from moto.securityhub.models import SecurityHubBackend, securityhub_backends

    original = SecurityHubBackend.get_administrator_account

    def get_administrator_account(self):
        result = original(self)
        if result:
            return result
        for account_id, regions in list(securityhub_backends.items()):
            if account_id == self.account_id:
                continue
            backend = regions.get(self.region_name) if hasattr(regions, "get") else None
            if backend is not None and self.account_id in getattr(backend, "members", {}):
                return {
                    "Administrator": {
                        "AccountId": account_id,
                        "MemberStatus": "ENABLED",
                        "InvitationId": f"invitation-{account_id}",
                    }
                }
        return {}

    SecurityHubBackend.get_administrator_account = get_administrator_account
