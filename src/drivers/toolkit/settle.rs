//! Calls repeated while AWS settles: a resource created a moment ago and not yet visible to every
//! endpoint, a dependent still being deleted. Bounded by a consistency window, never by a resource's
//! `timeout`, which bounds waits for a resource's state ([`crate::wait::until`]).

use std::future::Future;
use std::time::{Duration, Instant};

use super::error::AwsError;

/// Pause between two tries.
pub const POLL: Duration = Duration::from_secs(2);

/// Calls `f` until it succeeds, fails with an error `again` does not accept, or `limit` has passed
/// (then the last error is returned, for the caller to judge: a delete may take NotFound as done).
pub async fn retry_while<T, F, Fut>(
    limit: Duration,
    again: impl Fn(&AwsError) -> bool,
    mut f: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match f().await {
            Err(e) if again(&e) && Instant::now() < deadline => tokio::time::sleep(POLL).await,
            done => return done,
        }
    }
}

/// Whether the error has this AWS code.
pub fn code(e: &AwsError, code: &str) -> bool {
    e.code.as_deref() == Some(code)
}
