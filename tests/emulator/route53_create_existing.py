"""Route 53: a CREATE of a record set whose name and type already exist fails the whole batch.

AWS answers `InvalidChangeBatch` ("Tried to create resource record set ... but it already exists") and
changes nothing. moto 5.2.5 refuses only a CREATE identical to an earlier one and otherwise overwrites the
record, which would hide a takeover of a record made by hand. A DELETE of the same name and type earlier in
the batch frees it, as on AWS. Exercised by `route53_zone_and_records_lifecycle` (tests/drivers/route53.rs).
"""


def apply():
    from moto.route53.exceptions import ResourceRecordAlreadyExists
    from moto.route53.models import Route53Backend

    original = Route53Backend.change_resource_record_sets

    def change_resource_record_sets(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)

        def key(name, ty):
            return (name.rstrip(".").lower().replace("\\052", "*"), ty)

        existing = {key(r.name, r.type) for r in zone.rrsets}
        for change in change_list:
            rrset = change["ResourceRecordSet"]
            k = key(rrset["Name"], rrset["Type"])
            if change["Action"] == "DELETE":
                existing.discard(k)
            elif change["Action"] == "CREATE" and k in existing:
                raise ResourceRecordAlreadyExists(name=rrset["Name"] + ".", _type=rrset["Type"])
            elif change["Action"] in ("CREATE", "UPSERT"):
                existing.add(k)
        return original(self, zoneid, change_list)

    Route53Backend.change_resource_record_sets = change_resource_record_sets
