//! `aws_s3_bucket_acl`: a bucket's access control list, either a canned
//! `acl` or a full `access_control_policy` (owner and grants). The id is the
//! provider's: `BUCKET[,EXPECTED_OWNER][,ACL]`.
//!
//! S3 does not say which canned ACL a bucket got, only the grants it
//! expanded to; a read keeps the configured `acl` while the grants still
//! match its expansion and otherwise names the canned ACL they match (or
//! none), so that a change made by hand shows as drift. Like the provider,
//! destroy only forgets the ACL: S3 has no call that removes one, and
//! resetting it to `private` would be a change nobody asked for.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{AccessControlPolicy, BucketCannedAcl, Grant, Owner, Permission};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::s3_bucket_id::BucketId;
use super::s3_grantee;
use super::support::{block_items, complete, found, get_nonempty_str, get_str, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_acl";
const POLICY: &str = "access_control_policy";
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// Canned ACLs and the grants S3 expands each to on a bucket, besides the
/// owner's FULL_CONTROL (`aws-exec-read` grants to an AWS-internal account
/// and is only ever kept, never recognised).
const CANNED: &[(&str, &[(&str, &str)])] = &[
    ("private", &[]),
    ("bucket-owner-read", &[]),
    ("bucket-owner-full-control", &[]),
    ("public-read", &[(ALL_USERS, "READ")]),
    ("public-read-write", &[(ALL_USERS, "READ"), (ALL_USERS, "WRITE")]),
    ("authenticated-read", &[(AUTHENTICATED_USERS, "READ")]),
    ("log-delivery-write", &[(LOG_DELIVERY, "READ_ACP"), (LOG_DELIVERY, "WRITE")]),
    ("aws-exec-read", &[]),
];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
            Attr::optional("acl", Ty::String),
        ],
    )
    .blocks(vec![BlockSchema::single(POLICY, vec![])
        .nested(vec![
            BlockSchema::set("grant", vec![Attr::required("permission", Ty::String)]).nested(vec![s3_grantee::block()]),
            BlockSchema::single(
                "owner",
                vec![Attr::optional_computed("display_name", Ty::String), Attr::required("id", Ty::String)],
            )
            .min(1),
        ])
        .computed_when_absent()])
});

pub struct S3BucketAcl;

