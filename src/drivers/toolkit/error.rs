//! SDK errors reduced to what zinfra decides on: a typed [`AwsError`] (operation, code, message,
//! whether the outcome is unknown, whether AWS is still settling, whether the thing is absent), built
//! from any SDK crate's error, and the `anyhow` error the engine classifies.

use anyhow::{Result, anyhow};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What an AWS answer means for zinfra, decided once for every service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The service is not at this endpoint (an emulator without it, a region without it): never retried.
    Unavailable,
    /// AWS is still settling a change made a moment ago (or throttling): the same call works later.
    NotYet,
    /// No definite answer (connection broke, reply lost, service error): look before trying again.
    OutcomeUnknown,
    /// A definite refusal.
    Refused,
}

/// An SDK error of any service, reduced to what zinfra decides on.
#[derive(Clone, Debug)]
pub struct AwsError {
    /// `op: code: message`, the line users see.
    pub text: String,
    /// The AWS error code, when the service sent one.
    pub code: Option<String>,
    pub message: Option<String>,
    pub class: Class,
}

impl AwsError {
    /// Reads `e`, an error of operation `op` of any SDK crate.
    pub fn new<E>(op: &str, e: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let text = match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{op}: {code}: {msg}"),
            (Some(code), None) => format!("{op}: {code}"),
            _ => no_code(op, e),
        };
        let unknown = matches!(
            e,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        ) || status.is_some_and(|s| s >= 500);
        let settling = match (e.code(), e.message()) {
            // A principal created a moment ago is not yet known to IAM (IAM says MalformedPolicyDocument,
            // KMS MalformedPolicyDocumentException, S3 MalformedPolicy); a malformed policy stays malformed.
            (
                Some(
                    "MalformedPolicyDocument"
                    | "MalformedPolicyDocumentException"
                    | "MalformedPolicy",
                ),
                Some(m),
            ) => m.to_lowercase().contains("principal"),
            (Some(c), _) => NOT_YET.contains(&c),
            _ => false,
        };
        let class = if service_unavailable(status, e.message(), &text) {
            Class::Unavailable
        } else if settling {
            Class::NotYet
        } else if unknown {
            Class::OutcomeUnknown
        } else {
            Class::Refused
        };
        AwsError {
            text,
            code: e.code().map(str::to_owned),
            message: e.message().map(str::to_owned),
            class,
        }
    }

    /// Whether AWS says the thing does not exist (`*.NotFound`, `NoSuch*`, `*NotFoundException`).
    pub fn is_not_found(&self) -> bool {
        not_found(self.code.as_deref())
    }

    /// Whether the same call may succeed if made again (settling, or no definite answer).
    pub fn retryable(&self) -> bool {
        matches!(self.class, Class::NotYet | Class::OutcomeUnknown)
    }

    /// The error as the engine classifies it ([`crate::provider`]'s markers).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self.class {
            Class::Unavailable => anyhow::Error::new(crate::provider::Unavailable(self.text)),
            Class::NotYet => anyhow::Error::new(crate::provider::NotYet(self.text)),
            Class::OutcomeUnknown => anyhow::Error::new(crate::provider::OutcomeUnknown(self.text)),
            Class::Refused => anyhow!(self.text),
        }
    }
}

impl From<AwsError> for anyhow::Error {
    fn from(e: AwsError) -> anyhow::Error {
        e.into_anyhow()
    }
}

/// Whether an AWS error code says the thing does not exist (`InvalidVpcID.NotFound`, `NoSuchBucket`,
/// `ResourceNotFoundException`, `CacheClusterNotFoundFault`).
pub fn not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.ends_with("NotFound")
            || c.starts_with("NoSuch")
            || c.ends_with("NotFoundException")
            || c.ends_with("NotFoundFault")
    })
}

/// An SDK error as one line (operation, AWS error code and message), classified for the engine.
pub fn sdk_error<E>(op: &str, e: SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    AwsError::new(op, &e).into_anyhow()
}

