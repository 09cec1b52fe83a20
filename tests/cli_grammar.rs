//! Terraform's command-line grammar, as scripts written for Terraform use it:
//! single-dash long flags with `=`, `-chdir`, `-replace`, `-input=false`,
//! `-lock=false`, `-lock-timeout`, and `apply FILE` with no `-s`/`-e`.

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const STACK: &str = r#"variable "prefix" {
  type = string
}

resource "aws_ssm_parameter" "p" {
  name           = "/${var.prefix}/grammar"
  type           = "String"
  insecure_value = "v"
}
"#;

fn parameter_version(g: &Gantry) -> i64 {
    let name = format!("/{}/grammar", g.prefix());
    let out = block_on(aws().ssm.get_parameter().name(name).send()).expect("the parameter exists");
    out.parameter().unwrap().version()
}

#[test]
fn terraform_spelled_flags_work_in_the_single_dash_form() {
    let g = Gantry::new();
    g.write("stacks/s/main.tf", STACK);
    let var = format!("-var={}", g.prefix_var());

    // -chdir switches first; -out=, -var= and -refresh=false in Terraform's form.
    g.cmd(["-chdir=stacks", "plan", "-s", "s", &var, "-refresh=false", "-out=../plan.json", "-input=false"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Apply exactly this plan with: gantry apply ../plan.json"));
    // The printed hint runs as printed (from where plan ran), with no -s/-e.
    g.cmd(["-chdir=stacks", "apply", "../plan.json"]).assert().success().stdout(predicate::str::contains("1 added"));
    assert_eq!(parameter_version(&g), 1);

    // An -e that disagrees with the plan's is refused.
    g.cmd(["-chdir=stacks", "plan", "-s", "s", &var, "-out=../plan2.json"]).assert().success();
    g.cmd(["-chdir=stacks", "apply", "-e", "prod", "../plan2.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("prod"));

    // -replace forces a replacement of an unchanged instance: SSM starts the
    // new parameter's versions again at 1... after a change it would be 2.
    let stack = g.path().join("stacks/s");
    let stack = stack.to_str().unwrap();
    g.cmd(["plan", "-s", stack, &var, "-replace=aws_ssm_parameter.p", "-detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_ssm_parameter.p will be replaced, as requested"));
    g.cmd(["apply", "-s", stack, &var, "-replace=aws_ssm_parameter.p", "-auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 added, 0 changed, 1 destroyed"));
    assert_eq!(parameter_version(&g), 1, "a new parameter, not a new version of the old one");
    g.cmd(["plan", "-s", stack, &var, "-detailed-exitcode"]).assert().code(0);

    // -input=false: an apply that would ask fails, saying what to pass.
    g.cmd(["destroy", "-s", stack, &var, "-input=false"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-input=false forbids asking"))
        .stderr(predicate::str::contains("-auto-approve"));
    // A typo gets a suggestion, in either spelling.
    g.cmd(["destroy", "-s", stack, &var, "-auto-aprove"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--auto-approve"));
    // -lock=false runs without the lock, and says so.
    g.cmd(["destroy", "-s", stack, &var, "-auto-approve", "-lock=false"])
        .assert()
        .success()
        .stderr(predicate::str::contains("-lock=false: the state is not locked"));
}

#[test]
fn lock_timeout_waits_for_the_holder() {
    let g = Gantry::new();
    g.write("s/main.tf", crate::support::SLOW_STACK);
    let mut first = g.spawn(crate::support::slow_apply_args(&g));
    // Wait until the first apply holds the lock.
    let lock = g.state_dir().join("s/default.json.lock");
    let start = std::time::Instant::now();
    while !lock.exists() {
        assert!(start.elapsed().as_secs() < 60, "the first apply never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let n = format!("n={}", crate::support::SLOW_N);
    g.cmd(["apply", "-auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", &n, "-lock-timeout=120s"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Waiting for the state lock held by"));
    assert!(first.wait().unwrap().success());
    g.cmd(["destroy", "-auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", &n]).assert().success();
}

/// A sensitive variable given with -var is warned about (the command line is
/// visible to others), and a saved plan keeps the other -var values for
/// `apply FILE` but never that one.
#[test]
fn a_secret_on_the_command_line_is_warned_about_and_not_saved() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        "variable \"token\" {\n  type      = string\n  sensitive = true\n}\n\nvariable \"name\" {\n  type = string\n}\n",
    );
    let plan = g.path().join("p.json");
    g.cmd(["plan", "-s", "s", "-var=token=cli-canary-4411", "-var=name=n1", "-out", plan.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::contains("The sensitive variable token was given with -var"))
        .stderr(predicate::str::contains("TF_VAR_token"))
        .stderr(predicate::str::contains("cli-canary-4411").not());
    let saved = std::fs::read_to_string(&plan).unwrap();
    assert!(!saved.contains("cli-canary-4411"), "the secret is not in the plan file");
    assert!(saved.contains("name=n1"), "the plain -var is kept for apply");
}

/// `gantry completions bash` prints a script bash loads, and it completes
/// subcommands and their flags.
#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let g = Gantry::offline();
    let out = g.cmd(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = g.write("gantry.bash", &out.stdout);
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _gantry gantry; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash").args(["-c", &program]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let subcommands = complete("gantry pl", 1);
    assert!(subcommands.lines().any(|l| l == "plan"), "{subcommands}");
    let flags = complete("gantry apply --auto", 2);
    assert!(flags.lines().any(|l| l == "--auto-approve"), "{flags}");
    for shell in ["zsh", "fish"] {
        let out = g.cmd(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
}

/// A slow operation is reported while it runs, as Terraform does ("Still
/// creating... [10s elapsed]"; here every second, through a proxy that
/// delays every request by 1.5 s).
#[test]
fn a_slow_create_says_it_is_still_running() {
    use crate::support::fault_proxy::{FaultProxy, Schedule};
    let moto = crate::support::Moto::start_lean();
    let proxy = FaultProxy::start(moto.addr(), Schedule::latency(std::time::Duration::from_millis(1500)));
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", STACK);
    let out = g
        .cmd(["apply", "-auto-approve", "-s", "s", "-var", &g.prefix_var()])
        .env("GANTRY_PROGRESS_SECS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let creating = stdout.find("aws_ssm_parameter.p: Creating...").expect("the start is printed");
    let still = stdout.find("aws_ssm_parameter.p: Still creating... [1s elapsed]").expect(&stdout);
    let done = stdout.find("aws_ssm_parameter.p: Creation complete").expect("the end is printed");
    assert!(creating < still && still < done, "{stdout}");
    // Not a terminal: plain lines only, no status line, no escape codes.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "{stdout:?}{stderr:?}");
    assert!(!stderr.contains(" running"), "{stderr}");
}

/// Missing credentials or region: one line naming what to set, not the
/// SDK's list of every credential provider it tried.
#[test]
fn credential_and_region_errors_are_one_clean_line() {
    let g = Gantry::offline();
    g.write("s/main.tf", "data \"aws_caller_identity\" \"c\" {}\n");
    let out = g
        .cmd(["plan", "-s", "s"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "no-such-profile")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("AWS_PROFILE is \"no-such-profile\", and no profile of that name is in"), "{err}");
    assert!(!err.contains("Attempted:") && !err.contains("EcsContainer"), "{err}");

    let out = g.cmd(["plan", "-s", "s"]).env_remove("AWS_REGION").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no AWS region: set AWS_REGION"), "{err}");
}
