"""ACM: `RequestCertificate` with an idempotency token used within the hour answers with that request's
certificate, even when it was deleted since.

AWS: "if you call RequestCertificate multiple times with the same idempotency token within one hour, ACM
recognizes that you are requesting only one certificate and will issue only one" (the ARN of the first).
moto 5.2.5 remembers the token but then looks the certificate up, and answers HTTP 500 (KeyError) when it
was deleted. Exercised by `acm_certificates_in_the_stack_region_and_us_east_1` (tests/drivers/acm.rs):
zinfra's deterministic tokens meet this after a destroy and an apply of the same certificate.
"""


def apply():
    from moto.acm.models import AWSCertificateManagerBackend

    original = AWSCertificateManagerBackend.request_certificate

    def request_certificate(self, domain_name, idempotency_token, *args, **kwargs):
        if idempotency_token is not None:
            arn = self._get_arn_from_idempotency_token(idempotency_token)
            if arn and arn not in self._certificates:
                return arn
        return original(self, domain_name, idempotency_token, *args, **kwargs)

    AWSCertificateManagerBackend.request_certificate = request_certificate
