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
