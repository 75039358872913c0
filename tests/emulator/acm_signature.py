"""ACM: a certificate ACM issues is signed with SHA-256 with RSA, as AWS's public certificates are.

moto 5.2.5 signs the certificates it makes up with SHA-512 and reports `SignatureAlgorithm`
`SHA512WITHRSA` for them. AWS's Amazon-issued (public, RequestCertificate) certificates are signed by
Amazon's CAs with SHA-256 with RSA (`SHA256WITHRSA`), which is what the seed asks for and what
`zinfra check --live` checks (ZS-ACM-001). Imported certificates keep what their file says. Exercised by
`check_live_reports_a_control_weakened_behind_zinfras_back` (tests/check.rs) and the reference stack
tests, whose live checks read the signature algorithm.
"""


def apply():
    from moto.acm.models import CertBundle

    original = CertBundle.describe

    def describe(self):
        result = original(self)
        cert = result.get("Certificate", {})
        if cert.get("Type") == "AMAZON_ISSUED":
            cert["SignatureAlgorithm"] = "SHA256WITHRSA"
        return result

    CertBundle.describe = describe
