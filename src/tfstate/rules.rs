//! Where gantry's attributes and the AWS provider's differ, per type. Every
//! other attribute passes unchanged in both directions: gantry uses the
//! provider's names and encodings. This is the one place those differences
//! live; each says why.

/// How one attribute differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The provider stores the SHA-1 (hex) of the value, gantry the value
    /// itself (or, when it comes from a secret, its keyed hash). A digest
    /// cannot be turned back into the text: on import the attribute is left
    /// out, and gantry's first refresh reads the text from AWS (the read
    /// fetches what state lacks). On export the SHA-1 of gantry's text is
    /// written; a sealed value cannot be digested and is left out, and
    /// Terraform's refresh does not bring it back (see `Export`).
    Sha1Digest,
}

/// (type, attribute, rule).
const RULES: &[(&str, &str, Rule)] = &[
    // Provider 5.x: `user_data` has a StateFunc that keeps `sha1(text)` in
    // state; EC2 returns the text only through DescribeInstanceAttribute.
    ("aws_instance", "user_data", Rule::Sha1Digest),
];

/// The rule for one attribute of a type, if it needs one.
pub fn rule(rtype: &str, attr: &str) -> Option<Rule> {
    RULES.iter().find(|(t, a, _)| *t == rtype && *a == attr).map(|(_, _, r)| *r)
}

/// Every rule of a type.
pub fn rules_of(rtype: &str) -> impl Iterator<Item = (&'static str, Rule)> + '_ {
    RULES.iter().filter(move |(t, _, _)| *t == rtype).map(|(_, a, r)| (*a, *r))
}

/// Hex SHA-1 of a text, as the provider's `userDataHashSum` computes it.
pub fn sha1_hex(text: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_user_data_digest_is_sha1_of_the_text() {
        let text = "#!/bin/sh\necho \"hello from tfimport\" > /tmp/hello\n";
        let state: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/tfstate/small/terraform.tfstate")).unwrap();
        let recorded = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "aws_instance")
            .map(|r| r["instances"][0]["attributes"]["user_data"].as_str().unwrap().to_string())
            .unwrap();
        assert_eq!(sha1_hex(text), recorded);
        assert_eq!(rule("aws_instance", "user_data"), Some(Rule::Sha1Digest));
        assert_eq!(rule("aws_instance", "ami"), None);
    }
}
