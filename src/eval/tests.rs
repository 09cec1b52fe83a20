//! Tests of expression evaluation, references and error spans.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::test_support::*;
use super::{eval, references, Reference};
use crate::addr::ResourceAddr;
use crate::value::Value;

#[test]
fn literals_and_collections() {
    assert_eq!(ok("null"), Value::Null);
    assert_eq!(ok("true"), Value::Bool(true));
    assert_eq!(ok("1.5"), n(1.5));
    assert_eq!(ok("\"hi\""), s("hi"));
    assert_eq!(ok("[1, \"a\", [true]]"), list(vec![n(1.0), s("a"), list(vec![Value::Bool(true)])]));
    assert_eq!(ok("{a = 1, \"b-c\" = 2, (var.name) = 3}"), map(vec![("a", n(1.0)), ("b-c", n(2.0)), ("app", n(3.0))]));
    assert_eq!(ok("{a: 1}"), map(vec![("a", n(1.0))]));
    assert_eq!(ok("(1 + 2) * 3"), n(9.0));
}

#[test]
fn references_resolve_through_scope() {
    assert_eq!(ok("var.name"), s("app"));
    assert_eq!(ok("local.prefix"), s("gantry"));
    assert_eq!(ok("aws_iam_role.app.name"), s("app-role"));
    assert_eq!(ok("aws_s3_bucket.b[1].id"), s("b1"));
    assert_eq!(ok("aws_ssm_parameter.p[\"PORT\"].arn"), s("arn:p"));
    assert_eq!(ok("data.aws_region.current.name"), s("eu-west-1"));
    assert_eq!(ok("var.tags.team"), s("core"));
    assert_eq!(ok("var.tags[\"env\"]"), s("prod"));
    assert_eq!(ok("var.zones[0]"), s("a"));
    assert_eq!(ok("var.zones.1"), s("b"));
    assert_eq!(ok("var.zones[\"2\"]"), s("c"));
    // As Terraform gives them when run in the stack folder.
    assert_eq!(ok("path.module"), s("."));
    assert_eq!(ok("path.root"), s("."));
    assert_eq!(ok("path.cwd"), s(std::env::current_dir().unwrap().to_str().unwrap()));
    assert_eq!(ok("terraform.workspace"), s("default"));
}

#[test]
fn count_and_each() {
    let mut sc = scope();
    sc.count = Some(n(2.0));
    sc.each = Some((s("k"), map(vec![("v", n(1.0))])));
    assert_eq!(eval_in("count.index + 1", &sc).unwrap(), n(3.0));
    assert_eq!(eval_in("\"${each.key}-${each.value.v}\"", &sc).unwrap(), s("k-1"));
    let e = err("count.index");
    assert!(e.message.contains("non-counted"), "{}", e.message);
    let e = err("each.key");
    assert!(e.message.contains("for_each"), "{}", e.message);
}

#[test]
fn splats() {
    assert_eq!(ok("aws_s3_bucket.b[*].id"), list(vec![s("b0"), s("b1")]));
    assert_eq!(ok("aws_s3_bucket.b.*.id"), list(vec![s("b0"), s("b1")]));
    assert_eq!(ok("local.objs[*].n"), list(vec![n(1.0), n(2.0)]));
    // `.*` covers attribute accesses only; the index applies to the result.
    assert_eq!(ok("local.objs.*.id[1]"), s("y"));
    // `[*]` covers everything after it.
    assert_eq!(ok("[[1, 2], [3, 4]][*][0]"), list(vec![n(1.0), n(3.0)]));
    assert_eq!(ok("var.nothing[*]"), list(vec![]));
    assert_eq!(ok("var.tags[*].team"), list(vec![s("core")]));
    assert_eq!(ok("var.later[*].id"), Value::Unknown);
}

#[test]
fn string_conversion_in_operators() {
    assert_eq!(ok("\"5\" + 1"), n(6.0));
    assert_eq!(ok("var.port_str * 2"), n(10.0));
    assert_eq!(ok("\"true\" && true"), Value::Bool(true));
    assert_eq!(ok("1 == \"1\""), Value::Bool(false));
    assert_eq!(ok("[1, 2] == [1, 2]"), Value::Bool(true));
    assert_eq!(ok("{a = 1} != {a = 2}"), Value::Bool(true));
    assert_eq!(ok("var.nothing == null"), Value::Bool(true));
    assert_eq!(ok("-5 % 3"), n(-2.0));
    assert_eq!(ok("7 / 2"), n(3.5));
    assert_eq!(ok("2 <= 2 && 3 > 2 && 1 < 2 && 2 >= 3 == false"), Value::Bool(true));
    assert_eq!(ok("!false"), Value::Bool(true));
    assert_eq!(ok("-var.port"), n(-8080.0));
}

