use super::super::test_support::*;
use crate::value::Value;

fn strs(items: &[&str]) -> Value {
    list(items.iter().map(|x| s(x)).collect())
}

const ARG_POOL: &[&str] = &[
    "null",
    "var.later",
    "var.password",
    "var.secret_map",
    "var.creds",
    "var.zones",
    "var.tags",
    "local.objs",
    "1e300",
    "-1e300",
    "0",
    "-1",
    "1.5",
    "9007199254740993",
    "\"\"",
    "\"%\"",
    "\"%99999999999999999999999d\"",
    "\"%[99999999999999999999999]s\"",
    "\"%-0+ #[2]5.3x\"",
    "\"/(/\"",
    "\"/a*/\"",
    "\"x\"",
    "\"5\"",
    "[]",
    "[null]",
    "[[1, [2]], 3]",
    "[var.later]",
    "{}",
    "{a = null}",
    "{a = var.later}",
    "true",
    "\".\"",
    "\"Cargo.toml\"",
    "[\"a\", 1, true]",
    "[{a = 1}, {a = 1}]",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, .. proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn any_function_with_any_arguments_never_panics(
        name in proptest::sample::select(super::function_names().collect::<Vec<_>>()),
        args in proptest::collection::vec(proptest::sample::select(ARG_POOL), 0..4),
        expand in proptest::bool::ANY,
    ) {
        let src = format!("{name}({}{})", args.join(", "), if expand && !args.is_empty() { "..." } else { "" });
        let expr = hcl_edit::parser::parse_expr(&src).unwrap();
        let _ = super::super::eval(&expr, &scope());
    }

    #[test]
    fn format_never_panics(spec in "(%[-+ 0#]{0,3}(\\[[0-9]{0,22}\\])?[0-9]{0,22}(\\.[0-9]{0,22})?[a-zA-Z%]?|[a-z ]){0,6}") {
        let src = format!("format({}, 1, \"a\", 2.5, true, [1], -7)", serde_json::Value::String(spec));
        if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
            let _ = super::super::eval(&expr, &scope());
        }
    }
}

#[test]
fn unknown_function_lists_supported_ones() {
    let e = err("foo(1)");
    assert!(e.message.starts_with("Call to unknown function \"foo\"; supported functions are: abs, "), "{}", e.message);
    assert!(e.message.contains("jsonencode"));
    assert_eq!(
        err_at(
            "provider::aws::arn_parse(\"x\")",
            "\"provider::aws::arn_parse\": provider-defined functions are not supported"
        ),
        "provider::aws::arn_parse(\"x\")"
    );
}

#[test]
fn argument_count_and_type_errors_name_the_signature() {
    let e = err("lookup({})");
    assert!(e.message.contains("Not enough function arguments"), "{}", e.message);
    assert!(e.message.contains("lookup(map, key, default)"), "{}", e.message);
    let e = err("upper(\"a\", \"b\")");
    assert!(e.message.contains("Too many function arguments"), "{}", e.message);
    assert!(e.message.contains("upper(string)"), "{}", e.message);
    assert_eq!(err_at("upper(\"a\", [1])", "Too many"), "upper(\"a\", [1])");
    // Type errors point at the argument and name the parameter.
    assert_eq!(err_at("join(\",\", \"notalist\")", "invalid value for \"lists\" parameter of join"), "\"notalist\"");
    assert_eq!(err_at("upper([])", "\"string\" parameter"), "[]");
    assert_eq!(err_at("element([1], \"x\")", "\"index\" parameter"), "\"x\"");
}

