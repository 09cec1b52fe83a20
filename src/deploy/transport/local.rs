//! The `local` transport: this machine, for demos and tests.

use async_trait::async_trait;

use super::{LineSink, RunOutput, Transport, TransportError};

pub struct LocalTransport;

#[async_trait]
impl Transport for LocalTransport {
    fn name(&self) -> &'static str {
        "local"
    }

    fn carries_secrets(&self) -> bool {
        true
    }

    async fn run(&self, _host: &str, script: &str, progress: &LineSink<'_>) -> Result<RunOutput, TransportError> {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-s");
        super::run_with_stdin(cmd, "sh", script, progress).await
    }
}
