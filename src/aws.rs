//! AWS SDK clients, built once per command from the standard configuration
//! chain (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials), and the
//! classification of SDK errors into what the engine acts on.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Tags as AWS stores them.
pub type Tags = BTreeMap<String, String>;

/// Tag keys gantry puts on everything it creates, so an interrupted create can
/// be found and adopted, and so `GetResources` can list a stack's resources.
pub const TAG_STACK: &str = "gantry:stack";
pub const TAG_ENV: &str = "gantry:env";
pub const TAG_ADDRESS: &str = "gantry:address";
/// The id of the operation that created the object: derived from the state
/// lineage, the address and the state serial when the create was journaled,
/// so retries of one create share it. EC2 uses it as `ClientToken`.
pub const TAG_OPERATION: &str = "gantry:operation";

/// True for tag keys that gantry manages itself (never shown in diffs).
pub fn is_gantry_tag(key: &str) -> bool {
    key.starts_with("gantry:")
}

/// Environment variable setting the SDK's initial retry backoff in
/// milliseconds (default: the SDK's own, one second).
pub const RETRY_BACKOFF_ENV: &str = "GANTRY_RETRY_INITIAL_BACKOFF_MS";

/// The SDK clients one command uses. Building a client makes no request, so
/// all are built up front.
#[derive(Clone)]
pub struct AwsCtx {
    pub region: String,
    pub ssm: aws_sdk_ssm::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub sts: aws_sdk_sts::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    calls: Arc<AtomicU64>,
    /// The credentials' account, asked of STS once per command (ARNs that
    /// an API does not return are built from it).
    account: Arc<tokio::sync::OnceCell<String>>,
}

impl AwsCtx {
    /// Loads the standard AWS configuration. `region` comes from the stack's
    /// `provider "aws"` block when it sets one; otherwise the SDK's chain decides.
    pub async fn load(region: Option<String>) -> AwsCtx {
        // Throttling and 5xx answers are retried with exponential backoff.
        let mut retry = RetryConfig::standard().with_max_attempts(6);
        // The first pause (the SDK's default is up to a second, doubling):
        // an emulator behind a fault-injecting proxy needs none of that.
        if let Some(ms) = std::env::var(RETRY_BACKOFF_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
            retry = retry.with_initial_backoff(std::time::Duration::from_millis(ms));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .http_client(crate::aws_http::bounded_client(crate::aws_http::max_requests()));
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        let config = loader.load().await;
        AwsCtx::from_config(&config)
    }

    pub fn from_config(config: &SdkConfig) -> AwsCtx {
        // With an overridden endpoint (an emulator, a VPC endpoint) buckets must
        // be addressed by path: `localhost` would otherwise become
        // `bucket.localhost`, which resolves nowhere.
        let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(endpoint_overridden("S3")).build();
        AwsCtx {
            region: config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into()),
            ssm: aws_sdk_ssm::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            calls: Arc::new(AtomicU64::new(0)),
            account: Arc::default(),
        }
    }

