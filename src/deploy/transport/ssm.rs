//! The `ssm` transport: SSM SendCommand (AWS-RunShellScript) to an instance,
//! polled with GetCommandInvocation until the command ends.
//!
//! The whole script goes in as ONE element of the document's `commands`
//! parameter: the agent writes the elements, one per line, into a script file
//! and runs it with `sh`, so an element holding newlines is the script
//! itself, with here-documents and multi-line `if`s intact (splitting it into
//! lines would change nothing on the host and only make the request longer).
//! Run Command runs as root and the agent's environment may lack `HOME`, so
//! one line before the script sets `HOME` when it is unset, as ssh and the
//! local shell would have.
//!
//! SendCommand parameters are kept in the account's command history (and
//! shown by ListCommands), so this transport carries no secrets
//! ([`Transport::carries_secrets`] is false): the deploy gives it a script
//! that makes the host read its own parameters.
//!
//! Polling: right after SendCommand, GetCommandInvocation may answer
//! `InvocationDoesNotExist` for a while (eventual consistency); that, the
//! non-final statuses (Pending, InProgress, Delayed, Cancelling) and
//! throttling are waited out, `poll_interval` apart, until `timeout`. Then
//! the command is cancelled and the run fails. The command's own
//! `executionTimeout` is set to the same timeout, so the agent stops the
//! script on the host even if CancelCommand cannot reach it.
//!
//! GetCommandInvocation returns at most the first 24,000 characters of
//! standard output and 8,000 of standard error; that is what a
//! [`RunOutput`] gets.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ssm::types::CommandInvocationStatus;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{LineSink, RunOutput, Transport, TransportError};
use crate::aws::{classify, AwsCtx, ClassifyExt, ProviderError};

/// The SSM document that runs a shell script on Linux.
pub const DOCUMENT: &str = "AWS-RunShellScript";
/// The comment on every command, shown in the console's command history.
pub const COMMENT: &str = "gantry deploy";
/// Sets HOME when the agent's environment has none (it runs as root).
const PREAMBLE: &str = "[ -n \"${HOME:-}\" ] || { HOME=/root; export HOME; }\n";

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

    async fn run(&self, host: &str, script: &str, progress: &LineSink<'_>) -> Result<RunOutput, TransportError> {
        // Run Command reports output only once the command has ended.
        let out = run_command(&SdkCommands { aws: &self.aws }, host, script, &self.options).await?;
        super::replay_progress(&out.stdout, progress);
        Ok(out)
    }
}

/// What GetCommandInvocation said about one instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invocation {
    pub status: CommandInvocationStatus,
    pub status_details: String,
    /// -1 when the script never reported one.
    pub response_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The three SSM calls the transport makes, so the polling can be tested
/// without AWS.
#[async_trait]
pub(crate) trait CommandApi: Send + Sync {
    /// SendCommand; returns the command id.
    async fn send(&self, instance: &str, commands: &str, timeout_secs: u32) -> Result<String, ProviderError>;
    /// GetCommandInvocation; `None` while it answers InvocationDoesNotExist.
    async fn invocation(&self, command_id: &str, instance: &str) -> Result<Option<Invocation>, ProviderError>;
    /// CancelCommand.
    async fn cancel(&self, command_id: &str, instance: &str) -> Result<(), ProviderError>;
}

/// The real calls, each counted.
struct SdkCommands<'a> {
    aws: &'a AwsCtx,
}

