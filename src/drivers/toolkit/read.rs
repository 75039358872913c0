//! How drivers find a stack's live resources: the read context, the shared tag index, and the
//! [`Driver`] trait every service implements.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use async_trait::async_trait;

use super::error::sdk_error;
use super::tags::user_tags;
use crate::model::{Address, Live, Resolved, Resource, TAG_ADDRESS, TAG_STACK, Tags, kind_of};

/// What a driver is given to find a stack's live resources of one kind.
pub struct ReadCx<'a> {
    pub stack: &'a str,
    pub kind: &'a str,
    /// The resources of this kind the stack file declares.
    pub desired: Vec<&'a Resource>,
    /// (address, ARN) of every resource of this kind tagged for the stack, from one tagging-API call.
    /// An address may come more than once (a key pending deletion beside its successor, a lost-reply
    /// duplicate, a stale index entry): drivers read each and drop the ones that are gone.
    pub tagged: Vec<(Address, String)>,
    /// What every kind's read in this run shares: the tag indexes and lists several kinds need.
    pub run: &'a ReadRun,
}

impl ReadCx<'_> {
    /// The stack's tag index in its own region (the listing `tagged` comes from).
    pub async fn index(&self) -> Result<Arc<TagIndex>> {
        self.run.index().await
    }

    /// The stack's tag index in us-east-1, where CloudFront and what it uses live.
    pub async fn global_index(&self) -> Result<Arc<TagIndex>> {
        self.run.global_index().await
    }
}

/// Everything tagged for one stack in one region, from the Resource Groups Tagging API (GetResources
/// filtered by the stack tag, 100 resources a page): ARN → address and tags. A driver of a service the
/// API covers needs no tag read of its own: a resource's tags come with it here.
#[derive(Debug, Default)]
pub struct TagIndex {
    entries: Vec<(Address, String)>,
    tags: HashMap<String, Tags>,
}

impl TagIndex {
    /// (address, ARN) of the stack's resources of `kind`, in the order AWS listed them.
    pub fn of_kind(&self, kind: &str) -> Vec<(Address, String)> {
        self.entries
            .iter()
            .filter(|(a, _)| kind_of(a) == kind)
            .cloned()
            .collect()
    }

    /// (ARN, tags) of everything the index lists, addressed or not.
    pub fn all(&self) -> impl Iterator<Item = (&str, &Tags)> {
        self.tags.iter().map(|(a, t)| (a.as_str(), t))
    }

    /// The tags AWS holds for `arn` (without `aws:` keys), when the index lists it.
    pub fn tags(&self, arn: &str) -> Option<&Tags> {
        self.tags.get(arn)
    }
}

type IndexFuture = futures::future::Shared<
    futures::future::BoxFuture<'static, std::result::Result<Arc<TagIndex>, Arc<String>>>,
>;

type Memo = Arc<dyn std::any::Any + Send + Sync>;

/// The state one read of a stack (a plan, or apply's look after a failed change) shares between the
/// kinds it reads concurrently: each region's tag index, fetched at most once and only when a driver
/// asks for it, and lists several kinds need (hosted zones, listeners, ...) via [`ReadRun::once`].
pub struct ReadRun {
    regional: IndexFuture,
    global: IndexFuture,
    memo: std::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Memo>>>>,
}

impl ReadRun {
    pub fn new(
        stack: &str,
        regional: &[TaggingClient],
        global: Option<&[TaggingClient]>,
    ) -> ReadRun {
        let regional_index = index_future(regional.to_vec(), stack.to_owned());
        let global = match global {
            Some(g) => index_future(g.to_vec(), stack.to_owned()),
            None => regional_index.clone(),
        };
        ReadRun {
            regional: regional_index,
            global,
            memo: Default::default(),
        }
    }

    pub async fn index(&self) -> Result<Arc<TagIndex>> {
        self.regional.clone().await.map_err(|e| anyhow!("{e}"))
    }

    pub async fn global_index(&self) -> Result<Arc<TagIndex>> {
        self.global.clone().await.map_err(|e| anyhow!("{e}"))
    }

