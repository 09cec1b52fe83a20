//! The IAM policy document model of the Terraform AWS provider's
//! `aws_iam_policy_document`: how it reads statements from its arguments and
//! from JSON documents, merges documents by `Sid`, and writes them out.
//! Every rule here is observable in the provider's output (see the recorded
//! fixtures in tests/fixtures/policy_documents): sets of strings come out
//! reverse-sorted, one-element sets as a bare string, condition values in
//! the order given, `{"*": ["*"]}` as `"*"`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::go_json::GoJson;
use super::sdk_set::{sdk_order, string_member, string_set};

/// One string or a list of them, as the provider keeps identifiers and
/// condition values (the distinction shows in the output).
#[derive(Clone, Debug, PartialEq)]
pub enum Strings {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub ty: String,
    pub identifiers: Strings,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub test: String,
    pub variable: String,
    pub values: Strings,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub actions: Option<GoJson>,
    pub not_actions: Option<GoJson>,
    pub resources: Option<GoJson>,
    pub not_resources: Option<GoJson>,
    pub principals: Vec<Principal>,
    pub not_principals: Vec<Principal>,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyDoc {
    pub version: String,
    pub id: String,
    pub statements: Vec<Statement>,
}

impl PolicyDoc {
    /// Merges `newer` into `self`: its Id wins when set, the higher Version
    /// wins, and its statements replace those with the same Sid in place;
    /// the rest are appended.
    pub fn merge(&mut self, newer: PolicyDoc) {
        if !newer.id.is_empty() {
            self.id = newer.id;
        }
        if newer.version > self.version {
            self.version = newer.version;
        }
        for statement in newer.statements {
            let existing = match statement.sid.as_str() {
                "" => None,
                sid => self.statements.iter().position(|s| s.sid == sid),
            };
            match existing {
                Some(i) => self.statements[i] = statement,
                None => self.statements.push(statement),
            }
        }
    }

    pub fn to_json(&self) -> GoJson {
        let mut fields = Vec::new();
        if !self.version.is_empty() {
            fields.push(("Version".to_string(), GoJson::str(&self.version)));
        }
        if !self.id.is_empty() {
            fields.push(("Id".to_string(), GoJson::str(&self.id)));
        }
        if !self.statements.is_empty() {
            fields.push((
                "Statement".to_string(),
                GoJson::List(self.statements.iter().map(Statement::to_json).collect()),
            ));
        }
        GoJson::Object(fields)
    }
}

impl Statement {
    fn to_json(&self) -> GoJson {
        let mut fields = Vec::new();
        let mut put = |name: &str, value: Option<GoJson>| {
            if let Some(v) = value {
                fields.push((name.to_string(), v));
            }
        };
        put("Sid", (!self.sid.is_empty()).then(|| GoJson::str(&self.sid)));
        put("Effect", (!self.effect.is_empty()).then(|| GoJson::str(&self.effect)));
        put("Action", self.actions.clone());
        put("NotAction", self.not_actions.clone());
        put("Resource", self.resources.clone());
        put("NotResource", self.not_resources.clone());
        put("Principal", principals_json(&self.principals));
        put("NotPrincipal", principals_json(&self.not_principals));
        put("Condition", conditions_json(&self.conditions));
        GoJson::Object(fields)
    }
}

impl Strings {
    /// A bare string or a list, as held.
    pub fn to_json(&self) -> GoJson {
        match self {
            Strings::One(one) => GoJson::str(one),
            Strings::Many(many) => GoJson::List(many.iter().map(GoJson::str).collect()),
        }
    }
}

fn reverse_sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.reverse();
    items
}

