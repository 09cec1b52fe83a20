//! The `ssm` transport: SSM SendCommand (AWS-RunShellScript) to an instance,
//! polled with GetCommandInvocation until the command ends.
//! (Being written: see docs/deploy.md.)

use std::time::Duration;

use async_trait::async_trait;

use super::{RunOutput, Transport, TransportError};
use crate::aws::AwsCtx;

#[derive(Debug, Clone)]
pub struct SsmOptions {
    /// Between two GetCommandInvocation calls.
    pub poll_interval: Duration,
    /// How long the command may run in all.
    pub timeout: Duration,
}

pub struct SsmTransport {
    pub aws: AwsCtx,
    pub options: SsmOptions,
}

#[async_trait]
impl Transport for SsmTransport {
    fn name(&self) -> &'static str {
        "ssm"
    }

    fn carries_secrets(&self) -> bool {
        false
    }

    async fn run(&self, host: &str, _script: &str) -> Result<RunOutput, TransportError> {
        Err(TransportError::Host { host: host.to_string(), message: "the ssm transport is not written yet".into() })
    }
}
