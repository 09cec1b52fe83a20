//! Terraform's version constraints (`>= 1.3, < 2.0`, `~> 1.5`), for a
//! configuration's `required_version`.

/// Whether `version` meets every comma-separated constraint; the error
/// names the one it does not meet, or what cannot be read.
pub fn check(constraints: &str, version: (u64, u64, u64)) -> Result<(), String> {
    for part in constraints.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|rest| (*op, rest.trim())))
            .unwrap_or(("=", part));
        let (wanted, given) = parse(rest).ok_or_else(|| format!("cannot read the version {rest:?}"))?;
        let ok = match op {
            "=" => version == wanted,
            "!=" => version != wanted,
            ">" => version > wanted,
            ">=" => version >= wanted,
            "<" => version < wanted,
            "<=" => version <= wanted,
            // `~> 1.5` allows 1.x from 1.5; `~> 1.5.2` allows 1.5.x from 1.5.2.
            _ => {
                let upper = if given <= 2 { (wanted.0 + 1, 0, 0) } else { (wanted.0, wanted.1 + 1, 0) };
                version >= wanted && version < upper
            }
        };
        if !ok {
            return Err(format!("it does not meet \"{part}\""));
        }
    }
    Ok(())
}

/// `1`, `1.5`, `1.5.2` (a pre-release suffix is ignored) and how many parts
/// were given.
fn parse(text: &str) -> Option<((u64, u64, u64), usize)> {
    let text = text.trim_start_matches('v');
    let text = text.split(['-', '+']).next()?;
    let parts: Vec<u64> = text.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [a] => Some(((*a, 0, 0), 1)),
        [a, b] => Some(((*a, *b, 0), 2)),
        [a, b, c] => Some(((*a, *b, *c), 3)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    const V: (u64, u64, u64) = (1, 11, 4);

    #[test]
    fn constraints_as_terraform_reads_them() {
        for ok in [">= 1.0", ">= 1.3, < 2.0", "~> 1.5", "~> 1.11.0", "1.11.4", "!= 1.10.0", ">0.12", "<= 1.11.4"] {
            assert!(check(ok, V).is_ok(), "{ok}");
        }
        for bad in [">= 1.12", "~> 1.11.5", "< 1.0", "~> 0.14", "= 1.5.0", "> 1.11.4"] {
            assert!(check(bad, V).is_err(), "{bad}");
        }
        assert!(check(">= one", V).unwrap_err().contains("cannot read"));
    }
}