/// Principals grouped by type (types sorted). Identifier lists come out
/// reverse-sorted per block and concatenated in set order; a lone
/// `{"*": "*"}` is written as `"*"`.
fn principals_json(principals: &[Principal]) -> Option<GoJson> {
    if principals.is_empty() {
        return None;
    }
    if let [p] = principals {
        let star = match &p.identifiers {
            Strings::One(s) => s == "*",
            Strings::Many(l) => l.len() == 1 && l[0] == "*",
        };
        if p.ty == "*" && star {
            return Some(GoJson::str("*"));
        }
    }
    let mut by_type: BTreeMap<&str, Strings> = BTreeMap::new();
    for p in principals {
        let merged = match (by_type.remove(p.ty.as_str()), &p.identifiers) {
            (None, Strings::Many(ids)) => Strings::Many(reverse_sorted(ids.clone())),
            (Some(Strings::One(prev)), Strings::Many(ids)) => {
                Strings::Many(std::iter::once(prev).chain(reverse_sorted(ids.clone())).collect())
            }
            (Some(Strings::Many(mut prev)), Strings::Many(ids)) => {
                prev.extend(reverse_sorted(ids.clone()));
                Strings::Many(prev)
            }
            (None, Strings::One(id)) => Strings::One(id.clone()),
            (Some(Strings::One(prev)), Strings::One(id)) => Strings::Many(vec![prev, id.clone()]),
            (Some(Strings::Many(mut prev)), Strings::One(id)) => {
                prev.push(id.clone());
                Strings::Many(prev)
            }
        };
        by_type.insert(&p.ty, merged);
    }
    Some(GoJson::Object(by_type.into_iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()))
}

/// Conditions grouped by test, then variable (both sorted); values of one
/// variable concatenated, a single value written bare.
fn conditions_json(conditions: &[Condition]) -> Option<GoJson> {
    if conditions.is_empty() {
        return None;
    }
    let mut raw: BTreeMap<&str, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
    for c in conditions {
        let values = raw.entry(&c.test).or_default().entry(&c.variable).or_default();
        match &c.values {
            Strings::One(v) => values.push(v.clone()),
            Strings::Many(vs) => values.extend(vs.iter().cloned()),
        }
    }
    let tests = raw
        .into_iter()
        .map(|(test, vars)| {
            let vars = vars
                .into_iter()
                .map(|(var, mut values)| {
                    let v = if values.len() == 1 {
                        GoJson::Str(values.remove(0))
                    } else {
                        GoJson::List(values.into_iter().map(GoJson::Str).collect())
                    };
                    (var.to_string(), v)
                })
                .collect();
            (test.to_string(), GoJson::Object(vars))
        })
        .collect();
    Some(GoJson::Object(tests))
}

// ---- From the data source's arguments ----

/// A set of strings from the configuration: one element bare, more
/// reverse-sorted (`policyDecodeConfigStrings`).
pub fn config_strings(items: &[String]) -> Option<Strings> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    match items.len() {
        0 => None,
        1 => Some(Strings::One(items.remove(0))),
        _ => Some(Strings::Many(reverse_sorted(items))),
    }
}

/// Replaces `&{` by `${` (policy variables written so Terraform does not
/// interpolate them); version 2008-10-17 knows no policy variables.
pub fn replace_vars(s: Strings, version: &str) -> Result<Strings, String> {
    let one = |v: String| {
        if version == "2008-10-17" && v.contains("&{") {
            Err(format!("found &{{ sequence in ({v}), which is not supported in document version 2008-10-17"))
        } else {
            Ok(v.replace("&{", "${"))
        }
    };
    Ok(match s {
        Strings::One(v) => Strings::One(one(v)?),
        Strings::Many(vs) => Strings::Many(vs.into_iter().map(one).collect::<Result<_, _>>()?),
    })
}

/// Principal blocks in the SDK's set order, identical blocks merged.
pub fn principals_in_set_order(blocks: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    sdk_order(blocks, |(ty, ids)| {
        let ids: String = string_set(ids).iter().map(|s| string_member(s)).collect();
        format!("identifiers:{{{ids}}};type:{ty};")
    })
}

/// Condition blocks (test, variable, values) in the SDK's set order.
pub fn conditions_in_set_order(blocks: Vec<(String, String, Vec<String>)>) -> Vec<(String, String, Vec<String>)> {
    sdk_order(blocks, |(test, variable, values)| {
        let values: String = values.iter().map(|s| string_member(s)).collect();
        format!("test:{test};values:({values});variable:{variable};")
    })
}

// ---- From JSON documents (source_policy_documents, override_policy_documents) ----