#[async_trait]
impl CommandApi for SdkCommands<'_> {
    async fn send(&self, instance: &str, commands: &str, timeout_secs: u32) -> Result<String, ProviderError> {
        const CALL: &str = "ssm:SendCommand";
        self.aws.count_call();
        let out = self
            .aws
            .ssm
            .send_command()
            .document_name(DOCUMENT)
            .instance_ids(instance)
            .parameters("commands", vec![commands.to_string()])
            .parameters("executionTimeout", vec![timeout_secs.to_string()])
            // How long the command may wait for the agent to pick it up
            // (SSM's minimum is 30 s).
            .timeout_seconds(timeout_secs.max(30) as i32)
            .comment(COMMENT)
            .send()
            .await
            .classify(CALL)?;
        out.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| ProviderError::Invalid(format!("{CALL}: the answer has no command id")))
    }

    async fn invocation(&self, command_id: &str, instance: &str) -> Result<Option<Invocation>, ProviderError> {
        const CALL: &str = "ssm:GetCommandInvocation";
        self.aws.count_call();
        let result = self.aws.ssm.get_command_invocation().command_id(command_id).instance_id(instance).send().await;
        let out = match result {
            Ok(out) => out,
            Err(err) if err.code() == Some("InvocationDoesNotExist") => return Ok(None),
            Err(err) => return Err(classify(CALL, err)),
        };
        Ok(Some(Invocation {
            status: out.status().cloned().unwrap_or(CommandInvocationStatus::Pending),
            status_details: out.status_details().unwrap_or_default().to_string(),
            response_code: out.response_code(),
            stdout: out.standard_output_content().unwrap_or_default().to_string(),
            stderr: out.standard_error_content().unwrap_or_default().to_string(),
        }))
    }

    async fn cancel(&self, command_id: &str, instance: &str) -> Result<(), ProviderError> {
        self.aws.count_call();
        self.aws
            .ssm
            .cancel_command()
            .command_id(command_id)
            .instance_ids(instance)
            .send()
            .await
            .classify("ssm:CancelCommand")?;
        Ok(())
    }
}

/// What the `commands` parameter holds for `script`.
pub(crate) fn command_text(script: &str) -> String {
    format!("{PREAMBLE}{script}")
}

/// AWS-RunShellScript's `executionTimeout` takes 1 to 172800 seconds.
pub(crate) fn execution_timeout_secs(timeout: Duration) -> u32 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    secs.clamp(1, 172_800) as u32
}

/// StatusDetails meaning the script never started on the host.
const NEVER_RAN: &[&str] = &["Undeliverable", "DeliveryTimedOut", "InvalidPlatform", "Terminated"];

/// Sends `script` to `host` and waits for it to end.
pub(crate) async fn run_command(
    api: &dyn CommandApi,
    host: &str,
    script: &str,
    options: &SsmOptions,
) -> Result<RunOutput, TransportError> {
    let host_error = |message: String| TransportError::Host { host: host.to_string(), message };
    let started = tokio::time::Instant::now();
    let command_id = api
        .send(host, &command_text(script), execution_timeout_secs(options.timeout))
        .await
        .map_err(|e| host_error(send_failure(&e)))?;
    // From here on, a run that stops waiting (Ctrl-C drops it, or polling
    // fails) cancels the command, so it cannot go on beside the rollback or
    // the next deploy.
    let mut guard = CancelOnDrop { api, command_id: command_id.clone(), host: host.to_string(), armed: true };
    let mut last_status = String::from("not visible yet");
    loop {
        tokio::time::sleep(options.poll_interval).await;
        match api.invocation(&command_id, host).await {
            Ok(None) => {}
            Ok(Some(invocation)) => {
                if let Some(done) = finished(&invocation) {
                    guard.armed = false;
                    return done.map_err(|message| host_error(format!("{message} (command {command_id})")));
                }
                last_status = invocation.status.as_str().to_string();
            }
            // Throttling, 5xx, no answer: the SDK has retried already; the
            // command is still running, so keep polling until the timeout.
            Err(e) if e.is_retryable() => last_status = format!("unknown ({e})"),
            Err(e) => return Err(host_error(format!("{e} (command {command_id}; cancelled)"))),
        }
        if started.elapsed() >= options.timeout {
            guard.armed = false;
            let cancelled = match api.cancel(&command_id, host).await {
                Ok(()) => "cancelled it".to_string(),
                Err(e) => format!("cancelling it failed: {e}"),
            };
            return Err(host_error(format!(
                "the command did not end within {} (command {command_id}, last status {last_status}); {cancelled}",
                human_duration(options.timeout)
            )));
        }
    }
}