#[test]
fn json() {
    assert_eq!(ok("jsonencode({b = [1, 2.5, true, null], a = \"x\"})"), s("{\"a\":\"x\",\"b\":[1,2.5,true,null]}"));
    assert_eq!(ok("jsonencode(\"<a&b>\")"), s("\"\\u003ca\\u0026b\\u003e\""));
    assert_eq!(ok("jsonencode(8080)"), s("8080"));
    assert_eq!(ok("jsondecode(\"{\\\"a\\\": [1, \\\"x\\\"]}\")"), map(vec![("a", list(vec![n(1.0), s("x")]))]));
    assert!(err("jsondecode(\"{\")").message.contains("not valid JSON"));
    assert_eq!(ok("jsonencode(var.later)"), Value::Unknown);
    assert_eq!(ok("jsonencode({a = var.later})"), Value::Unknown);
    assert_eq!(ok("jsondecode(jsonencode(local.objs))"), ok("local.objs"));
}

#[test]
fn strings() {
    assert_eq!(ok("join(\"-\", [\"a\", 1, true])"), s("a-1-true"));
    assert_eq!(ok("join(\",\", [\"a\"], [\"b\", \"c\"])"), s("a,b,c"));
    assert_eq!(ok("split(\",\", \"a,b,,c\")"), strs(&["a", "b", "", "c"]));
    assert_eq!(ok("split(\",\", \"\")"), strs(&[""]));
    assert_eq!(ok("lower(\"AbC\")"), s("abc"));
    assert_eq!(ok("upper(\"straße\")"), s("STRAßE"));
    assert_eq!(ok("title(\"hello big-world\")"), s("Hello Big-World"));
    assert_eq!(ok("replace(\"a-b-c\", \"-\", \"_\")"), s("a_b_c"));
    assert_eq!(ok("replace(\"hello world\", \"/o(r?)/\", \"0$1\")"), s("hell0 w0rld"));
    assert_eq!(ok("replace(\"/\", \"/\", \"x\")"), s("x"));
    assert_eq!(ok("trimspace(\"  a b \\n\")"), s("a b"));
    assert_eq!(ok("trimprefix(\"prefix-x\", \"prefix-\")"), s("x"));
    assert_eq!(ok("trimsuffix(\"x.tf\", \".tf\")"), s("x"));
    assert_eq!(ok("trim(\"?!hi!?\", \"!?\")"), s("hi"));
    assert_eq!(ok("chomp(\"x\\n\\n\")"), s("x"));
    assert_eq!(ok("startswith(\"arn:aws\", \"arn:\")"), Value::Bool(true));
    assert_eq!(ok("endswith(\"arn:aws\", \"arn\")"), Value::Bool(false));
    assert_eq!(ok("substr(\"hello\", 1, 3)"), s("ell"));
    assert_eq!(ok("substr(\"hello\", -3, -1)"), s("llo"));
    assert_eq!(ok("substr(\"hello\", 10, 2)"), s(""));
    assert_eq!(ok("substr(\"hello\", 3, 100)"), s("lo"));
    assert_eq!(ok("strrev(\"abc\")"), s("cba"));
    assert_eq!(ok("indent(2, \"a\\nb\")"), s("a\n  b"));
    assert_eq!(ok("length(\"héllo\")"), n(5.0));
    assert!(err("indent(99999999, \"a\")").message.contains("between 0 and"));
}

#[test]
fn regexes() {
    assert_eq!(ok("regex(\"[a-z]+\", \"123abc456\")"), s("abc"));
    assert_eq!(ok("regex(\"(\\\\d+)-(\\\\d+)\", \"10-20\")"), strs(&["10", "20"]));
    assert_eq!(ok("regex(\"(?P<a>\\\\d+)\", \"x7\")"), map(vec![("a", s("7"))]));
    assert_eq!(ok("regexall(\"\\\\d\", \"a1b2\")"), strs(&["1", "2"]));
    assert!(err("regex(\"z\", \"abc\")").message.contains("did not match"));
    assert!(err("regex(\"(\", \"abc\")").message.contains("invalid regular expression"));
}

