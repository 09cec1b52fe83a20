//! Creates whose outcome is unknown. A create can fail after AWS made the
//! object: the answer was lost (the connection dropped, a timeout), and the
//! SDK's retry then hears "already exists" about the object the first try
//! made. Such a failure is resolved here by looking for the object, by the
//! name the configuration gives it or by its ownership tags, and adopting it
//! when it is provably this stack's. An object that exists and is not ours
//! is an error that names it.
//!
//! What "ours" means per type:
//! - found by ownership tags including the create's `gantry:operation` tag
//!   (EC2 instances, security groups, OIDC providers): ours by construction;
//! - named, with tags (SSM, DynamoDB, IAM roles, S3 buckets): its live tags
//!   carry this stack's `gantry:stack`, `gantry:env` and `gantry:address`;
//! - named, where the create call cannot tag (S3 tags a bucket in a second
//!   call): the journal recorded that the name was free just before the
//!   create, so whatever holds it now was made by that create;
//! - without tags (a role's inline policy, a bucket's versioning): these are
//!   parts of a parent that is ours, and their create overwrites; ours unless
//!   the journal saw the name taken before.

use crate::addr::InstanceAddr;
use crate::aws::{AwsCtx, ProviderError, Tags, TAG_OPERATION};
use crate::plan::Action;
use crate::resources::support::has_owner_tags;
use crate::resources::{self, Attrs, Created, ReadCtx, ReadRequest, ResourceType};
use crate::state::{Backend, State, StateError};

use super::Event;

/// What a search for a create's object found.
pub enum Found {
    Ours(Created),
    /// Something holds the name and is not this stack's.
    Foreign(String),
    Nothing,
}

/// Whether a failed create may have made its object all the same.
pub fn outcome_unknown(err: &ProviderError) -> bool {
    matches!(err, ProviderError::AlreadyExists { .. } | ProviderError::Transport { .. }) || err.is_retryable()
}

/// Creates, resolving an unknown outcome by finding and adopting the object.
pub async fn create(
    rt: &'static dyn ResourceType,
    aws: &AwsCtx,
    desired: &Attrs,
    owner_tags: &Tags,
    name_was_free: Option<bool>,
) -> Result<Created, ProviderError> {
    let err = match rt.create(aws, desired, owner_tags).await {
        Ok(created) => return Ok(created),
        Err(e) => e,
    };
    if !outcome_unknown(&err) {
        return Err(err);
    }
    match find(rt, aws, rt.id_from_config(desired), owner_tags, name_was_free, desired).await {
        Ok(Found::Ours(created)) => {
            tracing::info!(rtype = rt.schema().type_name, id = %created.id, "create of unknown outcome: adopted the object it made");
            Ok(created)
        }
        Ok(Found::Foreign(id)) => Err(not_ours(rt, &id, err)),
        // Nothing there, or the search failed too: the original error stands
        // (and the journal entry stays for the next run to resolve).
        Ok(Found::Nothing) | Err(_) => Err(err),
    }
}

fn not_ours(rt: &dyn ResourceType, id: &str, err: ProviderError) -> ProviderError {
    let call = match &err {
        ProviderError::AlreadyExists { call, .. }
        | ProviderError::Api { call, .. }
        | ProviderError::Transport { call, .. }
        | ProviderError::NotFound { call } => *call,
        ProviderError::Invalid(_) => "create",
    };
    ProviderError::AlreadyExists {
        call,
        code: err.code().unwrap_or("AlreadyExists").to_string(),
        message: format!(
            "{} {id} exists and is not this stack's (it lacks this stack's gantry:stack, gantry:env and gantry:address tags)",
            rt.schema().type_name
        ),
    }
}

/// Looks for the object a create made: under `id` when the configuration
/// names it, else by the ownership tags (which include the operation id).
/// `hint` tells the read which optional parts to read (the create's
/// arguments: an SSM parameter made with `insecure_value` reads into it).
pub async fn find(
    rt: &'static dyn ResourceType,
    aws: &AwsCtx,
    id: Option<String>,
    owner_tags: &Tags,
    name_was_free: Option<bool>,
    hint: &Attrs,
) -> Result<Found, ProviderError> {
    let (id, found_by_tags) = match id {
        Some(id) => (id, false),
        None => match rt.find_by_owner_tags(aws, owner_tags).await? {
            Some(id) => (id, true),
            None => return Ok(Found::Nothing),
        },
    };
    let Some(attrs) = read_one(rt, aws, &id, hint).await? else { return Ok(Found::Nothing) };
    let ours = found_by_tags
        || match rt.owner_tags_of(aws, &id, &attrs).await? {
            Some(live) if has_owner_tags(&live, &ownership(owner_tags)) => true,
            // Not (yet) tagged as ours: only the journal can tell.
            Some(_) => name_was_free == Some(true),
            None => name_was_free != Some(false),
        };
    Ok(if ours { Found::Ours(Created { id, attrs }) } else { Found::Foreign(id) })
}