/// Cancels a command whose run ended before the command did. `drop` cannot
/// be async: on the binary's multi-thread runtime the call blocks this
/// worker (block_in_place) for at most 10 s; elsewhere it cannot run.
struct CancelOnDrop<'a> {
    api: &'a dyn CommandApi,
    command_id: String,
    host: String,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        let cancel = self.api.cancel(&self.command_id, &self.host);
        let result =
            tokio::task::block_in_place(|| handle.block_on(tokio::time::timeout(Duration::from_secs(10), cancel)));
        if !matches!(result, Ok(Ok(()))) {
            eprintln!(
                "warning: could not cancel SSM command {} on {}; it may still be running (aws ssm cancel-command --command-id {})",
                self.command_id, self.host, self.command_id
            );
        }
    }
}

/// `Some` once the invocation is final: the script's result, or why it never
/// ran. `None` while it is pending, running, delayed or being cancelled.
fn finished(inv: &Invocation) -> Option<Result<RunOutput, String>> {
    let output = |status: Option<i32>, note: Option<String>| {
        let mut stderr = inv.stderr.clone();
        if let Some(note) = note {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(&note);
            stderr.push('\n');
        }
        Ok(RunOutput { status, stdout: inv.stdout.clone(), stderr })
    };
    let never_ran = || NEVER_RAN.contains(&inv.status_details.as_str()) && inv.response_code < 0;
    match &inv.status {
        CommandInvocationStatus::Success => Some(output(Some(inv.response_code.max(0)), None)),
        CommandInvocationStatus::Failed | CommandInvocationStatus::TimedOut if never_ran() => {
            Some(Err(format!("the command never ran: {} ({})", inv.status.as_str(), inv.status_details)))
        }
        CommandInvocationStatus::Failed if inv.response_code >= 0 => Some(output(Some(inv.response_code), None)),
        CommandInvocationStatus::Failed | CommandInvocationStatus::TimedOut | CommandInvocationStatus::Cancelled => {
            let details = if inv.status_details.is_empty() { inv.status.as_str() } else { &inv.status_details };
            Some(output(None, Some(format!("ssm: the command ended as {} ({details})", inv.status.as_str()))))
        }
        // Pending, InProgress, Delayed, Cancelling, and statuses this SDK
        // does not know yet.
        _ => None,
    }
}

