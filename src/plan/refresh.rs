//! Refresh: read the live state of everything in state, batched per
//! resource type and run concurrently, and adopt what an interrupted create
//! left behind.

use std::collections::BTreeMap;

use futures::future::join_all;

use crate::addr::InstanceAddr;
use crate::aws::{AwsCtx, ProviderError, TAG_OPERATION};
use crate::resources::{self, ReadCtx, ReadRequest};
use crate::state::{ResourceState, State};

use super::compare::{kinds, seal, state_comparable, state_values};
use super::Drift;

/// Resource types whose tags the Resource Groups Tagging API returns (on
/// the emulator too); the rest read their own tags.
const TAGGING_API_TYPES: &[&str] =
    &["aws_ssm_parameter", "aws_dynamodb_table", "aws_s3_bucket", "aws_cloudwatch_log_group"];

pub struct Refreshed {
    pub state: State,
    pub drift: Vec<Drift>,
    /// Resources adopted from interrupted creates.
    pub adopted: Vec<InstanceAddr>,
}

#[derive(Debug, thiserror::Error)]
#[error("refreshing {rtype} ({count} resource(s)): {source}")]
pub struct RefreshError {
    pub rtype: String,
    pub count: usize,
    #[source]
    pub source: ProviderError,
}

/// Reads back every resource in `prior` from AWS.
pub async fn refresh(aws: &AwsCtx, stack: &str, env: &str, prior: &State) -> Result<Refreshed, RefreshError> {
    let mut by_type: BTreeMap<&str, Vec<&ResourceState>> = BTreeMap::new();
    for r in &prior.resources {
        by_type.entry(r.rtype.as_str()).or_default().push(r);
    }
    let needs_tagging = by_type.keys().any(|t| TAGGING_API_TYPES.contains(t));
    let ctx = if needs_tagging { ReadCtx::with_stack_tags(aws, stack, env) } else { ReadCtx::new(aws) };

    let reads = by_type.iter().map(|(rtype, items)| {
        let ctx = &ctx;
        async move {
            let Some(rt) = resources::resource_type(rtype) else {
                return Err(RefreshError {
                    rtype: rtype.to_string(),
                    count: items.len(),
                    source: ProviderError::Invalid(format!("state holds unsupported resource type {rtype}")),
                });
            };
            let requests: Vec<ReadRequest> =
                items.iter().map(|r| ReadRequest { id: r.id.clone(), prior: r.attributes.clone() }).collect();
            let results = rt.read(ctx, &requests).await.map_err(|source| RefreshError {
                rtype: rtype.to_string(),
                count: items.len(),
                source,
            })?;
            Ok(items.iter().zip(results).map(|(r, live)| ((*r).clone(), live)).collect::<Vec<_>>())
        }
    });
    // The stack's tag read starts now, beside every type's reads; each read
    // waits for it only once it needs the tags.
    let (_, results) = futures::join!(
        async {
            if needs_tagging {
                ctx.tags_by_arn().await;
            }
        },
        join_all(reads)
    );

    let hasher = prior.hasher();
    let mut state = prior.clone();
    state.resources.clear();
    state.pending.clear();
    let mut drift = Vec::new();
    for result in results {
        for (old, live) in result? {
            match live {
                None => drift.push(Drift {
                    addr: old.address.clone(),
                    rtype: old.rtype.clone(),
                    before: state_values(&old),
                    after: None,
                }),
                Some(mut attrs) => {
                    let Some(rt) = resources::resource_type(&old.rtype) else { continue };
                    let schema = rt.schema();
                    // `tags` mirrors the configuration, which reads cannot know.
                    if schema.taggable {
                        attrs.insert("tags".into(), old.attributes.get("tags").cloned().unwrap_or_default());
                    }
                    let mut hashes = seal(schema, &mut attrs, old.sensitive_attributes.keys().cloned(), &hasher);
                    // An attribute reads do not fetch (an instance's user_data)
                    // comes back as state had it: sealed, null. Its hash stands;
                    // dropping it would make every plan replace the object.
                    for (name, hash) in &old.sensitive_attributes {
                        if !hashes.contains_key(name) && attrs.get(name).is_none_or(|v| v.is_null()) {
                            hashes.insert(name.clone(), hash.clone());
                        }
                    }
                    let id = attrs.get("id").and_then(|v| v.as_str()).map(str::to_string).unwrap_or(old.id.clone());
                    let new = ResourceState { id, attributes: attrs, sensitive_attributes: hashes, ..old.clone() };
                    if let Some(d) = drift_of(&old, &new) {
                        drift.push(d);
                    }
                    state.upsert(new);
                }
            }
        }
    }
    let adopted = adopt_pending(&ctx, stack, env, prior, &mut state).await?;
    Ok(Refreshed { state, drift, adopted })
}

