"""GuardDuty: GetAdministratorAccount answers in AWS's shape.

moto 5.2.5 returns `{"Administrator": {"AccountId": …, "RelationshipStatus": …}}`; AWS (and the SDKs)
use `{"administrator": {"accountId": …, "relationshipStatus": …}}`, so an SDK client never sees the
administrator. moto records one when `EnableOrganizationAdminAccount` is called in the region, which is
how a test makes the account look like an organisation's member. Exercised by
`an_organisation_managed_detector_is_adopted_and_its_settings_left_to_the_organisation` (tests/stack.rs).
"""

import json


def apply():
    from moto.guardduty.responses import GuardDutyResponse

    def get_administrator_account(self):
        detector_id = self.path.split("/")[-2]
        result = self.guardduty_backend.get_administrator_account(detector_id)
        admin = result.get("Administrator")
        if not admin:
            return json.dumps({})
        return json.dumps(
            {
                "administrator": {
                    "accountId": admin["AccountId"],
                    "relationshipStatus": admin.get("RelationshipStatus", "Enabled"),
                }
            }
        )

    GuardDutyResponse.get_administrator_account = get_administrator_account
