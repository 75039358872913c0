//! The resource graph: who depends on whom, in what order to create, and cycles.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::model::Address;
use crate::stack::Stack;

#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Dependencies first; ties keep file order.
    order: Vec<Address>,
    deps: BTreeMap<Address, BTreeSet<Address>>,
}

impl Graph {
    pub fn new(stack: &Stack) -> Result<Graph, Box<Diagnostic>> {
        let mut deps: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
        // The field holding each edge, to point at it when the edge closes a cycle.
        let mut via: BTreeMap<(Address, Address), String> = BTreeMap::new();
        for r in &stack.resources {
            let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
            let entry = deps.entry(r.address.clone()).or_default();
            for f in kind.fields {
                let key = f.name.strip_suffix("_from_env").unwrap_or(f.name);
                if let Some(v) = r.props.get(key) {
                    crate::stack::walk_refs(&f.ty, v, f.name, &mut |path, _, reference| {
                        entry.insert(reference.address.clone());
                        via.entry((r.address.clone(), reference.address.clone()))
                            .or_insert_with(|| path.to_owned());
                    });
                }
            }
            for (i, d) in r.depends_on.iter().enumerate() {
                entry.insert(d.clone());
                via.entry((r.address.clone(), d.clone()))
                    .or_insert_with(|| format!("depends_on[{i}]"));
            }
        }
        let file_order: Vec<Address> = stack.resources.iter().map(|r| r.address.clone()).collect();
        match topo(&file_order, &deps) {
            Ok(order) => Ok(Graph { order, deps }),
            Err(cycle) => {
                let (a, b) = (&cycle[0], &cycle[1]);
                let path = via
                    .get(&(a.clone(), b.clone()))
                    .cloned()
                    .unwrap_or_default();
                let text = cycle.join(" -> ");
                Err(Box::new(
                    Diagnostic::new(format!("dependency cycle: {text}"), stack.spans.value(a, &path), format!("{a} depends on {b} here"))
                        .help("break the cycle: resources cannot depend on themselves, directly or through others"),
                ))
            }
        }
    }

    pub fn order(&self) -> &[Address] {
        &self.order
    }

    pub fn deps(&self, address: &str) -> impl Iterator<Item = &Address> {
        self.deps.get(address).into_iter().flatten()
    }

    /// Resources that depend on `address`, directly.
    pub fn dependents<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a Address> + 'a {
        self.deps
            .iter()
            .filter(move |(_, d)| d.contains(address))
            .map(|(a, _)| a)
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph zinfra {\n  rankdir = LR;\n  node [shape = box];\n");
        for a in &self.order {
            out.push_str(&format!("  \"{a}\";\n"));
        }
        for a in &self.order {
            for d in self.deps(a) {
                out.push_str(&format!("  \"{a}\" -> \"{d}\";\n"));
            }
        }
        out.push_str("}\n");
        out
    }

    pub fn to_mermaid(&self) -> String {
        let id = |a: &str| a.replace(['.', '-'], "_");
        let mut out = String::from("flowchart LR\n");
        for a in &self.order {
            out.push_str(&format!("  {}[\"{a}\"]\n", id(a)));
        }
        for a in &self.order {
            for d in self.deps(a) {
                out.push_str(&format!("  {} --> {}\n", id(a), id(d)));
            }
        }
        out
    }
}

/// Kahn's algorithm, stable in `nodes` order; on a cycle returns it as `a, b, …, a`.
pub fn topo(
    nodes: &[Address],
    deps: &BTreeMap<Address, BTreeSet<Address>>,
) -> Result<Vec<Address>, Vec<Address>> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::with_capacity(nodes.len());
    loop {
        let before = order.len();
        for n in nodes {
            if done.contains(n.as_str()) {
                continue;
            }
            let ready = deps
                .get(n)
                .into_iter()
                .flatten()
                .all(|d| done.contains(d.as_str()) || !nodes.contains(d));
            if ready {
                done.insert(n);
                order.push(n.clone());
            }
        }
        if order.len() == nodes.len() {
            return Ok(order);
        }
        if order.len() == before {
            break;
        }
    }
    // Walk unfinished dependencies from the first stuck node until one repeats.
    let start = nodes
        .iter()
        .find(|n| !done.contains(n.as_str()))
        .expect("a stuck node");
    let mut path = vec![start.clone()];
    loop {
        let last = path.last().expect("non-empty");
        let next = deps
            .get(last)
            .into_iter()
            .flatten()
            .find(|d| !done.contains(d.as_str()) && nodes.contains(d))
            .expect("a stuck node has a stuck dependency")
            .clone();
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return Err(cycle);
        }
        path.push(next);
    }
}

impl Graph {
    /// The longest chain of waits an apply or destroy of `stack` can meet: each resource's own
    /// bound (its `timeout`, else its kind's `wait`), added up along dependency chains (a chain runs
    /// one after the other; separate chains run at once). With the chain, dependencies first. A CI job
    /// that runs `apply` needs a longer timeout than this.
    pub fn longest_wait(&self, stack: &Stack) -> (std::time::Duration, Vec<Address>) {
        use std::time::Duration;
        let own = |a: &Address| -> Duration {
            stack.get(a).map_or(Duration::ZERO, |r| {
                r.timeout.map(Duration::from_secs).unwrap_or_else(|| {
                    crate::kinds::kind(&r.kind)
                        .and_then(|k| k.wait)
                        .unwrap_or_default()
                })
            })
        };
        // Dependencies come first in `order`, so each total is final when it is read.
        let mut total: BTreeMap<&Address, (Duration, Option<&Address>)> = BTreeMap::new();
        for a in &self.order {
            let before = self
                .deps(a)
                .filter_map(|d| total.get(d).map(|(t, _)| (*t, d)))
                .max_by_key(|(t, _)| *t);
            let (t, prev) = before.map_or((Duration::ZERO, None), |(t, d)| (t, Some(d)));
            total.insert(a, (t + own(a), prev));
        }
        let Some((&end, &(longest, _))) = total.iter().max_by_key(|(_, (t, _))| *t) else {
            return (Duration::ZERO, Vec::new());
        };
        let mut chain = vec![end.clone()];
        let mut at = end;
        while let Some((_, Some(prev))) = total.get(at) {
            chain.push((*prev).clone());
            at = prev;
        }
        chain.reverse();
        chain.retain(|a| !own(a).is_zero());
        (longest, chain)
    }
}