#[test]
fn format_verbs() {
    assert_eq!(ok("format(\"%s-%d\", \"a\", 5)"), s("a-5"));
    assert_eq!(ok("format(\"%v %v %v\", \"a\", 1.5, true)"), s("a 1.5 true"));
    assert_eq!(ok("format(\"%v\", [1, \"a\"])"), s("[1,\"a\"]"));
    assert_eq!(ok("format(\"%q\", \"a\\\"b\")"), s("\"a\\\"b\""));
    assert_eq!(ok("format(\"%.2f\", 3.14159)"), s("3.14"));
    assert_eq!(ok("format(\"%f\", 1)"), s("1.000000"));
    assert_eq!(ok("format(\"%5d|%-5d|%05d|%+d\", 42, 42, 42, 42)"), s("   42|42   |00042|+42"));
    assert_eq!(ok("format(\"%x %X %o %b\", 255, 255, 8, 5)"), s("ff FF 10 101"));
    assert_eq!(ok("format(\"%e\", 1500)"), s("1.500000e+03"));
    assert_eq!(ok("format(\"%t\", true)"), s("true"));
    assert_eq!(ok("format(\"100%%\")"), s("100%"));
    assert_eq!(ok("format(\"%[2]s %[1]s\", \"a\", \"b\")"), s("b a"));
    assert_eq!(ok("format(\"%.3s\", \"abcdef\")"), s("abc"));
    assert_eq!(ok("format(\"%d\", \"12\")"), s("12"));
    assert!(err("format(\"%d\", 1.5)").message.contains("integer"));
    assert!(err("format(\"%s %s\", \"a\")").message.contains("not enough arguments"));
    assert!(err("format(\"%s\", \"a\", \"b\")").message.contains("too many arguments"));
    assert!(err("format(\"%s\", null)").message.contains("null"));
    assert!(err("format(\"%z\", 1)").message.contains("unsupported verb"));
    assert!(err("format(\"%\")").message.contains("incomplete"));
    assert!(err("format(\"%99999999999999999999d\", 1)").message.contains("larger than"));
    assert_eq!(ok("formatlist(\"%s=%s\", [\"a\", \"b\"], \"x\")"), strs(&["a=x", "b=x"]));
    assert!(err("formatlist(\"%s%s\", [\"a\"], [\"b\", \"c\"])").message.contains("inconsistent"));
}

