//! What the SDK may retry by itself. Throttling, 5xx and broken connections are retried (see
//! `Aws::connect`), except for calls that make something new each time they are sent: a create whose
//! outcome is unknown (the reply was lost, the connection broke, the server failed after acting) must
//! not be re-sent blindly. The apply engine retries those itself, after looking the resource up by its
//! tags: it adopts what exists and creates only what does not.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;

#[derive(Debug, Default)]
pub struct NoBlindCreateRetry;

/// Calls that make something new each time they are sent.
pub fn creates(op: &str) -> bool {
    ["Create", "Allocate", "Request", "Run", "Import", "Register"]
        .iter()
        .any(|p| op.starts_with(p))
}

impl Intercept for NoBlindCreateRetry {
    fn name(&self) -> &'static str {
        "zinfra: no blind retry of creates"
    }

    fn modify_before_retry_loop(
        &self,
        _: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let create = cfg.load::<Metadata>().is_some_and(|m| creates(m.name()));
        if create {
            let once = cfg
                .load::<RetryConfig>()
                .cloned()
                .unwrap_or_else(RetryConfig::standard)
                .with_max_attempts(1);
            cfg.interceptor_state().store_put(once);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::creates;

    #[test]
    fn creates_are_recognized() {
        for op in [
            "CreateVpc",
            "AllocateAddress",
            "RequestCertificate",
            "RunTask",
        ] {
            assert!(creates(op), "{op}");
        }
        for op in ["DescribeVpcs", "DeleteVpc", "PutItem", "ModifyVpcAttribute"] {
            assert!(!creates(op), "{op}");
        }
    }
}
