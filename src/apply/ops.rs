//! One operation on one resource instance, run as its own task. Tasks only
//! talk to AWS; recording the outcome in state is the driver's job.

use std::time::{Duration, Instant};

use crate::aws::{AwsCtx, ProviderError, Tags};
use crate::resources::{Attrs, Created, ResourceType};

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
    pub error: Option<ProviderError>,
    pub elapsed: Duration,
}

pub async fn run(rt: &'static dyn ResourceType, aws: AwsCtx, owner_tags: Tags, op: Op) -> Outcome {
    let start = Instant::now();
    let mut out = Outcome { deleted_old: false, current: None, error: None, elapsed: Duration::ZERO };
    let result: Result<(), ProviderError> = async {
        match op {
            Op::Create { desired } => {
                out.current = Some(rt.create(&aws, &desired, &owner_tags).await?);
            }
            Op::Update { id, prior, desired } => {
                let attrs = rt.update(&aws, &id, &prior, &desired, &owner_tags).await?;
                out.current = Some(Created { id, attrs });
            }
            Op::Delete { id, prior } => {
                delete(rt, &aws, &id, &prior).await?;
                out.deleted_old = true;
            }
            Op::DeleteThenCreate { id, prior, desired } => {
                delete(rt, &aws, &id, &prior).await?;
                out.deleted_old = true;
                out.current = Some(rt.create(&aws, &desired, &owner_tags).await?);
            }
            Op::CreateThenDelete { id, prior, desired } => {
                out.current = Some(rt.create(&aws, &desired, &owner_tags).await?);
                delete(rt, &aws, &id, &prior).await?;
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

async fn delete(rt: &'static dyn ResourceType, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
    match rt.delete(aws, id, prior).await {
        Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
