//! `data "aws_iam_role"`: a role by name (IAM GetRole).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::opt;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, decode_policy, format_date, iam_tags, require_str, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_iam_role";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("arn", Ty::String),
            Attr::computed("assume_role_policy", Ty::String),
            Attr::computed("create_date", Ty::String),
            Attr::computed("description", Ty::String),
            Attr::computed("max_session_duration", Ty::Number),
            Attr::computed("path", Ty::String),
            Attr::computed("permissions_boundary", Ty::String),
            Attr::computed("unique_id", Ty::String),
        ],
    )
});

pub struct IamRole;

#[async_trait]
impl DataSource for IamRole {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let name = require_str(args, "name", TYPE)?;
        aws.count_call();
        let out = aws.iam.get_role().role_name(name).send().await.classify("iam:GetRole")?;
        let role = out.role().ok_or_else(|| ProviderError::empty_response("iam:GetRole", "role"))?;
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(role.role_name()));
        attrs.insert("name".into(), Value::from(role.role_name()));
        attrs.insert("arn".into(), Value::from(role.arn()));
        attrs
            .insert("assume_role_policy".into(), opt(role.assume_role_policy_document().map(decode_policy).as_deref()));
        attrs.insert("create_date".into(), opt(format_date(role.create_date()).as_deref()));
        attrs.insert("description".into(), Value::from(role.description().unwrap_or("")));
        attrs.insert("max_session_duration".into(), opt_number(role.max_session_duration()));
        attrs.insert("path".into(), Value::from(role.path()));
        attrs.insert(
            "permissions_boundary".into(),
            Value::from(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).unwrap_or("")),
        );
        attrs.insert("unique_id".into(), Value::from(role.role_id()));
        attrs.insert("tags".into(), tags_to_json(&iam_tags(role.tags())));
        Ok(complete(&SCHEMA, attrs))
    }
}

fn opt_number(n: Option<i32>) -> Value {
    n.map(Value::from).unwrap_or(Value::Null)
}