#[test]
fn collections() {
    assert_eq!(ok("merge({a = 1, b = 2}, null, {b = 3})"), map(vec![("a", n(1.0)), ("b", n(3.0))]));
    assert_eq!(ok("merge()"), map(vec![]));
    assert!(err("merge({}, [1])").message.contains("map is required"));
    assert_eq!(ok("concat([1], [], [2, 3])"), list(vec![n(1.0), n(2.0), n(3.0)]));
    assert_eq!(ok("concat([1], var.later)"), Value::Unknown);
    assert_eq!(ok("lookup(var.tags, \"team\")"), s("core"));
    assert_eq!(ok("lookup(var.tags, \"nope\", \"dflt\")"), s("dflt"));
    assert!(err("lookup(var.tags, \"nope\")").message.contains("lookup failed to find key \"nope\""));
    assert_eq!(ok("lookup(var.later, \"x\", 1)"), Value::Unknown);
    assert_eq!(ok("length([1, 2])"), n(2.0));
    assert_eq!(ok("length(var.tags)"), n(2.0));
    assert!(err("length(null)").message.contains("null"));
    assert!(err("length(1)").message.contains("collection or string"));
    assert_eq!(ok("keys(var.tags)"), strs(&["env", "team"]));
    assert_eq!(ok("values(var.tags)"), strs(&["prod", "core"]));
    assert_eq!(ok("contains(var.zones, \"b\")"), Value::Bool(true));
    assert_eq!(ok("contains([1], \"1\")"), Value::Bool(false));
    assert_eq!(ok("index(var.zones, \"c\")"), n(2.0));
    assert_eq!(ok("coalesce(null, \"\", \"x\", \"y\")"), s("x"));
    assert_eq!(ok("coalesce(null, var.later, \"x\")"), Value::Unknown);
    assert!(err("coalesce(null, \"\")").message.contains("no non-null"));
    assert_eq!(ok("coalescelist([], [1])"), list(vec![n(1.0)]));
    assert_eq!(ok("compact([\"a\", \"\", null, \"b\"])"), strs(&["a", "b"]));
    assert_eq!(ok("distinct([1, 2, 1, 3, 2])"), list(vec![n(1.0), n(2.0), n(3.0)]));
    assert_eq!(ok("element(var.zones, 4)"), s("b"));
    assert!(err("element([], 0)").message.contains("empty list"));
    assert!(err("element([1], -1)").message.contains("negative"));
    assert_eq!(ok("flatten([[1, [2]], [], 3])"), list(vec![n(1.0), n(2.0), n(3.0)]));
    assert_eq!(ok("flatten([[1], var.later])"), Value::Unknown);
    assert_eq!(ok("reverse([1, 2, 3])"), list(vec![n(3.0), n(2.0), n(1.0)]));
    assert_eq!(ok("slice(var.zones, 1, 3)"), strs(&["b", "c"]));
    assert!(err("slice(var.zones, 2, 1)").message.contains("start index"));
    assert_eq!(ok("sort([\"b\", \"a\", \"c\"])"), strs(&["a", "b", "c"]));
    assert_eq!(ok("zipmap([\"a\", \"b\"], [1, 2])"), map(vec![("a", n(1.0)), ("b", n(2.0))]));
    assert!(err("zipmap([\"a\"], [1, 2])").message.contains("does not match"));
    assert_eq!(ok("one([])"), Value::Null);
    assert_eq!(ok("one([5])"), n(5.0));
    assert!(err("one([1, 2])").message.contains("at most one"));
    assert_eq!(ok("alltrue([true, \"true\"])"), Value::Bool(true));
    assert_eq!(ok("anytrue([])"), Value::Bool(false));
    assert_eq!(ok("concat([var.zones, [1]]...)"), list(vec![s("a"), s("b"), s("c"), n(1.0)]));
    assert_eq!(ok("concat(var.later...)"), Value::Unknown);
    assert!(err("concat(\"a\"...)").message.contains("must be a list"));
    assert_eq!(ok("max([3, 9, 1]...)"), n(9.0));
}

#[test]
fn conversions() {
    assert_eq!(ok("tostring(5)"), s("5"));
    assert_eq!(ok("tostring(true)"), s("true"));
    assert_eq!(ok("tostring(null)"), Value::Null);
    assert!(err("tostring([])").message.contains("cannot convert"));
    assert_eq!(ok("tonumber(\"42\")"), n(42.0));
    assert_eq!(ok("tonumber(\"1.5e2\")"), n(150.0));
    assert!(err("tonumber(\"x\")").message.contains("cannot convert to number"));
    assert_eq!(ok("tobool(\"true\")"), Value::Bool(true));
    assert_eq!(ok("toset([\"b\", \"a\", \"b\"])"), strs(&["a", "b"]));
    assert_eq!(ok("toset([3, 1, 3])"), list(vec![n(1.0), n(3.0)]));
    assert_eq!(ok("toset([\"a\", 1])"), strs(&["1", "a"]));
    assert_eq!(ok("toset([null, \"a\"])"), list(vec![s("a"), Value::Null]));
    assert_eq!(ok("tolist(var.zones)"), ok("var.zones"));
    assert_eq!(ok("tomap(var.tags)"), ok("var.tags"));
    assert!(err("tomap([])").message.contains("cannot convert"));
}

