use anyhow::{Result, bail};
use async_trait::async_trait;

use super::{Driver, ReadCx};
use crate::model::{Live, Resolved};

pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    pub fn new(client: aws_sdk_s3::Client) -> S3 {
        S3 { client }
    }
}

#[async_trait]
impl Driver for S3 {
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