#[test]
fn arithmetic_errors() {
    assert!(err("1 / 0").message.contains("Division by zero"));
    assert!(err("1 % 0").message.contains("Division by zero"));
    assert!(err("1e308 * 10").message.contains("overflow"));
    assert_eq!(err_at("1 + \"x\"", "right operand"), "\"x\"");
    assert_eq!(err_at("true + 1", "left operand"), "true");
    assert_eq!(err_at("null - 1", "null"), "null");
    assert_eq!(err_at("!1", "bool"), "1");
}

#[test]
fn logical_operators_short_circuit() {
    assert_eq!(ok("false && var.undeclared_is_never_read"), Value::Bool(false));
    assert_eq!(ok("true || 1 / 0 == 1"), Value::Bool(true));
    assert_eq!(ok("var.later && false"), Value::Bool(false));
    assert_eq!(ok("var.later || true"), Value::Bool(true));
    assert_eq!(ok("var.later && true"), Value::Unknown);
}

#[test]
fn conditionals() {
    assert_eq!(ok("var.enabled ? \"on\" : \"off\""), s("on"));
    assert_eq!(ok("\"false\" ? 1 : 2"), n(2.0));
    // Only the chosen branch is evaluated.
    assert_eq!(ok("false ? var.zones[9] : 0"), n(0.0));
    assert_eq!(ok("var.later ? 1 : 2"), Value::Unknown);
    assert_eq!(err_at("var.name ? 1 : 2", "bool"), "var.name");
    assert_eq!(err_at("null ? 1 : 2", "null"), "null");
}

#[test]
fn for_expressions() {
    assert_eq!(ok("[for z in var.zones : upper(z)]"), list(vec![s("A"), s("B"), s("C")]));
    assert_eq!(ok("[for i, z in var.zones : \"${i}${z}\"]"), list(vec![s("0a"), s("1b"), s("2c")]));
    assert_eq!(ok("[for z in var.zones : z if z != \"b\"]"), list(vec![s("a"), s("c")]));
    assert_eq!(ok("{for k, v in var.tags : v => k}"), map(vec![("core", s("team")), ("prod", s("env"))]));
    assert_eq!(ok("[for k, v in var.tags : k]"), list(vec![s("env"), s("team")]));
    assert_eq!(
        ok("{for o in local.objs : o.n > 1 ? \"big\" : \"small\" => o.id...}"),
        map(vec![("big", list(vec![s("y")])), ("small", list(vec![s("x")]))])
    );
    assert_eq!(ok("{for i in [1, 2] : i => i * 2}"), map(vec![("1", n(2.0)), ("2", n(4.0))]));
    assert_eq!(ok("[for x in var.later : x]"), Value::Unknown);
    // An iteration variable shadows nothing outside its own body.
    assert_eq!(ok("[for var in [1] : var]"), list(vec![n(1.0)]));
    assert_eq!(ok("[for x in [[1, 2]] : [for y in x : y * 10]]"), list(vec![list(vec![n(10.0), n(20.0)])]));
}

#[test]
fn for_expression_errors() {
    let src = "{for z in [\"a\", \"a\"] : z => 1}";
    assert_eq!(err_at(src, "Duplicate object key"), "z");
    assert_eq!(err_at("[for x in null : x]", "null"), "null");
    assert_eq!(err_at("[for x in \"abc\" : x]", "non-iterable"), "\"abc\"");
    assert_eq!(err_at("[for x in [1] : x if x]", "bool"), "x");
    assert!(err("[for x in [1] : y]").message.contains("no variable named \"y\""));
}