/// One try of a delete AWS refuses while something still uses the resource: ready when it is
/// gone (now or before), pending while it is in use; for [`crate::wait::until`].
pub fn delete_step<T, E>(
    op: &str,
    res: std::result::Result<T, SdkError<E, HttpResponse>>,
    gone: &str,
    in_use: &str,
) -> Result<crate::wait::Poll<()>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use crate::wait::Poll;
    match res {
        Ok(_) => Ok(Poll::Ready(())),
        Err(e) if e.code() == Some(gone) => Ok(Poll::Ready(())),
        Err(e) if e.code() == Some(in_use) => Ok(Poll::Pending("IN_USE".into())),
        Err(e) => Err(sdk_error(op, e)),
    }
}

/// Every item of a paginated call, from all its pages: `.into_paginator().items().send().all("Op")`.
/// An error is classified like any other ([`sdk_error`]).
pub trait AllItems<T> {
    fn all(self, op: &'static str) -> impl std::future::Future<Output = Result<Vec<T>>> + Send;
}

impl<T, E> AllItems<T>
    for aws_smithy_async::future::pagination_stream::PaginationStream<
        std::result::Result<T, SdkError<E, HttpResponse>>,
    >
where
    T: Send + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    async fn all(self, op: &'static str) -> Result<Vec<T>> {
        self.collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error(op, e))
    }
}

/// Whether an answer says the service itself is missing at this endpoint: HTTP 501 (LocalStack's free
/// edition for the services it does not serve, any emulator for an API it lacks), or no such host (a
/// region without the service). Operations a service lacks (`NotImplemented` for one S3 header, say)
/// are answered 501 too: callers that probe a feature check for [`crate::provider::Unavailable`].
fn service_unavailable(status: Option<u16>, message: Option<&str>, text: &str) -> bool {
    if status == Some(501) {
        return true;
    }
    let m = message.unwrap_or_default().to_ascii_lowercase();
    if m.contains("not included in your current license plan") || m.contains("not yet implemented")
    {
        return true;
    }
    // No answer at all because the host does not exist: retrying cannot help.
    status.is_none() && (text.contains("failed to lookup address") || text.contains("dns error"))
}

/// Error codes AWS returns while a change made a moment ago settles.
const NOT_YET: &[&str] = &[
    "DependencyViolation",
    "InvalidGroup.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidVpcID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    // Throttled: creates are not retried by the SDK (see `retry`), so the engine waits and retries.
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "PriorRequestNotComplete",
];

fn no_code<E>(op: &str, e: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    // No answer from AWS (no credentials, endpoint unreachable, timeout), or one without an error
    // code: the HTTP status if any, then the cause chain in words.
    let mut msg = match e.raw_response() {
        Some(r) => format!("HTTP {}: {e}", r.status().as_u16()),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.ends_with(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    format!("{op}: {msg}")
}

/// `None` when AWS answers with one of the `absent` error codes (the thing does not exist), else the error.
pub fn absent_if<T, E>(
    op: &str,
    res: Result<T, SdkError<E, HttpResponse>>,
    absent: &[&str],
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if error_code(&e).is_some_and(|c| absent.contains(&c)) => Ok(None),
        Err(e) => Err(sdk_error(op, e)),
    }
}

/// The AWS error code of an SDK error, if the service sent one.
pub fn error_code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    e.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_service_is_told_from_a_failing_one() {
        // LocalStack's free edition, any emulator lacking an API: HTTP 501.
        assert!(service_unavailable(
            Some(501),
            Some("x"),
            "ListClusters: InternalFailure: x"
        ));
        let license = "The API for service 'kafka' is either not included in your current license plan or has not yet been emulated by LocalStack.";
        assert!(service_unavailable(Some(500), Some(license), license));
        // No such host: a region without the service.
        assert!(service_unavailable(
            None,
            None,
            "ListClusters: dispatch failure: io error: dns error: failed to lookup address information"
        ));
        // A failing service is not a missing one: retried as before.
        assert!(!service_unavailable(
            Some(500),
            Some("We encountered an internal error"),
            "x"
        ));
        assert!(!service_unavailable(Some(503), None, "SlowDown"));
        assert!(!service_unavailable(
            None,
            None,
            "dispatch failure: connection refused"
        ));
    }
}
