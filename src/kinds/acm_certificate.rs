//! `acm_certificate`: schema and checks. AWS calls: `src/drivers/acm.rs`; tests: `tests/drivers/acm.rs`.

use crate::kinds::route53_zone::{domain_name, normalize};
use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

static NAME: Ty = Ty::Str;

/// The longest one operation waits for AWS: DNS validation and issuance (AWS: usually minutes, up to hours when the records are slow to resolve).
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

pub static KIND: KindDef = KindDef {
    name: "acm_certificate",
    doc: "A public ACM certificate, validated by DNS records zinfra writes into the stack's zone; apply waits until it is issued.",
    notes: NOTES,
    fields: &[
        Field::new(
            "domain_name",
            Ty::Str,
            "Main name, e.g. `api.dev.zenoo.example` or `*.dev.zenoo.example`.",
        )
        .required()
        .force_new(),
        Field::new(
            "subject_alternative_names",
            Ty::Set(&NAME),
            "More names the certificate covers (the main name need not be repeated).",
        )
        .default(FieldDefault::Empty)
        .force_new(),
        Field::new(
            "validation_method",
            Ty::Enum(&["DNS"]),
            "Only DNS validation: the records live in `zone` and renewals need no one.",
        )
        .default(FieldDefault::Str("DNS"))
        .force_new(),
        Field::new(
            "key_algorithm",
            Ty::Enum(&[
                "RSA_2048",
                "RSA_3072",
                "RSA_4096",
                "EC_prime256v1",
                "EC_secp384r1",
                "EC_secp521r1",
            ]),
            "Public key algorithm; the baseline's RSA 2048 unless told otherwise.",
        )
        .default(FieldDefault::Str("RSA_2048"))
        .force_new(),
        Field::new(
            "zone",
            Ty::Ref(&["route53_zone"], "id"),
            "Zone that receives the DNS validation records; reads back only while the certificate is issued and its records are there.",
        )
        .required(),
        Field::new(
            "region",
            Ty::Enum(&["us-east-1"]),
            "`us-east-1` for certificates CloudFront uses; the stack's region when left out.",
        )
        .force_new(),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::when_used("the certificate listeners serve")),
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    let mut names: Vec<(String, String)> = Vec::new();
    if let Some(d) = cx.str("domain_name") {
        names.push(("domain_name".into(), d.to_owned()));
    }
    for (i, v) in cx
        .get("subject_alternative_names")
        .map(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if let Some(s) = v.as_str() {
            let path = format!("subject_alternative_names[{i}]");
            // AWS lists the main name among the alternative names; zinfra reads it back without it.
            if Some(s) == cx.str("domain_name") {
                cx.error_at_value(
                    &path,
                    "the main name is repeated in `subject_alternative_names`",
                    "remove it: the certificate always covers `domain_name`",
                );
            }
            names.push((path, s.to_owned()));
        }
    }
    let zone = cx
        .referenced("zone")
        .and_then(|z| z.props.get("name").and_then(Value::as_str))
        .map(normalize);
    for (path, name) in &names {
        if let Err(why) = domain_name(name, true) {
            cx.error_at_value(path, "invalid domain name", why);
            continue;
        }
        // DNS validation records go under the name: it must lie in the zone zinfra writes them to.
        let base = normalize(name.strip_prefix("*.").unwrap_or(name));
        if let Some(z) = &zone
            && base != *z
            && !base.ends_with(&format!(".{z}"))
        {
            cx.error_at_value(
                path,
                &format!("`{name}` is outside the validation zone `{z}`"),
                "DNS validation records are written into `zone`: every name must end in the zone's name",
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- Every name is a valid DNS name and lies inside the zone's `name` (the validation records are written
  there).
- `subject_alternative_names` does not repeat `domain_name`.
- `validation_method` other than `"DNS"` and key algorithms ACM does not issue are errors.

Behaviour:

- Create: `RequestCertificate` with the tags and an idempotency token (so the SDK's retries never request
  two), then wait for ACM's validation records, `UPSERT` them as CNAMEs into `zone`, and wait until the
  certificate is `ISSUED`. The wait is bounded (45 minutes, or the resource's `timeout`), and apply shows
  `certificate: PENDING_VALIDATION` and the elapsed time while it runs. A certificate that fails
  validation stops the apply with its status and reason.
- A certificate ACM gave up on (`FAILED`, `VALIDATION_TIMED_OUT`) stops apply with its status and
  reason; ACM does not retry it. Fix the cause (usually the zone's delegation), then rename the resource
  in the stack file (e.g. `acm_certificate.alb2`, and the references to it): apply requests a new
  certificate, moves the references, and deletes the failed one last.
- After a timeout, run apply again: read finds the certificate by its tags, `zone` does not read back
  while the certificate is not issued, so the plan shows `zone` to change, and apply writes the records
  again and resumes waiting. The same happens when the validation records were deleted by hand.
- `region = "us-east-1"`: zinfra keeps one ACM client for the stack's region and one for us-east-1, and
  reads both (through the tagging API of each region, which gives the certificates' tags too). Leaving `region` out means the stack's region; once the certificate exists,
  the field is only compared when set.
- Delete: `DeleteCertificate`, retried while a load balancer or distribution still holds the certificate
  (`ResourceInUseException`, up to 10 minutes). The DNS validation records stay: ACM gives every
  certificate for a name in an account the same record, so another certificate (in the other region, or a
  replacement) may still need it for renewal. Destroying the zone removes them.
- A replacement deletes the old certificate before it creates the new one. On AWS, a certificate that a
  listener still uses cannot be deleted, so replacing an in-use certificate (a new `domain_name`, say)
  waits for the release and then fails; add the new certificate as another resource, move the listener
  to it, then remove the old one.

Example:

```toml
[acm_certificate.alb]
domain_name = "api.dev.zenoo.example"
subject_alternative_names = ["hub.dev.zenoo.example"]
zone = "route53_zone.main"

[acm_certificate.cdn]
domain_name = "dev.zenoo.example"
zone = "route53_zone.main"
region = "us-east-1"   # CloudFront takes its certificates from us-east-1
```

Outputs: `id` and `arn` are both the certificate ARN.
"##;
