//! One operation on one resource instance, run as its own task. Tasks only
//! talk to AWS; recording the outcome in state is the driver's job.

use std::time::{Duration, Instant};

use crate::aws::{AwsCtx, ProviderError, Tags};
use crate::resources::{Attrs, Created, ResourceType};

use super::adopt;

/// What to do.
pub enum Op {
    Create {
        desired: Attrs,
    },
    Update {
        id: String,
        prior: Attrs,
        desired: Attrs,
    },
    Delete {
        id: String,
        prior: Attrs,
    },
    /// Replace: delete first, then create.
    DeleteThenCreate {
        id: String,
        prior: Attrs,
        desired: Attrs,
    },
    /// Replace with `create_before_destroy`: create first, then delete the old.
    CreateThenDelete {
        id: String,
        prior: Attrs,
        desired: Attrs,
    },
}

/// What happened.
pub struct Outcome {
    /// The old object was deleted.
    pub deleted_old: bool,
    /// The new or updated object, when one exists now.
    pub current: Option<Created>,
    /// A replace made its new object but could not delete the old one: the
    /// old one's id and attributes, to be kept as deposed (not forgotten).
    pub kept_old: Option<(String, Attrs)>,
    pub error: Option<ProviderError>,
    pub elapsed: Duration,
}

/// `name_was_free`: for types whose create cannot tag, whether the name was
/// free just before (see [`super::adopt`]).
pub async fn run(
    rt: &'static dyn ResourceType,
    aws: AwsCtx,
    owner_tags: Tags,
    op: Op,
    name_was_free: Option<bool>,
) -> Outcome {
    let start = Instant::now();
    let mut out = Outcome { deleted_old: false, current: None, kept_old: None, error: None, elapsed: Duration::ZERO };
    let create = |desired: Attrs| {
        let (aws, owner_tags) = (aws.clone(), owner_tags.clone());
        async move { adopt::create(rt, &aws, &desired, &owner_tags, name_was_free).await }
    };
    let result: Result<(), ProviderError> = async {
        match op {
            Op::Create { desired } => {
                out.current = Some(create(desired).await?);
            }
            Op::Update { id, prior, desired } => {
                let attrs = update(rt, &aws, &id, &prior, &desired, &owner_tags).await?;
                out.current = Some(Created { id, attrs });
            }
            Op::Delete { id, prior } => {
                delete(rt, &aws, &id, &prior).await?;
                out.deleted_old = true;
            }
            Op::DeleteThenCreate { id, prior, desired } => {
                delete(rt, &aws, &id, &prior).await?;
                out.deleted_old = true;
                out.current = Some(create(desired).await?);
            }
            Op::CreateThenDelete { id, prior, desired } => {
                out.current = Some(create(desired).await?);
                if let Err(e) = delete(rt, &aws, &id, &prior).await {
                    out.kept_old = Some((id, prior));
                    return Err(e);
                }
                out.deleted_old = true;
            }
        }
        Ok(())
    }
    .await;
    out.error = result.err();
    out.elapsed = start.elapsed();
    out
}

/// An update. When AWS refuses one of its calls because the object is not
/// as `prior` says (the SDK resent a call whose answer was lost after AWS
/// carried it out: a table already UPDATING, a change already made), the
/// object is read again and the update made once more from what it is now,
/// which sends only what is still missing.
async fn update(
    rt: &'static dyn ResourceType,
    aws: &AwsCtx,
    id: &str,
    prior: &Attrs,
    desired: &Attrs,
    owner_tags: &Tags,
) -> Result<Attrs, ProviderError> {
    let err = match rt.update(aws, id, prior, desired, owner_tags).await {
        Ok(attrs) => return Ok(attrs),
        Err(e) => e,
    };
    if !matches!(err, ProviderError::Api { retryable: false, .. } | ProviderError::AlreadyExists { .. }) {
        return Err(err);
    }
    let Ok(Some(live)) = adopt::read_one(rt, aws, id, prior).await else { return Err(err) };
    tracing::info!(rtype = rt.schema().type_name, %id, "{err}; read the object again and updating from what it is now");
    rt.update(aws, id, &live, desired, owner_tags).await
}

/// A delete; an object that is gone is deleted, also when the delete's own
/// answer said otherwise (the SDK resent a delete whose answer was lost).
async fn delete(rt: &'static dyn ResourceType, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
    match rt.delete(aws, id, prior).await {
        Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => match adopt::read_one(rt, aws, id, prior).await {
            Ok(None) => Ok(()),
            _ => Err(e),
        },
    }
}
