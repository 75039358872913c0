//! `s3_bucket`: schema and checks. AWS calls: `src/drivers/s3.rs`; tests: `tests/drivers/s3.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Grammar, Holds, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "s3_bucket",
    doc: "An S3 bucket: SSE-S3 encryption, all public access blocked and versioning on unless told otherwise.",
    notes: NOTES,
    fields: &[
        Field::new("bucket", Ty::Str, "Globally unique bucket name.")
            .required()
            .force_new(),
        Field::new(
            "sse_algorithm",
            Ty::Enum(&["AES256", "aws:kms"]),
            "Default encryption: SSE-S3 (`AES256`) or SSE-KMS.",
        )
        .default(FieldDefault::Str("AES256")),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Key for `aws:kms`.",
        ),
        Field::new(
            "block_public_access",
            Ty::Bool,
            "All four public access block settings.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new("versioning", Ty::Bool, "Keep object versions.")
            .default(FieldDefault::Bool(true)),
        Field::new("policy", Ty::Json, "Bucket policy.").policy(Grammar::Resource),
        Field::new(
            "force_destroy",
            Ty::Bool,
            "Let destroy delete a bucket that still holds objects.",
        )
        .default(FieldDefault::Bool(false))
        .write_only(),
    ],
    physical_name: Some("bucket"),
    taggable: true,
    outputs: &["id", "arn", "regional_domain_name"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its objects")),
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("bucket")
        && let Err(why) = bucket_name(name)
    {
        cx.error_at_value("bucket", "invalid S3 bucket name", why);
    }
    if cx.str("sse_algorithm") == Some("aws:kms") && cx.is_null("kms_key") {
        cx.error_at_value(
            "sse_algorithm",
            "`aws:kms` needs a key",
            "add `kms_key = \"kms_key.<name>\"`",
        );
    }
    // S3 would store SSE-S3 and drop the key: every plan would then show the key as a change.
    if !cx.is_null("kms_key") && cx.str("sse_algorithm") != Some("aws:kms") {
        cx.error_at_value(
            "kms_key",
            "a bucket key needs `sse_algorithm = \"aws:kms\"`",
            "add `sse_algorithm = \"aws:kms\"`, or remove `kms_key` for SSE-S3",
        );
    }
}

/// The S3 bucket naming rules for general purpose buckets.
pub fn bucket_name(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("bucket names are 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err("use only lowercase letters, digits, `.` and `-`");
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("bucket names begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err("no two adjacent periods, and no period next to a hyphen");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("bucket names must not look like an IP address");
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return Err(
            "the prefixes `xn--`, `sthree-` and suffixes `-s3alias`, `--ol-s3` are reserved",
        );
    }
    Ok(())
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `bucket` follows S3's rules for general purpose bucket names: 3 to 63 characters; lowercase letters,
  digits, `.` and `-`; no IP-address look-alikes; no reserved prefixes or suffixes.
- `sse_algorithm = "aws:kms"` needs `kms_key`.

Behaviour:

- Buckets are created with ACLs disabled (object ownership `BucketOwnerEnforced`).
- With SSE-KMS, an S3 Bucket Key is enabled.
- Setting `versioning = false` on a versioned bucket suspends versioning; S3 cannot turn it off.
- If the bucket already exists in this account without `zinfra:*` tags, for example after a create was
  cut off before tagging, apply takes it over. A bucket tagged for another stack or address is refused:
  `bucket … already exists in this account and belongs to s3_bucket.assets in stack …`.

Outputs: `id` is the bucket name, `arn` is `arn:aws:s3:::<bucket>`, `regional_domain_name` is
`<bucket>.s3.<region>.amazonaws.com` (the domain CloudFront reaches it by).
"##;
