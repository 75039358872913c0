//! `ecr_repository`: schema and checks. AWS calls: `src/drivers/ecr.rs`; tests: `tests/drivers/ecr.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Grammar, Holds, KindDef, Ty};

/// ECR fixes a repository's encryption when it is created.
const ENCRYPTION_FIXED: &str = "ECR sets a repository's encryption only when it is created, so a new repository replaces it (its images are lost unless pushed again)";

pub static KIND: KindDef = KindDef {
    name: "ecr_repository",
    doc: "A private ECR repository: immutable tags, scan on push and AES-256 encryption unless told otherwise.",
    notes: NOTES,
    fields: &[
        Field::new(
            "repository_name",
            Ty::Str,
            "Repository name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "image_tag_mutability",
            Ty::Enum(&["IMMUTABLE", "MUTABLE"]),
            "`IMMUTABLE` refuses to overwrite a pushed tag.",
        )
        .default(FieldDefault::Str("IMMUTABLE")),
        Field::new(
            "scan_on_push",
            Ty::Bool,
            "Scan each pushed image for vulnerabilities.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "encryption_type",
            Ty::Enum(&["AES256", "KMS"]),
            "Encryption at rest: AES-256 (`AES256`) or a KMS key (`KMS`).",
        )
        .default(FieldDefault::Str("AES256"))
        .force_new_because(ENCRYPTION_FIXED),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Key for `KMS` encryption.",
        )
        .force_new_because(ENCRYPTION_FIXED),
        Field::new(
            "lifecycle_policy",
            Ty::Json,
            "Lifecycle policy (rules expiring old images).",
        ),
        Field::new(
            "repository_policy",
            Ty::Json,
            "Repository policy (who may pull or push).",
        )
        .policy(Grammar::Resource),
        Field::new(
            "force_delete",
            Ty::Bool,
            "Let destroy delete a repository that still holds images.",
        )
        .default(FieldDefault::Bool(false))
        .write_only(),
    ],
    physical_name: Some("repository_name"),
    taggable: true,
    outputs: &["id", "arn", "repository_url"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its images")),
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("repository_name")
        && !repository_name_ok(name)
    {
        cx.error_at_value(
            "repository_name",
            "invalid ECR repository name",
            "2 to 256 characters: lowercase letters, digits and `-_./`, starting with a letter or digit",
        );
    }
    match (cx.str("encryption_type"), cx.is_null("kms_key")) {
        (Some("KMS"), true) => cx.error_at_value(
            "encryption_type",
            "`KMS` encryption needs a key",
            "add `kms_key = \"kms_key.<name>\"`",
        ),
        (Some("AES256"), false) => cx.error_at_value(
            "kms_key",
            "`kms_key` is only used with `KMS` encryption",
            "remove `kms_key`, or set `encryption_type = \"KMS\"`",
        ),
        _ => {}
    }
}

/// ECR's pattern: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`, 2 to 256 characters.
fn repository_name_ok(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                && part
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                && !part.contains("..")
                && !part.contains("--")
                && !part.contains("__")
                && !part.contains("._")
                && !part.contains("_.")
                && !part.contains(".-")
                && !part.contains("-.")
                && !part.contains("-_")
                && !part.contains("_-")
        })
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `repository_name` is 2 to 256 characters: lowercase letters, digits and `-_./`, each part starting and
  ending with a letter or digit.
- `encryption_type = "KMS"` needs `kms_key`; `kms_key` is only used with `KMS`.

ECR sets a repository's encryption only when it creates it, so a change of `encryption_type` or `kms_key`
replaces the repository, and the plan says so:
`` (`encryption_type` and `kms_key` cannot be changed in place: ECR sets a repository's encryption only when it is created, so a new repository replaces it (its images are lost unless pushed again)) ``.
Deleting a repository that holds images fails unless `force_delete = true`.

```toml
[ecr_repository.hub]
repository_name = "zenoo-dev/hub"
lifecycle_policy = { rules = [{ rulePriority = 1, description = "keep the last 30 images", selection = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }, action = { type = "expire" } }] }
```

Outputs: `id` is the repository name, `arn` its ARN, `repository_url` the URL images are pushed to
(`<account>.dkr.ecr.<region>.amazonaws.com/<name>`).
"##;
