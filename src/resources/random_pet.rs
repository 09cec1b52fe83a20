//! `random_pet` (random provider): a readable random name such as
//! `gently-brave-otter`: `length` words (the last an animal, the one before
//! it an adjective, any earlier ones adverbs), joined by `separator`, after
//! `prefix` when one is set. gantry's word lists are its own, so names differ
//! from the provider's in vocabulary, not in shape. Like the provider, it
//! cannot be imported.

use std::sync::LazyLock;

use async_trait::async_trait;
use rand::seq::IndexedRandom;
use serde_json::Value;

use super::random_support::{int_arg, is_refresh, keepers, read_prior, unchanged};
use super::support::{complete, get_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ProviderError, Tags};

const TYPE_NAME: &str = "random_pet";

const ADVERBS: &[&str] = &[
    "boldly",
    "briskly",
    "calmly",
    "cheerfully",
    "cleanly",
    "closely",
    "deeply",
    "eagerly",
    "easily",
    "evenly",
    "fairly",
    "firmly",
    "freely",
    "gently",
    "gladly",
    "gracefully",
    "happily",
    "highly",
    "honestly",
    "humbly",
    "justly",
    "keenly",
    "kindly",
    "lightly",
    "loudly",
    "loyally",
    "merrily",
    "mildly",
    "neatly",
    "nicely",
    "openly",
    "patiently",
    "politely",
    "promptly",
    "proudly",
    "quickly",
    "quietly",
    "rapidly",
    "readily",
    "really",
    "rightly",
    "safely",
    "sharply",
    "simply",
    "slowly",
    "smoothly",
    "softly",
    "solidly",
    "steadily",
    "sternly",
    "strongly",
    "subtly",
    "surely",
    "swiftly",
    "tenderly",
    "truly",
    "vastly",
    "warmly",
    "wisely",
];

const ADJECTIVES: &[&str] = &[
    "able", "amber", "ample", "apt", "awake", "bold", "brave", "bright", "brisk", "calm", "candid", "careful",
    "clever", "cosmic", "crisp", "curious", "daring", "dear", "eager", "early", "epic", "fair", "fancy", "fast",
    "fine", "firm", "fleet", "fond", "free", "fresh", "frank", "gentle", "giant", "glad", "golden", "grand", "happy",
    "hardy", "hearty", "helpful", "honest", "humble", "ideal", "jolly", "just", "keen", "kind", "large", "lively",
    "loyal", "lucky", "mellow", "merry", "mighty", "modest", "neat", "nimble", "noble", "open", "patient", "placid",
    "plucky", "polite", "proud", "quick", "quiet", "rapid", "ready", "robust", "rosy", "royal", "rustic", "safe",
    "sage", "serene", "sharp", "shiny", "silent", "simple", "sleek", "smart", "smooth", "snug", "solid", "sound",
    "spry", "stable", "steady", "sturdy", "sunny", "swift", "tender", "tidy", "tough", "trusty", "vivid", "warm",
    "wise", "witty", "young", "zesty",
];

const ANIMALS: &[&str] = &[
    "alpaca", "badger", "beaver", "bison", "bobcat", "buffalo", "camel", "caribou", "cheetah", "chipmunk", "cobra",
    "condor", "cougar", "coyote", "crane", "cricket", "dingo", "dolphin", "donkey", "eagle", "egret", "elk", "falcon",
    "ferret", "finch", "firefly", "flamingo", "fox", "gazelle", "gecko", "gibbon", "giraffe", "goose", "gopher",
    "gorilla", "grouse", "hamster", "hare", "hawk", "hedgehog", "heron", "hornet", "ibex", "ibis", "iguana", "impala",
    "jackal", "jaguar", "kestrel", "kiwi", "koala", "lemur", "leopard", "lion", "llama", "lobster", "lynx", "magpie",
    "marmot", "meerkat", "mink", "mole", "moose", "narwhal", "newt", "ocelot", "octopus", "orca", "osprey", "otter",
    "owl", "panda", "panther", "parrot", "pelican", "penguin", "pigeon", "puffin", "puma", "quail", "rabbit",
    "raccoon", "raven", "reindeer", "robin", "salmon", "seal", "shark", "sparrow", "squid", "stork", "swan", "tapir",
    "tiger", "toucan", "turtle", "walrus", "weasel", "whale", "wolf", "wombat", "yak", "zebra",
];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional("length", Ty::Number).default(2).force_new(),
            Attr::optional("prefix", Ty::String).force_new(),
            Attr::optional("separator", Ty::String).default("-").force_new(),
            keepers(),
        ],
    )
});

pub struct RandomPet;

#[async_trait]
impl ResourceType for RandomPet {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn read(&self, _ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        requests
            .iter()
            .map(|req| {
                if is_refresh(req) {
                    Ok(Some(read_prior(&SCHEMA, req)))
                } else {
                    Err(ProviderError::Invalid(format!(
                        "{TYPE_NAME} cannot be imported (the random provider does not import it either): \
                         remove the import and let apply generate a name, or write the name into the \
                         configuration as a string"
                    )))
                }
            })
            .collect()
    }

    async fn create(&self, _aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let length = int_arg(desired, "length", 1, TYPE_NAME)?;
        let separator = get_str(desired, "separator").unwrap_or("-");
        let mut name = pet_name(length as usize, separator);
        if let Some(prefix) = get_str(desired, "prefix").filter(|p| !p.is_empty()) {
            name = format!("{prefix}{separator}{name}");
        }
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(name.clone()));
        for n in ["length", "prefix", "separator", "keepers"] {
            attrs.insert(n.into(), desired.get(n).cloned().unwrap_or(Value::Null));
        }
        Ok(Created { id: name, attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        _aws: &AwsCtx,
        _id: &str,
        prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        Ok(unchanged(&SCHEMA, prior, desired))
    }

    async fn delete(&self, _aws: &AwsCtx, _id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// `length` words: adverbs, then an adjective, then an animal.
fn pet_name(length: usize, separator: &str) -> String {
    let mut rng = rand::rng();
    let mut pick = |list: &[&'static str]| *list.choose(&mut rng).unwrap_or(&"pet");
    let words: Vec<&str> = match length {
        0 | 1 => vec![pick(ANIMALS)],
        n => {
            let mut words: Vec<&str> = (0..n - 2).map(|_| pick(ADVERBS)).collect();
            words.push(pick(ADJECTIVES));
            words.push(pick(ANIMALS));
            words
        }
    };
    words.join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_length_words_in_order() {
        for _ in 0..50 {
            let name = pet_name(3, "_");
            let words: Vec<&str> = name.split('_').collect();
            assert_eq!(words.len(), 3, "{name}");
            assert!(ADVERBS.contains(&words[0]), "{name}");
            assert!(ADJECTIVES.contains(&words[1]), "{name}");
            assert!(ANIMALS.contains(&words[2]), "{name}");
        }
        assert!(ANIMALS.contains(&pet_name(1, "-").as_str()));
    }

    #[test]
    fn word_lists_are_plain_unique_words() {
        for list in [ADVERBS, ADJECTIVES, ANIMALS] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len());
            assert!(list.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
        }
    }
}