/// The tags that say who owns an object: stack, environment, address; not
/// the operation, so an object an earlier, forgotten create made counts too.
fn ownership(owner_tags: &Tags) -> Tags {
    owner_tags.iter().filter(|(k, _)| k.as_str() != TAG_OPERATION).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The object's live attributes, `None` when it does not exist.
pub async fn read_one(
    rt: &dyn ResourceType,
    aws: &AwsCtx,
    id: &str,
    hint: &Attrs,
) -> Result<Option<Attrs>, ProviderError> {
    let ctx = ReadCtx::new(aws);
    let request = ReadRequest { id: id.to_string(), prior: hint.clone() };
    let mut live = rt.read(&ctx, std::slice::from_ref(&request)).await?;
    Ok(live.pop().flatten())
}

/// For types whose create cannot tag: whether the name is free now, just
/// before the create (one read). `None` when it cannot be told or need not be.
pub async fn name_was_free(rt: &dyn ResourceType, aws: &AwsCtx, id: Option<&str>) -> Option<bool> {
    if rt.tags_on_create() {
        return None;
    }
    let id = id?;
    read_one(rt, aws, id, &Attrs::new()).await.ok().map(|live| live.is_none())
}

/// Deletes the deposed objects state holds (leftovers of replaces), each
/// leaving the record only once it is gone. Returns the failures.
pub async fn delete_deposed(
    state: &mut State,
    aws: &AwsCtx,
    backend: &dyn Backend,
    on_event: &mut dyn FnMut(Event),
) -> Result<Vec<(InstanceAddr, String)>, StateError> {
    let mut failed = Vec::new();
    for object in state.deposed.clone() {
        let addr = object.address.clone();
        let Some(rt) = resources::resource_type(&object.rtype) else {
            failed.push((addr, format!("deposed object {} has unsupported type {}", object.id, object.rtype)));
            continue;
        };
        on_event(Event::Started { addr: addr.clone(), action: Action::Delete });
        let start = std::time::Instant::now();
        match rt.delete(aws, &object.id, &object.attributes).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {
                state.deposed.retain(|d| !(d.id == object.id && d.rtype == object.rtype));
                backend.write(state).await?;
                on_event(Event::Finished {
                    addr,
                    action: Action::Delete,
                    elapsed: start.elapsed(),
                    id: Some(format!("{} (deposed)", object.id)),
                });
            }
            Err(e) => {
                let message = format!("deleting deposed object {}: {e}", object.id);
                on_event(Event::Failed { addr: addr.clone(), action: Action::Delete, error: message.clone() });
                failed.push((addr, message));
            }
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_outcomes_are_lost_answers_and_name_clashes() {
        let transport = ProviderError::Transport { call: "ssm:PutParameter", message: "connection closed".into() };
        let exists = ProviderError::AlreadyExists {
            call: "ssm:PutParameter",
            code: "ParameterAlreadyExists".into(),
            message: String::new(),
        };
        let refused = ProviderError::Api {
            call: "ssm:PutParameter",
            code: "ValidationException".into(),
            message: String::new(),
            request_id: None,
            retryable: false,
        };
        assert!(outcome_unknown(&transport));
        assert!(outcome_unknown(&exists));
        assert!(!outcome_unknown(&refused));
        assert!(!outcome_unknown(&ProviderError::Invalid("bad".into())));
    }

    #[test]
    fn ownership_ignores_the_operation_tag() {
        let tags =
            Tags::from([("gantry:stack".to_string(), "s".to_string()), (TAG_OPERATION.to_string(), "op".to_string())]);
        assert_eq!(ownership(&tags), Tags::from([("gantry:stack".to_string(), "s".to_string())]));
    }
}