#[test]
fn numbers() {
    assert_eq!(ok("abs(-3)"), n(3.0));
    assert_eq!(ok("ceil(1.2)"), n(2.0));
    assert_eq!(ok("floor(\"1.8\")"), n(1.0));
    assert_eq!(ok("max(1, 5, \"3\")"), n(5.0));
    assert_eq!(ok("min(4, 2)"), n(2.0));
    assert_eq!(ok("pow(2, 10)"), n(1024.0));
    assert!(err("pow(10, 400)").message.contains("finite"));
    assert_eq!(ok("signum(-2)"), n(-1.0));
    assert_eq!(ok("sum([1, 2, 3.5])"), n(6.5));
    assert_eq!(ok("range(3)"), list(vec![n(0.0), n(1.0), n(2.0)]));
    assert_eq!(ok("range(1, 4)"), list(vec![n(1.0), n(2.0), n(3.0)]));
    assert_eq!(ok("range(3, 0)"), list(vec![n(3.0), n(2.0), n(1.0)]));
    assert_eq!(ok("range(0, 1, 0.5)"), list(vec![n(0.0), n(0.5)]));
    assert_eq!(ok("range(0)"), list(vec![]));
    assert!(err("range(0, 10, 0)").message.contains("zero"));
    assert!(err("range(1e15)").message.contains("more than 1024"));
    assert!(err("range(0, 5, -1)").message.contains("step"));
}

#[test]
fn hashes_and_encodings() {
    assert_eq!(ok("sha256(\"hello\")"), s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
    assert_eq!(ok("base64encode(\"hello\")"), s("aGVsbG8="));
    assert_eq!(ok("base64decode(\"aGVsbG8=\")"), s("hello"));
    assert_eq!(ok("base64sha256(\"hello\")"), s("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="));
    assert!(err("base64decode(\"!!\")").message.contains("base64"));
    assert!(err("base64decode(\"/w==\")").message.contains("UTF-8"));
}

#[test]
fn try_and_can() {
    assert_eq!(ok("try(var.tags.nope, \"fallback\")"), s("fallback"));
    assert_eq!(ok("try(var.tags.team, \"fallback\")"), s("core"));
    assert_eq!(ok("can(var.zones[5])"), Value::Bool(false));
    assert_eq!(ok("can(var.zones[0])"), Value::Bool(true));
    assert_eq!(ok("[for x in [{a = 1}, {}] : try(x.a, 0)]"), list(vec![n(1.0), n(0.0)]));
    assert!(err("try(var.tags.a, var.tags.b)").message.contains("no expression succeeded"));
    // Mistakes in names are not swallowed.
    assert!(err("try(var.undeclared, 1)").message.contains("Reference to undeclared input variable"));
    assert!(err("can(nosuchfn(1))").message.contains("Call to unknown function"));
    assert!(err("try(aws_nope.x.id, 1)").message.contains("undeclared resource"));
}

#[test]
fn files_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.json"), "{\"v\": 1}").unwrap();
    std::fs::write(
        dir.path().join("user_data.tpl"),
        "#!/bin/sh\nexport NAME=${name}\n%{ for p in ports ~}\nopen ${p}\n%{ endfor ~}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.tpl"), "line1\n${nope}\n").unwrap();
    std::fs::write(dir.path().join("nested.tpl"), "${templatefile(\"bad.tpl\", {})}").unwrap();
    std::fs::write(dir.path().join("vars.tpl"), "${var.name}").unwrap();
    std::fs::write(dir.path().join("bin"), [0xffu8, 0xfe]).unwrap();
    let mut sc = scope();
    sc.dir = dir.path().to_path_buf();
    let run = |src: &str| eval_in(src, &sc);
    assert_eq!(run("jsondecode(file(\"policy.json\")).v").unwrap(), n(1.0));
    let e = run("file(\"missing.txt\")").unwrap_err();
    assert!(e.message.contains("no file exists at \"missing.txt\""), "{}", e.message);
    assert!(run("file(\"bin\")").unwrap_err().message.contains("UTF-8"));
    assert_eq!(run("filebase64(\"bin\")").unwrap(), s("//4="));
    assert_eq!(run("fileexists(\"policy.json\")").unwrap(), Value::Bool(true));
    assert_eq!(run("fileexists(\"nope\")").unwrap(), Value::Bool(false));
    assert_eq!(
        run("templatefile(\"user_data.tpl\", {name = var.name, ports = [80, 443]})").unwrap(),
        s("#!/bin/sh\nexport NAME=app\nopen 80\nopen 443\n")
    );
    assert_eq!(
        run("templatefile(\"user_data.tpl\", {name = var.password, ports = []})").unwrap(),
        secret(s("#!/bin/sh\nexport NAME=hunter2\n"))
    );
    assert_eq!(run("templatefile(\"user_data.tpl\", {name = var.later, ports = []})").unwrap(), Value::Unknown);
    let e = run("templatefile(\"bad.tpl\", {})").unwrap_err();
    assert!(e.message.contains("\"bad.tpl\":2,3"), "{}", e.message);
    assert!(e.message.contains("no variable named \"nope\""), "{}", e.message);
    // Templates see only the variables passed to them.
    let e = run("templatefile(\"vars.tpl\", {})").unwrap_err();
    assert!(e.message.contains("no variable named \"var\""), "{}", e.message);
    assert_eq!(run("templatefile(\"vars.tpl\", {var = {name = \"x\"}})").unwrap(), s("x"));
    assert!(run("templatefile(\"nested.tpl\", {})").unwrap_err().message.contains("cannot be called from inside"));
    assert!(run("templatefile(\"missing.tpl\", {})").unwrap_err().message.contains("no file exists"));
    assert!(run("templatefile(\"policy.json\", [])").unwrap_err().message.contains("map is required"));
}