    /// Counts one API call (reported with `-v`; benchmarks count on the
    /// emulator side as well).
    pub fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts calls made by code that has no AwsCtx (it reports how many).
    pub fn count_calls(&self, n: u64) {
        self.calls.fetch_add(n, Ordering::Relaxed);
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The account the credentials belong to: one `sts:GetCallerIdentity`
    /// for the whole command, however many creates need it at once.
    pub async fn account_id(&self) -> Result<String, ProviderError> {
        let account = self
            .account
            .get_or_try_init(|| async {
                self.count_call();
                let out = self.sts.get_caller_identity().send().await.classify("sts:GetCallerIdentity")?;
                Ok::<_, ProviderError>(out.account().unwrap_or_default().to_string())
            })
            .await?;
        Ok(account.clone())
    }
}

fn endpoint_overridden(service: &str) -> bool {
    let specific = format!("AWS_ENDPOINT_URL_{service}");
    std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os(specific).is_some()
}

/// What went wrong in a call to AWS, classified so the engine can decide
/// whether to retry, adopt, or report.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The object does not exist.
    #[error("{call}: not found")]
    NotFound { call: &'static str },
    /// The object exists already (a name clash, or our own interrupted create).
    #[error("{call}: {code}: {message}")]
    AlreadyExists { call: &'static str, code: String, message: String },
    /// AWS rejected the request.
    #[error("{call}: {code}: {message}{}", request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Api { call: &'static str, code: String, message: String, request_id: Option<String>, retryable: bool },
    /// No answer came back (connection refused, timeout, bad response).
    #[error("{call}: {message}")]
    Transport { call: &'static str, message: String },
    /// A value gantry cannot use (bad configuration reaching AWS).
    #[error("{0}")]
    Invalid(String),
}

impl ProviderError {
    /// A successful answer that lacks what the call exists to return (a
    /// create that names nothing created).
    pub fn empty_response(call: &'static str, what: &str) -> ProviderError {
        ProviderError::Api {
            call,
            code: "EmptyResponse".into(),
            message: format!("the answer held no {what}"),
            request_id: None,
            retryable: false,
        }
    }

    /// Worth another try after a pause: throttling, 5xx, eventual consistency.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Api { retryable, .. } => *retryable,
            ProviderError::Transport { .. } => true,
            _ => false,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Api { code, .. } | ProviderError::AlreadyExists { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Error codes meaning "does not exist", across the services gantry uses.
const NOT_FOUND_CODES: &[&str] = &[
    "ParameterNotFound",
    "NoSuchBucket",
    "NotFound",
    "NoSuchKey",
    "ResourceNotFoundException",
    "RepositoryNotFoundException",
    "NoSuchEntity",
    "InvalidInstanceID.NotFound",
    "InvalidGroup.NotFound",
];

const ALREADY_EXISTS_CODES: &[&str] = &[
    "ParameterAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "ResourceInUseException",
    "TableAlreadyExistsException",
    "RepositoryAlreadyExistsException",
    "EntityAlreadyExists",
    "InvalidGroup.Duplicate",
];

const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "InternalServerError",
];

/// Classifies an SDK error for the call named `call`.
pub fn classify<E, R>(call: &'static str, err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or("").to_string();
            if NOT_FOUND_CODES.contains(&code.as_str()) {
                return ProviderError::NotFound { call };
            }
            if ALREADY_EXISTS_CODES.contains(&code.as_str()) {
                return ProviderError::AlreadyExists { call, code, message };
            }
            let retryable = RETRYABLE_CODES.contains(&code.as_str());
            let request_id = e.meta().extra("aws_request_id").map(str::to_string);
            ProviderError::Api { call, code, message, request_id, retryable }
        }
        SdkError::DispatchFailure(_) if setup_problem(&error_chain(&err)).is_some() => {
            // Nothing was sent: a setup problem, said in one line.
            let (code, message) = setup_problem(&error_chain(&err)).unwrap_or_default();
            ProviderError::Api { call, code: code.into(), message, request_id: None, retryable: false }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::Transport { call, message: error_chain(&err) }
        }
        _ => {
            // A construction failure or an answer without a service error body
            // (S3 HEAD 404 comes back this way).
            let code = err.code().unwrap_or("Unknown").to_string();
            if code == "NotFound" || NOT_FOUND_CODES.contains(&code.as_str()) {
                return ProviderError::NotFound { call };
            }
            ProviderError::Api { call, code, message: error_chain(&err), request_id: None, retryable: false }
        }
    }
}

/// Credentials or a region missing, from the SDK's error chain: an error
/// code and one line naming what to set (the SDK's own text lists every
/// provider of its chain, several lines that say little).
fn setup_problem(chain: &str) -> Option<(&'static str, String)> {
    if chain.contains("missing signing region") || chain.contains("No region") {
        return Some((
            "NoRegion",
            "no AWS region: set AWS_REGION, a region in your AWS profile, or region in the stack's provider \"aws\" block"
                .into(),
        ));
    }
    if !(chain.contains("no credentials found") || chain.contains("credential provider was not enabled")) {
        return None;
    }
    let message = match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
        Some(profile) if !profile_exists(&profile) => format!(
            "AWS_PROFILE is \"{profile}\", and no profile of that name is in {} or {}",
            aws_file("AWS_CONFIG_FILE", "config"),
            aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        ),
        Some(profile) => format!("the AWS profile \"{profile}\" (AWS_PROFILE) gave no credentials; check it with `aws sts get-caller-identity --profile {profile}`"),
        None => "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role (GitHub OIDC, an instance profile)".into(),
    };
    Some(("NoCredentials", message))
}

/// The AWS file the SDK reads: its variable, else `~/.aws/NAME`.
fn aws_file(var: &str, name: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| format!("~/.aws/{name}"))
}

/// Whether `[profile NAME]` (config) or `[NAME]` (either file) is declared.
fn profile_exists(profile: &str) -> bool {
    let home = std::env::var("HOME").unwrap_or_default();
    let path = |var: &str, name: &str| {
        std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| format!("{home}/.aws/{name}"))
    };
    [path("AWS_CONFIG_FILE", "config"), path("AWS_SHARED_CREDENTIALS_FILE", "credentials")].iter().any(|file| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().map(str::trim).any(|l| l == format!("[profile {profile}]") || l == format!("[{profile}]"))
        })
    })
}

/// The whole `source()` chain on one line: the SDK's top-level Display alone
/// says only "dispatch failure".
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Shorthand for `.map_err(|e| classify(CALL, e))`.
pub trait ClassifyExt<T> {
    fn classify(self, call: &'static str) -> Result<T, ProviderError>;
}

impl<T, E, R> ClassifyExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    fn classify(self, call: &'static str) -> Result<T, ProviderError> {
        self.map_err(|e| classify(call, e))
    }
}