#[test]
fn templates() {
    assert_eq!(ok("\"${var.name}-${var.port}\""), s("app-8080"));
    assert_eq!(ok("\"v=${var.enabled} ${1.5}\""), s("v=true 1.5"));
    // A lone interpolation yields the value itself.
    assert_eq!(ok("\"${var.zones}\""), list(vec![s("a"), s("b"), s("c")]));
    assert_eq!(ok("\"$${literal}\""), s("${literal}"));
    assert_eq!(ok("\"%{if var.enabled}yes%{else}no%{endif}\""), s("yes"));
    assert_eq!(ok("\"%{for z in var.zones}${z},%{endfor}\""), s("a,b,c,"));
    assert_eq!(ok("\"%{for i, z in var.zones}${i}=${z} %{endfor}\""), s("0=a 1=b 2=c "));
    assert_eq!(ok("\"a %{~ if true ~} b %{~ else ~} c %{~ endif ~} d\""), s("abd"));
    assert_eq!(ok("\"x ${~ \"y\" ~} z\""), s("xyz"));
    assert_eq!(ok("\"[\n  %{~ for z in var.zones ~}\n  ${z}\n  %{~ endfor ~}\n]\""), s("[abc]"));
}

#[test]
fn heredocs() {
    assert_eq!(ok("<<EOT\nhello ${var.name}\nEOT"), s("hello app\n"));
    assert_eq!(ok("<<-EOT\n    hello\n      ${var.name}\n    EOT"), s("hello\n  app\n"));
    assert_eq!(ok("<<EOT\n%{ for z in var.zones ~}\n- ${z}\n%{ endfor ~}\nEOT"), s("- a\n- b\n- c\n"));
}

#[test]
fn template_errors() {
    assert_eq!(err_at("\"a${var.nothing}\"", "null"), "var.nothing");
    assert_eq!(err_at("\"a${var.zones}\"", "string"), "var.zones");
    assert_eq!(err_at("\"%{if 1}x%{endif}\"", "bool"), "1");
}

#[test]
fn unknown_propagates() {
    assert_eq!(ok("aws_iam_role.app.arn"), Value::Unknown);
    assert_eq!(ok("aws_ecr_repository.pending.repository_url"), Value::Unknown);
    assert_eq!(ok("aws_ecr_repository.pending[0].x[\"y\"]"), Value::Unknown);
    assert_eq!(ok("\"arn=${aws_iam_role.app.arn}\""), Value::Unknown);
    assert_eq!(ok("aws_iam_role.app.arn + 1"), Value::Unknown);
    assert_eq!(ok("aws_iam_role.app.arn == \"x\""), Value::Unknown);
    assert_eq!(ok("aws_iam_role.app.arn == null"), Value::Unknown);
    assert_eq!(ok("aws_iam_role.app == null"), Value::Bool(false));
    assert_eq!(ok("null != [var.later]"), Value::Bool(true));
    assert_eq!(ok("-var.later"), Value::Unknown);
    assert_eq!(ok("[aws_iam_role.app.arn, 1]"), list(vec![Value::Unknown, n(1.0)]));
    assert_eq!(ok("{a = var.later}"), map(vec![("a", Value::Unknown)]));
    assert_eq!(ok("{(var.later) = 1}"), Value::Unknown);
    assert_eq!(ok("var.zones[var.later]"), Value::Unknown);
    assert_eq!(ok("length(var.later)"), Value::Unknown);
    assert_eq!(ok("length([var.later, 1])"), n(2.0));
    assert_eq!(ok("upper(var.later)"), Value::Unknown);
    assert_eq!(ok("join(\",\", [var.later])"), Value::Unknown);
    assert_eq!(ok("\"%{if var.later}x%{endif}\""), Value::Unknown);
    assert_eq!(ok("[for z in var.zones : z if var.later]"), Value::Unknown);
    assert_eq!(ok("try(var.later, 1)"), Value::Unknown);
    assert_eq!(ok("can(var.later)"), Value::Unknown);
}

