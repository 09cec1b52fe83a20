//! `data "aws_ssm_parameter"`: one parameter (SSM GetParameter). `value` is
//! sensitive: the engine marks it from the schema, so it never reaches state,
//! plans or logs; `insecure_value` carries the value only for types that are
//! not SecureString, as the provider does.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;

use super::opt;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, get_bool, require_str};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_ssm_parameter";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String),
            Attr::optional("with_decryption", Ty::Bool).default(true),
            Attr::computed("arn", Ty::String),
            Attr::computed("type", Ty::String),
            Attr::computed("value", Ty::String).sensitive(),
            Attr::computed("insecure_value", Ty::String),
            Attr::computed("version", Ty::Number),
        ],
    )
});

pub struct SsmParameter;

#[async_trait]
impl DataSource for SsmParameter {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let name = require_str(args, "name", TYPE)?;
        let decrypt = get_bool(args, "with_decryption").unwrap_or(true);
        aws.count_call();
        let out =
            aws.ssm.get_parameter().name(name).with_decryption(decrypt).send().await.classify("ssm:GetParameter")?;
        let p = out.parameter().ok_or_else(|| ProviderError::empty_response("ssm:GetParameter", "parameter"))?;
        let secure = p.r#type() == Some(&ParameterType::SecureString);
        let mut attrs = args.clone();
        attrs.insert("id".into(), opt(p.name()));
        attrs.insert("name".into(), opt(p.name()));
        attrs.insert("with_decryption".into(), Value::from(decrypt));
        attrs.insert("arn".into(), opt(p.arn()));
        attrs.insert("type".into(), opt(p.r#type().map(|t| t.as_str())));
        attrs.insert("value".into(), opt(p.value()));
        attrs.insert("insecure_value".into(), if secure { Value::Null } else { opt(p.value()) });
        attrs.insert("version".into(), Value::from(p.version()));
        Ok(complete(&SCHEMA, attrs))
    }
}
