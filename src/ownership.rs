//! Who owns a live object, by the ownership tags gantry puts on everything
//! it creates (`gantry:stack`, `gantry:env`). Import and bootstrap ask before
//! taking an object into a state: an object that another stack or
//! environment owns is never adopted, so no two states manage one object.

use crate::aws::{AwsCtx, ProviderError, Tags, TAG_ENV, TAG_STACK};
use crate::resources::ResourceType;

/// The owner an object's tags name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No gantry stack: made by hand, by Terraform, or by a type that
    /// carries no tags.
    Nobody,
    /// A gantry stack and environment.
    Stack { stack: String, env: String },
}

impl Owner {
    /// The owner live tags name (gantry's own tags included).
    pub fn from_tags(tags: &Tags) -> Owner {
        match (tags.get(TAG_STACK), tags.get(TAG_ENV)) {
            (Some(stack), env) => Owner::Stack { stack: stack.clone(), env: env.cloned().unwrap_or_default() },
            (None, _) => Owner::Nobody,
        }
    }

    /// Whether the tags name a stack or environment other than this one.
    pub fn is_other_than(&self, stack: &str, env: &str) -> bool {
        matches!(self, Owner::Stack { stack: s, env: e } if s != stack || e != env)
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Nobody => f.write_str("no gantry stack"),
            Owner::Stack { stack, env } => write!(f, "gantry stack {stack} (environment {env})"),
        }
    }
}

/// The owner of the object `id` of type `rt`; `None` when it does not exist.
pub async fn owner_of(rt: &dyn ResourceType, aws: &AwsCtx, id: &str) -> Result<Option<Owner>, ProviderError> {
    let Some(live) = crate::apply::adopt::read_one(rt, aws, id, &Default::default()).await? else {
        return Ok(None);
    };
    let tags = rt.owner_tags_of(aws, id, &live).await?.unwrap_or_default();
    Ok(Some(Owner::from_tags(&tags)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_stack_or_environment_is_another_owner() {
        let owner = Owner::Stack { stack: "app".into(), env: "prod".into() };
        assert!(!owner.is_other_than("app", "prod"));
        assert!(owner.is_other_than("app", "staging"));
        assert!(owner.is_other_than("app-bootstrap", "prod"));
        assert!(!Owner::Nobody.is_other_than("app", "prod"));
        assert_eq!(owner.to_string(), "gantry stack app (environment prod)");
    }
}
