//! The `grantee` block that bucket ACL grants and logging target grants
//! share: its schema and its conversions to and from the SDK's `Grantee`.

use aws_sdk_s3::types::{Grantee, Type};
use serde_json::{json, Value};

use super::support::{built, get_nonempty_str, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Ty};
use crate::aws::ProviderError;

pub const BLOCK: &str = "grantee";
const TYPES: [&str; 3] = ["CanonicalUser", "AmazonCustomerByEmail", "Group"];

/// `grantee { type = "Group" uri = "..." }`; `display_name` is AWS's.
pub fn block() -> BlockSchema {
    BlockSchema::single(
        BLOCK,
        vec![
            Attr::computed("display_name", Ty::String),
            Attr::optional("email_address", Ty::String),
            Attr::optional("id", Ty::String),
            Attr::required("type", Ty::String),
            Attr::optional("uri", Ty::String),
        ],
    )
    .min(1)
}

/// The SDK grantee of a grant-like block (`grant`, `target_grant`).
pub fn to_sdk(type_name: &str, call: &str, grant: &Attrs) -> Result<Grantee, ProviderError> {
    let grantee = single_block(grant, BLOCK)
        .ok_or_else(|| ProviderError::Invalid(format!("{type_name}: each grant needs a \"grantee\" block")))?;
    let kind = require_str(grantee, "type", type_name)?;
    if !TYPES.contains(&kind) {
        return Err(ProviderError::Invalid(format!(
            "{type_name}: grantee \"type\" must be one of {}, not {kind:?}",
            TYPES.join(", ")
        )));
    }
    let text = |name| get_nonempty_str(grantee, name).map(str::to_string);
    built(
        call,
        Grantee::builder()
            .r#type(Type::from(kind))
            .set_id(text("id"))
            .set_uri(text("uri"))
            .set_email_address(text("email_address"))
            .build(),
    )
}

/// The block value of an SDK grantee.
pub fn to_block(grantee: &Grantee) -> Value {
    json!([{
        "display_name": grantee.display_name(),
        "email_address": grantee.email_address(),
        "id": grantee.id(),
        "type": grantee.r#type().as_str(),
        "uri": grantee.uri(),
    }])
}
