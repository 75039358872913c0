//! `nat_gateway`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, KindDef, Ty};

/// The longest one operation waits for AWS: a NAT gateway turning available, or deleted.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub static KIND: KindDef = KindDef {
    name: "nat_gateway",
    doc: "A public NAT gateway: outbound internet access for private subnets. Apply waits until it is \
          `available`; destroy waits until it is `deleted` so its address can be released.",
    notes: NOTES,
    fields: &[
        Field::new(
            "subnet",
            Ty::Ref(&["subnet"], "id"),
            "A public subnet (one that routes to an internet gateway), in the AZ it serves.",
        )
        .required()
        .force_new(),
        Field::new(
            "eip",
            Ty::Ref(&["eip"], "id"),
            "The Elastic IP address it sends traffic from.",
        )
        .required()
        .force_new(),
    ],
    physical_name: None,
    taggable: true,
    // AWS reports no owner for a NAT gateway, so zinfra cannot build its ARN from a read.
    outputs: &["id"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

/// A public NAT gateway only works from a subnet that routes to the internet.
fn validate(cx: &ResourceCx<'_>) {
    let Some(subnet) = cx.referenced("subnet") else {
        return;
    };
    if subnet.props.get("tier") == Some(&Value::Str("private".into())) {
        cx.error_at_value(
            "subnet",
            &format!("NAT gateway in private subnet {}", subnet.address),
            "a public NAT gateway needs a subnet with `tier = \"public\"` (routing to an internet gateway)",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A public NAT gateway: outbound internet access for private subnets. Apply waits until it is `available`
(default timeout 10 minutes, or the resource's `timeout`) before anything that references it, such as a
route, is created. Destroy waits until it is `deleted`, so its address can then be released. A plan or
apply that finds a gateway still `pending` (for example after a timed-out apply) waits for it instead of
creating another.

Checks: the subnet must not have `tier = "private"`.

The connectivity type is always `public`. Outputs: `id` (`nat-…`); there is no `arn`, as for `eip`. A
public NAT gateway needs the VPC's internet gateway attached: give `depends_on =
["internet_gateway.main"]`, since the gateway does not reference it. Use one per AZ in production, and
route each AZ's private subnets through the gateway in that AZ.

```toml
[nat_gateway.a]
subnet = "subnet.public_a"
eip = "eip.nat_a"
depends_on = ["internet_gateway.main"]
```
"##;