#[test]
fn impure_functions_have_the_right_shape() {
    // Values that cannot be recorded as fixtures: checked by their properties.
    let t1 = ok("timestamp()");
    let t = t1.as_str().unwrap();
    assert_eq!(t.len(), 20, "{t}");
    assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'), "{t}");
    let t2 = ok("timestamp()");
    assert_eq!(ok(&format!("timecmp({t1}, {t2}) <= 0")), Value::Bool(true));
    // plantimestamp is one instant for the whole run.
    assert_eq!(ok("plantimestamp()"), ok("plantimestamp()"));
    assert!(chrono::DateTime::parse_from_rfc3339(ok("plantimestamp()").as_str().unwrap()).is_ok());
    let u1 = ok("uuid()");
    let u = uuid::Uuid::parse_str(u1.as_str().unwrap()).unwrap();
    assert_eq!(u.get_version_num(), 4);
    assert_ne!(u1, ok("uuid()"));
    let h = ok("bcrypt(\"hunter2\", 4)");
    let h = h.as_str().unwrap();
    assert!(h.starts_with("$2a$04$") && h.len() == 60, "{h}");
    assert!(bcrypt::verify("hunter2", h).unwrap());
    assert!(ok("bcrypt(\"x\")").as_str().unwrap().starts_with("$2a$10$"));
    assert!(err(&format!("bcrypt(\"{}\")", "x".repeat(73))).message.contains("at most 72 bytes"));
    let abs = ok("abspath(\"a/../b/./c\")");
    let abs = abs.as_str().unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(abs, format!("{}/b/c", cwd.display()));
    assert_eq!(ok("abspath(\"/x/../y/\")"), s("/y"));
}

