//! ACM certificates, validated by DNS records written into the stack's Route53 zone.
//!
//! A certificate lives in the stack's region unless its `region` says `us-east-1` (where CloudFront takes
//! its certificates): one ACM client per region, built at connect time. The tag index covers only the
//! stack's region, so us-east-1 is listed with its own ListCertificates + ListTagsForCertificate.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_acm::Client;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, KeyAlgorithm, Tag, ValidationMethod,
};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use futures::future::try_join_all;

use super::route53::{StackZone, record_name, stack_zones_once, zone_records_once};
use super::toolkit::{
    Driver, ReadCx, TagApi, Undeclared, absent_if, delete_step, sdk_error, sync_tags, unhandled,
    user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Tags, Value};
use crate::wait::{self, Poll};

const KIND: &str = "acm_certificate";
/// The region CloudFront takes certificates from.
pub const CLOUDFRONT_REGION: &str = "us-east-1";
/// DNS validation usually completes within minutes; AWS gives up after 72 hours.
const ISSUE_TIMEOUT: Duration = crate::kinds::acm_certificate::WAIT;
const POLL_MAX: Duration = Duration::from_secs(15);
/// A load balancer or distribution lets go of a certificate a little after it stops using it.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub struct Acm {
    /// The stack's region.
    region: String,
    /// One client per region: the stack's, and us-east-1.
    clients: BTreeMap<String, Client>,
    route53: aws_sdk_route53::Client,
}

impl Acm {
    pub fn new(
        conf: &aws_config::SdkConfig,
        region: &str,
        route53: aws_sdk_route53::Client,
    ) -> Acm {
        let mut clients = BTreeMap::new();
        clients.insert(region.to_owned(), crate::client!(aws_sdk_acm, conf));
        if region != CLOUDFRONT_REGION {
            clients.insert(
                CLOUDFRONT_REGION.to_owned(),
                crate::client!(
                    aws_sdk_acm,
                    &super::toolkit::in_region(conf, CLOUDFRONT_REGION)
                ),
            );
        }
        Acm {
            region: region.to_owned(),
            clients,
            route53,
        }
    }

    fn client(&self, region: &str) -> Result<&Client> {
        self.clients
            .get(region)
            .ok_or_else(|| anyhow!("no ACM client for region {region}"))
    }

    /// The client for a certificate ARN (`arn:aws:acm:<region>:...`).
    fn client_for(&self, arn: &str) -> Result<(&str, &Client)> {
        let region = arn.split(':').nth(3).unwrap_or(&self.region);
        let (r, c) = self
            .clients
            .get_key_value(region)
            .ok_or_else(|| anyhow!("no ACM client for region {region} ({arn})"))?;
        Ok((r.as_str(), c))
    }
}

/// One DNS validation record: (name, value), both normalized.
type ValidationRecord = (String, String);

fn validation_records(c: &CertificateDetail) -> Option<Vec<ValidationRecord>> {
    let mut out: Vec<ValidationRecord> = Vec::new();
    for dv in c.domain_validation_options() {
        let rr = dv.resource_record()?;
        let rec = (record_name(rr.name()), record_name(rr.value()));
        if !out.contains(&rec) {
            out.push(rec);
        }
    }
    (!out.is_empty()).then_some(out)
}