    /// `fetch`'s result, computed once per run for `key` however many kinds ask, concurrently or not.
    /// Keys are "service:what"; one key always holds one type. A failed fetch is tried again by the
    /// next caller.
    pub async fn once<T, F, Fut>(&self, key: impl Into<String>, fetch: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = key.into();
        let cell = self
            .memo
            .lock()
            .expect("read cache lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let v = cell
            .get_or_try_init(|| async { fetch().await.map(|v| Arc::new(v) as Memo) })
            .await?;
        v.clone()
            .downcast::<T>()
            .map_err(|_| anyhow!("read cache `{key}` holds another type"))
    }
}

pub type TaggingClient = aws_sdk_resourcegroupstagging::Client;

/// The index over every tagging endpoint in use: one on AWS; with services split between emulators
/// (`AWS_ENDPOINT_URL_<SERVICE>`), each emulator's own index, merged.
fn index_future(clients: Vec<TaggingClient>, stack: String) -> IndexFuture {
    futures::FutureExt::shared(Box::pin(async move {
        let mut out = TagIndex::default();
        let parts = futures::future::try_join_all(clients.iter().map(|c| tag_index(c, &stack)))
            .await
            .map_err(|e| Arc::new(format!("{e:#}")))?;
        for part in parts {
            out.entries.extend(part.entries);
            out.tags.extend(part.tags);
        }
        Ok(Arc::new(out))
    }))
}

/// Everything tagged for the stack in the client's region: one paginated call.
async fn tag_index(client: &TaggingClient, stack: &str) -> Result<TagIndex> {
    let mut out = TagIndex::default();
    let mut pages = client
        .get_resources()
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key(TAG_STACK)
                .values(stack)
                .build(),
        )
        // The most AWS allows (the default is 50); AWS recommends it over TagsPerPage.
        .resources_per_page(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("GetResources", e))?;
        for m in page.resource_tag_mapping_list() {
            let tags = user_tags(m.tags().iter().map(|t| (t.key(), t.value())));
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            // Resources a stack resource writes for it (zinfra:parent) carry no address of their own.
            if let Some(addr) = tags.get(TAG_ADDRESS) {
                out.entries.push((addr.clone(), arn.to_owned()));
            }
            out.tags.insert(arn.to_owned(), tags);
        }
    }
    Ok(out)
}

/// How a plan looks for a kind the stack file does not declare (resources left from an earlier version
/// of the file): a stack reads what it can own, nothing else, so a stack without MSK never calls Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undeclared {
    /// Read only when the stack's tag index lists resources of the kind (in the stack's region, or in
    /// us-east-1 for `us_east_1` kinds). Right for every kind AWS's index covers.
    Index,
    /// Kinds an index can miss (IAM and Route 53 are global; S3 buckets, KMS keys and Elastic IPs are
    /// missing from some emulators' indexes): read with the kind's own listing. A service that is not
    /// there at all means there is nothing of the kind to find.
    Listing,
    /// [`Undeclared::Index`], looking in us-east-1's index too (CloudFront and what it uses).
    IndexWithUsEast1,
}

#[async_trait]
pub trait Driver: Send + Sync {
    /// Kinds this driver manages.
    fn kinds(&self) -> &'static [&'static str];
    /// Whether `read` uses `ReadCx::tagged`; those that find resources their own way start without waiting for it.
    fn uses_tag_index(&self) -> bool {
        true
    }
    /// The service's id in `AWS_ENDPOINT_URL_<ID>` (e.g. `KAFKA`), for messages about its endpoint.
    fn service(&self) -> &'static str;
    /// How a plan finds this kind's resources when the stack file declares none of them.
    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Index
    }
    /// Every live resource of `cx.kind` that belongs to the stack (tagged for it, or found from its parent),
    /// with props normalized into the same shape the schema gives the desired ones.
    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>>;
    /// The existing resource with `r`'s physical name, whoever's it is (read only for declared
    /// resources the stack's read did not find): apply must not take it over unless the file adopts
    /// it. `None` when nothing of that name exists, or the kind's names cannot collide.
    async fn find(&self, _cx: &ReadCx<'_>, _r: &Resource) -> Result<Option<Live>> {
        Ok(None)
    }
    /// Create the resource, tagging it with `r.tags`; returns at least its id and outputs.
    async fn create(&self, r: &Resolved) -> Result<Live>;
    /// Change the named fields (and tags, listed as `tags`) in place.
    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live>;
    async fn delete(&self, live: &Live) -> Result<()>;
}
