//! `aws_iam_role`. IAM answers with the trust policy URL-encoded; reads
//! decode it and hand back the document as AWS holds it (the engine compares
//! JSON documents normalized).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{
    attached_role_policies, complete, copy_attrs, create_tags, decode_policy, format_date, found, get_i64,
    get_nonempty_str, get_str, get_tags, has_owner_tags, iam_tag_list, iam_tags, prior_or_default, require_str,
    same_json, tag_changes, tags_to_json, update_iam_tags, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_role";
/// IAM takes names of at most 64 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 64);
const DEFAULT_MAX_SESSION: i64 = 3600;

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::required("assume_role_policy", Ty::Json),
            Attr::optional("path", Ty::String).default("/").force_new(),
            Attr::optional("description", Ty::String),
            Attr::optional("max_session_duration", Ty::Number).default(DEFAULT_MAX_SESSION),
            Attr::optional("permissions_boundary", Ty::String),
            Attr::optional("force_detach_policies", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
            Attr::computed("unique_id", Ty::String),
            Attr::computed("create_date", Ty::String),
        ],
    )
    .omit(
        "managed_policy_arns",
        "deprecated by the provider (5.x) because it fights attachments made elsewhere; use \
         aws_iam_role_policy_attachment or aws_iam_role_policy_attachments_exclusive, which gantry supports",
    )
    .omit(
        "inline_policy",
        "deprecated by the provider (5.x) because it fights policies made elsewhere; use aws_iam_role_policy \
         (one per policy) or aws_iam_role_policies_exclusive, which gantry supports",
    )
    .taggable()
});

pub struct IamRole;

#[async_trait]
impl ResourceType for IamRole {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn owner_tags_of(&self, aws: &AwsCtx, id: &str, _live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        list_tags(aws, id).await.map(Some)
    }