#[test]
fn sensitive_propagates_and_stays_hidden() {
    assert_eq!(ok("var.password"), secret(s("hunter2")));
    assert_eq!(ok("\"pw=${var.password}\""), secret(s("pw=hunter2")));
    assert_eq!(ok("upper(var.password)"), secret(s("HUNTER2")));
    assert_eq!(ok("var.password == \"x\""), secret(Value::Bool(false)));
    assert_eq!(ok("length(var.password)"), secret(n(7.0)));
    // A secret inside a map leaves the map's other parts usable.
    assert_eq!(ok("var.creds.user"), s("admin"));
    assert_eq!(ok("var.creds.pass"), secret(s("pw")));
    assert_eq!(ok("keys(var.creds)"), list(vec![s("pass"), s("user")]));
    assert_eq!(ok("length(var.creds)"), n(2.0));
    assert_eq!(ok("lookup(var.creds, \"user\")"), s("admin"));
    assert_eq!(ok("merge(var.creds, {x = 1}).user"), s("admin"));
    assert_eq!(ok("merge(var.creds, {x = 1}).pass"), secret(s("pw")));
    // A sensitive map can still be indexed; the element is sensitive.
    assert_eq!(ok("var.secret_map.k"), secret(s("v")));
    assert_eq!(ok("var.secret_map[\"k\"]"), secret(s("v")));
    // A sensitive map is a map of sensitive values: its keys stay usable.
    assert_eq!(ok("keys(var.secret_map)"), list(vec![s("k")]));
    assert_eq!(ok("length(var.secret_map)"), n(1.0));
    assert_eq!(ok("values(var.secret_map)"), list(vec![secret(s("v"))]));
    assert_eq!(ok("[for k, v in var.secret_map : k]"), list(vec![s("k")]));
    assert_eq!(ok("[for k, v in var.secret_map : v]"), list(vec![secret(s("v"))]));
    assert_eq!(ok("{for k, v in var.secret_map : k => upper(v)}"), map(vec![("k", secret(s("V")))]));
    assert_eq!(ok("[for k, v in var.secret_map : k if v == \"v\"]"), secret(list(vec![s("k")])));
    assert_eq!(ok("\"%{for k, v in var.secret_map}${k}%{endfor}\""), s("k"));
    assert_eq!(ok("merge(var.secret_map, {a = 1})"), map(vec![("a", n(1.0)), ("k", secret(s("v")))]));
    assert_eq!(ok("lookup(var.secret_map, \"k\")"), secret(s("v")));
    // A sensitive list stays wholly sensitive.
    assert_eq!(ok("length(sensitive([1, 2]))"), secret(n(2.0)));
    assert_eq!(ok("[for x in sensitive([1]) : 0]"), secret(list(vec![n(0.0)])));
    assert_eq!(ok("var.password != \"\" ? 1 : 2"), secret(n(1.0)));
    assert_eq!(ok("sensitive(1)"), secret(n(1.0)));
    assert_eq!(ok("nonsensitive(var.password)"), s("hunter2"));
    assert_eq!(ok("jsonencode({p = var.password})"), secret(s("{\"p\":\"hunter2\"}")));
    // Errors never quote a secret.
    for src in [
        "tonumber(var.password)",
        "var.password + 1",
        "var.secret_map[var.password]",
        "lookup(var.secret_map, var.password)",
        "file(var.password)",
        "{for x in [var.password, var.password] : x => 1}",
        "jsondecode(var.password)",
        "regex(var.password, \"x\")",
        "format(var.password, 1)",
        "format(\"%d\", var.password)",
        "[for x in [var.password] : file(x)]",
        "templatefile(var.password, {})",
    ] {
        let e = err(src);
        assert!(!e.message.contains("hunter2"), "{src}: {}", e.message);
    }
}

#[test]
fn reference_errors_are_terraform_like() {
    assert_eq!(err_at("var.nope", "Reference to undeclared input variable \"nope\""), "var.nope");
    assert!(err("var.nope").message.contains("\"nope\""));
    assert_eq!(err_at("local.nope", "Reference to undeclared local value \"nope\""), "local.nope");
    assert_eq!(err_at("aws_x.y.arn", "Reference to undeclared resource \"aws_x.y\""), "aws_x.y");
    assert_eq!(err_at("data.aws_x.y.id", "data resource \"aws_x\" \"y\""), "data.aws_x.y");
    assert_eq!(err_at("data.aws_x", "must have a type and a name"), "data.aws_x");
    assert_eq!(err_at("foo", "no variable named \"foo\""), "foo");
    assert_eq!(err_at("var", "cannot be accessed directly"), "var");
    assert_eq!(err_at("count.foo", "\"count\" attribute"), "count.foo");
    assert_eq!(err_at("path.nope", "\"path\" attribute"), "path.nope");
    assert_eq!(err_at("terraform.version", "only attribute"), "terraform.version");
    assert_eq!(err_at("module.nope.x", "undeclared module"), "module.nope");
}

#[test]
fn traversal_errors_point_at_the_operator() {
    assert_eq!(err_at("var.tags.foo", "Unsupported attribute: object has no attribute \"foo\""), ".foo");
    assert_eq!(err_at("var.zones.foo", "list of objects"), ".foo");
    assert_eq!(err_at("var.nothing.foo", "null"), ".foo");
    assert_eq!(err_at("var.name.foo", "string"), ".foo");
    assert_eq!(err_at("var.zones[3]", "the collection has 3 elements"), "[3]");
    assert_eq!(err_at("var.zones[-1]", "Invalid index"), "[-1]");
    assert_eq!(err_at("var.zones[0.5]", "whole number"), "[0.5]");
    assert_eq!(err_at("var.zones.7", "Invalid index"), ".7");
    assert_eq!(err_at("var.tags[\"nope\"]", "\"nope\""), "[\"nope\"]");
    assert_eq!(err_at("var.tags[null]", "null"), "[null]");
    assert_eq!(err_at("var.name[0]", "does not have any indices"), "[0]");
    assert_eq!(err_at("[1][\"x\"]", "number"), "[\"x\"]");
}