#[async_trait]
impl ResourceType for S3BucketAcl {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        let id = BucketId::from_args(desired)?;
        Some(format_id(&id, get_nonempty_str(desired, "acl")))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        try_join_all(requests.iter().map(|req| read_one(ctx.aws, &req.id, &req.prior))).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let id = BucketId::from_args(desired).unwrap_or(BucketId { bucket: bucket.to_string(), expected_owner: None });
        put(aws, &id, desired).await?;
        let full_id = format_id(&id, get_nonempty_str(desired, "acl"));
        let attrs = read_back(aws, &full_id, desired).await?;
        Ok(Created { id: full_id, attrs })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let (bucket_id, _) = parse_id(id)?;
        put(aws, &bucket_id, desired).await?;
        read_back(aws, id, desired).await
    }

    async fn delete(&self, _aws: &AwsCtx, _id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// Reads one ACL; `prior` is state, or an import's hint (which has no id).
async fn read_one(aws: &AwsCtx, full_id: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let (id, id_acl) = parse_id(full_id)?;
    aws.count_call();
    let result = aws
        .s3
        .get_bucket_acl()
        .bucket(&id.bucket)
        .set_expected_bucket_owner(id.owner())
        .send()
        .await
        .classify("s3:GetBucketAcl");
    let Some(out) = found(result, &[])? else { return Ok(None) };
    let owner_id = out.owner().and_then(|o| o.id()).unwrap_or_default();
    let importing = !prior.contains_key("id");
    let acl = match get_str(prior, "acl") {
        Some(acl) if !acl.is_empty() => live_canned(Some(acl), out.grants(), owner_id),
        // Imported: the id may name the ACL; a configured `acl` without
        // one there is recognised from the grants.
        Some(_) | None if importing && id_acl.is_some() => live_canned(id_acl.as_deref(), out.grants(), owner_id),
        Some(_) if importing => live_canned(None, out.grants(), owner_id),
        _ => None,
    };
    let policy = json!([{
        "grant": out.grants().iter().map(grant_to_block).collect::<Vec<_>>(),
        "owner": [{
            "id": owner_id,
            "display_name": out.owner().and_then(|o| o.display_name()),
        }],
    }]);
    Ok(Some(attrs_for(full_id, &id, acl.as_deref(), policy)))
}

/// The state after a put: S3 expands a canned ACL into grants that only a
/// read shows, and `access_control_policy` must hold them.
async fn read_back(aws: &AwsCtx, full_id: &str, desired: &Attrs) -> Result<Attrs, ProviderError> {
    let mut known = desired.clone();
    known.insert("id".into(), Value::from(full_id));
    read_one(aws, full_id, &known)
        .await?
        .ok_or_else(|| ProviderError::empty_response("s3:GetBucketAcl", "ACL of the bucket just written"))
}

fn is_canned(acl: &str) -> bool {
    CANNED.iter().any(|(name, _)| *name == acl)
}

/// `BUCKET[,OWNER][,ACL]`; with two parts, the second is an ACL when it
/// names a canned one (an account id never does).
fn parse_id(id: &str) -> Result<(BucketId, Option<String>), ProviderError> {
    let parts: Vec<&str> = id.split(',').collect();
    let (bucket_part, acl) = match parts.as_slice() {
        [bucket, acl] if is_canned(acl) => (bucket.to_string(), Some(acl.to_string())),
        [bucket, owner, acl] => (format!("{bucket},{owner}"), Some(acl.to_string())),
        _ => (id.to_string(), None),
    };
    let bucket = BucketId::parse(TYPE_NAME, &bucket_part).map_err(|_| {
        ProviderError::Invalid(format!(
            "{TYPE_NAME}: id {id:?} is not of the form BUCKET[,EXPECTED_BUCKET_OWNER][,ACL]"
        ))
    })?;
    if acl.as_deref().is_some_and(|a| !is_canned(a)) {
        return Err(ProviderError::Invalid(format!("{TYPE_NAME}: id {id:?} names no canned ACL")));
    }
    Ok((bucket, acl))
}

fn format_id(id: &BucketId, acl: Option<&str>) -> String {
    match acl {
        Some(acl) => format!("{id},{acl}"),
        None => id.to_string(),
    }
}

/// The grants besides the owner's full control, as (group URI, permission).
fn extra_grants(grants: &[Grant], owner_id: &str) -> BTreeSet<(String, String)> {
    grants
        .iter()
        .filter_map(|g| {
            let grantee = g.grantee()?;
            let permission = g.permission()?.as_str().to_string();
            if grantee.id() == Some(owner_id) && permission == "FULL_CONTROL" {
                return None;
            }
            let who = grantee.uri().or(grantee.id()).or(grantee.email_address()).unwrap_or_default();
            Some((who.to_string(), permission))
        })
        .collect()
}

fn expansion(acl: &str) -> Option<BTreeSet<(String, String)>> {
    let (_, grants) = CANNED.iter().find(|(name, _)| *name == acl)?;
    Some(grants.iter().map(|(who, what)| (who.to_string(), what.to_string())).collect())
}

/// The canned ACL to report: the configured one while the live grants are
/// its expansion, else the first canned ACL they are the expansion of.
fn live_canned(configured: Option<&str>, grants: &[Grant], owner_id: &str) -> Option<String> {
    let live = extra_grants(grants, owner_id);
    if let Some(configured) = configured {
        if configured == "aws-exec-read" || expansion(configured).as_ref() == Some(&live) {
            return Some(configured.to_string());
        }
    }
    CANNED.iter().map(|(name, _)| *name).find(|name| expansion(name).as_ref() == Some(&live)).map(str::to_string)
}

fn grant_to_block(grant: &Grant) -> Value {
    json!({
        "permission": grant.permission().map(|p| p.as_str()),
        "grantee": grant.grantee().map(s3_grantee::to_block).unwrap_or_else(|| json!([])),
    })
}

async fn put(aws: &AwsCtx, id: &BucketId, desired: &Attrs) -> Result<(), ProviderError> {
    const CALL: &str = "s3:PutBucketAcl";
    let acl = get_nonempty_str(desired, "acl");
    let policy = single_block(desired, POLICY);
    let mut request = aws.s3.put_bucket_acl().bucket(&id.bucket).set_expected_bucket_owner(id.owner());
    // `acl` wins: the policy block, when the stack leaves it out, arrives
    // holding the grants state recorded.
    match (acl, policy) {
        (Some(acl), _) => {
            if !is_canned(acl) {
                let names: Vec<&str> = CANNED.iter().map(|(n, _)| *n).collect();
                return Err(ProviderError::Invalid(format!(
                    "{TYPE_NAME}: \"acl\" must be one of {}, not {acl:?}",
                    names.join(", ")
                )));
            }
            request = request.acl(BucketCannedAcl::from(acl));
        }
        (None, Some(policy)) => request = request.access_control_policy(policy_to_sdk(policy)?),
        (None, None) => {
            return Err(ProviderError::Invalid(format!("{TYPE_NAME}: set \"acl\" or an \"{POLICY}\" block")))
        }
    }
    aws.count_call();
    request.send().await.classify(CALL)?;
    Ok(())
}

fn policy_to_sdk(policy: &Attrs) -> Result<AccessControlPolicy, ProviderError> {
    const CALL: &str = "s3:PutBucketAcl";
    let owner = single_block(policy, "owner")
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: \"{POLICY}\" needs an \"owner\" block")))?;
    let owner = Owner::builder()
        .id(require_str(owner, "id", TYPE_NAME)?)
        .set_display_name(get_nonempty_str(owner, "display_name").map(str::to_string))
        .build();
    let mut builder = AccessControlPolicy::builder().owner(owner);
    for grant in block_items(policy, "grant") {
        let permission = require_str(grant, "permission", TYPE_NAME)?;
        let grantee = s3_grantee::to_sdk(TYPE_NAME, CALL, grant)?;
        builder = builder.grants(Grant::builder().grantee(grantee).permission(Permission::from(permission)).build());
    }
    Ok(builder.build())
}

