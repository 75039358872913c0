//! `eip`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::{KindDef, no_validation};

pub static KIND: KindDef = KindDef {
    name: "eip",
    doc: "An Elastic IP address (VPC domain), e.g. the public address of a NAT gateway.",
    notes: NOTES,
    fields: &[],
    physical_name: None,
    taggable: true,
    // AWS reports no owner for an address, so zinfra cannot build its ARN from a read.
    outputs: &["id", "public_ip"],
    validate: no_validation,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"An Elastic IP address in the VPC domain, e.g. the public address of a NAT gateway. It has no fields of
its own (only `tags`).

Outputs: `id` is the allocation id (`eipalloc-…`), `public_ip` the address. There is no `arn`: AWS
reports no owner for an address. Destroy releases the address; it retries while a NAT gateway that is
being deleted still holds it.

```toml
[eip.nat_a]
tags = { Name = "zenoo-prod-nat-a" }
```
"##;
