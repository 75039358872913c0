//! `zinfra output`: what a pipeline's next step needs from the stack (DNS names, repository URLs, role
//! ARNs…), read from live state. Pure: the command reads, this module picks and formats.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Address, Live};
use crate::provider::StackInfo;

/// Outputs AWS knows but a pipeline has no use for (route alias plumbing).
const HIDDEN: &[&str] = &["alias_target"];

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Outputs {
    /// The file's `[outputs]`: `None` while the resource does not exist (yet).
    pub outputs: BTreeMap<String, Option<String>>,
    /// Every output of every resource of the stack, by address.
    pub resources: BTreeMap<Address, BTreeMap<String, String>>,
}

pub fn collect(info: &StackInfo, live: &[Live]) -> Outputs {
    let resources: BTreeMap<Address, BTreeMap<String, String>> = live
        .iter()
        .map(|l| {
            let o = l
                .outputs
                .iter()
                .filter(|(k, _)| !HIDDEN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (l.address.clone(), o)
        })
        .collect();
    let outputs = info
        .outputs
        .iter()
        .map(|(name, r)| {
            let v = resources
                .get(&r.address)
                .and_then(|o| o.get(&r.attr))
                .cloned();
            (name.clone(), v)
        })
        .collect();
    Outputs { outputs, resources }
}

impl Outputs {
    /// One value by name: a declared output, or `kind.name.attr` of any resource.
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.outputs.get(name) {
            return v.as_deref();
        }
        let (address, attr) = name.rsplit_once('.')?;
        self.resources.get(address)?.get(attr).map(String::as_str)
    }

    /// `name = value` lines: the declared outputs first, then every resource's.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, v) in &self.outputs {
            out.push_str(&format!(
                "{name} = {}\n",
                v.as_deref().unwrap_or("(not created yet)")
            ));
        }
        if !self.outputs.is_empty() && !self.resources.is_empty() {
            out.push('\n');
        }
        for (address, o) in &self.resources {
            for (attr, v) in o {
                out.push_str(&format!("{address}.{attr} = {v}\n"));
            }
        }
        out
    }

    /// The `$GITHUB_OUTPUT` lines for the declared outputs (or the one asked for), in the
    /// multi-line form so no value can break out of its line.
    pub fn github(&self, only: Option<(&str, &str)>) -> String {
        let pairs: Vec<(String, &str)> = match only {
            Some((name, v)) => vec![(step_name(name), v)],
            None => self
                .outputs
                .iter()
                .filter_map(|(n, v)| Some((n.clone(), v.as_deref()?)))
                .collect(),
        };
        pairs
            .into_iter()
            .map(|(name, v)| format!("{name}<<ZINFRA_EOF\n{v}\nZINFRA_EOF\n"))
            .collect()
    }
}

/// A step output name for `kind.name.attr` (dots are awkward in `steps.x.outputs.*`).
fn step_name(name: &str) -> String {
    name.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Ref;

    #[test]
    fn declared_outputs_resource_outputs_and_github_form() {
        let mut info = StackInfo {
            name: "s".into(),
            ..StackInfo::default()
        };
        info.outputs.insert(
            "alb".into(),
            Ref {
                address: "lb.web".into(),
                attr: "dns_name".into(),
            },
        );
        info.outputs.insert(
            "repo".into(),
            Ref {
                address: "ecr_repository.app".into(),
                attr: "repository_url".into(),
            },
        );
        let mut lb = Live::new("lb.web", "lb", "arn:lb");
        lb.outputs
            .insert("dns_name".into(), "web-1.elb.test".into());
        lb.outputs.insert("alias_target".into(), "x".into());
        let o = collect(&info, &[lb]);
        assert_eq!(o.get("alb"), Some("web-1.elb.test"));
        assert_eq!(o.get("repo"), None);
        assert_eq!(o.get("lb.web.id"), Some("arn:lb"));
        assert_eq!(o.get("lb.web.alias_target"), None);
        assert_eq!(
            o.text(),
            "alb = web-1.elb.test\nrepo = (not created yet)\n\nlb.web.dns_name = web-1.elb.test\nlb.web.id = arn:lb\n"
        );
        assert_eq!(
            o.github(None),
            "alb<<ZINFRA_EOF\nweb-1.elb.test\nZINFRA_EOF\n"
        );
        assert_eq!(
            o.github(Some(("lb.web.id", "arn:lb"))),
            "lb_web_id<<ZINFRA_EOF\narn:lb\nZINFRA_EOF\n"
        );
    }
}
