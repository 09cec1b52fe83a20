//! Terraform modules: local and `../` sources, nested modules, count and
//! for_each on module calls, inputs with validation and nullable defaults,
//! outputs, depends_on, `providers`, `path.*`, Terraform's addresses in
//! plan, state and output; and the mistakes a module call can hold.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

/// Commands that take no variables (state, output).
fn inspect(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test"]);
    cmd
}

fn parameter(name: &str) -> Option<(String, Vec<(String, String)>)> {
    let out = block_on(aws().ssm.get_parameter().name(name).send()).ok()?;
    let value = out.parameter()?.value()?.to_string();
    let tags = block_on(
        aws()
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send(),
    )
    .ok()?;
    let tags = tags.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    Some((value, tags))
}

/// The fixture and the module beside it that it calls with `../`.
fn stack(g: &Gantry) -> std::path::PathBuf {
    g.fixture("shared-module");
    g.fixture("modules")
}

#[test]
fn modules_plan_apply_noop_shrink_destroy() {
    let g = Gantry::new();
    let stack = stack(&g);
    let p = g.prefix().to_string();

    run(&g, &stack, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Plan: 7 to add, 0 to change, 0 to destroy."))
        .stdout(predicate::str::contains("# module.each[\"alpha\"].aws_ssm_parameter.this will be created"))
        .stdout(predicate::str::contains("# module.counted[1].aws_ssm_parameter.this will be created"));

    run(&g, &stack, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."));

    // What the modules made, read back from the emulator.
    let (value, tags) = parameter(&format!("/{p}/each/beta")).expect("module.each[\"beta\"] exists");
    assert_eq!(value, "BETA", "each.value reached the module input");
    assert!(tags.contains(&("Module".into(), format!("tag:_{p}_each_beta"))), "nested module output used: {tags:?}");
    assert!(
        tags.contains(&("gantry:address".into(), "module.each[\"beta\"].aws_ssm_parameter.this".into())),
        "owner tag carries the module address: {tags:?}"
    );
    let (value, _) = parameter(&format!("/{p}/counted/1")).expect("module.counted[1] exists");
    assert_eq!(value, "one", "an output of another module fed this one");
    let (summary, _) = parameter(&format!("/{p}/summary")).expect("summary exists");
    assert_eq!(
        summary,
        format!("/{p}/each/alpha,/{p}/each/beta,/{p}/counted/0,/{p}/counted/1,/{p}/shared"),
        "module values in for expressions and splats"
    );

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    let list = inspect(&g, &stack, &["state", "list"]).assert().success().get_output().stdout.clone();
    let list = String::from_utf8(list).unwrap();
    assert_eq!(
        list.lines().collect::<Vec<_>>(),
        vec![
            "aws_ssm_parameter.summary",
            "module.counted[0].aws_ssm_parameter.this",
            "module.counted[1].aws_ssm_parameter.this",
            "module.each[\"alpha\"].aws_ssm_parameter.this",
            "module.each[\"beta\"].aws_ssm_parameter.this",
            "module.shared.aws_ssm_parameter.p",
            "module.single.aws_ssm_parameter.this",
        ]
    );
    inspect(&g, &stack, &["state", "show", "module.each[\"alpha\"].aws_ssm_parameter.this"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("/{p}/each/alpha")));

    // path.* as Terraform gives them with -chdir=STACK.
    let out = inspect(&g, &stack, &["output", "--json", "paths"]).assert().success().get_output().stdout.clone();
    let paths: serde_json::Value = serde_json::from_slice(&out).expect("output --json is JSON");
    assert_eq!(
        paths,
        serde_json::json!({"child": "modules/param", "module": ".", "nested": "modules/param/modules/tag", "root": ".", "shared": "../shared-module"})
    );

    // One copy fewer: the module instance is destroyed, nothing else.
    run(&g, &stack, &["apply", "--auto-approve", "-var", "copies=1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("module.counted[1].aws_ssm_parameter.this: Destruction complete"))
        .stdout(predicate::str::contains("1 changed, 1 destroyed"));
    assert!(parameter(&format!("/{p}/counted/1")).is_none(), "the dropped instance's parameter is gone");

    run(&g, &stack, &["destroy", "--auto-approve", "-var", "copies=1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Destroy complete! Resources: 6 destroyed."));
    assert!(parameter(&format!("/{p}/each/alpha")).is_none());
}

#[test]
fn target_and_import_take_module_addresses() {
    let g = Gantry::new();
    let stack = stack(&g);
    let p = g.prefix().to_string();
    run(&g, &stack, &["apply", "--auto-approve", "--target", "module.each[\"alpha\"].aws_ssm_parameter.this"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Resources: 1 added"));
    assert!(parameter(&format!("/{p}/each/alpha")).is_some());
    assert!(parameter(&format!("/{p}/each/beta")).is_none());

    // An object made outside gantry, imported at a module address.
    block_on(aws().ssm.put_parameter().name(format!("/{p}/single")).value("one").r#type("String".into()).send())
        .expect("put_parameter");
    run(&g, &stack, &["import", "module.single.aws_ssm_parameter.this", &format!("/{p}/single")])
        .assert()
        .success()
        .stdout(predicate::str::contains("Imported module.single.aws_ssm_parameter.this"));
    run(&g, &stack, &["import", "module.each[\"gamma\"].aws_ssm_parameter.this", &format!("/{p}/single")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not an instance of this configuration"));
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

/// Writes a stack whose root calls `./modules/m` with `call_body`, the
/// module holding `module_tf`.
fn broken(g: &Gantry, call_body: &str, module_tf: &str) -> std::path::PathBuf {
    g.write("broken/main.tf", format!("module \"m\" {{\n{call_body}\n}}\n"));
    g.write("broken/modules/m/main.tf", module_tf);
    g.path().join("broken")
}

fn validate_fails(g: &Gantry, stack: &Path, needles: &[&str]) {
    let out = g.cmd(["validate", "-s"]).arg(stack).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn module_mistakes_are_reported_with_file_and_line() {
    let g = Gantry::offline();
    let m = "variable \"name\" {\n  type = string\n}\noutput \"id\" {\n  value = var.name\n}\n";

    let stack = broken(&g, "  source = \"./modules/nowhere\"", m);
    validate_fails(&g, &stack, &["Module folder not found: ./modules/nowhere", "main.tf:2"]);

    let stack = broken(&g, "  source = \"terraform-aws-modules/s3-bucket/aws\"\n  version = \"4.0.0\"", m);
    validate_fails(&g, &stack, &["cannot be fetched by gantry", "terraform get", "main.tf:2"]);

    let stack = broken(&g, "  source = \"./modules/m\"\n  nmae = \"x\"", m);
    validate_fails(&g, &stack, &["Unsupported argument \"nmae\"", "Did you mean \"name\"?", "main.tf:3"]);

    let stack = broken(&g, "  source = \"./modules/m\"", m);
    validate_fails(&g, &stack, &["Missing required argument \"name\"", "main.tf:1"]);

    g.write("broken/out.tf", "output \"x\" {\n  value = module.m.idd\n}\n");
    let stack = broken(&g, "  source = \"./modules/m\"\n  name = \"x\"", m);
    validate_fails(&g, &stack, &["module.m has no output named \"idd\"", "Did you mean \"id\"?", "out.tf:2"]);
    std::fs::remove_file(g.path().join("broken/out.tf")).unwrap();

    // A module that calls itself.
    let stack = broken(&g, "  source = \"./modules/m\"", "module \"again\" {\n  source = \"./\"\n}\n");
    validate_fails(&g, &stack, &["Module cycle", "modules/m/main.tf:2"]);

    g.write(
        "broken/main.tf",
        "module \"m\" {\n  source = \"./modules/m\"\n  providers = { aws = aws.west }\n  name = \"x\"\n}\n",
    );
    validate_fails(&g, &g.path().join("broken"), &["Unsupported providers map", "main.tf:3"]);
}

#[test]
fn module_count_must_be_known_and_inputs_validated() {
    let g = Gantry::new();
    let module = "variable \"name\" {\n  type = string\n  validation {\n    condition     = length(var.name) < 5\n    error_message = \"Too long.\"\n  }\n}\nresource \"aws_ssm_parameter\" \"p\" {\n  name  = \"/x/${var.name}\"\n  type  = \"String\"\n  value = \"v\"\n}\n";
    g.write("unknown/modules/m/main.tf", module);
    g.write(
        "unknown/main.tf",
        "resource \"aws_ssm_parameter\" \"n\" {\n  name  = \"/n\"\n  type  = \"String\"\n  value = \"2\"\n}\nmodule \"m\" {\n  source = \"./modules/m\"\n  count  = length(aws_ssm_parameter.n.version)\n  name   = \"a\"\n}\n",
    );
    let out = g.cmd(["plan", "-s"]).arg(g.path().join("unknown")).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("Invalid count") && err.contains("known only after apply"), "{err}");
    assert!(err.contains("main.tf:8"), "{err}");

    g.write("invalid/modules/m/main.tf", module);
    g.write("invalid/main.tf", "module \"m\" {\n  source = \"./modules/m\"\n  name   = \"much-too-long\"\n}\n");
    let out = g.cmd(["plan", "-s"]).arg(g.path().join("invalid")).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("Invalid value for variable \"name\"") && err.contains("Too long."), "{err}");
    assert!(err.contains("modules/m/main.tf:3"), "{err}");
}
