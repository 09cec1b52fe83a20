//! The release history of one environment: what was deployed, when, by whom,
//! and whether it passed its health check. Kept beside the environment's
//! state (`<env>.releases.json`) and written under the deploy lock. It holds
//! tags and names, never a value of the app's environment.

use serde::{Deserialize, Serialize};

use crate::state::{Backend, StateError};

/// The record's name beside the state.
pub const RECORD: &str = "releases";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Deploy,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every host passed the health check: a release to come back to.
    Healthy,
    /// A host failed; see `rolled_back_to`.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub tag: String,
    /// Repository and tag, as the hosts pulled it.
    pub image: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// user@host of whoever ran the deploy.
    pub who: String,
    /// The git commit of the working directory, when there was one.
    pub commit: Option<String>,
    pub kind: Kind,
    pub result: Outcome,
    /// After a failure: the healthy release put back, if any.
    pub rolled_back_to: Option<String>,
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The SSM version of each parameter (by key) the release ran with;
    /// `gantry rollback` runs the release with these. Empty in records
    /// written before versions were kept.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub config: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Oldest first.
    pub releases: Vec<Release>,
}

impl History {
    pub async fn load(backend: &dyn Backend) -> Result<History, StateError> {
        match backend.read_record(RECORD).await? {
            None => Ok(History::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                path: format!("{} (release history {RECORD})", backend.location()),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }),
        }
    }

    pub async fn save(&self, backend: &dyn Backend) -> Result<(), StateError> {
        let mut text = serde_json::to_string_pretty(self).expect("a history always serializes");
        text.push('\n');
        backend.write_record(RECORD, text.as_bytes()).await
    }

    /// The tag serving now, as far as gantry knows: the last healthy release,
    /// or what the last failure was rolled back to.
    pub fn live(&self) -> Option<&str> {
        let last = self.releases.last()?;
        match last.result {
            Outcome::Healthy => Some(&last.tag),
            Outcome::Failed => last.rolled_back_to.as_deref(),
        }
    }

    /// The newest release that passed its health check, other than `except`.
    pub fn last_healthy(&self, except: Option<&str>) -> Option<&Release> {
        self.releases.iter().rev().find(|r| r.result == Outcome::Healthy && Some(r.tag.as_str()) != except)
    }

    /// What `gantry rollback` goes back to: the newest healthy release from
    /// before the live one was deployed (its newest healthy deploy; a
    /// rollback to it does not count). So a second rollback goes further
    /// back instead of returning to the release just left.
    pub fn previous(&self) -> Option<&Release> {
        let Some(live) = self.live() else { return self.last_healthy(None) };
        let healthy_live = |r: &Release| r.tag == live && r.result == Outcome::Healthy;
        let anchor = self
            .releases
            .iter()
            .rposition(|r| healthy_live(r) && r.kind == Kind::Deploy)
            .or_else(|| self.releases.iter().position(healthy_live))?;
        self.releases[..anchor].iter().rev().find(|r| r.result == Outcome::Healthy && r.tag != live)
    }

    /// Whether `tag` ever passed its health check here.
    pub fn was_healthy(&self, tag: &str) -> bool {
        self.releases.iter().any(|r| r.tag == tag && r.result == Outcome::Healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str, result: Outcome, back: Option<&str>) -> Release {
        Release {
            tag: tag.into(),
            image: format!("repo:{tag}"),
            time: "2026-11-23T18:00:00Z".into(),
            who: "ana@laptop".into(),
            commit: None,
            kind: Kind::Deploy,
            result,
            rolled_back_to: back.map(str::to_string),
            hosts: vec!["localhost".into()],
            note: String::new(),
            config: Default::default(),
        }
    }

    #[test]
    fn the_last_good_release_is_not_latest_but_the_last_healthy_one() {
        let h = History {
            releases: vec![
                release("a", Outcome::Healthy, None),
                release("b", Outcome::Healthy, None),
                release("c", Outcome::Failed, Some("b")),
            ],
        };
        assert_eq!(h.live(), Some("b"));
        assert_eq!(h.last_healthy(None).unwrap().tag, "b");
        // Rolling back from b goes to a.
        assert_eq!(h.last_healthy(h.live()).unwrap().tag, "a");
        assert!(h.was_healthy("a"));
        assert!(!h.was_healthy("c"));
    }

    #[test]
    fn a_second_rollback_goes_further_back() {
        let mut h = History {
            releases: vec![
                release("a", Outcome::Healthy, None),
                release("b", Outcome::Healthy, None),
                release("c", Outcome::Healthy, None),
            ],
        };
        assert_eq!(h.previous().unwrap().tag, "b");
        h.releases.push(Release { kind: Kind::Rollback, ..release("b", Outcome::Healthy, None) });
        assert_eq!(h.previous().unwrap().tag, "a", "not back to c, the release just rolled away from");
        h.releases.push(Release { kind: Kind::Rollback, ..release("a", Outcome::Healthy, None) });
        assert!(h.previous().is_none(), "nothing is older than a");
        // A fresh deploy of an old tag counts from its new place.
        h.releases.push(release("a", Outcome::Healthy, None));
        assert_eq!(h.previous().unwrap().tag, "b", "what was live before a, skipping a itself");
    }

    #[test]
    fn an_empty_history_has_nothing_live() {
        let h = History::default();
        assert_eq!(h.live(), None);
        assert!(h.last_healthy(None).is_none());
    }
}
