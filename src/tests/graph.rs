use super::Case;
use crate::graph::Graph;

fn stack() -> crate::stack::Stack {
    Case::new(
        "
        [route_table.public]
        vpc = \"vpc.main\"
        routes = [{ destination = \"0.0.0.0/0\", gateway = \"internet_gateway.gw\" }]
        subnets = [\"subnet.a\"]

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"

        [internet_gateway.gw]
        vpc = \"vpc.main\"

        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [iam_role.r]
        assume_role_policy = { Statement = [{ Effect = \"Allow\", Principal = { Service = \"ec2.amazonaws.com\" }, Action = \"sts:AssumeRole\", Condition = { StringEquals = { \"aws:SourceArn\" = \"${subnet.a.id}\" } } }] }
        depends_on = [\"internet_gateway.gw\"]
        ",
    )
    .ok()
}

#[test]
fn order_puts_dependencies_first_in_stable_layers() {
    let g = Graph::new(&stack()).unwrap();
    assert_eq!(
        g.order(),
        [
            "vpc.main",
            "subnet.a",
            "internet_gateway.gw",
            "iam_role.r",
            "route_table.public"
        ]
    );
}

#[test]
fn edges_come_from_references_policies_and_depends_on() {
    let g = Graph::new(&stack()).unwrap();
    let deps: Vec<&String> = g.deps("iam_role.r").collect();
    assert_eq!(deps, ["internet_gateway.gw", "subnet.a"]);
    let mut dependents: Vec<&String> = g.dependents("vpc.main").collect();
    dependents.sort();
    assert_eq!(
        dependents,
        ["internet_gateway.gw", "route_table.public", "subnet.a"]
    );
}

#[test]
fn dot_and_mermaid() {
    let g = Graph::new(&stack()).unwrap();
    let dot = g.to_dot();
    assert!(dot.starts_with("digraph zinfra {"), "{dot}");
    assert!(dot.contains("  \"subnet.a\" -> \"vpc.main\";\n"), "{dot}");
    let mm = g.to_mermaid();
    assert!(
        mm.contains("  route_table_public --> internet_gateway_gw\n"),
        "{mm}"
    );
}

/// The time a CI job must allow: bounded waits added up along the longest chain, a resource's own
/// `timeout` in place of its kind's, and chains that run side by side not added.
#[test]
fn longest_wait_adds_waits_along_the_longest_chain() {
    let s = Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [eip.nat]

        [nat_gateway.a]
        subnet = \"subnet.a\"
        eip = \"eip.nat\"
        timeout = \"25m\"

        [dynamodb_table.t]
        hash_key = \"id\"
        attributes = { id = \"S\" }
        depends_on = [\"nat_gateway.a\"]

        [dynamodb_table.side]
        hash_key = \"id\"
        attributes = { id = \"S\" }
        ",
    )
    .ok();
    let (longest, chain) = Graph::new(&s).unwrap().longest_wait(&s);
    // 25m (the NAT gateway's own timeout, not its kind's 10m) + 10m (a table); the other table runs beside.
    assert_eq!(longest, std::time::Duration::from_secs(35 * 60));
    assert_eq!(chain, ["nat_gateway.a", "dynamodb_table.t"]);
}
