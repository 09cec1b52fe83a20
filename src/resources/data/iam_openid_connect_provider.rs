//! `data "aws_iam_openid_connect_provider"`: an OIDC identity provider by ARN
//! (IAM GetOpenIDConnectProvider) or by URL (listing the account's providers
//! and reading each until the URL matches).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, get_nonempty_str, iam_tags, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_iam_openid_connect_provider";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("arn", Ty::String),
            Attr::optional_computed("url", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("client_id_list", Ty::ListOfString),
            Attr::computed("thumbprint_list", Ty::ListOfString),
        ],
    )
});

pub struct IamOpenidConnectProvider;

/// IAM stores the URL without its scheme.
fn bare_url(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or(url)
}

#[async_trait]
impl DataSource for IamOpenidConnectProvider {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let wanted_url = get_nonempty_str(args, "url").map(bare_url);
        let candidates = match get_nonempty_str(args, "arn") {
            Some(arn) => vec![arn.to_string()],
            None if wanted_url.is_some() => {
                aws.count_call();
                let out =
                    aws.iam.list_open_id_connect_providers().send().await.classify("iam:ListOpenIDConnectProviders")?;
                out.open_id_connect_provider_list().iter().filter_map(|p| p.arn().map(str::to_string)).collect()
            }
            None => return Err(ProviderError::Invalid(format!("{TYPE}: one of \"arn\" or \"url\" must be set"))),
        };
        for arn in candidates {
            aws.count_call();
            let out = aws
                .iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
                .classify("iam:GetOpenIDConnectProvider")?;
            let url = out.url().map(bare_url).unwrap_or_default();
            if wanted_url.is_some_and(|w| w != url) {
                continue;
            }
            let mut attrs = args.clone();
            attrs.insert("id".into(), Value::from(arn.as_str()));
            attrs.insert("arn".into(), Value::from(arn.as_str()));
            attrs.insert("url".into(), Value::from(url));
            attrs.insert("client_id_list".into(), Value::from(out.client_id_list().to_vec()));
            attrs.insert("thumbprint_list".into(), Value::from(out.thumbprint_list().to_vec()));
            attrs.insert("tags".into(), tags_to_json(&iam_tags(out.tags())));
            return Ok(complete(&SCHEMA, attrs));
        }
        Err(ProviderError::Invalid(format!(
            "{TYPE}: no IAM OIDC provider found with url {}",
            wanted_url.unwrap_or_default()
        )))
    }
}