fn attrs_for(full_id: &str, id: &BucketId, acl: Option<&str>, policy: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(full_id));
    attrs.insert("bucket".into(), Value::from(id.bucket.as_str()));
    attrs.insert("expected_bucket_owner".into(), Value::from(id.expected_owner.as_deref()));
    attrs.insert("acl".into(), Value::from(acl));
    attrs.insert(POLICY.into(), policy);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::types::{Grantee, Type};

    fn grant(uri: Option<&str>, id: Option<&str>, permission: &str) -> Grant {
        let kind = if uri.is_some() { Type::Group } else { Type::CanonicalUser };
        let grantee = Grantee::builder().r#type(kind).set_uri(uri.map(String::from)).set_id(id.map(String::from));
        Grant::builder().grantee(grantee.build().unwrap()).permission(Permission::from(permission)).build()
    }

    #[test]
    fn ids_take_the_providers_forms() {
        let (id, acl) = parse_id("b").unwrap();
        assert_eq!((id.to_string(), acl), ("b".to_string(), None));
        let (id, acl) = parse_id("b,private").unwrap();
        assert_eq!((id.to_string(), acl.as_deref()), ("b".to_string(), Some("private")));
        let (id, acl) = parse_id("b,123456789012").unwrap();
        assert_eq!((id.to_string(), acl), ("b,123456789012".to_string(), None));
        let (id, acl) = parse_id("b,123456789012,public-read").unwrap();
        assert_eq!((id.to_string(), acl.as_deref()), ("b,123456789012".to_string(), Some("public-read")));
        assert!(parse_id("b,1,not-an-acl").is_err());
    }

    #[test]
    fn canned_acls_are_recognised_from_their_grants() {
        let owner = grant(None, Some("me"), "FULL_CONTROL");
        let public = vec![owner.clone(), grant(Some(ALL_USERS), None, "READ")];
        assert_eq!(live_canned(Some("public-read"), &public, "me").as_deref(), Some("public-read"));
        assert_eq!(live_canned(Some("private"), &public, "me").as_deref(), Some("public-read"));
        assert_eq!(
            live_canned(Some("bucket-owner-read"), std::slice::from_ref(&owner), "me").as_deref(),
            Some("bucket-owner-read")
        );
        let odd = vec![owner, grant(None, Some("someone"), "READ")];
        assert_eq!(live_canned(Some("private"), &odd, "me"), None);
    }
}
