//! What the log may never show. The AWS SDK and its HTTP stack log whole
//! request and response bodies (a GetParameters answer holds decrypted
//! SecureString values) at debug and trace; these targets are silenced at
//! every level when the subscriber is built.

/// Log targets (module path prefixes) that are turned off whatever RUST_LOG
/// says.
pub const SILENCED_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_smithy_json",
    "aws_smithy_xml",
    "aws_smithy_query",
    "aws_sigv4",
    "aws_runtime",
    "aws_sdk_ssm",
    "aws_sdk_s3",
    "aws_sdk_dynamodb",
    "aws_sdk_ecr",
    "aws_sdk_sts",
    "aws_sdk_iam",
    "aws_sdk_ec2",
    "aws_sdk_resourcegroupstagging",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// Whether events of `target` are dropped: every AWS SDK service crate
/// (a crate added later is covered too) and the listed targets with their
/// submodules.
pub fn is_silenced(target: &str) -> bool {
    target.starts_with("aws_sdk_")
        || SILENCED_TARGETS
            .iter()
            .any(|t| target == *t || target.strip_prefix(t).is_some_and(|rest| rest.starts_with("::")))
}

#[cfg(test)]
mod tests {
    use super::is_silenced;

    #[test]
    fn every_sdk_crate_and_its_modules_are_silenced() {
        for target in [
            "aws_sdk_cloudwatchlogs::endpoint_lib",
            "aws_sdk_ssm",
            "aws_sdk_anything_new::operation",
            "aws_smithy_runtime::client::orchestrator",
            "hyper_util::client",
        ] {
            assert!(is_silenced(target), "{target}");
        }
        for target in ["gantry::commands::plan", "aws_config::profile", "hyperloglog"] {
            assert!(!is_silenced(target), "{target}");
        }
    }
}
