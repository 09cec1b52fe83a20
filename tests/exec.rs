//! `gantry exec`: the environment's SSM parameters reach the command's
//! environment (and nothing else: no file, no output), after the contract
//! check; a broken environment stops before the command runs.

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const CANARY: &str = "exec-canary-session-secret-0123456789abcdef";

fn put(name: &str, value: &str, secure: bool) {
    let kind = if secure { "SecureString" } else { "String" };
    block_on(aws().ssm.put_parameter().name(name).value(value).r#type(kind.into()).overwrite(true).send()).unwrap();
}

fn setup(g: &Gantry) -> String {
    let path = format!("/{}/test", g.prefix());
    put(&format!("{path}/PORT"), "5001", false);
    put(&format!("{path}/APP_ENV"), "staging", false);
    put(&format!("{path}/SESSION_SECRET"), CANARY, true);
    put(&format!("{path}/FEATURE_2FA"), "true", false);
    g.write("s/main.tf", "locals {\n  a = 1\n}\n");
    g.write(
        "s/gantry.hcl",
        format!(
            r#"deploy {{
  ssm_path = "{path}"
}}

contract {{
  key "PORT"           {{ type = "port" }}
  key "APP_ENV"        {{
    type   = "enum"
    values = ["dev", "staging", "prod"]
  }}
  key "SESSION_SECRET" {{
    secret     = true
    min_length = 32
  }}
  key "FEATURE_*"      {{
    type     = "bool"
    required = false
  }}
  key "DATABASE_URL"   {{ }}
}}
"#
        ),
    );
    path
}

#[test]
fn parameters_reach_the_command_and_nothing_else() {
    let g = Gantry::new();
    setup(&g);
    let out = g
        .cmd([
            "exec",
            "-s",
            "s",
            "-e",
            "test",
            "--",
            "sh",
            "-c",
            "echo \"$PORT $APP_ENV $FEATURE_2FA ${#SESSION_SECRET}\"",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("5001 staging true {}\n", CANARY.len()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: DATABASE_URL is required but not set"), "{stderr}");
    assert!(!stderr.contains(CANARY));
    // Nothing was written under the work directory but the stack itself.
    let files: Vec<_> = std::fs::read_dir(g.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(files.iter().all(|f| f == "s" || f == "state"), "{files:?}");
}

#[test]
fn strict_mode_and_broken_values_stop_before_the_command_runs() {
    let g = Gantry::new();
    let path = setup(&g);
    let marker = g.path().join("ran");
    let touch = format!("touch {}", marker.display());
    g.cmd(["exec", "--strict", "-s", "s", "-e", "test", "--", "sh", "-c", &touch])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error: DATABASE_URL is required but not set"));
    assert!(!marker.exists(), "the command did not run");

    put(&format!("{path}/DATABASE_URL"), "postgres://db", false);
    put(&format!("{path}/APP_ENV"), "production", false);
    put(&format!("{path}/FEATURE_2FA"), "yes", false);
    g.cmd(["exec", "-s", "s", "-e", "test", "--", "sh", "-c", &touch])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("APP_ENV must be one of dev, staging, prod"))
        .stderr(predicate::str::contains("FEATURE_2FA must be true or false"))
        .stderr(predicate::str::contains("production").not());
    assert!(!marker.exists());

    put(&format!("{path}/APP_ENV"), "prod", false);
    put(&format!("{path}/FEATURE_2FA"), "false", false);
    // The command's exit code is gantry's.
    g.cmd(["exec", "--strict", "-s", "s", "-e", "test", "--", "sh", "-c", "exit 7"]).assert().code(7);
}
