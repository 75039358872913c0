"""CloudWatch Logs: AssociateKmsKey and DisassociateKmsKey, which moto 5.2.5 lacks.

moto keeps a log group's `kmsKeyId` from CreateLogGroup and reports it in DescribeLogGroups, but has no
handler for the two calls that change it on an existing group. AWS: `AssociateKmsKey` with
`logGroupName` and `kmsKeyId` (the key's ARN) sets the key new events are encrypted with;
`DisassociateKmsKey` with `logGroupName` removes it; a group that does not exist is
`ResourceNotFoundException`. Exercised by `log_groups_keep_retention_key_and_tags_in_place`
(tests/drivers/logs.rs), which moves a group's key in place and back.
"""


def apply():
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def group(self):
        name = self._get_param("logGroupName")
        g = self.logs_backend.groups.get(name)
        if g is None:
            raise ResourceNotFoundException("The specified log group does not exist.")
        return g

    def associate_kms_key(self):
        group(self).kms_key_id = self._get_param("kmsKeyId")
        return ""

    def disassociate_kms_key(self):
        group(self).kms_key_id = None
        return ""

    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key
