//! A secret given through the environment never reaches state, plans (text
//! or JSON), logs or errors; changing it is still detected.

use std::path::Path;

use crate::support::{aws, block_on, Gantry};

const CANARY: &str = "canary-7f3a9c1e-do-not-print";

fn run(g: &Gantry, stack: &Path, secret: &str, args: &[&str]) -> std::process::Output {
    g.cmd(args)
        .arg("-s")
        .arg(stack)
        .args(["-e", "test", "-var", &g.prefix_var(), "-vv"])
        .env("TF_VAR_secret", secret)
        .output()
        .expect("running gantry")
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(CANARY), "the secret leaked into {what}:\n{text}");
}

fn assert_state_clean(g: &Gantry) {
    for entry in walk(&g.state_dir()) {
        assert_clean(&entry.display().to_string(), &std::fs::read(&entry).unwrap());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn secret_never_leaves_memory_and_changes_are_detected() {
    let g = Gantry::new();
    let stack = g.fixture("basic");

    for args in [&["plan"][..], &["plan", "--json"][..], &["apply", "--auto-approve"][..]] {
        let out = run(&g, &stack, CANARY, args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        assert_clean(&format!("stdout of {args:?}"), &out.stdout);
        assert_clean(&format!("stderr of {args:?}"), &out.stderr);
    }
    assert_state_clean(&g);
    // It did reach AWS, where it belongs.
    let name = format!("/{}/SECRET", g.prefix());
    let stored = block_on(aws().ssm.get_parameter().name(&name).with_decryption(true).send()).unwrap();
    assert_eq!(stored.parameter().and_then(|p| p.value()), Some(CANARY));
    let state = std::fs::read_to_string(g.state_dir().join("basic/test.json")).unwrap();
    assert!(state.contains("hmac-sha256:"), "state keeps a keyed hash of the secret");

    // Same secret: no changes. New secret: an update, shown without values.
    let out = run(&g, &stack, CANARY, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let rotated = format!("{CANARY}-rotated");
    let out = g
        .cmd(["plan", "--detailed-exitcode", "-s"])
        .arg(&stack)
        .args(["-e", "test", "-var", &g.prefix_var()])
        .env("TF_VAR_secret", &rotated)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("aws_ssm_parameter.secret will be updated in-place"), "{text}");
    assert!(text.contains("(sensitive value)"), "{text}");
    assert_clean("plan after rotation", &out.stdout);

    let out = run(&g, &stack, CANARY, &["destroy", "--auto-approve"]);
    assert!(out.status.success());
    assert_clean("destroy output", &out.stdout);
    assert_clean("destroy log", &out.stderr);
    assert_state_clean(&g);
}

#[test]
fn invalid_secret_is_reported_without_its_value() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        r#"variable "token" {
  type      = number
  sensitive = true
}
"#,
    );
    let out = g.cmd(["plan", "-s", "s"]).env("TF_VAR_token", CANARY).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Invalid value for variable \"token\""), "{err}");
    assert_clean("the error", &out.stderr);
}

#[test]
fn sensitive_value_in_a_plain_output_is_refused() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        r#"variable "token" {
  type      = string
  sensitive = true
}

output "leak" {
  value = "token=${var.token}"
}
"#,
    );
    let out = g.cmd(["plan", "-s", "s"]).env("TF_VAR_token", CANARY).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Output \"leak\" refers to sensitive values"), "{err}");
    assert_clean("the error", &out.stderr);
}

#[test]
fn a_secret_in_a_tag_stays_masked_everywhere() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        text.replace(
            "  force_delete = true\n",
            "  force_delete = true\n  tags = {\n    fingerprint = \"x-${var.secret}\"\n  }\n",
        ),
    )
    .unwrap();
    for args in [
        &["plan"][..],
        &["plan", "--json"][..],
        &["plan", "--markdown"][..],
        &["apply", "--auto-approve"][..],
        &["plan", "--detailed-exitcode"][..],
        &["destroy", "--auto-approve"][..],
    ] {
        let out = run(&g, &stack, CANARY, args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_clean(&format!("stdout of {args:?}"), &out.stdout);
        assert_clean(&format!("stderr of {args:?}"), &out.stderr);
        assert_state_clean(&g);
    }
}