#[async_trait]
impl Driver for Acm {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "ACM"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::IndexWithUsEast1
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let mut arns: Vec<(String, String)> = cx
            .tagged
            .iter()
            .map(|(a, arn)| (a.clone(), arn.clone()))
            .collect();
        // Certificates for CloudFront live in us-east-1: the stack's tag index there lists them.
        let (index, global) = futures::try_join!(cx.index(), cx.global_index())?;
        if self.region != CLOUDFRONT_REGION {
            arns.extend(global.of_kind(KIND));
        }
        if arns.is_empty() {
            return Ok(vec![]);
        }
        let certs = try_join_all(arns.iter().map(|(_, arn)| {
            // Tags come with the index entry: no ListTagsForCertificate.
            let indexed = index.tags(arn).or_else(|| global.tags(arn));
            self.describe(arn, indexed)
        }))
        .await?;
        // The stack's zones and their records, once per run, to see which zone holds each
        // certificate's records.
        let zones = stack_zones_once(&self.route53, cx).await?;
        let records = try_join_all(
            zones
                .iter()
                .map(|z| zone_records_once(&self.route53, cx, &z.id)),
        )
        .await?;
        let cnames: Vec<(&StackZone, Vec<ValidationRecord>)> = zones
            .iter()
            .zip(records)
            .map(|(z, sets)| {
                let cnames = sets
                    .iter()
                    .filter(|s| s.r#type() == &RrType::Cname)
                    .flat_map(|s| {
                        s.resource_records()
                            .iter()
                            .map(|v| (record_name(s.name()), record_name(v.value())))
                    })
                    .collect();
                (z, cnames)
            })
            .collect();
        let mut out = Vec::new();
        for ((address, arn), found) in arns.iter().zip(certs) {
            let Some((cert, tags)) = found else { continue };
            // Certificates being deleted or failed are not the stack's live certificate.
            let status = cert.status().cloned();
            if matches!(
                status,
                Some(CertificateStatus::Revoked | CertificateStatus::Inactive)
            ) {
                continue;
            }
            let domain = cert.domain_name().unwrap_or_default().to_owned();
            let mut live = Live::new(address, KIND, arn);
            live.outputs.insert("arn".into(), arn.clone());
            live.props
                .insert("domain_name".into(), Value::Str(domain.clone()));
            live.props.insert(
                "subject_alternative_names".into(),
                Value::List(
                    cert.subject_alternative_names()
                        .iter()
                        .filter(|s| **s != domain)
                        .map(|s| Value::Str(s.clone()))
                        .collect(),
                ),
            );
            if let Some(m) = cert
                .domain_validation_options()
                .first()
                .and_then(|d| d.validation_method())
            {
                live.props
                    .insert("validation_method".into(), Value::Str(m.as_str().into()));
            }
            if let Some(s) = cert.signature_algorithm() {
                // Read by `check --live` (ZS-ACM-001): the seed asks for SHA-256 with RSA.
                live.outputs
                    .insert("signature_algorithm".into(), s.to_owned());
            }
            if let Some(k) = cert.key_algorithm() {
                // DescribeCertificate says `RSA-2048` where RequestCertificate takes `RSA_2048`.
                live.props.insert(
                    "key_algorithm".into(),
                    Value::Str(k.as_str().replace('-', "_")),
                );
            }
            live.props.insert(
                "region".into(),
                Value::Str(arn.split(':').nth(3).unwrap_or(&self.region).to_owned()),
            );
            // `zone` reads as the stack zone holding every validation record, and only once the certificate
            // is issued: otherwise the plan shows `zone` to change, and apply writes the records and waits.
            if status == Some(CertificateStatus::Issued)
                && let Some(want) = validation_records(&cert)
                && let Some((z, _)) = cnames
                    .iter()
                    .find(|(_, have)| want.iter().all(|w| have.contains(w)))
            {
                live.props.insert("zone".into(), Value::Str(z.id.clone()));
            }
            live.tags = tags;
            out.push(live);
        }
        Ok(out)
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.request(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let (_, client) = self.client_for(&live.id)?;
        for field in changed {
            let done = match field.as_str() {
                "tags" => sync_tags(client, &live.id, &r.tags, &live.tags).await,
                "zone" => self.validate_and_wait(r, &live.id).await,
                other => Err(unhandled(KIND, other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        let mut out = Live::new(&r.address, KIND, &live.id);
        out.outputs = live.outputs.clone();
        out.props = r.props.clone();
        out.tags = r.tags.clone();
        Ok(out)
    }

    /// Deletes the certificate. Its DNS validation records stay in the zone: ACM gives every certificate for
    /// a name in an account the same record, so another certificate (another region, or a replacement
    /// created before this delete) may still need it for renewal. The zone's delete removes them.
    async fn delete(&self, live: &Live) -> Result<()> {
        let (_, client) = self.client_for(&live.id)?;
        wait::until("certificate release", RELEASE_TIMEOUT, POLL_MAX, || async {
            let res = client
                .delete_certificate()
                .certificate_arn(&live.id)
                .send()
                .await;
            delete_step(
                "DeleteCertificate",
                res,
                "ResourceNotFoundException",
                "ResourceInUseException",
            )
        })
        .await
        .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

impl Acm {
    /// The certificate and its tags (`indexed` when the tag index has them), or `None` when it is gone.
    async fn describe(
        &self,
        arn: &str,
        indexed: Option<&Tags>,
    ) -> Result<Option<(CertificateDetail, Tags)>> {
        let (_, client) = self.client_for(arn)?;
        let cert = absent_if(
            "DescribeCertificate",
            client
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await,
            &["ResourceNotFoundException"],
        )?;
        let Some(cert) = cert.and_then(|c| c.certificate) else {
            return Ok(None);
        };
        let tags = match indexed {
            Some(t) => t.clone(),
            None => match tags_of(client, arn).await? {
                Some(t) => t,
                None => return Ok(None),
            },
        };
        Ok(Some((cert, tags)))
    }

    async fn request(&self, r: &Resolved) -> Result<Live> {
        let region = r.props.str("region").unwrap_or(&self.region).to_owned();
        let client = self.client(&region)?;
        let domain = r
            .props
            .str("domain_name")
            .context("`domain_name` is required")?;
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        // The token is the same for every try of this create (`client_token`): a request repeated
        // after a lost reply, by the SDK or by a later run, gets the first certificate back. A token
        // ACM still remembers from a certificate deleted since (within its hour) returns that one:
        // then the next token in the chain makes a new one.
        let mut gone = Vec::new();
        let arn = loop {
            let out = client
                .request_certificate()
                .domain_name(domain)
                .set_subject_alternative_names(
                    Some(r.props.strs("subject_alternative_names")).filter(|s| !s.is_empty()),
                )
                .validation_method(ValidationMethod::Dns)
                .key_algorithm(KeyAlgorithm::from(
                    r.props.str("key_algorithm").unwrap_or("RSA_2048"),
                ))
                .idempotency_token(super::toolkit::client_token(r, &gone, 32))
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("RequestCertificate", e))?;
            let arn = out
                .certificate_arn()
                .context("RequestCertificate returned no ARN")?
                .to_owned();
            let exists = client
                .describe_certificate()
                .certificate_arn(&arn)
                .send()
                .await;
            match absent_if(
                "DescribeCertificate",
                exists,
                &["ResourceNotFoundException"],
            )? {
                None if gone.len() < 3 => gone.push(arn),
                _ => break arn,
            }
        };
        self.validate_and_wait(r, &arn).await?;
        let mut live = Live::new(&r.address, KIND, &arn);
        live.outputs.insert("arn".into(), arn);
        live.props = r.props.clone();
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// Write the DNS validation records into `zone` (UPSERT), then wait until the certificate is issued.
    async fn validate_and_wait(&self, r: &Resolved, arn: &str) -> Result<()> {
        let zone = r.props.str("zone").context("`zone` is required")?;
        let (_, client) = self.client_for(arn)?;
        let describe = || async {
            client
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeCertificate", e))?
                .certificate
                .context("DescribeCertificate returned no certificate")
        };
        // ACM takes a few seconds to publish the records it wants.
        let records = wait::until(
            "certificate validation records",
            Duration::from_secs(5 * 60),
            Duration::from_secs(5),
            || async {
                let c = describe().await?;
                Ok(match validation_records(&c) {
                    Some(r)
                        if c.domain_validation_options()
                            .iter()
                            .all(|d| d.resource_record().is_some()) =>
                    {
                        Poll::Ready(r)
                    }
                    _ => Poll::Pending("waiting for ACM's DNS records".into()),
                })
            },
        )
        .await?;
        let changes = records
            .iter()
            .map(|(name, value)| {
                Ok(Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(
                        ResourceRecordSet::builder()
                            .name(format!("{name}."))
                            .r#type(RrType::Cname)
                            .ttl(300)
                            .resource_records(
                                ResourceRecord::builder()
                                    .value(format!("{value}."))
                                    .build()?,
                            )
                            .build()?,
                    )
                    .build()?)
            })
            .collect::<Result<Vec<_>>>()?;
        self.route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build()?)
            .send()
            .await
            .map_err(|e| sdk_error("ChangeResourceRecordSets", e))
            .context("writing the certificate's DNS validation records")?;
        wait::until("certificate", ISSUE_TIMEOUT, POLL_MAX, || async {
            let c = describe().await?;
            match c.status() {
                Some(CertificateStatus::Issued) => Ok(Poll::Ready(())),
                Some(CertificateStatus::PendingValidation) | None => {
                    Ok(Poll::Pending("PENDING_VALIDATION".into()))
                }
                Some(other) => bail!(
                    "certificate {arn} is {}{}",
                    other.as_str(),
                    c.failure_reason()
                        .map(|f| format!(" ({})", f.as_str()))
                        .unwrap_or_default()
                ),
            }
        })
        .await
    }
}

async fn tags_of(client: &Client, arn: &str) -> Result<Option<Tags>> {
    let out = absent_if(
        "ListTagsForCertificate",
        client
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await,
        &["ResourceNotFoundException"],
    )?;
    Ok(out.map(|o| {
        user_tags(
            o.tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default())),
        )
    }))
}

#[async_trait]
impl TagApi for Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        let tags = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        self.add_tags_to_certificate()
            .certificate_arn(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("AddTagsToCertificate", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, have: &Tags) -> Result<()> {
        let tags = keys
            .iter()
            .map(|k| {
                Tag::builder()
                    .key(k)
                    .set_value(have.get(k).cloned())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.remove_tags_from_certificate()
            .certificate_arn(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("RemoveTagsFromCertificate", e))?;
        Ok(())
    }
}