/// Reads a policy document the way Go's `json.Unmarshal` fills the
/// provider's structs: field names match case-insensitively, unknown
/// fields are dropped, `Action`/`Resource` are kept as written.
pub fn parse_document(text: &str) -> Result<PolicyDoc, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(map) = &value else {
        return Err(format!("cannot unmarshal {} into a policy document", kind(&value)));
    };
    let mut doc = PolicyDoc::default();
    if let Some(v) = field(map, "Version") {
        doc.version = go_string(v, "Version")?;
    }
    if let Some(v) = field(map, "Id") {
        doc.id = go_string(v, "Id")?;
    }
    match field(map, "Statement") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                doc.statements.push(parse_statement(item)?);
            }
        }
        Some(other) => return Err(format!("cannot unmarshal {} into field Statement (a list)", kind(other))),
    }
    Ok(doc)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A struct field: the exact name, else a case-insensitive match.
fn field<'a>(map: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn go_string(v: &Value, name: &str) -> Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("cannot unmarshal {} into field {name} of type string", kind(other))),
    }
}

fn any_field(map: &serde_json::Map<String, Value>, name: &str) -> Option<GoJson> {
    field(map, name).filter(|v| !v.is_null()).map(GoJson::from_any)
}

fn parse_statement(value: &Value) -> Result<Statement, String> {
    let Value::Object(map) = value else {
        return Err(format!("cannot unmarshal {} into a statement", kind(value)));
    };
    let mut s = Statement::default();
    if let Some(v) = field(map, "Sid") {
        s.sid = go_string(v, "Sid")?;
    }
    if let Some(v) = field(map, "Effect") {
        s.effect = go_string(v, "Effect")?;
    }
    s.actions = any_field(map, "Action");
    s.not_actions = any_field(map, "NotAction");
    s.resources = any_field(map, "Resource");
    s.not_resources = any_field(map, "NotResource");
    if let Some(v) = field(map, "Principal") {
        s.principals = parse_principals(v)?;
    }
    if let Some(v) = field(map, "NotPrincipal") {
        s.not_principals = parse_principals(v)?;
    }
    if let Some(v) = field(map, "Condition") {
        s.conditions = parse_conditions(v)?;
    }
    Ok(s)
}

/// A bare string (whatever it says) is the anonymous principal; a map gives
/// one principal per type, lists sorted.
fn parse_principals(value: &Value) -> Result<Vec<Principal>, String> {
    match value {
        Value::String(_) => Ok(vec![Principal { ty: "*".into(), identifiers: Strings::Many(vec!["*".into()]) }]),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (ty, ids) in map {
                let identifiers = match ids {
                    Value::String(s) => Strings::One(s.clone()),
                    Value::Array(items) => {
                        let mut list = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            match item {
                                Value::String(s) => list.push(s.clone()),
                                other => return Err(format!(
                                    "Unsupported element type {} for IAMPolicyStatementPrincipalSet.Identifiers[{i}] (principal type {ty:?}): must be string",
                                    kind(other)
                                )),
                            }
                        }
                        list.sort();
                        Strings::Many(list)
                    }
                    other => {
                        return Err(format!(
                            "Unsupported data type {} for IAMPolicyStatementPrincipalSet.Identifiers",
                            kind(other)
                        ))
                    }
                };
                out.push(Principal { ty: ty.clone(), identifiers });
            }
            Ok(out)
        }
        other => Err(format!("Unsupported data type {} for IAMPolicyStatementPrincipalSet", kind(other))),
    }
}

/// `{test: {variable: values}}`; a boolean becomes its text, a number is
/// dropped (as the provider does).
fn parse_conditions(value: &Value) -> Result<Vec<Condition>, String> {
    let map = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        other => return Err(format!("cannot unmarshal {} into a condition map", kind(other))),
    };
    let mut out = Vec::new();
    for (test, vars) in map {
        let vars = match vars {
            Value::Null => continue,
            Value::Object(vars) => vars,
            other => return Err(format!("cannot unmarshal {} into condition {test:?}", kind(other))),
        };
        for (variable, values) in vars {
            let values = match values {
                Value::String(s) => Strings::Many(vec![s.clone()]),
                Value::Bool(b) => Strings::One(b.to_string()),
                Value::Array(items) => Strings::Many(
                    items
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| format!("condition {test:?} {variable:?}: values must be strings"))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => continue,
            };
            out.push(Condition { test: test.clone(), variable: variable.clone(), values });
        }
    }
    Ok(out)
}