    /// A role whose name was generated (`name_prefix`, or no name) is found
    /// after an interrupted create by its ownership tags.
    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let mut marker = None;
        loop {
            aws.count_call();
            let out = aws.iam.list_roles().set_marker(marker).send().await.classify("iam:ListRoles")?;
            for role in out.roles() {
                if let Some(tags) = found(list_tags(aws, role.role_name()).await, &[])? {
                    if has_owner_tags(&tags, owner_tags) {
                        return Ok(Some(role.role_name().to_string()));
                    }
                }
            }
            marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
            if marker.is_none() {
                return Ok(None);
            }
        }
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let reads = requests.iter().map(|req| async move {
            aws.count_call();
            let result = aws.iam.get_role().role_name(&req.id).send().await.classify("iam:GetRole");
            let Some(role) = found(result, &[])?.and_then(|out| out.role) else {
                return Ok(None);
            };
            let tags = match role.tags.as_deref() {
                Some(tags) => iam_tags(tags),
                None => match found(list_tags(aws, &req.id).await, &[])? {
                    Some(tags) => tags,
                    None => return Ok(None),
                },
            };
            Ok::<_, ProviderError>(Some(role_attrs(&role, &req.prior, visible_tags(&tags))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "iam:CreateRole";
        let name = require_str(desired, "name", TYPE_NAME)?.to_string();
        let policy = require_str(desired, "assume_role_policy", TYPE_NAME)?;
        aws.count_call();
        let out = aws
            .iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(policy)
            .set_path(get_nonempty_str(desired, "path").map(str::to_string))
            .set_description(get_nonempty_str(desired, "description").map(str::to_string))
            .set_max_session_duration(max_session(desired)?)
            .set_permissions_boundary(get_nonempty_str(desired, "permissions_boundary").map(str::to_string))
            .set_tags(Some(iam_tag_list(CALL, create_tags(desired, owner_tags))?))
            .send()
            .await
            .classify(CALL)?;
        let role = out.role().ok_or_else(|| ProviderError::empty_response(CALL, "role"))?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: name, attrs: role_attrs(role, desired, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let policy = require_str(desired, "assume_role_policy", TYPE_NAME)?;
        if !same_json(get_str(prior, "assume_role_policy"), Some(policy)) {
            aws.count_call();
            aws.iam
                .update_assume_role_policy()
                .role_name(id)
                .policy_document(policy)
                .send()
                .await
                .classify("iam:UpdateAssumeRolePolicy")?;
        }

        let description = get_nonempty_str(desired, "description");
        let max_session = max_session(desired)?;
        let prior_max = get_i64(prior, "max_session_duration").unwrap_or(DEFAULT_MAX_SESSION);
        if description != get_nonempty_str(prior, "description")
            || max_session.is_some_and(|m| i64::from(m) != prior_max)
        {
            aws.count_call();
            aws.iam
                .update_role()
                .role_name(id)
                // An empty description clears the old one; omitting it would keep it.
                .description(description.unwrap_or_default())
                .set_max_session_duration(max_session)
                .send()
                .await
                .classify("iam:UpdateRole")?;
        }

        let boundary = get_nonempty_str(desired, "permissions_boundary");
        if boundary != get_nonempty_str(prior, "permissions_boundary") {
            match boundary {
                Some(arn) => {
                    aws.count_call();
                    aws.iam
                        .put_role_permissions_boundary()
                        .role_name(id)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .classify("iam:PutRolePermissionsBoundary")?;
                }
                None => {
                    aws.count_call();
                    let result = aws
                        .iam
                        .delete_role_permissions_boundary()
                        .role_name(id)
                        .send()
                        .await
                        .classify("iam:DeleteRolePermissionsBoundary");
                    found(result, &[])?;
                }
            }
        }

        update_iam_tags(
            aws,
            tag_changes(prior, desired, owner_tags),
            "iam:TagRole",
            |tags| async move {
                aws.iam.tag_role().role_name(id).set_tags(Some(tags)).send().await.classify("iam:TagRole").map(drop)
            },
            |keys| async move {
                aws.iam
                    .untag_role()
                    .role_name(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .classify("iam:UntagRole")
                    .map(drop)
            },
        )
        .await?;

        let mut attrs = Attrs::new();
        copy_attrs(
            &mut attrs,
            desired,
            &[
                "name",
                "name_prefix",
                "assume_role_policy",
                "path",
                "description",
                "max_session_duration",
                "permissions_boundary",
                "force_detach_policies",
                "tags",
            ],
        );
        // The name may have been generated: state keeps it, the arguments may not.
        copy_attrs(&mut attrs, prior, &["name", "name_prefix", "arn", "unique_id", "create_date"]);
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let steps = async {
            if prior_or_default(&SCHEMA, prior, "force_detach_policies") == Value::Bool(true) {
                detach_all_policies(aws, id).await?;
            }
            // A role still in an instance profile cannot be deleted (DeleteConflict).
            for profile in instance_profiles_for_role(aws, id).await? {
                aws.count_call();
                let result = aws
                    .iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(&profile)
                    .role_name(id)
                    .send()
                    .await
                    .classify("iam:RemoveRoleFromInstanceProfile");
                found(result, &[])?;
            }
            aws.count_call();
            aws.iam.delete_role().role_name(id).send().await.classify("iam:DeleteRole")
        };
        found(steps.await, &[]).map(|_| ())
    }
}

/// Detaches every managed policy and deletes every inline one.
async fn detach_all_policies(aws: &AwsCtx, role: &str) -> Result<(), ProviderError> {
    let detach = attached_role_policies(aws, role).await?.into_iter().map(|arn| async move {
        aws.count_call();
        let result =
            aws.iam.detach_role_policy().role_name(role).policy_arn(arn).send().await.classify("iam:DetachRolePolicy");
        found(result, &[]).map(|_| ())
    });
    try_join_all(detach).await?;
    let delete = inline_policy_names(aws, role).await?.into_iter().map(|name| async move {
        aws.count_call();
        let result = aws
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .classify("iam:DeleteRolePolicy");
        found(result, &[]).map(|_| ())
    });
    try_join_all(delete).await?;
    Ok(())
}

pub(super) async fn inline_policy_names(aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError> {
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListRolePolicies")?;
        names.extend(out.policy_names().iter().cloned());
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(names);
        }
    }
}

async fn instance_profiles_for_role(aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError> {
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_instance_profiles_for_role()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListInstanceProfilesForRole")?;
        names.extend(out.instance_profiles().iter().map(|p| p.instance_profile_name().to_string()));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(names);
        }
    }
}

async fn list_tags(aws: &AwsCtx, role: &str) -> Result<Tags, ProviderError> {
    let mut tags = Tags::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out =
            aws.iam.list_role_tags().role_name(role).set_marker(marker).send().await.classify("iam:ListRoleTags")?;
        tags.extend(iam_tags(out.tags()));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(tags);
        }
    }
}

fn max_session(desired: &Attrs) -> Result<Option<i32>, ProviderError> {
    match get_i64(desired, "max_session_duration") {
        None => Ok(None),
        Some(secs) => i32::try_from(secs).map(Some).map_err(|_| {
            ProviderError::Invalid(format!("{TYPE_NAME}: \"max_session_duration\" {secs} is out of range"))
        }),
    }
}

/// The attribute map of a role as IAM describes it; `args` supplies what IAM
/// does not store (`force_detach_policies`, `tags`).
fn role_attrs(role: &Role, args: &Attrs, tags_all: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(role.role_name()));
    attrs.insert("name".into(), Value::from(role.role_name()));
    attrs.insert("name_prefix".into(), NAMING.prefix_to_report(args, role.role_name()));
    attrs.insert("arn".into(), Value::from(role.arn()));
    attrs.insert("unique_id".into(), Value::from(role.role_id()));
    attrs.insert("create_date".into(), Value::from(format_date(role.create_date())));
    attrs.insert("path".into(), Value::from(role.path()));
    let policy = role.assume_role_policy_document().map(decode_policy);
    attrs.insert(
        "assume_role_policy".into(),
        Value::from(policy.or_else(|| get_str(args, "assume_role_policy").map(str::to_string))),
    );
    attrs.insert("description".into(), Value::from(role.description().filter(|d| !d.is_empty())));
    attrs.insert(
        "max_session_duration".into(),
        Value::from(role.max_session_duration().map_or(DEFAULT_MAX_SESSION, i64::from)),
    );
    attrs.insert(
        "permissions_boundary".into(),
        Value::from(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn())),
    );
    attrs.insert("force_detach_policies".into(), prior_or_default(&SCHEMA, args, "force_detach_policies"));
    copy_attrs(&mut attrs, args, &["tags"]);
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}
