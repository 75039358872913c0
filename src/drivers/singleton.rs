//! Account singletons (a GuardDuty detector, Security Hub): one per account and region, often enabled
//! before any stack, by hand or by the organisation. A stack adopts the one it finds (schema
//! `account_singleton`), and records on it, in the tag [`TAG_FOUND`], what it was like: its settings and
//! the tag keys it had. Destroy then puts those settings back and removes only the tags the stack
//! added, so the account is left as it was found; the tags it had are never the stack's to remove.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Live, Resource, Tags, Value};

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

/// What a singleton is as read: its found record (kept in the outputs for update and delete), and the
/// tags that are the stack's (those it had when found are not).
pub fn read_tags(live: &mut Live, all: Tags) {
    let found = all.get(TAG_FOUND).map(|f| Found::decode(f));
    if let Some(f) = all.get(TAG_FOUND) {
        live.outputs.insert(TAG_FOUND.into(), f.clone());
    }
    live.tags = stack_tags(all, found.as_ref());
}

/// The found record of an adopted singleton, from what read recorded.
pub fn found_of(live: &Live) -> Option<Found> {
    live.outputs.get(TAG_FOUND).map(|f| Found::decode(f))
}

/// The tag calls an update makes: (tags to set, keys to remove). Adopting (`found`) records what the
/// singleton was and adds the stack's tags beside the ones it had, which stay.
pub fn tag_writes(
    live: &Live,
    want: &Tags,
    found: Option<&Found>,
) -> (HashMap<String, String>, Vec<String>) {
    let mut want = want.clone();
    let (have, keep) = match found {
        Some(f) => {
            want.insert(TAG_FOUND.into(), f.encode());
            (Tags::new(), f.tag_keys.clone())
        }
        None => (live.tags.clone(), Vec::new()),
    };
    let super::toolkit::TagChanges { set, mut remove } = super::toolkit::tag_changes(&have, &want);
    remove.retain(|k| !keep.contains(k));
    let set = set
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (set, remove)
}

/// Writes what [`tag_writes`] decides with the service's tag calls.
pub async fn write_tags(
    api: &impl super::toolkit::TagApi,
    arn: &str,
    live: &Live,
    want: &Tags,
    found: Option<&Found>,
) -> anyhow::Result<()> {
    let (set, remove) = tag_writes(live, want, found);
    if !set.is_empty() {
        let pairs = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        api.tag(arn, pairs).await?;
    }
    if !remove.is_empty() {
        api.untag(arn, remove, &live.tags).await?;
    }
    Ok(())
}

/// The keys destroy removes from an adopted singleton: the stack's tags as read, and the found record.
/// Nothing is read again: a tag someone added since is not the stack's to remove.
pub fn destroy_tag_keys(live: &Live, found: &Found) -> Vec<String> {
    let mut tags = live.tags.clone();
    tags.insert(TAG_FOUND.into(), found.encode());
    added_tag_keys(&tags, found)
}

/// A setting as the found record and the organisation note keep it.
pub fn word(v: Option<&Value>) -> String {
    match v {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Str(s)) => s.clone(),
        _ => "none".into(),
    }
}

/// Whether an organisation's administrator could matter for this read: a setting it controls differs
/// from the file's, or (destroy) an adopted singleton's found settings may have to be put back. Only
/// then is the administrator asked for (one call), so a plan with nothing to change makes none.
pub fn administrator_may_matter(live: &Live, desired: Option<&Resource>, fields: &[&str]) -> bool {
    match desired {
        Some(r) => fields.iter().any(|f| {
            r.props
                .get(*f)
                .is_some_and(|w| Some(w) != live.props.get(*f))
        }),
        None => live.outputs.contains_key(TAG_FOUND),
    }
}

/// When an organisation's settings could matter ([`administrator_may_matter`]), asks
/// `administrator` which account administers this one and, if one does, leaves what it controls
/// to it ([`leave_to_organisation`]). No request otherwise.
pub async fn defer_to_organisation<F, Fut>(
    live: &mut Live,
    desired: Option<&Resource>,
    service: &str,
    fields: &[&str],
    administrator: F,
) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<String>>>,
{
    if administrator_may_matter(live, desired, fields)
        && let Some(admin) = administrator().await?
    {
        leave_to_organisation(live, desired, admin, service, fields);
    }
    Ok(())
}

/// A member account whose administrator (`admin`) sets `fields`: the actual values are kept as
/// `organisation:<field>` outputs, the props take the file's so the plan proposes no change zinfra may
/// not make, and the difference is said on stderr.
pub fn leave_to_organisation(
    live: &mut Live,
    desired: Option<&Resource>,
    admin: String,
    service: &str,
    fields: &[&str],
) {
    for field in fields {
        let actual = live.props.get(*field).cloned().unwrap_or(Value::Null);
        live.outputs
            .insert(format!("organisation:{field}"), word(Some(&actual)));
        if let Some(want) = desired.and_then(|r| r.props.get(*field))
            && *want != actual
        {
            tracing::warn!(
                "{}: {service} in this account is managed by the organisation's administrator account {admin}: `{field}` is {} there (the file says {}); zinfra leaves it to the organisation",
                live.address,
                word(Some(&actual)),
                word(Some(want))
            );
            live.props.insert((*field).to_owned(), want.clone());
        }
    }
    live.outputs.insert("administrator".into(), admin);
}

/// Whether an organisation's administrator sets what [`leave_to_organisation`] listed.
pub fn organisation_managed(live: &Live) -> bool {
    live.outputs.contains_key("administrator")
}

/// A setting as it really is: the organisation's where it sets it, else as read.
pub fn actual(live: &Live, field: &str) -> String {
    live.outputs
        .get(&format!("organisation:{field}"))
        .cloned()
        .unwrap_or_else(|| word(live.props.get(field)))
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