fn send_failure(e: &ProviderError) -> String {
    match e.code() {
        Some("InvalidInstanceId") => format!(
            "{e}: the instance is not managed by SSM (is it running, is the SSM agent up, and may its instance \
             profile use SSM, e.g. AmazonSSMManagedInstanceCore?)"
        ),
        _ => e.to_string(),
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// Answers GetCommandInvocation from a script of replies; the last one
    /// repeats.
    struct Fake {
        replies: Mutex<VecDeque<Result<Option<Invocation>, ProviderError>>>,
        last: Mutex<Option<Invocation>>,
        sent: Mutex<Vec<(String, String, u32)>>,
        polls: Mutex<usize>,
        cancels: Mutex<Vec<String>>,
        cancel_fails: bool,
    }

    impl Fake {
        fn new(replies: Vec<Result<Option<Invocation>, ProviderError>>) -> Fake {
            Fake {
                replies: Mutex::new(replies.into()),
                last: Mutex::new(None),
                sent: Mutex::new(Vec::new()),
                polls: Mutex::new(0),
                cancels: Mutex::new(Vec::new()),
                cancel_fails: false,
            }
        }
        fn polls(&self) -> usize {
            *self.polls.lock().unwrap()
        }
    }

    #[async_trait]
    impl CommandApi for Fake {
        async fn send(&self, instance: &str, commands: &str, timeout_secs: u32) -> Result<String, ProviderError> {
            self.sent.lock().unwrap().push((instance.into(), commands.into(), timeout_secs));
            Ok("cmd-1".into())
        }
        async fn invocation(&self, command_id: &str, instance: &str) -> Result<Option<Invocation>, ProviderError> {
            assert_eq!((command_id, instance), ("cmd-1", "i-0abc"));
            *self.polls.lock().unwrap() += 1;
            match self.replies.lock().unwrap().pop_front() {
                Some(Ok(reply)) => {
                    *self.last.lock().unwrap() = reply.clone();
                    Ok(reply)
                }
                Some(Err(e)) => Err(e),
                None => Ok(self.last.lock().unwrap().clone()),
            }
        }
        async fn cancel(&self, command_id: &str, _instance: &str) -> Result<(), ProviderError> {
            self.cancels.lock().unwrap().push(command_id.into());
            if self.cancel_fails {
                return Err(api_error("AccessDeniedException", false));
            }
            Ok(())
        }
    }

    fn inv(status: CommandInvocationStatus, details: &str, code: i32) -> Result<Option<Invocation>, ProviderError> {
        Ok(Some(Invocation {
            status,
            status_details: details.into(),
            response_code: code,
            stdout: "out\n".into(),
            stderr: "err\n".into(),
        }))
    }

    fn api_error(code: &str, retryable: bool) -> ProviderError {
        ProviderError::Api {
            call: "ssm:GetCommandInvocation",
            code: code.into(),
            message: "m".into(),
            request_id: None,
            retryable,
        }
    }

    fn options() -> SsmOptions {
        SsmOptions { poll_interval: Duration::from_millis(1), timeout: Duration::from_secs(5) }
    }

    async fn run(fake: &Fake, options: &SsmOptions) -> Result<RunOutput, TransportError> {
        run_command(fake, "i-0abc", "echo hi\ncat <<EOF\nx\nEOF\n", options).await
    }

    use CommandInvocationStatus as S;

    #[tokio::test]
    async fn waits_out_a_missing_invocation_and_running_states() {
        let fake = Fake::new(vec![
            Ok(None),
            Ok(None),
            inv(S::Pending, "Pending", -1),
            inv(S::InProgress, "InProgress", -1),
            inv(S::Delayed, "Delayed", -1),
            inv(S::Success, "Success", 0),
        ]);
        let out = run(&fake, &options()).await.unwrap();
        assert_eq!(out.status, Some(0));
        assert!(out.success());
        assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("out\n", "err\n"));
        assert_eq!(fake.polls(), 6);
        let sent = fake.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let (instance, commands, timeout) = &sent[0];
        assert_eq!((instance.as_str(), *timeout), ("i-0abc", 5));
        assert!(commands.ends_with("echo hi\ncat <<EOF\nx\nEOF\n"), "{commands}");
        assert!(commands.starts_with("[ -n \"${HOME:-}\" ]"), "{commands}");
        assert!(fake.cancels.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn success_without_a_response_code_is_zero() {
        let out = run(&Fake::new(vec![inv(S::Success, "Success", -1)]), &options()).await.unwrap();
        assert_eq!(out.status, Some(0));
    }

    #[tokio::test]
    async fn a_failed_script_reports_its_exit_code() {
        let out = run(&Fake::new(vec![inv(S::InProgress, "InProgress", -1), inv(S::Failed, "Failed", 3)]), &options())
            .await
            .unwrap();
        assert_eq!(out.status, Some(3));
        assert_eq!(out.stderr, "err\n");
    }

    #[tokio::test]
    async fn cancelling_is_waited_for_and_cancelled_is_a_kill() {
        let fake = Fake::new(vec![inv(S::Cancelling, "Cancelling", -1), inv(S::Cancelled, "Cancelled", -1)]);
        let out = run(&fake, &options()).await.unwrap();
        assert_eq!(out.status, None);
        assert_eq!(out.stderr, "err\nssm: the command ended as Cancelled (Cancelled)\n");
        assert_eq!(fake.polls(), 2);
    }

    #[tokio::test]
    async fn an_execution_timeout_is_a_kill_and_an_undelivered_command_an_error() {
        let out = run(&Fake::new(vec![inv(S::TimedOut, "ExecutionTimedOut", -1)]), &options()).await.unwrap();
        assert_eq!(out.status, None);
        assert!(out.stderr.contains("TimedOut (ExecutionTimedOut)"), "{}", out.stderr);

        for (status, details) in [(S::Failed, "Undeliverable"), (S::TimedOut, "DeliveryTimedOut")] {
            let err = run(&Fake::new(vec![inv(status, details, -1)]), &options()).await.unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("i-0abc: the command never ran: "), "{message}");
            assert!(message.contains(details) && message.contains("command cmd-1"), "{message}");
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_and_other_errors_stop() {
        let fake = Fake::new(vec![Err(api_error("ThrottlingException", true)), inv(S::Success, "Success", 0)]);
        assert_eq!(run(&fake, &options()).await.unwrap().status, Some(0));
        assert_eq!(fake.polls(), 2);

        let fake = Fake::new(vec![Err(api_error("InvalidCommandId", false)), inv(S::Success, "Success", 0)]);
        let err = run(&fake, &options()).await.unwrap_err();
        assert_eq!(err.to_string(), "i-0abc: ssm:GetCommandInvocation: InvalidCommandId: m (command cmd-1; cancelled)");
        assert_eq!(fake.polls(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_that_stops_waiting_cancels_its_command() {
        // Polling fails for good: the command is cancelled, not left to run
        // beside the rollback.
        let fake = Fake::new(vec![Err(api_error("AccessDeniedException", false))]);
        run(&fake, &options()).await.unwrap_err();
        assert_eq!(*fake.cancels.lock().unwrap(), ["cmd-1"]);

        // Dropped while the command runs (Ctrl-C).
        let fake = Fake::new(vec![inv(S::InProgress, "InProgress", -1)]);
        let opts = options();
        let waiting = run(&fake, &opts);
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err());
        assert_eq!(*fake.cancels.lock().unwrap(), ["cmd-1"]);

        // A finished command is not cancelled.
        let fake = Fake::new(vec![inv(S::Success, "Success", 0)]);
        run(&fake, &options()).await.unwrap();
        assert!(fake.cancels.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_command_that_does_not_end_is_cancelled_at_the_timeout() {
        let options = SsmOptions { poll_interval: Duration::from_millis(10), timeout: Duration::from_millis(100) };
        let fake = Fake::new(vec![Ok(None), inv(S::InProgress, "InProgress", -1)]);
        let started = std::time::Instant::now();
        let err = run(&fake, &options).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(2), "{elapsed:?}");
        assert!(matches!(err, TransportError::Host { .. }));
        assert_eq!(
            err.to_string(),
            "i-0abc: the command did not end within 0.1s (command cmd-1, last status InProgress); cancelled it"
        );
        assert_eq!(*fake.cancels.lock().unwrap(), ["cmd-1"]);
        // It kept polling until then: about timeout / interval times.
        assert!(fake.polls() >= 3, "{}", fake.polls());

        let mut fake = Fake::new(vec![Ok(None)]);
        fake.cancel_fails = true;
        let err = run(&fake, &options).await.unwrap_err().to_string();
        assert!(err.contains("last status not visible yet); cancelling it failed: "), "{err}");
        assert!(err.contains("AccessDeniedException"), "{err}");
    }

    #[test]
    fn execution_timeouts_fit_the_document() {
        assert_eq!(execution_timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(execution_timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(execution_timeout_secs(Duration::from_secs(600)), 600);
        assert_eq!(execution_timeout_secs(Duration::from_secs(10_000_000)), 172_800);
    }

    #[test]
    fn the_transport_says_it_carries_no_secrets() {
        // AwsCtx needs a config, not a network: building clients makes no call.
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let t = SsmTransport { aws: AwsCtx::from_config(&config), options: options() };
        assert_eq!(t.name(), "ssm");
        assert!(!t.carries_secrets());
    }

    #[test]
    fn send_failures_for_unmanaged_instances_say_why() {
        let e = ProviderError::Api {
            call: "ssm:SendCommand",
            code: "InvalidInstanceId".into(),
            message: "Instances not in a valid state".into(),
            request_id: None,
            retryable: false,
        };
        assert!(send_failure(&e).contains("SSM agent"));
    }
}