#[test]
fn spans_are_relative_to_the_parsed_source() {
    // Expressions inside a body carry file offsets, so errors point into the file.
    let src = "a = 1\nb = \"${var.tags.foo}\"\n";
    let body = hcl_edit::parser::parse_body(src).unwrap();
    let attr = body.get_attribute("b").unwrap();
    let e = eval(&attr.value, &scope()).unwrap_err();
    assert_eq!(&src[e.span.unwrap()], ".foo");
}

#[test]
fn heredoc_in_body() {
    let src = "x = <<-EOT\n  {\n    \"name\": \"${var.name}\"\n  }\n  EOT\n";
    let body = hcl_edit::parser::parse_body(src).unwrap();
    let v = eval(&body.get_attribute("x").unwrap().value, &scope()).unwrap();
    assert_eq!(v, s("{\n  \"name\": \"app\"\n}\n"));
}

#[test]
fn references_are_extracted() {
    let refs = |src: &str| -> Vec<Reference> {
        references(&hcl_edit::parser::parse_expr(src).unwrap()).into_iter().map(|r| r.reference).collect()
    };
    use Reference::*;
    assert_eq!(refs("var.a"), vec![Variable("a".into())]);
    assert_eq!(refs("local.b.c[0]"), vec![Local("b".into())]);
    assert_eq!(refs("aws_iam_role.app.arn"), vec![Resource(ResourceAddr::managed("aws_iam_role", "app"))]);
    assert_eq!(refs("data.aws_region.current.name"), vec![Resource(ResourceAddr::data("aws_region", "current"))]);
    assert_eq!(refs("aws_s3_bucket.b[*].id"), vec![Resource(ResourceAddr::managed("aws_s3_bucket", "b"))]);
    assert_eq!(refs("count.index"), vec![CountIndex]);
    assert_eq!(refs("each.value.x"), vec![Each]);
    assert_eq!(refs("path.module"), vec![Path]);
    assert_eq!(
        refs("\"${var.a}-%{for x in local.xs}${x.id}${var.b}%{endfor}\""),
        vec![Variable("a".into()), Local("xs".into()), Variable("b".into())]
    );
    assert_eq!(refs("[for k, v in var.m : v.x if k != local.skip]"), vec![Variable("m".into()), Local("skip".into())]);
    assert_eq!(refs("{for x in var.l : x.k => x.v...}"), vec![Variable("l".into())]);
    assert_eq!(
        refs("merge(var.a, {x = aws_x.y.z}, try(local.q, null))"),
        vec![Variable("a".into()), Resource(ResourceAddr::managed("aws_x", "y")), Local("q".into())]
    );
    assert_eq!(refs("var.m[local.k][count.index]"), vec![Variable("m".into()), Local("k".into()), CountIndex]);
    assert_eq!(refs("cond ? var.a : -var.b"), vec![Variable("a".into()), Variable("b".into())]);
    // A bare unknown name is left to evaluation; iteration variables are not references.
    assert_eq!(refs("foo"), vec![]);
    assert_eq!(refs("[for x in [] : x.y]"), vec![]);
    // Outside the for, the same name is a reference again.
    assert_eq!(refs("[[for x in [] : x], x.y]"), vec![Resource(ResourceAddr::managed("x", "y"))]);
}

#[test]
fn reference_spans_cover_the_referent() {
    let src = "join(\",\", [var.a, aws_x.y[0].arn, data.t.n.id])";
    let expr = hcl_edit::parser::parse_expr(src).unwrap();
    let spans: Vec<&str> = references(&expr).into_iter().map(|r| &src[r.span.unwrap()]).collect();
    assert_eq!(spans, vec!["var.a", "aws_x.y", "data.t.n"]);
}

