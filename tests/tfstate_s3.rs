//! `gantry state import-terraform` from Terraform's s3 backend: the state
//! object, the stack's `backend "s3"` block, and Terraform's lock, in the
//! format Terraform 1.11.4 wrote it on moto (tests/fixtures/tfstate/
//! s3-backend/recorded.json, recorded by scripts/record-tf-s3-lock.sh).

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType};
use aws_sdk_s3::primitives::ByteStream;
use md5::{Digest, Md5};

use crate::support::{block_on, Aws, Gantry, Moto};
use crate::tfstate::{files_under, fixture_dir, moto_with_terraforms_objects, CANARY};

const BUCKET: &str = "tf-lock-fixture";
const TABLE: &str = "tf-locks";
const KEY: &str = "env/app.tfstate";

fn recorded() -> serde_json::Value {
    let path = crate::support::repo_root().join("tests/fixtures/tfstate/s3-backend/recorded.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The bucket and lock table Terraform's backend uses, holding `state` at
/// `key` with the digest item Terraform writes beside it.
fn terraforms_backend(aws: &Aws, key: &str, state: &[u8]) {
    block_on(aws.s3.create_bucket().bucket(BUCKET).send()).ok();
    block_on(
        aws.dynamodb
            .create_table()
            .table_name(TABLE)
            .key_schema(KeySchemaElement::builder().attribute_name("LockID").key_type(KeyType::Hash).build().unwrap())
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send(),
    )
    .ok();
    block_on(aws.s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(state.to_vec())).send()).unwrap();
    put_digest(aws, key, &hex::encode(Md5::digest(state)));
}

fn put_digest(aws: &Aws, key: &str, digest: &str) {
    block_on(
        aws.dynamodb
            .put_item()
            .table_name(TABLE)
            .item("LockID", AttributeValue::S(format!("{BUCKET}/{key}-md5")))
            .item("Digest", AttributeValue::S(digest.to_string()))
            .send(),
    )
    .unwrap();
}

/// Every item of the lock table, as `LockID`s.
fn lock_items(aws: &Aws) -> Vec<String> {
    let out = block_on(aws.dynamodb.scan().table_name(TABLE).send()).unwrap();
    let mut ids: Vec<String> =
        out.items().iter().filter_map(|i| i.get("LockID").and_then(|v| v.as_s().ok()).cloned()).collect();
    ids.sort();
    ids
}

fn objects(aws: &Aws) -> Vec<String> {
    let out = block_on(aws.s3.list_objects_v2().bucket(BUCKET).send()).unwrap();
    out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

/// The `small` stack with the backend block of the recorded s3-backend
/// fixture (dynamodb_table and use_lockfile, emulator settings included).
fn stack_with_backend(g: &Gantry) -> PathBuf {
    let stack = g.path().join("stack");
    crate::support::copy_dir(&fixture_dir(), &stack).unwrap();
    std::fs::remove_file(stack.join("terraform.tfstate")).unwrap();
    std::fs::remove_file(stack.join("moto-recording.jsonl")).unwrap();
    let recorded_tf =
        std::fs::read_to_string(crate::support::repo_root().join("tests/fixtures/tfstate/s3-backend/main.tf")).unwrap();
    let start = recorded_tf.find("terraform {").unwrap();
    let end = start + recorded_tf[start..].find("\n}\n").unwrap() + 3;
    std::fs::write(stack.join("backend.tf"), &recorded_tf[start..end]).unwrap();
    stack
}

fn run(g: &Gantry, args: &[&str]) -> (Option<i32>, String) {
    let out = g.cmd(args).env("TF_VAR_session_secret", CANARY).output().expect("running gantry");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains(CANARY), "gantry {args:?} printed the secret:\n{text}");
    (out.status.code(), text)
}

fn no_canary_under(dir: &Path) {
    for (path, bytes) in files_under(dir) {
        assert!(!String::from_utf8_lossy(&bytes).contains(CANARY), "{} holds the secret", path.display());
    }
}

/// Terraform's infrastructure and its state in S3: import straight from the
/// stack's backend block, under Terraform's lock, then a clean plan.
#[test]
fn imports_from_the_backend_block_under_terraforms_lock() {
    let fixture = fixture_dir();
    let tfstate = std::fs::read(fixture.join("terraform.tfstate")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let moto = moto_with_terraforms_objects(&fixture, scratch.path());
    let aws = Aws::for_moto(&moto);
    terraforms_backend(&aws, KEY, &tfstate);
    let etag_before = block_on(aws.s3.head_object().bucket(BUCKET).key(KEY).send()).unwrap().e_tag;

    let g = Gantry::with_moto(&moto);
    let stack = stack_with_backend(&g);
    let s = stack.to_str().unwrap();
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Imported 14 resource instances"), "{text}");
    assert!(text.contains(&format!("s3://{BUCKET}/{KEY}")), "{text}");
    assert!(text.contains("Held Terraform's state lock"), "{text}");
    assert!(text.contains(&format!("s3://{BUCKET}/{KEY}.tflock and DynamoDB table {TABLE}")), "{text}");
    assert!(text.contains("Checked it against the digest"), "{text}");
    assert!(text.contains("Released Terraform's state lock"), "{text}");
    assert!(text.contains("Backend settings not used"), "{text}");
    assert!(text.contains("skip_credentials_validation") && text.contains("use_path_style"), "{text}");

    // The lock is gone again; Terraform's state and digest are untouched.
    assert_eq!(lock_items(&aws), vec![format!("{BUCKET}/{KEY}-md5")]);
    assert_eq!(objects(&aws), vec![KEY.to_string()]);
    let etag_after = block_on(aws.s3.head_object().bucket(BUCKET).key(KEY).send()).unwrap().e_tag;
    assert_eq!(etag_before, etag_after, "Terraform's state object was modified");

    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g.state_dir().join("stack/local.json")).unwrap()).unwrap();
    assert_eq!(state["origin"]["source"], format!("s3://{BUCKET}/{KEY}"));

    let (code, text) = run(&g, &["plan", "-s", s, "-e", "local", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "gantry plan after importing from S3 is not clean:\n{text}");
    assert!(text.contains("No changes"), "{text}");
    // Nothing of Terraform's file was copied anywhere.
    no_canary_under(g.path());
}

/// A Terraform run holding its lock (the item and object exactly as
/// Terraform 1.11.4 wrote them) stops the import: the message names
/// Terraform's holder and `terraform force-unlock`, nothing is written and
/// Terraform's lock stays as it was. With --lock-timeout, the import waits
/// for Terraform to let go.
#[test]
fn a_held_terraform_lock_stops_the_import_and_names_its_holder() {
    let moto = Moto::start_lean();
    let aws = Aws::for_moto(&moto);
    let tfstate = std::fs::read(fixture_dir().join("terraform.tfstate")).unwrap();
    terraforms_backend(&aws, KEY, &tfstate);
    let rec = recorded();
    let held = &rec["held"]["dynamodb_items"][0];
    let info_text = held["Info"]["S"].as_str().unwrap().to_string();
    let info: serde_json::Value = serde_json::from_str(&info_text).unwrap();
    assert_eq!(held["LockID"]["S"], format!("{BUCKET}/{KEY}"), "the fixture's lock is on this very state");
    let put_terraforms_item = || {
        block_on(
            aws.dynamodb
                .put_item()
                .table_name(TABLE)
                .item("LockID", AttributeValue::S(format!("{BUCKET}/{KEY}")))
                .item("Info", AttributeValue::S(info_text.clone()))
                .send(),
        )
        .unwrap();
    };
    put_terraforms_item();

    let g = Gantry::with_moto(&moto);
    let stack = stack_with_backend(&g);
    let s = stack.to_str().unwrap();
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
    assert_eq!(code, Some(1), "{text}");
    for field in ["Who", "Operation", "Created", "ID"] {
        let value = info[field].as_str().unwrap();
        assert!(text.contains(value), "{field} {value} not named:\n{text}");
    }
    assert!(text.contains(&format!("terraform force-unlock {}", info["ID"].as_str().unwrap())), "{text}");
    assert!(!g.state_dir().exists() || files_under(&g.state_dir()).is_empty(), "something was written");
    // Terraform's item untouched; the lock object gantry took first is gone.
    let item = block_on(
        aws.dynamodb.get_item().table_name(TABLE).key("LockID", AttributeValue::S(format!("{BUCKET}/{KEY}"))).send(),
    )
    .unwrap();
    assert_eq!(item.item().unwrap()["Info"].as_s().unwrap(), &info_text);
    assert_eq!(objects(&aws), vec![KEY.to_string()], "gantry left its lock object behind");

    // Terraform's lock object (use_lockfile) alone stops it the same way.
    block_on(
        aws.dynamodb.delete_item().table_name(TABLE).key("LockID", AttributeValue::S(format!("{BUCKET}/{KEY}"))).send(),
    )
    .unwrap();
    let lockfile = serde_json::to_vec(&rec["held"]["lockfile"][format!("{KEY}.tflock")]).unwrap();
    block_on(aws.s3.put_object().bucket(BUCKET).key(format!("{KEY}.tflock")).body(ByteStream::from(lockfile)).send())
        .unwrap();
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("lock object s3://{BUCKET}/{KEY}.tflock")), "{text}");
    assert!(text.contains(info["Who"].as_str().unwrap()), "{text}");
    block_on(aws.s3.delete_object().bucket(BUCKET).key(format!("{KEY}.tflock")).send()).unwrap();

    // Held, then released by "Terraform" a second later: --lock-timeout waits.
    put_terraforms_item();
    let releaser = {
        let aws = aws.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            block_on(
                aws.dynamodb
                    .delete_item()
                    .table_name(TABLE)
                    .key("LockID", AttributeValue::S(format!("{BUCKET}/{KEY}")))
                    .send(),
            )
            .unwrap();
        })
    };
    // An s3:// source with the lock table given on the command line.
    let url = format!("s3://{BUCKET}/{KEY}");
    let (code, text) = run(
        &g,
        &[
            "state",
            "import-terraform",
            "-s",
            s,
            "-e",
            "local",
            "--dynamodb-table",
            TABLE,
            "--lock-timeout",
            "20s",
            &url,
        ],
    );
    releaser.join().unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Imported 14 resource instances"), "{text}");
    assert!(text.contains(&format!("DynamoDB table {TABLE}, item {BUCKET}/{KEY}")), "{text}");
    assert_eq!(lock_items(&aws), vec![format!("{BUCKET}/{KEY}-md5")]);
}

