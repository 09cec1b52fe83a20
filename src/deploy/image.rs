//! The app image: where it lives, whether a tag exists there, the registry
//! password, and `--build` (docker build + push).

use std::path::Path;
use std::process::Stdio;

use base64::Engine;
use tokio::io::AsyncWriteExt;

use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

/// An image repository: `registry/name` (ECR: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// host[:port].
    pub registry: String,
    /// The repository name (ECR's repositoryName).
    pub name: String,
    /// True when `registry` replaced ECR's host (gantry.hcl `registry`):
    /// the image is checked in that registry instead of through the ECR API.
    pub overridden: bool,
    /// The account and region of an ECR registry host
    /// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`), before any override.
    pub ecr: Option<EcrRegistry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
}

impl EcrRegistry {
    fn parse(host: &str) -> Option<EcrRegistry> {
        let mut parts = host.split('.');
        let account = parts.next()?;
        let (dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && dkr == "dkr" && ecr == "ecr";
        ok.then(|| EcrRegistry { account: account.to_string(), region: region.to_string() })
    }
}

impl Repository {
    /// Splits a repository URL, replacing its registry host with `registry` when given.
    pub fn parse(url: &str, registry: Option<&str>) -> Option<Repository> {
        let url = url.trim_start_matches("https://").trim_start_matches("http://");
        let (host, name) = url.split_once('/')?;
        if host.is_empty() || name.is_empty() || name.contains(':') || name.contains('@') {
            return None;
        }
        Some(Repository {
            registry: registry.unwrap_or(host).to_string(),
            name: name.to_string(),
            overridden: registry.is_some(),
            ecr: EcrRegistry::parse(host),
        })
    }

    /// Whether the registry may be given the ECR password: ECR itself, or a
    /// registry on this machine standing in for it (tests, demos). A mirror
    /// elsewhere is not ECR and gets no ECR credentials.
    pub fn takes_ecr_password(&self) -> bool {
        if !self.overridden {
            return true;
        }
        let host = match self.registry.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `registry/name`, as compose's `IMAGE_REPOSITORY`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.registry, self.name)
    }

    pub fn reference(&self, tag: &str) -> String {
        format!("{}:{tag}", self.url())
    }
}

/// The registry password: ECR's authorization token. Kept out of Debug
/// and Display so it cannot reach a log by accident.
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}")]
    Aws(#[from] ProviderError),
    #[error("the registry {registry} did not answer: {message}")]
    Registry { registry: String, message: String },
    #[error("{0}")]
    Docker(String),
}

/// The ECR client for the repository's region (the registry host names
/// it), else the environment's.
pub fn ecr_client(aws: &AwsCtx, repo: &Repository) -> aws_sdk_ecr::Client {
    match &repo.ecr {
        Some(r) if r.region != aws.region => aws_sdk_ecr::Client::from_conf(
            aws.ecr.config().to_builder().region(aws_sdk_ecr::config::Region::new(r.region.clone())).build(),
        ),
        _ => aws.ecr.clone(),
    }
}

/// ECR's registry password (GetAuthorizationToken: base64 of `AWS:password`),
/// or `None` for a registry that is given none (see
/// [`Repository::takes_ecr_password`]): then nobody logs in and no call is made.
pub async fn password(aws: &AwsCtx, repo: &Repository) -> Result<Option<Password>, ImageError> {
    if !repo.takes_ecr_password() {
        return Ok(None);
    }
    aws.count_call();
    let out = ecr_client(aws, repo).get_authorization_token().send().await.classify("ecr:GetAuthorizationToken")?;
    let token = out
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or_else(|| ProviderError::Invalid("ecr:GetAuthorizationToken: the answer holds no token".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ProviderError::Invalid("ecr:GetAuthorizationToken: the token is not base64 text".into()))?;
    let password = decoded.split_once(':').map(|(_, p)| p.to_string()).unwrap_or(decoded);
    Ok(Some(Password(password)))
}

/// Whether `repo:tag` exists: ECR's DescribeImages, or the overriding
/// registry's manifest endpoint (Docker Registry HTTP API v2).
pub async fn exists(
    aws: &AwsCtx,
    repo: &Repository,
    tag: &str,
    password: Option<&Password>,
) -> Result<bool, ImageError> {
    if repo.overridden {
        return registry_has(repo, tag, password).await;
    }
    aws.count_call();
    let answer = ecr_client(aws, repo)
        .describe_images()
        .set_registry_id(repo.ecr.as_ref().map(|r| r.account.clone()))
        .repository_name(&repo.name)
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await;
    match answer {
        Ok(out) => Ok(!out.image_details().is_empty()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_image_not_found_exception()) => Ok(false),
        Err(e) => Err(crate::aws::classify("ecr:DescribeImages", e).into()),
    }
}

async fn registry_has(repo: &Repository, tag: &str, password: Option<&Password>) -> Result<bool, ImageError> {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let fail = |message: String| ImageError::Registry { registry: repo.registry.clone(), message };
    let uri: hyper::Uri = format!("http://{}/v2/{}/manifests/{tag}", repo.registry, repo.name)
        .parse()
        .map_err(|e| fail(format!("not a registry address: {e}")))?;
    let mut request = hyper::Request::head(uri);
    if let Some(password) = password {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{}", password.expose()));
        request = request.header("Authorization", format!("Basic {auth}"));
    }
    let request = request
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, \
             application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json",
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(e.to_string()))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), client.request(request))
        .await
        .map_err(|_| fail("no answer within 30 s".into()))?
        .map_err(|e| fail(e.to_string()))?;
    match answer.status().as_u16() {
        200 => Ok(true),
        404 => Ok(false),
        code => Err(fail(format!("HTTP {code} for the manifest of {}", repo.reference(tag)))),
    }
}