proptest::proptest! {
    #[test]
    fn timeadd_and_timecmp_agree(secs in -1_000_000i64..1_000_000) {
        let later = ok(&format!("timeadd(\"2024-01-01T00:00:00Z\", \"{secs}s\")"));
        let cmp = ok(&format!("timecmp({later}, \"2024-01-01T00:00:00Z\")"));
        proptest::prop_assert_eq!(cmp, n(secs.signum() as f64));
    }

    #[test]
    fn cidrsubnets_are_disjoint_and_inside(bits in proptest::collection::vec(1i64..8, 1..6)) {
        let args: Vec<String> = bits.iter().map(|b| b.to_string()).collect();
        if let Ok(Value::List(nets)) = try_eval(&format!("cidrsubnets(\"10.0.0.0/16\", {})", args.join(", "))) {
            let mut last_end = 0u32;
            for net in nets {
                let net: ipnet::Ipv4Net = net.as_str().unwrap().parse().unwrap();
                proptest::prop_assert!(u32::from(net.network()) >= last_end);
                proptest::prop_assert!(net.network().octets()[..2] == [10, 0]);
                last_end = u32::from(net.broadcast()) + 1;
            }
        }
    }

    #[test]
    fn grapheme_functions_never_split_a_character(text in "\\PC{0,12}", offset in -14i64..14, len in -2i64..14) {
        // String literals are kept in NFC, as in Terraform.
        let text: String = unicode_normalization::UnicodeNormalization::nfc(text.as_str()).collect();
        let lit = serde_json::Value::String(text.clone()).to_string().replace("${", "$${").replace("%{", "%%{");
        // Reversing can join clusters ("ຳa" reversed is one cluster), so only
        // the bytes are checked to survive.
        let rev = ok(&format!("strrev({lit})"));
        proptest::prop_assert_eq!(rev.as_str().unwrap().len(), text.len());
        let sub = ok(&format!("substr({lit}, {offset}, {len})"));
        proptest::prop_assert!(text.contains(sub.as_str().unwrap()));
    }
}

#[test]
fn new_functions_keep_unknown_and_sensitive_marks() {
    assert_eq!(ok("cidrsubnet(var.later, 8, 1)"), Value::Unknown);
    assert_eq!(ok("md5(var.password)"), secret(s("2ab96390c7dbe3439de74d0c9b0b1767")));
    assert_eq!(ok("upper(var.password)"), secret(s("HUNTER2")));
    assert_eq!(ok("setunion([var.password], [\"a\"])"), secret(list(vec![s("a"), s("hunter2")])));
    assert_eq!(ok("yamlencode({a = var.later})"), Value::Unknown);
    assert_eq!(ok("issensitive(var.password)"), Value::Bool(true));
    assert_eq!(ok("issensitive(var.name)"), Value::Bool(false));
    assert_eq!(ok("issensitive(var.later)"), Value::Unknown);
    // Error messages do not quote sensitive arguments.
    let e = err("parseint(var.password, 10)");
    assert!(!e.message.contains("hunter2"), "{}", e.message);
    let e = err("file(var.password)");
    assert!(!e.message.contains("hunter2"), "{}", e.message);
}

#[test]
fn templatestring_renders_a_referenced_template() {
    let mut sc = scope();
    sc.locals.insert("tpl".into(), s("Hello, ${name}!%{ for p in ports } ${p}%{ endfor }"));
    sc.locals.insert("secret_tpl".into(), secret(s("${name}")));
    let run = |src: &str| eval_in(src, &sc);
    assert_eq!(run("templatestring(local.tpl, {name = \"x\", ports = [1, 2]})").unwrap(), s("Hello, x! 1 2"));
    assert_eq!(run("templatestring(local.secret_tpl, {name = \"x\"})").unwrap(), secret(s("x")));
    assert_eq!(run("templatestring(local.tpl, {name = var.later, ports = []})").unwrap(), Value::Unknown);
    let e = run("templatestring(\"${name}\", {name = 1})").unwrap_err();
    assert!(e.message.contains("must be a reference"), "{}", e.message);
    let e = run("templatestring(local.tpl, {})").unwrap_err();
    assert!(e.message.contains("templatestring"), "{}", e.message);
}

