//! The random provider's types: values generated once at apply, kept in
//! state, stable across plans, replaced when `keepers` or an argument
//! changes, usable by AWS resources; import; random_password refused.

use std::path::{Path, PathBuf};

use base64::Engine;
use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const STACK: &str = r#"
variable "prefix" {
  type = string
}

variable "generation" {
  type    = string
  default = "1"
}

variable "string_length" {
  type    = number
  default = 20
}

resource "random_id" "suffix" {
  byte_length = 8
  prefix      = "p-"
  keepers = {
    generation = var.generation
  }
}

resource "random_pet" "name" {
  length    = 3
  separator = "_"
  prefix    = var.prefix
}

resource "random_string" "token" {
  length      = var.string_length
  special     = false
  min_upper   = 3
  min_numeric = 4
}

resource "aws_ssm_parameter" "named" {
  name  = "/${var.prefix}/${random_pet.name.id}"
  type  = "String"
  value = random_id.suffix.hex
}

output "hex" {
  value = random_id.suffix.hex
}

output "b64_url" {
  value = random_id.suffix.b64_url
}

output "dec" {
  value = random_id.suffix.dec
}

output "pet" {
  value = random_pet.name.id
}

output "token" {
  value = random_string.token.result
}
"#;

fn stack(g: &Gantry, text: &str) -> PathBuf {
    let dir = g.write("random/main.tf", text);
    dir.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

fn output(g: &Gantry, stack: &Path, name: &str) -> String {
    let out = g.cmd(["output", "-s"]).arg(stack).args(["-e", "test", name]).output().expect("gantry output");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().trim_matches('"').to_string()
}

fn parameter(name: &str) -> Option<String> {
    let out = block_on(aws().ssm.get_parameter().name(name).send()).ok()?;
    out.parameter().and_then(|p| p.value()).map(str::to_string)
}

#[test]
fn values_are_generated_once_and_replaced_when_keepers_change() {
    let g = Gantry::new();
    let dir = stack(&g, STACK);
    let p = g.prefix().to_string();

    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Plan: 4 to add, 0 to change, 0 to destroy."))
        .stdout(predicate::str::contains("(known after apply)"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();

    // random_id: 8 bytes, the prefix on hex, b64_url and dec, all one number.
    let hex = output(&g, &dir, "hex");
    let b64 = output(&g, &dir, "b64_url");
    let dec = output(&g, &dir, "dec");
    let bytes = hex::decode(hex.strip_prefix("p-").expect("hex has the prefix")).expect("hex digits");
    assert_eq!(bytes.len(), 8);
    let from_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64.strip_prefix("p-").expect("b64_url has the prefix"))
        .expect("URL-safe base64");
    assert_eq!(from_b64, bytes);
    let number = bytes.iter().fold(0u128, |n, b| n * 256 + u128::from(*b));
    assert_eq!(dec, format!("p-{number}"));

    // random_pet: the prefix, then three lowercase words, joined by "_".
    let pet = output(&g, &dir, "pet");
    let words = pet.strip_prefix(&format!("{p}_")).expect("pet has the prefix").split('_').collect::<Vec<_>>();
    assert_eq!(words.len(), 3, "{pet}");
    assert!(words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())), "{pet}");

    // random_string: length, alphabet and minimums.
    let token = output(&g, &dir, "token");
    assert_eq!(token.chars().count(), 20);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    assert!(token.chars().filter(char::is_ascii_uppercase).count() >= 3, "{token}");
    assert!(token.chars().filter(char::is_ascii_digit).count() >= 4, "{token}");

    // The values reached AWS.
    assert_eq!(parameter(&format!("/{p}/{pet}")).as_deref(), Some(hex.as_str()));

    // Stable: no changes, the same values after another apply.
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(output(&g, &dir, "hex"), hex);
    assert_eq!(output(&g, &dir, "token"), token);

    // A keeper changes: the id is replaced, and what uses it follows.
    run(&g, &dir, &["plan", "--detailed-exitcode", "-var", "generation=2"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("random_id.suffix must be replaced"))
        .stdout(predicate::str::contains("random_pet.name must be replaced").not());
    run(&g, &dir, &["apply", "--auto-approve", "-var", "generation=2"]).assert().success();
    let new_hex = output(&g, &dir, "hex");
    assert_ne!(new_hex, hex);
    assert_eq!(output(&g, &dir, "pet"), pet, "a pet without keepers stays");
    assert_eq!(parameter(&format!("/{p}/{pet}")).as_deref(), Some(new_hex.as_str()));

    // Any argument is force-new, as in the provider.
    run(&g, &dir, &["plan", "-var", "generation=2", "-var", "string_length=24"])
        .assert()
        .success()
        .stdout(predicate::str::contains("random_string.token must be replaced"))
        .stdout(predicate::str::contains("# forces replacement"));
    run(&g, &dir, &["apply", "--auto-approve", "-var", "generation=2", "-var", "string_length=24"]).assert().success();
    assert_eq!(output(&g, &dir, "token").chars().count(), 24);

    run(&g, &dir, &["destroy", "--auto-approve", "-var", "generation=2", "-var", "string_length=24"])
        .assert()
        .success();
    assert_eq!(parameter(&format!("/{p}/{pet}")), None);
    g.cmd(["state", "list", "-s"]).arg(&dir).args(["-e", "test"]).assert().success().stdout("");
}

#[test]
fn import_takes_the_providers_ids() {
    let g = Gantry::new();
    let dir = stack(
        &g,
        r#"
variable "prefix" {
  type = string
}

resource "random_id" "server" {
  byte_length = 4
  prefix      = "srv-"
}

resource "random_string" "code" {
  length = 6
}

resource "random_pet" "name" {
}
"#,
    );
    // An id with a prefix: PREFIX,B64_URL.
    run(&g, &dir, &["import", "random_id.server", "srv-,-_8AEA"]).assert().success();
    run(&g, &dir, &["import", "random_string.code", "ab12CD"]).assert().success();
    g.cmd(["state", "show", "-s"])
        .arg(&dir)
        .args(["-e", "test", "random_id.server"])
        .assert()
        .success()
        .stdout(predicate::str::contains("srv-fbff0010"));
    // random_pet cannot be imported, as in the provider.
    run(&g, &dir, &["import", "random_pet.name", "brave-otter"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("random_pet cannot be imported"));
    run(&g, &dir, &["plan", "--detailed-exitcode", "--target", "random_id.server", "--target", "random_string.code"])
        .assert()
        .code(0);
}

#[test]
fn random_password_is_refused_with_the_alternative() {
    let g = Gantry::offline();
    let dir = stack(
        &g,
        r#"
resource "random_password" "db" {
  length = 24
}
"#,
    );
    g.cmd(["validate", "-s"])
        .arg(&dir)
        .assert()
        .failure()
        .stderr(predicate::str::contains("random_password is not supported"))
        .stderr(predicate::str::contains("TF_VAR_"))
        .stderr(predicate::str::contains("SecureString"))
        .stderr(predicate::str::contains("main.tf:2"));
}
