//! Account singletons (a GuardDuty detector, Security Hub): one per account and region, often enabled
//! before any stack, by hand or by the organisation. A stack adopts the one it finds (schema
//! `account_singleton`), and records on it, in the tag [`TAG_FOUND`], what it was like: its settings and
//! the tag keys it had. Destroy then puts those settings back and removes only the tags the stack
//! added, so the account is left as it was found; the tags it had are never the stack's to remove.

use std::collections::BTreeMap;

use crate::model::Tags;

/// `enable=true frequency=SIX_HOURS tags=Team+Owner`: AWS tag values take letters, digits, spaces and
/// `_ . : / = + - @`, so settings are `k=v` words and tag keys are joined with `+`.
pub const TAG_FOUND: &str = "zinfra:found";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub settings: BTreeMap<String, String>,
    pub tag_keys: Vec<String>,
}

impl Found {
    pub fn new<'a>(settings: impl IntoIterator<Item = (&'a str, String)>, tags: &Tags) -> Found {
        Found {
            settings: settings
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            tag_keys: tags
                .keys()
                .filter(|k| !k.starts_with("zinfra:") && !k.starts_with("aws:"))
                .cloned()
                .collect(),
        }
    }

    pub fn encode(&self) -> String {
        let mut words: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        words.push(format!("tags={}", self.tag_keys.join("+")));
        words.join(" ")
    }

    pub fn decode(text: &str) -> Found {
        let mut found = Found::default();
        for word in text.split(' ') {
            match word.split_once('=') {
                Some(("tags", keys)) => {
                    found.tag_keys = keys
                        .split('+')
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                Some((k, v)) => {
                    found.settings.insert(k.to_owned(), v.to_owned());
                }
                None => {}
            }
        }
        found
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }
}

/// The tags that are the stack's on an adopted singleton: all but those it had when found (and the
/// found record itself), so a plan never proposes to remove tags that were there before the stack.
pub fn stack_tags(tags: Tags, found: Option<&Found>) -> Tags {
    tags.into_iter()
        .filter(|(k, _)| k != TAG_FOUND)
        .filter(|(k, _)| found.is_none_or(|f| !f.tag_keys.contains(k)))
        .collect()
}

/// The tag keys destroy removes from an adopted singleton: every one it did not have when found.
pub fn added_tag_keys(tags: &Tags, found: &Found) -> Vec<String> {
    tags.keys()
        .filter(|k| !k.starts_with("aws:") && !found.tag_keys.contains(k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_round_trips_through_a_tag_value() {
        let tags: Tags = [
            ("Team".to_owned(), "sec".to_owned()),
            ("zinfra:stack".to_owned(), "x".to_owned()),
        ]
        .into();
        let f = Found::new(
            [
                ("enable", "true".to_owned()),
                ("frequency", "SIX_HOURS".to_owned()),
            ],
            &tags,
        );
        assert_eq!(f.encode(), "enable=true frequency=SIX_HOURS tags=Team");
        assert_eq!(Found::decode(&f.encode()), f);
        let mut now = tags.clone();
        now.insert(TAG_FOUND.into(), f.encode());
        now.insert("Project".into(), "zenoo".into());
        assert_eq!(
            stack_tags(now.clone(), Some(&f)).keys().collect::<Vec<_>>(),
            ["Project", "zinfra:stack"]
        );
        assert_eq!(
            added_tag_keys(&now, &f),
            ["Project", "zinfra:found", "zinfra:stack"]
        );
        assert_eq!(Found::decode("tags="), Found::default());
    }
}