#[test]
fn provider_functions_and_unsupported_ones_name_themselves() {
    let e = err("provider::aws::arn_parse(\"x\")");
    assert!(e.message.contains("provider-defined functions are not supported by gantry"), "{}", e.message);
    assert!(err("rsadecrypt(\"a\", \"b\")").message.contains("Unsupported function \"rsadecrypt\""));
}

#[test]
fn base64gzip_round_trips() {
    use std::io::Read as _;
    let encoded = ok("base64gzip(\"hello hello hello\")");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.as_str().unwrap()).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    assert_eq!(text, "hello hello hello");
}

/// File functions read only inside the repository holding the stack.
#[test]
fn file_reads_are_confined_to_the_repository() {
    let outer = tempfile::tempdir().unwrap();
    let repo = outer.path().join("repo");
    let stack = repo.join("stacks/app");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::create_dir(repo.join(".git")).unwrap();
    std::fs::write(repo.join("shared.json"), "{}").unwrap();
    std::fs::write(outer.path().join("secret.txt"), "top secret").unwrap();
    std::fs::write(stack.join("big.bin"), vec![0u8; (super::filesystem::MAX_FILE_BYTES + 1) as usize]).unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), stack.join("link.txt")).unwrap();
    let fifo = stack.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut sc = scope();
    sc.dir = stack.clone();
    let run = |src: &str| eval_in(src, &sc);
    // Inside the repository, above the stack folder: allowed.
    assert_eq!(run("file(\"../../shared.json\")").unwrap(), s("{}"));
    assert_eq!(run("fileexists(\"../../nope.json\")").unwrap(), Value::Bool(false));
    let secret_path = outer.path().join("secret.txt");
    for src in [
        "file(\"../../../secret.txt\")".to_string(),
        format!("file(\"{}\")", secret_path.display()),
        "file(\"link.txt\")".to_string(),
        "filebase64(\"../../../secret.txt\")".to_string(),
        "filesha256(\"../../../secret.txt\")".to_string(),
        "fileexists(\"../../../secret.txt\")".to_string(),
        "fileexists(\"../../../nothing-here\")".to_string(),
        "templatefile(\"../../../secret.txt\", {})".to_string(),
        "fileset(\"../../..\", \"*.txt\")".to_string(),
    ] {
        let e = run(&src).unwrap_err();
        assert!(e.message.contains("outside the repository"), "{src}: {}", e.message);
        assert!(!e.message.contains("top secret"), "{src}: {}", e.message);
    }
    assert!(run("file(\"/dev/zero\")").unwrap_err().message.contains("device"));
    assert!(run("file(\"fifo\")").unwrap_err().message.contains("not a regular file"));
    let e = run("file(\"big.bin\")").unwrap_err();
    assert!(e.message.contains("more than the 4194304"), "{}", e.message);
    assert!(e.message.contains("parameter of file"), "{}", e.message);
    // Without .git, the stack folder itself is the limit.
    std::fs::remove_dir(repo.join(".git")).unwrap();
    assert!(run("file(\"../../shared.json\")").unwrap_err().message.contains("outside the repository"));
}

#[test]
fn allow_read_widens_the_confinement() {
    let outer = tempfile::tempdir().unwrap();
    let stack = outer.path().join("stack");
    let extra = outer.path().join("extra");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("ca.pem"), "cert").unwrap();
    let mut sc = scope();
    sc.dir = stack.clone();
    let src = format!("file(\"{}\")", extra.join("ca.pem").display());
    assert!(eval_in(&src, &sc).unwrap_err().message.contains("GANTRY_ALLOW_READ"));
    // Other tests only ever gain an allowed folder from this variable.
    std::env::set_var(super::filesystem::ALLOW_READ_VAR, format!("/nonexistent:{}", extra.display()));
    let result = eval_in(&src, &sc);
    std::env::remove_var(super::filesystem::ALLOW_READ_VAR);
    assert_eq!(result.unwrap(), s("cert"));
}
