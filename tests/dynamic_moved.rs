//! `dynamic` blocks (over a map, a list with `iterator`, a set) and `moved`
//! blocks (rename, into count, into a module) against the emulator.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

fn stdout(mut cmd: assert_cmd::Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn dynamic_blocks_apply_and_plan_clean() {
    let g = Gantry::new();
    let stack = g.fixture("dynamic");
    let p = g.prefix().to_string();
    run(&g, &stack, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ingress_ports = [\"443\", \"80\"]"));

    let table = block_on(aws().dynamodb.describe_table().table_name(format!("{p}-items")).send()).expect("table");
    let mut names: Vec<String> = table
        .table()
        .unwrap()
        .attribute_definitions()
        .iter()
        .map(|a| format!("{}:{}", a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    names.sort();
    assert_eq!(names, ["n:N", "pk:S", "sk:S"], "one attribute block per map entry");

    let groups = block_on(aws().ec2.describe_security_groups().group_names(format!("{p}-web")).send()).expect("sg");
    let group = &groups.security_groups()[0];
    let mut ports: Vec<i32> = group.ip_permissions().iter().filter_map(|r| r.from_port()).collect();
    ports.sort();
    assert_eq!(ports, [80, 443], "one ingress rule per list element");

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    // A rule fewer in the variable is an in-place update of the group.
    let text =
        stdout(run(&g, &stack, &["plan", "--detailed-exitcode", "-var", r#"rules=[{port=80,cidr="0.0.0.0/0"}]"#]), 2);
    assert!(text.contains("aws_security_group.web will be updated in-place"), "{text}");

    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn dynamic_mistakes_point_at_the_line() {
    let g = Gantry::offline();
    g.write(
        "bad/main.tf",
        "resource \"aws_security_group\" \"s\" {\n  name = \"s\"\n  description = \"d\"\n  dynamic \"ingress\" {\n    for_each = 5\n    content {\n      from_port = 1\n      to_port = 1\n      protocol = \"tcp\"\n    }\n  }\n}\n",
    );
    let out = g.cmd(["plan", "-s"]).arg(g.path().join("bad")).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("Invalid dynamic for_each value") && err.contains("main.tf:5"), "{err}");
    assert!(err.contains("found number"), "{err}");

    g.write("bad/main.tf", "resource \"aws_security_group\" \"s\" {\n  name = \"s\"\n  description = \"d\"\n  dynamic \"ingress\" {\n    for_each = [1]\n  }\n}\n");
    let out = g.cmd(["validate", "-s"]).arg(g.path().join("bad")).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("has no content block") && err.contains("main.tf:4"), "{err}");
}

#[test]
fn moved_blocks_rename_without_replacing() {
    let g = Gantry::new();
    let stack = g.fixture("dynamic");
    let p = g.prefix().to_string();
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let before = block_on(aws().ec2.describe_security_groups().group_names(format!("{p}-web")).send()).expect("sg");
    let group_id = before.security_groups()[0].group_id().unwrap().to_string();

    // Rename the group and put the table under count, with moved blocks.
    let main = std::fs::read_to_string(stack.join("main.tf")).unwrap();
    let main = main
        .replace("resource \"aws_security_group\" \"web\"", "resource \"aws_security_group\" \"site\"")
        .replace("aws_security_group.web.ingress", "aws_security_group.site.ingress")
        .replace("resource \"aws_dynamodb_table\" \"t\" {", "resource \"aws_dynamodb_table\" \"t\" {\n  count = 1");
    std::fs::write(stack.join("main.tf"), main).unwrap();
    std::fs::write(
        stack.join("moved.tf"),
        "moved {\n  from = aws_security_group.web\n  to   = aws_security_group.site\n}\n\nmoved {\n  from = aws_dynamodb_table.t\n  to   = aws_dynamodb_table.t[0]\n}\n",
    )
    .unwrap();
    let text = stdout(run(&g, &stack, &["plan", "--detailed-exitcode"]), 2);
    assert!(text.contains("# aws_security_group.web has moved to aws_security_group.site"), "{text}");
    assert!(text.contains("# aws_dynamodb_table.t has moved to aws_dynamodb_table.t[0]"), "{text}");
    assert!(text.contains("0 to add, 0 to change, 0 to destroy"), "{text}");

    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let mut cmd = g.cmd(["state", "list", "-s"]);
    cmd.arg(&stack).args(["-e", "test"]);
    let list = stdout(cmd, 0);
    assert_eq!(list.lines().collect::<Vec<_>>(), ["aws_dynamodb_table.t[0]", "aws_security_group.site"]);
    let after = block_on(aws().ec2.describe_security_groups().group_names(format!("{p}-web")).send()).expect("sg");
    assert_eq!(after.security_groups()[0].group_id(), Some(group_id.as_str()), "the same group, not a new one");
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);

    // A moved block whose target is declared nowhere.
    std::fs::write(
        stack.join("moved.tf"),
        "moved {\n  from = aws_security_group.site\n  to   = aws_security_group.nowhere\n}\n",
    )
    .unwrap();
    let out = run(&g, &stack, &["plan"]).assert().code(1).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("Moved object target is not declared") && err.contains("moved.tf:1"), "{err}");
    std::fs::remove_file(stack.join("moved.tf")).unwrap();
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn conditions_checks_and_required_version() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let stack = format!(
        r#"terraform {{
  required_version = ">= 1.5, < 2.0"
}}

variable "size" {{
  type    = number
  default = 3
}}

resource "aws_ssm_parameter" "p" {{
  name  = "/{p}/size"
  type  = "String"
  value = tostring(var.size)

  lifecycle {{
    precondition {{
      condition     = var.size < 10
      error_message = "size must stay under 10."
    }}
    postcondition {{
      condition     = self.type == "String"
      error_message = "the parameter must be a plain String."
    }}
  }}
}}

check "small" {{
  assert {{
    condition     = var.size < 5
    error_message = "size is getting large."
  }}
}}
"#
    );
    g.write("cond/main.tf", stack);
    let dir = g.path().join("cond");
    g.cmd(["plan", "-s"]).arg(&dir).assert().code(0).stderr(predicate::str::contains("size is getting large").not());
    let out = g.cmd(["plan", "-s"]).arg(&dir).args(["-var", "size=7"]).assert().code(0).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("Warning: Check block assertion failed: check.small") && err.contains("size is getting large."),
        "{err}"
    );
    assert!(err.contains("main.tf:28"), "{err}");
    let out = g.cmd(["plan", "-s"]).arg(&dir).args(["-var", "size=12"]).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Resource precondition failed: aws_ssm_parameter.p") && err.contains("main.tf:16"), "{err}");

    let text = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    std::fs::write(dir.join("main.tf"), text.replace("type  = \"String\"", "type  = \"StringList\"")).unwrap();
    let out = g.cmd(["plan", "-s"]).arg(&dir).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Resource postcondition failed") && err.contains("must be a plain String"), "{err}");

    std::fs::write(dir.join("main.tf"), "terraform {\n  required_version = \">= 1.12\"\n}\n").unwrap();
    let out = g.cmd(["validate", "-s"]).arg(&dir).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Unsupported Terraform version") && err.contains("main.tf:2"), "{err}");
}