#[test]
fn usage_errors_exit_1_not_2() {
    // 2 means "changes present" under --detailed-exitcode.
    Gantry::offline().cmd(["plan", "--no-such-flag"]).assert().code(1);
}

#[test]
fn a_secret_in_a_name_is_refused() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        r#"variable "token" {
  type      = string
  sensitive = true
}

resource "aws_ssm_parameter" "p" {
  name           = "/app/${var.token}"
  type           = "String"
  insecure_value = "x"
}
"#,
    );
    let out = g.cmd(["plan", "-s", "s"]).env("TF_VAR_token", CANARY).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aws_ssm_parameter.p would have a secret in its id"), "{err}");
    assert_clean("the error", &out.stderr);
    assert_clean("the output", &out.stdout);
}

/// `RUST_LOG=trace` turns on every log target there is, the SDK's body and
/// wire logs included (and LOG_SENSITIVE_BODIES asks the SDK to log the
/// bodies it would otherwise hide): the secret must still not be printed (the apply
/// writes it to SSM; the plans read it back with GetParameters).
#[test]
fn trace_logging_prints_no_secret() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    for args in [&["apply", "--auto-approve"][..], &["plan"][..], &["destroy", "--auto-approve"][..]] {
        let out = g
            .cmd(args)
            .arg("-s")
            .arg(&stack)
            .args(["-e", "test", "-var", &g.prefix_var()])
            .env("TF_VAR_secret", CANARY)
            .env("RUST_LOG", "trace,aws_smithy_runtime=trace,hyper=trace")
            // The SDK's switch that logs even the bodies of operations it
            // knows to carry secrets (GetParameters, PutParameter).
            .env("LOG_SENSITIVE_BODIES", "true")
            .output()
            .expect("running gantry");
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        // The log is on: gantry's own trace lines are there.
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("TRACE") || log.contains("DEBUG"), "no trace output at all");
        assert_clean(&format!("stderr of {args:?} with RUST_LOG=trace"), &out.stderr);
        assert_clean(&format!("stdout of {args:?} with RUST_LOG=trace"), &out.stdout);
    }
}

/// `gantry import` of an object whose configuration sets an attribute from
/// a sensitive variable (here a tag) seals that attribute: the live value
/// read back never reaches the state file.
#[test]
fn import_seals_what_the_configuration_holds_secret() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}

variable "secret" {
  type      = string
  sensitive = true
}

resource "aws_ssm_parameter" "p" {
  name           = "/${var.prefix}/imported"
  type           = "String"
  insecure_value = "plain"
  tags = {
    token = var.secret
  }
}
"#,
    );
    let name = format!("/{}/imported", g.prefix());
    let ssm = aws().ssm;
    block_on(
        ssm.put_parameter()
            .name(&name)
            .value("plain")
            .r#type("String".into())
            .tags(aws_sdk_ssm::types::Tag::builder().key("token").value(CANARY).build().unwrap())
            .send(),
    )
    .unwrap();
    let out = g
        .cmd(["import", "-s", "s", "-var", &g.prefix_var(), "aws_ssm_parameter.p", &name])
        .env("TF_VAR_secret", CANARY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean("import's output", &out.stdout);
    assert_state_clean(&g);
    let state = std::fs::read_to_string(g.state_dir().join("s/default.json")).unwrap();
    assert!(state.contains("hmac-sha256:"), "the tags are kept as a keyed hash: {state}");
    // The same secret: nothing to change.
    let out = g
        .cmd(["plan", "--detailed-exitcode", "-s", "s", "-var", &g.prefix_var()])
        .env("TF_VAR_secret", CANARY)
        .output()
        .unwrap();
    assert_clean("plan after import", &out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    block_on(ssm.delete_parameter().name(&name).send()).unwrap();
}

/// An instance whose user_data holds a secret: state keeps only its keyed
/// hash, and the plan after the apply is clean (it used to replace the
/// instance every time, having lost the hash on refresh).
#[test]
fn sensitive_user_data_is_hashed_and_converges() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r##"variable "prefix" {
  type = string
}

