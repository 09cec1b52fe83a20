//! The order in which Terraform's plugin SDK (v2) hands a provider the members
//! of a set: by the decimal text of each member's hash code, a CRC-32 of the
//! member's serialization. Where the AWS provider concatenates set members
//! (two `principals` blocks of one type, two `condition` blocks on one
//! variable) its output follows this order, so gantry must too. Members with
//! the same code are one member, as in the SDK.

/// A set member's hash code as the SDK computes it (`hashcode.String`).
fn code(serialized: &str) -> u32 {
    crc32fast::hash(serialized.as_bytes())
}

/// Orders and deduplicates set members given their SDK serialization.
pub fn sdk_order<T>(items: Vec<T>, serialize: impl Fn(&T) -> String) -> Vec<T> {
    let mut keyed: Vec<(String, T)> =
        items.into_iter().map(|item| (code(&serialize(&item)).to_string(), item)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, item)| item).collect()
}

/// The serialization of a string set member (`SerializeValueForHash`).
pub fn string_member(s: &str) -> String {
    format!("{s};")
}

/// A set of strings in SDK order.
pub fn string_set(items: &[String]) -> Vec<String> {
    sdk_order(items.to_vec(), |s| string_member(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_the_decimal_text_of_the_code() {
        let items = vec!["a".to_string(), "b".to_string(), "c".to_string(), "a".to_string()];
        let ordered = string_set(&items);
        assert_eq!(ordered.len(), 3);
        let codes: Vec<String> = ordered.iter().map(|s| code(&string_member(s)).to_string()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted);
    }
}