/// A state object that does not match Terraform's digest (a write under
/// way) is refused; another workspace reads `env:/<workspace>/<key>`.
#[test]
fn digest_mismatch_is_refused_and_workspaces_have_their_own_key() {
    let moto = Moto::start_lean();
    let aws = Aws::for_moto(&moto);
    let tfstate = std::fs::read(fixture_dir().join("terraform.tfstate")).unwrap();
    terraforms_backend(&aws, KEY, &tfstate);
    put_digest(&aws, KEY, "0123456789abcdef0123456789abcdef");
    let g = Gantry::with_moto(&moto);
    let stack = stack_with_backend(&g);
    let s = stack.to_str().unwrap();
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("does not match the digest Terraform recorded"), "{text}");
    assert!(text.contains("Released Terraform's state lock"), "released on error too:\n{text}");
    assert_eq!(lock_items(&aws), vec![format!("{BUCKET}/{KEY}-md5")]);

    let staging = format!("env:/staging/{KEY}");
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local", "--workspace", "staging"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("no Terraform state at s3://{BUCKET}/{staging}")), "{text}");
    terraforms_backend(&aws, &staging, &tfstate);
    let (code, text) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local", "--workspace", "staging"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("s3://{BUCKET}/{staging}")), "{text}");
}

/// Backend blocks gantry cannot read are errors at their file and line.
#[test]
fn unusable_backend_blocks_are_errors_at_their_line() {
    let g = Gantry::offline();
    let stack = g.path().join("stack");
    crate::support::copy_dir(&fixture_dir(), &stack).unwrap();
    let s = stack.to_str().unwrap();
    let cases = [
        ("terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\n", "backend.tf:2", "terraform state pull"),
        ("terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n", "backend.tf:2", "has no key"),
        (
            "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"k\"\n    use_lockfile = \"yes\"\n  }\n}\n",
            "backend.tf:5",
            "use_lockfile must be true or false",
        ),
        ("variable \"b\" {}\nterraform {\n  backend \"s3\" {\n    bucket = var.b\n  }\n}\n", "backend.tf:4", "constant"),
    ];
    for (text, at, says) in cases {
        std::fs::write(stack.join("backend.tf"), text).unwrap();
        let (code, out) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(at), "{text}: expected {at} in:\n{out}");
        assert!(out.contains(says), "{text}: expected {says:?} in:\n{out}");
        assert!(!g.state_dir().exists() || files_under(&g.state_dir()).is_empty());
    }
    std::fs::remove_file(stack.join("backend.tf")).unwrap();
    let (code, out) = run(&g, &["state", "import-terraform", "-s", s, "-e", "local"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("declares no Terraform backend"), "{out}");
}
