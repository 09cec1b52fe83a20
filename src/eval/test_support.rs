//! A small in-memory [`Scope`] and helpers shared by the evaluator's tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{eval, EvalError, Scope};
use crate::addr::ResourceAddr;
use crate::value::Value;

pub(crate) struct TestScope {
    pub vars: BTreeMap<String, Value>,
    pub locals: BTreeMap<String, Value>,
    pub resources: BTreeMap<ResourceAddr, Value>,
    pub count: Option<Value>,
    pub each: Option<(Value, Value)>,
    pub dir: PathBuf,
}

impl Scope for TestScope {
    fn variable(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.locals.get(name).cloned()
    }
    fn resource(&self, addr: &ResourceAddr) -> Option<Value> {
        self.resources.get(addr).cloned()
    }
    fn count_index(&self) -> Option<Value> {
        self.count.clone()
    }
    fn each(&self) -> Option<(Value, Value)> {
        self.each.clone()
    }
    fn module_dir(&self) -> &Path {
        &self.dir
    }
}

pub(crate) fn s(v: &str) -> Value {
    Value::string(v)
}

pub(crate) fn n(v: f64) -> Value {
    Value::Number(v)
}

pub(crate) fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

pub(crate) fn map(items: Vec<(&str, Value)>) -> Value {
    Value::Map(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

pub(crate) fn secret(v: Value) -> Value {
    v.mark_sensitive()
}

/// A scope with a few variables, locals and resources of every shape.
pub(crate) fn scope() -> TestScope {
    let vars = BTreeMap::from([
        ("name".to_string(), s("app")),
        ("port".to_string(), n(8080.0)),
        ("port_str".to_string(), s("5")),
        ("enabled".to_string(), Value::Bool(true)),
        ("tags".to_string(), map(vec![("team", s("core")), ("env", s("prod"))])),
        ("zones".to_string(), list(vec![s("a"), s("b"), s("c")])),
        ("password".to_string(), secret(s("hunter2"))),
        ("creds".to_string(), map(vec![("user", s("admin")), ("pass", secret(s("pw")))])),
        ("secret_map".to_string(), secret(map(vec![("k", s("v"))]))),
        ("nothing".to_string(), Value::Null),
        ("later".to_string(), Value::Unknown),
    ]);
    let locals = BTreeMap::from([
        ("prefix".to_string(), s("gantry")),
        (
            "objs".to_string(),
            list(vec![map(vec![("id", s("x")), ("n", n(1.0))]), map(vec![("id", s("y")), ("n", n(2.0))])]),
        ),
    ]);
    let resources = BTreeMap::from([
        (ResourceAddr::managed("aws_iam_role", "app"), map(vec![("name", s("app-role")), ("arn", Value::Unknown)])),
        (
            ResourceAddr::managed("aws_s3_bucket", "b"),
            list(vec![map(vec![("id", s("b0"))]), map(vec![("id", s("b1"))])]),
        ),
        (ResourceAddr::managed("aws_ssm_parameter", "p"), map(vec![("PORT", map(vec![("arn", s("arn:p"))]))])),
        (ResourceAddr::data("aws_region", "current"), map(vec![("name", s("eu-west-1"))])),
        (ResourceAddr::managed("aws_ecr_repository", "pending"), Value::Unknown),
    ]);
    TestScope { vars, locals, resources, count: None, each: None, dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")) }
}

pub(crate) fn eval_in(src: &str, scope: &TestScope) -> Result<Value, EvalError> {
    let expr = hcl_edit::parser::parse_expr(src).unwrap_or_else(|e| panic!("test input {src:?} does not parse: {e}"));
    eval(&expr, scope)
}

pub(crate) fn try_eval(src: &str) -> Result<Value, EvalError> {
    eval_in(src, &scope())
}

pub(crate) fn ok(src: &str) -> Value {
    try_eval(src).unwrap_or_else(|e| panic!("{src}: {}", e.message))
}

pub(crate) fn err(src: &str) -> EvalError {
    match try_eval(src) {
        Ok(v) => panic!("{src}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Asserts that evaluating `src` fails with a message containing `needle`
/// and returns the source text the error's span points at.
pub(crate) fn err_at<'a>(src: &'a str, needle: &str) -> &'a str {
    let e = err(src);
    assert!(e.message.contains(needle), "{src}: message {:?} lacks {needle:?}", e.message);
    let span = e.span.unwrap_or_else(|| panic!("{src}: error has no span"));
    &src[span]
}