#[test]
fn deep_nesting_is_an_error_or_a_value_never_a_crash() {
    // The parser caps nesting; whatever it accepts must evaluate without
    // exhausting the stack of a test thread.
    for depth in [10usize, 60, 63, 64, 65, 200] {
        let src = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            assert_eq!(eval(&expr, &scope()).unwrap(), n(1.0));
        }
        let src = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            assert!(eval(&expr, &scope()).is_ok());
        }
        let src = format!("{}1", "1 + ".repeat(depth));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            assert_eq!(eval(&expr, &scope()).unwrap(), n(depth as f64 + 1.0));
        }
        let src = format!("{}1{}", "upper(".repeat(depth), ")".repeat(depth));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            assert_eq!(eval(&expr, &scope()).unwrap(), s("1"));
        }
        let src = format!("{}\"x\"{}", "\"${".repeat(depth), "}\"".repeat(depth));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            assert!(eval(&expr, &scope()).is_ok());
        }
    }
}

#[test]
fn runaway_loops_are_an_error_not_a_hang() {
    let e = err("[for a in range(1024) : [for b in range(1024) : [for c in range(1024) : c]]]");
    assert!(e.message.contains("Expression too expensive"), "{}", e.message);
    assert_eq!(ok("length(flatten([for a in range(100) : [for b in range(100) : b]]))"), n(10000.0));
}

#[test]
fn object_keys_of_any_primitive_type() {
    assert_eq!(ok("{(1) = \"a\", (true) = \"b\"}"), map(vec![("1", s("a")), ("true", s("b"))]));
    assert!(err("{(null) = 1}").message.contains("Invalid object key"));
    assert!(err("{([]) = 1}").message.contains("Invalid object key"));
}

#[test]
fn scope_is_not_consulted_for_unused_branches() {
    let mut sc = scope();
    sc.vars = BTreeMap::new();
    assert_eq!(eval_in("true ? 1 : var.missing", &sc).unwrap(), n(1.0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics(src in "\\PC{0,60}") {
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            let _ = eval(&expr, &scope());
            let _ = references(&expr);
            let _ = super::parse_type(&expr);
        }
    }

    #[test]
    fn expression_shaped_input_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "var.zones", "var.tags", "var.password", "var.later", "var.nothing",
                "local.objs", "aws_s3_bucket.b", "1", "-1", "0", "1e308", "\"5\"", "\"\"",
                "null", "true", "[*]", ".*", "[0]", "[-1]", ".id", "[\"team\"]",
                " + ", " - ", " * ", " / ", " % ", " == ", " && ", " || ",
                " ? ", " : ", "(", ")", "[", "]", "{", "}", ", ",
                "!", "for x in ", " : x", "=>", "...", " if ", "\"${", "}\"",
                "%{if ", "%{endif}", "range(", "format(\"%5.2f %s %d\", ", "element(",
                "substr(", "flatten(", "jsondecode(", "toset(", "try(", "can(",
                "lookup(", "merge(", "zipmap(", "slice(", "indent(", "split(",
                "replace(", "\"/[/\"", "regexall(\"(a)|(?P<n>b)\", ", "tonumber(", "pow(",
                "file(", "templatefile(", "coalesce(", "join(\",\", ", "sum(",
            ]),
            0..24,
        )
    ) {
        let src: String = parts.concat();
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            let _ = eval(&expr, &scope());
            let _ = references(&expr);
        }
    }
}

/// The deepest nesting the parser accepts, in several shapes, evaluated on
/// a thread with a quarter of the default 2 MiB stack: the evaluator's
/// recursion must leave ample headroom on ordinary threads.
#[test]
fn deepest_parseable_nesting_fits_a_small_stack() {
    const STACK: usize = 512 * 1024;
    let shapes: [(&str, &str); 6] = [
        ("upper(\"${[for x in [", "] : x][0]}\")"),
        ("{a = [(", ")]}.a[0]"),
        ("try(\"%{if true}${", "}%{endif}\", 0)"),
        ("[for k, v in {x = ", "} : v if true][0]"),
        ("true ? (", ") : 0"),
        ("-(", ")"),
    ];
    let mut cases = Vec::new();
    for (open, close) in shapes {
        let mut deepest = None;
        for depth in 1..200 {
            let src = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            match hcl_edit::parser::parse_expr(&src) {
                Ok(expr) => deepest = Some(expr),
                Err(_) => break,
            }
        }
        cases.push(deepest.expect("depth 1 parses"));
    }
    let handle = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            for expr in &cases {
                let _ = eval(expr, &scope());
                let _ = references(expr);
            }
        })
        .unwrap();
    handle.join().unwrap();
}