/// `docker build --platform linux/amd64` of `context`, tagged `tag` and
/// `latest`, then pushed both. Docker's credentials go to a private,
/// temporary DOCKER_CONFIG, removed afterwards.
pub async fn build_and_push(
    context: &Path,
    dockerfile: Option<&Path>,
    repo: &Repository,
    tag: &str,
    password: Option<&Password>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), ImageError> {
    let config = tempfile::Builder::new()
        .prefix("gantry-docker-")
        .tempdir()
        .map_err(|e| ImageError::Docker(format!("cannot make a temporary folder: {e}")))?;
    let tagged = repo.reference(tag);
    let latest = repo.reference("latest");
    let mut build = vec!["build", "--platform", "linux/amd64", "-t", &tagged, "-t", &latest];
    let dockerfile_text;
    if let Some(f) = dockerfile {
        dockerfile_text = f.display().to_string();
        build.extend(["-f", &dockerfile_text]);
    }
    let context_text = context.display().to_string();
    build.push(&context_text);
    say(&format!("docker build --platform linux/amd64 -t {tagged} {context_text}"));
    docker(config.path(), &build, None).await?;
    if let Some(password) = password {
        say(&format!("docker login {} (password on stdin)", repo.registry));
        docker(
            config.path(),
            &["login", "--username", "AWS", "--password-stdin", &repo.registry],
            Some(password.expose()),
        )
        .await?;
    }
    for reference in [&tagged, &latest] {
        say(&format!("docker push {reference}"));
        docker(config.path(), &["push", reference], None).await?;
    }
    Ok(())
}

/// Runs docker with `args`, feeding `stdin`; on failure, the end of its output.
async fn docker(config: &Path, args: &[&str], stdin: Option<&str>) -> Result<(), ImageError> {
    let mut cmd = tokio::process::Command::new("docker");
    cmd.args(args)
        .env("DOCKER_CONFIG", config)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| ImageError::Docker(format!("cannot run docker: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes()).await;
        drop(pipe);
    }
    let out = child.wait_with_output().await.map_err(|e| ImageError::Docker(format!("docker: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
    Err(ImageError::Docker(format!("docker {} failed:\n{}", args[0], tail.join("\n"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_split_and_take_an_override() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vaultsphere-prod";
        let r = Repository::parse(ecr, None).unwrap();
        assert_eq!(r.registry, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        assert_eq!(r.name, "vaultsphere-prod");
        assert!(!r.overridden);
        let local = Repository::parse(ecr, Some("127.0.0.1:5000")).unwrap();
        assert_eq!(local.reference("v1"), "127.0.0.1:5000/vaultsphere-prod:v1");
        assert!(local.overridden);
        assert_eq!(r.ecr, Some(EcrRegistry { account: "123456789012".into(), region: "eu-west-1".into() }));
        assert!(r.takes_ecr_password());
        assert!(local.takes_ecr_password(), "a loopback registry stands in for ECR");
        let mirror = Repository::parse(ecr, Some("mirror.example.internal:5000")).unwrap();
        assert!(!mirror.takes_ecr_password(), "a mirror elsewhere gets no ECR credentials");
        assert!(Repository::parse("ghcr.io/acme/app", None).unwrap().ecr.is_none());
        assert!(Repository::parse("no-slash", None).is_none());
        assert!(Repository::parse("host/name:tag", None).is_none());
    }

    #[test]
    fn passwords_do_not_print() {
        assert_eq!(format!("{:?}", Password("hunter2".into())), "Password(***)");
    }
}
