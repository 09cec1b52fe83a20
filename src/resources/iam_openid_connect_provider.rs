//! `aws_iam_openid_connect_provider`: trust in an external identity issuer
//! (GitHub Actions). Its id is an ARN that embeds the account, so a create
//! interrupted by a crash is found again by its ownership tags.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{
    complete, copy_attrs, create_tags, found, get_str, get_strings, get_tags, has_owner_tags, iam_tag_list, iam_tags,
    require_str, tag_changes, tags_to_json, update_iam_tags, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_openid_connect_provider";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("url", Ty::String).force_new(),
            Attr::required("client_id_list", Ty::SetOfString),
            Attr::optional_computed("thumbprint_list", Ty::ListOfString),
            Attr::computed("arn", Ty::String),
        ],
    )
    .taggable()
});

pub struct IamOpenidConnectProvider;

#[async_trait]
impl ResourceType for IamOpenidConnectProvider {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        aws.count_call();
        let list = aws.iam.list_open_id_connect_providers().send().await.classify("iam:ListOpenIDConnectProviders")?;
        let arns = list.open_id_connect_provider_list().iter().filter_map(|p| p.arn());
        let candidates = arns.map(|arn| async move {
            let provider = found(get_provider(aws, arn).await, &[])?;
            let owned = provider.is_some_and(|p| has_owner_tags(&iam_tags(p.tags()), owner_tags));
            Ok::<_, ProviderError>(owned.then(|| arn.to_string()))
        });
        Ok(try_join_all(candidates).await?.into_iter().flatten().next())
    }

    async fn owner_tags_of(&self, aws: &AwsCtx, id: &str, _live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        Ok(Some(iam_tags(get_provider(aws, id).await?.tags())))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let Some(provider) = found(get_provider(ctx.aws, &req.id).await, &[])? else {
                return Ok(None);
            };
            Ok::<_, ProviderError>(Some(provider_attrs(&req.id, &provider, &req.prior)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "iam:CreateOpenIDConnectProvider";
        let url = require_str(desired, "url", TYPE_NAME)?;
        let thumbprints =
            desired.get("thumbprint_list").filter(|v| !v.is_null()).map(|_| get_strings(desired, "thumbprint_list"));
        aws.count_call();
        let out = aws
            .iam
            .create_open_id_connect_provider()
            .url(url)
            .set_client_id_list(Some(get_strings(desired, "client_id_list")))
            .set_thumbprint_list(thumbprints.clone())
            .set_tags(Some(iam_tag_list(CALL, create_tags(desired, owner_tags))?))
            .send()
            .await
            .classify(CALL)
            .map_err(|e| match e {
                // One provider per URL and account: say what to do instead.
                ProviderError::AlreadyExists { call, code, .. } => ProviderError::AlreadyExists {
                    call,
                    code,
                    message: format!(
                        "the account already has an OIDC provider for {url}. Refer to it by its ARN \
                         (arn:aws:iam::ACCOUNT:oidc-provider/HOST) instead of creating one, or \
                         `gantry import` it if no other stack owns it"
                    ),
                },
                e => e,
            })?;
        let arn = out.open_id_connect_provider_arn().ok_or_else(|| ProviderError::empty_response(CALL, "ARN"))?;
        // Without thumbprints AWS picks them itself: read back what it chose,
        // or the first refresh would report it as drift.
        let thumbprints = match thumbprints {
            Some(list) => list,
            None => get_provider(aws, arn).await?.thumbprint_list().to_vec(),
        };
        let mut attrs = Attrs::new();
        copy_attrs(&mut attrs, desired, &["url", "client_id_list", "tags"]);
        attrs.insert("thumbprint_list".into(), Value::from(thumbprints));
        attrs.insert("id".into(), Value::from(arn));
        attrs.insert("arn".into(), Value::from(arn));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(Created { id: arn.to_string(), attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let before = get_strings(prior, "client_id_list");
        let after = get_strings(desired, "client_id_list");
        // Add first: a provider must keep at least one client id.
        for client_id in after.iter().filter(|c| !before.contains(c)) {
            aws.count_call();
            aws.iam
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(id)
                .client_id(client_id)
                .send()
                .await
                .classify("iam:AddClientIDToOpenIDConnectProvider")?;
        }
        for client_id in before.iter().filter(|c| !after.contains(c)) {
            aws.count_call();
            aws.iam
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(id)
                .client_id(client_id)
                .send()
                .await
                .classify("iam:RemoveClientIDFromOpenIDConnectProvider")?;
        }

        let mut thumbprints = prior.get("thumbprint_list").cloned().unwrap_or(Value::Null);
        if desired.get("thumbprint_list").is_some_and(|v| !v.is_null()) {
            let wanted = get_strings(desired, "thumbprint_list");
            if wanted != get_strings(prior, "thumbprint_list") {
                aws.count_call();
                aws.iam
                    .update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(id)
                    .set_thumbprint_list(Some(wanted.clone()))
                    .send()
                    .await
                    .classify("iam:UpdateOpenIDConnectProviderThumbprint")?;
            }
            thumbprints = Value::from(wanted);
        }

        update_iam_tags(
            aws,
            tag_changes(prior, desired, owner_tags),
            "iam:TagOpenIDConnectProvider",
            |tags| async move {
                aws.iam
                    .tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .classify("iam:TagOpenIDConnectProvider")
                    .map(drop)
            },
            |keys| async move {
                aws.iam
                    .untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .classify("iam:UntagOpenIDConnectProvider")
                    .map(drop)
            },
        )
        .await?;

        let mut attrs = Attrs::new();
        copy_attrs(&mut attrs, desired, &["url", "client_id_list", "tags"]);
        attrs.insert("thumbprint_list".into(), thumbprints);
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("arn".into(), Value::from(id));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(id)
            .send()
            .await
            .classify("iam:DeleteOpenIDConnectProvider");
        found(result, &[]).map(|_| ())
    }
}

async fn get_provider(aws: &AwsCtx, arn: &str) -> Result<GetOpenIdConnectProviderOutput, ProviderError> {
    aws.count_call();
    aws.iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .classify("iam:GetOpenIDConnectProvider")
}

fn provider_attrs(arn: &str, provider: &GetOpenIdConnectProviderOutput, prior: &Attrs) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(arn));
    attrs.insert("arn".into(), Value::from(arn));
    attrs.insert("url".into(), Value::from(url_as_configured(provider.url().unwrap_or_default(), prior)));
    attrs.insert("client_id_list".into(), Value::from(provider.client_id_list().to_vec()));
    attrs.insert("thumbprint_list".into(), Value::from(provider.thumbprint_list().to_vec()));
    copy_attrs(&mut attrs, prior, &["tags"]);
    attrs.insert("tags_all".into(), visible_tags(&iam_tags(provider.tags())));
    complete(&SCHEMA, attrs)
}

/// IAM stores the issuer without its scheme (`token.actions.githubusercontent.com`)
/// while the configuration names it with `https://`: the configured form is
/// kept while it names the same issuer.
fn url_as_configured(live: &str, prior: &Attrs) -> String {
    let bare = |u: &str| u.strip_prefix("https://").unwrap_or(u).trim_end_matches('/').to_ascii_lowercase();
    match get_str(prior, "url") {
        Some(configured) if bare(configured) == bare(live) => configured.to_string(),
        _ if live.starts_with("https://") => live.to_string(),
        _ => format!("https://{live}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_url_keeps_its_configured_scheme() {
        let prior =
            json!({"url": "https://token.actions.githubusercontent.com"}).as_object().cloned().unwrap_or_default();
        let live = "token.actions.githubusercontent.com";
        assert_eq!(url_as_configured(live, &prior), "https://token.actions.githubusercontent.com");
        assert_eq!(url_as_configured(live, &Attrs::new()), "https://token.actions.githubusercontent.com");
        assert_eq!(url_as_configured("other.example.com", &prior), "https://other.example.com");
    }
}
