//! Fast unit tests of the pure engine: no network.

mod apply;
mod check;
mod diff;
mod docs;
mod fuzz;
mod graph;
mod guards;
mod layering;
mod validation;

use crate::stack::{self, Stack};

/// A stack file under test, in the spirit of just's test builder: the header is added for you.
pub struct Case {
    text: String,
}

pub const HEADER: &str = "[stack]\nname = \"t\"\nenvironment = \"dev\"\nregion = \"us-east-1\"\n\n";

impl Case {
    pub fn new(body: &str) -> Case {
        Case {
            text: format!("{HEADER}{}", unindent(body)),
        }
    }
    pub fn raw(text: &str) -> Case {
        Case {
            text: unindent(text),
        }
    }
    fn env(name: &str) -> Option<String> {
        match name {
            "SET_VAR" => Some("s3cr3t-value".to_owned()),
            // Long enough for an ElastiCache user password.
            "REDIS_PASSWORD" => Some("redis-s3cr3t-0123456789".to_owned()),
            _ => None,
        }
    }
    pub fn load(&self) -> Result<Stack, Box<stack::Invalid>> {
        crate::validate::load("stack.toml", self.text.clone(), &Case::env)
    }
    #[track_caller]
    pub fn ok(&self) -> Stack {
        match self.load() {
            Ok(s) => s,
            Err(inv) => panic!("expected a valid stack, got:\n{}", inv.render(false)),
        }
    }
}

/// Strip the common leading indentation, so expectations can sit indented in the test.
pub fn unindent(s: &str) -> String {
    let s = s.strip_prefix('\n').unwrap_or(s);
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    s.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
