//! `server_side_encryption { enabled, kms_key_arn }` of `aws_dynamodb_table`.
//!
//! Every table is encrypted at rest. `enabled = false` (or no block) means
//! a key AWS owns; `enabled = true` a KMS key: the one given in
//! `kms_key_arn`, else the account's AWS managed key (`alias/aws/dynamodb`),
//! whose ARN AWS then reports and state keeps. DescribeTable carries the
//! setting (`SSEDescription`), so reading it costs no call.

use aws_sdk_dynamodb::types::{SseDescription, SseSpecification, SseStatus, SseType};
use serde_json::{json, Value};

use super::support::{get_bool, get_nonempty_str, one_block, single_block};
use super::{Attr, Attrs, BlockSchema, Ty};

pub const BLOCK: &str = "server_side_encryption";

pub fn block() -> BlockSchema {
    BlockSchema::single(
        BLOCK,
        vec![Attr::required("enabled", Ty::Bool), Attr::optional_computed("kms_key_arn", Ty::String)],
    )
    .computed_when_absent()
}

/// What the configuration asks for: `None` when it has no block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sse {
    pub enabled: bool,
    pub kms_key_arn: Option<String>,
}

impl Sse {
    pub fn from_attrs(attrs: &Attrs) -> Option<Sse> {
        let block = single_block(attrs, BLOCK)?;
        Some(Sse {
            enabled: get_bool(block, "enabled").unwrap_or(false),
            kms_key_arn: get_nonempty_str(block, "kms_key_arn").map(str::to_string),
        })
    }

    /// The specification CreateTable and UpdateTable take.
    pub fn spec(&self) -> SseSpecification {
        let mut spec = SseSpecification::builder().enabled(self.enabled);
        if self.enabled {
            spec = spec.sse_type(SseType::Kms).set_kms_master_key_id(self.kms_key_arn.clone());
        }
        spec.build()
    }

    /// Whether moving from `prior` (state's block) needs an UpdateTable. A
    /// key left to AWS matches whatever key state recorded.
    pub fn differs_from(&self, prior: Option<&Sse>) -> bool {
        let Some(prior) = prior else { return self.enabled };
        self.enabled != prior.enabled || (self.kms_key_arn.is_some() && self.kms_key_arn != prior.kms_key_arn)
    }
}

/// The block a read reports. Without an `SSEDescription` AWS owns the key:
/// that is `enabled = false` when state said so, no block otherwise (as the
/// provider reports it).
pub fn read_block(description: Option<&SseDescription>, prior: &Attrs) -> Value {
    match description {
        Some(d) => one_block(
            json!({
                "enabled": d.status() == Some(&SseStatus::Enabled) || d.status() == Some(&SseStatus::Enabling),
                "kms_key_arn": d.kms_master_key_arn(),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ),
        None => match Sse::from_attrs(prior) {
            Some(Sse { enabled: false, .. }) => {
                one_block(json!({"enabled": false, "kms_key_arn": null}).as_object().cloned().unwrap_or_default())
            }
            _ => Value::Array(Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_block_becomes_a_specification() {
        let sse = Sse::from_attrs(&attrs(json!({"server_side_encryption": [{"enabled": true, "kms_key_arn": null}]})))
            .unwrap();
        let spec = sse.spec();
        assert_eq!(spec.enabled(), Some(true));
        assert_eq!(spec.sse_type(), Some(&SseType::Kms));
        assert_eq!(spec.kms_master_key_id(), None);
        let off = Sse { enabled: false, kms_key_arn: None }.spec();
        assert_eq!((off.enabled(), off.sse_type()), (Some(false), None));
        assert_eq!(Sse::from_attrs(&Attrs::new()), None);
    }

    #[test]
    fn a_key_left_to_aws_is_no_change() {
        let managed = Sse { enabled: true, kms_key_arn: Some("arn:aws:kms:r:1:key/aws".into()) };
        assert!(!Sse { enabled: true, kms_key_arn: None }.differs_from(Some(&managed)));
        assert!(Sse { enabled: true, kms_key_arn: Some("arn:other".into()) }.differs_from(Some(&managed)));
        assert!(Sse { enabled: false, kms_key_arn: None }.differs_from(Some(&managed)));
        assert!(!Sse { enabled: false, kms_key_arn: None }.differs_from(None));
        assert!(Sse { enabled: true, kms_key_arn: None }.differs_from(None));
    }

    #[test]
    fn reads_report_the_description_or_what_state_said() {
        let d = SseDescription::builder().status(SseStatus::Enabled).kms_master_key_arn("arn:k").build();
        assert_eq!(read_block(Some(&d), &Attrs::new()), json!([{"enabled": true, "kms_key_arn": "arn:k"}]));
        let off = attrs(json!({"server_side_encryption": [{"enabled": false}]}));
        assert_eq!(read_block(None, &off), json!([{"enabled": false, "kms_key_arn": null}]));
        assert_eq!(read_block(None, &Attrs::new()), json!([]));
    }
}