/// The attributes that changed outside gantry, if any.
fn drift_of(old: &ResourceState, new: &ResourceState) -> Option<Drift> {
    let schema = resources::resource_type(&old.rtype)?.schema();
    let before = state_values(old);
    let after = state_values(new);
    let changed = kinds(schema).into_iter().any(|(name, kind)| {
        if name == "tags" {
            return false;
        }
        let a = state_comparable(kind, before.get(name).unwrap_or(&crate::value::Value::Null));
        let b = state_comparable(kind, after.get(name).unwrap_or(&crate::value::Value::Null));
        a != b
    });
    changed.then(|| Drift { addr: old.address.clone(), rtype: old.rtype.clone(), before, after: Some(after) })
}

/// A create that was started but never recorded (the process was killed,
/// or its answer was lost): if what it made exists and is provably ours (see
/// `apply::adopt`), adopt it instead of creating a duplicate or leaking it.
/// When the address still holds the object a replace was replacing, what the
/// replace made is recorded as deposed, for the next apply to delete.
async fn adopt_pending(
    ctx: &ReadCtx<'_>,
    stack: &str,
    env: &str,
    prior: &State,
    state: &mut State,
) -> Result<Vec<InstanceAddr>, RefreshError> {
    use crate::apply::adopt::{find, Found};
    let mut adopted = Vec::new();
    let hasher = prior.hasher();
    // An entry leaves the journal only when resolved: adopted, deposed, or
    // certainly not there. One that cannot be resolved (a type this build
    // does not know, a failed lookup) fails the refresh: planning past it
    // could create twice or leak what it made.
    for pending in &prior.pending {
        let Some(rt) = resources::resource_type(&pending.rtype) else {
            return Err(RefreshError {
                rtype: pending.rtype.clone(),
                count: 1,
                source: ProviderError::Invalid(format!(
                    "state journals an interrupted create of {} of unsupported resource type {}",
                    pending.address, pending.rtype
                )),
            });
        };
        let mut tags = crate::apply::owner_tags(stack, env, &pending.address);
        tags.insert(TAG_OPERATION.to_string(), pending.operation_id.clone());
        let no_hint = Default::default();
        let created = match find(rt, ctx.aws, pending.id.clone(), &tags, pending.name_was_free, &no_hint).await {
            Ok(Found::Ours(created)) => created,
            // Nothing of ours was made: resolved.
            Ok(Found::Nothing | Found::Foreign(_)) => continue,
            Err(source) => {
                return Err(RefreshError {
                    rtype: format!("{} (interrupted create of {})", pending.rtype, pending.address),
                    count: 1,
                    source,
                })
            }
        };
        let mut attrs = created.attrs;
        let hashes = seal(rt.schema(), &mut attrs, pending.sensitive.iter().cloned(), &hasher);
        let object = ResourceState {
            address: pending.address.clone(),
            rtype: pending.rtype.clone(),
            id: created.id,
            attributes: attrs,
            sensitive_attributes: hashes,
            dependencies: Vec::new(),
        };
        match state.get(&pending.address) {
            Some(holder) if holder.id == object.id => {}
            Some(_) => {
                if !state.deposed.iter().any(|d| d.id == object.id && d.rtype == object.rtype) {
                    state.deposed.push(object);
                }
            }
            None => {
                state.upsert(object);
                adopted.push(pending.address.clone());
            }
        }
    }
    state.pending.clear();
    Ok(adopted)
}
