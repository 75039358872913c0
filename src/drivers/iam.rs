use anyhow::{Result, bail};
use async_trait::async_trait;

use super::{Driver, ReadCx};
use crate::model::{Live, Resolved};

pub struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    pub fn new(client: aws_sdk_iam::Client) -> Iam {
        Iam { client }
    }
}

#[async_trait]
impl Driver for Iam {
    fn kinds(&self) -> &'static [&'static str] {
        &[]
    }
    async fn read(&self, _cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let _ = &self.client;
        Ok(vec![])
    }
    async fn create(&self, r: &Resolved) -> Result<Live> {
        bail!("{}: not implemented", r.address)
    }
    async fn update(&self, r: &Resolved, _live: &Live, _changed: &[String]) -> Result<Live> {
        bail!("{}: not implemented", r.address)
    }
    async fn delete(&self, live: &Live) -> Result<()> {
        bail!("{}: not implemented", live.address)
    }
}
