//! `aws_iam_instance_profile`: the container an EC2 instance assumes a role
//! through. It holds at most one role, added and removed by separate calls.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_iam::types::InstanceProfile;
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{
    complete, copy_attrs, create_tags, format_date, found, get_nonempty_str, get_tags, iam_tag_list, iam_tags,
    require_str, tag_changes, tags_to_json, update_iam_tags, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_instance_profile";
/// IAM takes names of at most 128 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 128);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::optional("path", Ty::String).default("/").force_new(),
            Attr::optional("role", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("unique_id", Ty::String),
            Attr::computed("create_date", Ty::String),
        ],
    )
    .taggable()
});

pub struct IamInstanceProfile;

#[async_trait]
impl ResourceType for IamInstanceProfile {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let reads = requests.iter().map(|req| async move {
            let Some(profile) = found(get_profile(aws, &req.id).await, &[])? else {
                return Ok(None);
            };
            let tags = match profile.tags.as_deref() {
                Some(tags) => iam_tags(tags),
                None => match found(list_tags(aws, &req.id).await, &[])? {
                    Some(tags) => tags,
                    None => return Ok(None),
                },
            };
            Ok::<_, ProviderError>(Some(profile_attrs(&profile, &req.prior, visible_tags(&tags))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "iam:CreateInstanceProfile";
        let name = require_str(desired, "name", TYPE_NAME)?.to_string();
        let name = name.as_str();
        aws.count_call();
        let out = aws
            .iam
            .create_instance_profile()
            .instance_profile_name(name)
            .set_path(get_nonempty_str(desired, "path").map(str::to_string))
            .set_tags(Some(iam_tag_list(CALL, create_tags(desired, owner_tags))?))
            .send()
            .await
            .classify(CALL)?;
        let profile = out.instance_profile().ok_or_else(|| ProviderError::empty_response(CALL, "instance profile"))?;
        if let Some(role) = get_nonempty_str(desired, "role") {
            add_role(aws, name, role).await?;
        }
        let mut attrs = profile_attrs(profile, desired, tags_to_json(&get_tags(desired, "tags_all")));
        copy_attrs(&mut attrs, desired, &["role"]);
        Ok(Created { id: name.to_string(), attrs })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let before = get_nonempty_str(prior, "role");
        let after = get_nonempty_str(desired, "role");
        if before != after {
            // A profile holds one role: the old one must go first.
            if let Some(old) = before {
                remove_role(aws, id, old).await?;
            }
            if let Some(new) = after {
                add_role(aws, id, new).await?;
            }
        }

        update_iam_tags(
            aws,
            tag_changes(prior, desired, owner_tags),
            "iam:TagInstanceProfile",
            |tags| async move {
                aws.iam
                    .tag_instance_profile()
                    .instance_profile_name(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .classify("iam:TagInstanceProfile")
                    .map(drop)
            },
            |keys| async move {
                aws.iam
                    .untag_instance_profile()
                    .instance_profile_name(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .classify("iam:UntagInstanceProfile")
                    .map(drop)
            },
        )
        .await?;

        let mut attrs = Attrs::new();
        copy_attrs(&mut attrs, desired, &["name", "name_prefix", "path", "role", "tags"]);
        copy_attrs(&mut attrs, prior, &["arn", "unique_id", "create_date"]);
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let steps = async {
            // The live roles, not the recorded one: a profile still holding a
            // role cannot be deleted.
            let profile = get_profile(aws, id).await?;
            for role in profile.roles() {
                remove_role(aws, id, role.role_name()).await?;
            }
            aws.count_call();
            aws.iam
                .delete_instance_profile()
                .instance_profile_name(id)
                .send()
                .await
                .classify("iam:DeleteInstanceProfile")
        };
        found(steps.await, &[]).map(|_| ())
    }
}

async fn get_profile(aws: &AwsCtx, name: &str) -> Result<InstanceProfile, ProviderError> {
    const CALL: &str = "iam:GetInstanceProfile";
    aws.count_call();
    let out = aws.iam.get_instance_profile().instance_profile_name(name).send().await.classify(CALL)?;
    out.instance_profile.ok_or(ProviderError::NotFound { call: CALL })
}

/// A profile holds one role: adding a second one is refused with
/// LimitExceeded. That is also the answer to the SDK's resend of an add
/// whose first answer was lost, so the profile is read to tell the two apart.
async fn add_role(aws: &AwsCtx, profile: &str, role: &str) -> Result<(), ProviderError> {
    aws.count_call();
    let result = aws
        .iam
        .add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .classify("iam:AddRoleToInstanceProfile");
    match result {
        Err(e) if e.code().is_some_and(|c| c.starts_with("LimitExceeded")) => {
            let live = get_profile(aws, profile).await?;
            if live.roles().iter().any(|r| r.role_name() == role) {
                Ok(())
            } else {
                Err(e)
            }
        }
        other => other.map(|_| ()),
    }
}

/// Removing a role that is no longer there is success. AWS answers the
/// SDK's resend of a removal whose first answer was lost with NoSuchEntity,
/// the emulator with a bare server error: on any error the profile is read
/// to see whether the role is still in it.
async fn remove_role(aws: &AwsCtx, profile: &str, role: &str) -> Result<(), ProviderError> {
    aws.count_call();
    let result = aws
        .iam
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .classify("iam:RemoveRoleFromInstanceProfile");
    match found(result, &[]) {
        Ok(_) => Ok(()),
        Err(e) => match found(get_profile(aws, profile).await, &[])? {
            Some(live) if live.roles().iter().any(|r| r.role_name() == role) => Err(e),
            _ => Ok(()),
        },
    }
}

async fn list_tags(aws: &AwsCtx, name: &str) -> Result<Tags, ProviderError> {
    let mut tags = Tags::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_instance_profile_tags()
            .instance_profile_name(name)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListInstanceProfileTags")?;
        tags.extend(iam_tags(out.tags()));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(tags);
        }
    }
}

/// The attribute map of a profile as IAM describes it; `args` supplies `tags`.
fn profile_attrs(profile: &InstanceProfile, args: &Attrs, tags_all: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(profile.instance_profile_name()));
    attrs.insert("name".into(), Value::from(profile.instance_profile_name()));
    attrs.insert("name_prefix".into(), NAMING.prefix_to_report(args, profile.instance_profile_name()));
    attrs.insert("path".into(), Value::from(profile.path()));
    attrs.insert("arn".into(), Value::from(profile.arn()));
    attrs.insert("unique_id".into(), Value::from(profile.instance_profile_id()));
    attrs.insert("create_date".into(), Value::from(format_date(profile.create_date())));
    attrs.insert("role".into(), Value::from(profile.roles().first().map(|r| r.role_name())));
    copy_attrs(&mut attrs, args, &["tags"]);
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}
