//! Importing into an environment that already has gantry state. The import
//! never merges two histories, so it refuses, except for one case: the
//! state was imported from this very Terraform state (same lineage) and
//! Terraform has moved on since (same or newer serial), for example while
//! both tools ran during a migration. Then the import replaces what gantry
//! holds with Terraform's newer view and says what changed. It still
//! refuses when that would make gantry forget an object (one gantry
//! created since, or Terraform deleted: `gantry state rm` it first) or
//! drop unfinished work (pending creates, deposed objects).

use std::collections::BTreeMap;

use crate::state::{ResourceState, State};

use super::format::TfState;

/// What a re-import changes in gantry's state.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub from_serial: u64,
    pub to_serial: u64,
    pub added: Vec<String>,
    /// Address and what changed (`id a → b`, or attribute names).
    pub changed: Vec<(String, String)>,
    pub unchanged: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty()
    }
}

/// Why an existing state may not be replaced: a sentence for the user.
pub type Refusal = String;

/// Whether `tf`, read from `source`, may replace `existing` (the gantry state
/// of the environment); `imported` is what the import made of `tf`.
pub fn check(existing: &State, tf: &TfState, source: &str, imported: &[ResourceState]) -> Result<Changes, Refusal> {
    let Some(origin) = existing.origin.as_ref().filter(|o| o.tool == "terraform") else {
        return Err(format!(
            "it was not imported from Terraform ({} resources, lineage {}); import-terraform never merges into \
             an environment's state",
            existing.resources.len(),
            existing.lineage
        ));
    };
    if origin.lineage != tf.lineage {
        return Err(format!(
            "it was imported from another Terraform state: lineage {} (serial {}, from {}), while {source} has \
             lineage {}. A different lineage is a different state (another environment, or one Terraform \
             recreated); import it into an environment of its own",
            origin.lineage, origin.serial, origin.source, tf.lineage
        ));
    }
    if tf.serial < origin.serial {
        return Err(format!(
            "{source} is an older version of the Terraform state it was imported from (serial {} < {})",
            tf.serial, origin.serial
        ));
    }
    if !existing.pending.is_empty() || !existing.deposed.is_empty() {
        return Err("gantry has unfinished work in it (interrupted creates or deposed objects): run `gantry apply` \
                    first"
            .into());
    }
    let new: BTreeMap<String, &ResourceState> = imported.iter().map(|r| (r.address.to_string(), r)).collect();
    let forgotten: Vec<String> =
        existing.resources.iter().map(|r| r.address.to_string()).filter(|a| !new.contains_key(a)).collect();
    if !forgotten.is_empty() {
        return Err(format!(
            "a re-import would forget {} that gantry's state holds and {source} does not: {}. Remove them from \
             gantry's state first (`gantry state rm`) if Terraform deleted them",
            if forgotten.len() == 1 { "an object" } else { "objects" },
            forgotten.join(", ")
        ));
    }
    let old: BTreeMap<String, &ResourceState> = existing.resources.iter().map(|r| (r.address.to_string(), r)).collect();
    let mut changes = Changes { from_serial: origin.serial, to_serial: tf.serial, ..Changes::default() };
    for (addr, now) in &new {
        match old.get(addr) {
            None => changes.added.push(addr.clone()),
            Some(before) if before.id != now.id => {
                changes.changed.push((addr.clone(), format!("id {} → {}", before.id, now.id)))
            }
            Some(before) => {
                let mut names: Vec<&str> = before
                    .attributes
                    .keys()
                    .chain(now.attributes.keys())
                    .filter(|k| before.attributes.get(*k) != now.attributes.get(*k))
                    .map(String::as_str)
                    .chain(
                        before
                            .sensitive_attributes
                            .keys()
                            .chain(now.sensitive_attributes.keys())
                            .filter(|k| before.sensitive_attributes.get(*k) != now.sensitive_attributes.get(*k))
                            .map(String::as_str),
                    )
                    .collect();
                names.sort();
                names.dedup();
                if names.is_empty() {
                    changes.unchanged += 1;
                } else {
                    changes.changed.push((addr.clone(), names.join(", ")));
                }
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Origin, SecretHasher};
    use crate::tfstate::import::tests_support::everything;
    use crate::tfstate::parse::parse;

    const SMALL: &str = include_str!("../../tests/fixtures/tfstate/small/terraform.tfstate");

    fn imported_state() -> (TfState, State, Vec<ResourceState>) {
        let tf = parse("t", SMALL).unwrap();
        let hasher = SecretHasher::new("00ff");
        let out = crate::tfstate::import(&tf, "t", &hasher, &everything()).unwrap();
        let mut state = State::new();
        state.origin = Some(Origin {
            tool: "terraform".into(),
            source: "t".into(),
            lineage: tf.lineage.clone(),
            serial: tf.serial,
            tool_version: None,
            imported_at: "2026-12-01T00:00:00Z".into(),
        });
        for r in out.resources.clone() {
            state.upsert(r);
        }
        (tf, state, out.resources)
    }

    #[test]
    fn the_same_state_again_changes_nothing() {
        let (tf, state, resources) = imported_state();
        let changes = check(&state, &tf, "t", &resources).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(changes.unchanged, 14);
    }

    #[test]
    fn a_newer_serial_says_what_changed() {
        let (mut tf, state, mut resources) = imported_state();
        tf.serial += 3;
        let bucket = resources.iter_mut().find(|r| r.rtype == "aws_s3_bucket").unwrap();
        bucket.attributes.insert("force_destroy".into(), serde_json::Value::Bool(true));
        let addr = bucket.address.to_string();
        let mut extra = resources[0].clone();
        extra.address = "aws_iam_role.extra".parse().unwrap();
        resources.push(extra);
        let changes = check(&state, &tf, "t", &resources).unwrap();
        assert_eq!(changes.to_serial, changes.from_serial + 3);
        assert_eq!(changes.added, vec!["aws_iam_role.extra".to_string()]);
        assert_eq!(changes.changed, vec![(addr, "force_destroy".to_string())]);
    }

    #[test]
    fn another_lineage_an_older_serial_or_a_forgotten_object_is_refused() {
        let (mut tf, state, resources) = imported_state();
        tf.lineage = "00000000-0000-0000-0000-000000000000".into();
        assert!(check(&state, &tf, "t", &resources).unwrap_err().contains("another Terraform state"));
        let (mut tf, state, resources) = imported_state();
        tf.serial -= 1;
        assert!(check(&state, &tf, "t", &resources).unwrap_err().contains("older version"));
        let (tf, state, mut resources) = imported_state();
        let gone = resources.pop().unwrap();
        let err = check(&state, &tf, "t", &resources).unwrap_err();
        assert!(err.contains(&gone.address.to_string()), "{err}");
        let (tf, mut state, resources) = imported_state();
        state.origin = None;
        assert!(check(&state, &tf, "t", &resources).unwrap_err().contains("not imported from Terraform"));
    }
}