variable "secret" {
  type      = string
  sensitive = true
}

resource "aws_instance" "app" {
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  user_data     = "#!/bin/sh\necho ${var.secret} > /etc/app-token\n"
  tags = {
    Name = "${var.prefix}-app"
  }
}
"##,
    );
    let run = |args: &[&str]| {
        g.cmd(args).args(["-s", "s", "-var", &g.prefix_var()]).env("TF_VAR_secret", CANARY).output().unwrap()
    };
    let out = run(&["apply", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean("apply output", &out.stdout);
    assert_state_clean(&g);
    let state = std::fs::read_to_string(g.state_dir().join("s/default.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(
        json["resources"][0]["sensitive_attributes"]["user_data"]
            .as_str()
            .is_some_and(|h| h.starts_with("hmac-sha256:")),
        "user_data is kept as a keyed hash: {state}"
    );
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "the plan after apply is clean:\n{}", String::from_utf8_lossy(&out.stdout));
    assert_clean("plan output", &out.stdout);
    let out = run(&["destroy", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The key of the state's hashes is kept apart from the state (a 0600 file
/// in the key folder, here the test's `keys/`), a format-1 state that still
/// holds its key inline is read and upgraded on the next write, and a state
/// whose key is lost is refused rather than planned with every secret
/// reading as changed.
#[test]
fn the_hash_key_lives_apart_from_state_and_format_1_is_upgraded() {
    use std::os::unix::fs::PermissionsExt;
    let g = Gantry::new();
    let stack = g.fixture("basic");
    let state_path = g.state_dir().join("basic/test.json");
    let out = run(&g, &stack, CANARY, &["apply", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["version"], 2);
    assert!(state.get("hash_key").is_none(), "the key is not in the state file");
    let lineage = state["lineage"].as_str().unwrap().to_string();
    let key_path = g.path().join("keys").join(format!("{lineage}.key"));
    let key = std::fs::read_to_string(&key_path).expect("the key file").trim().to_string();
    assert_eq!(key.len(), 64, "32 bytes, hex");
    assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    for file in walk(&g.state_dir()) {
        assert!(!std::fs::read_to_string(&file).unwrap().contains(&key), "{} holds the key", file.display());
    }

    // The same state as gantry 0.x of format 1 wrote it: the key inline.
    let mut v1 = state.clone();
    v1["version"] = 1.into();
    v1["hash_key"] = key.clone().into();
    std::fs::write(&state_path, serde_json::to_string_pretty(&v1).unwrap()).unwrap();
    std::fs::remove_file(&key_path).unwrap();
    let out = run(&g, &stack, CANARY, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "a format-1 state plans clean:\n{}", String::from_utf8_lossy(&out.stdout));

    // The next write stores the key apart and the state without it.
    let rotated = format!("{CANARY}-rotated");
    let out = run(&g, &stack, &rotated, &["apply", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&state_path).unwrap();
    let upgraded: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(upgraded["version"], 2);
    assert!(upgraded.get("hash_key").is_none() && !text.contains(&key), "{text}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap().trim(), key, "the same key, now kept apart");
    let out = run(&g, &stack, &rotated, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    // Without its key the state is refused, and the message says where the
    // key belongs.
    std::fs::remove_file(&key_path).unwrap();
    let out = run(&g, &stack, &rotated, &["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&key_path.display().to_string()) && err.contains("GANTRY_KEY_DIR"), "{err}");
    assert_clean("the refusal", &out.stderr);

    // With the key back where it belongs, the state is usable again.
    std::fs::write(&key_path, format!("{key}\n")).unwrap();
    let out = run(&g, &stack, &rotated, &["destroy", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
