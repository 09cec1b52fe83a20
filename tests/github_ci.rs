//! The pieces of gantry's GitHub Actions kit that run outside gantry, driven
//! for real: the pull-request helper (`.github/actions/setup-gantry/pr.py`)
//! against a fake GitHub API on 127.0.0.1 (one comment created, then the
//! same one updated; the plan's error; API failures), the lookup of a merged
//! pull request's reviewed plan, and `install.sh` against a fake release
//! (a good checksum installs, a bad one installs nothing).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::{repo_root, Gantry};

const REPO: &str = "acme/app";
const TOKEN: &str = "ghs_fake-token-for-tests";

/// What the fake API holds and what it was asked.
#[derive(Default)]
struct Api {
    comments: Vec<(u64, String)>,
    next_id: u64,
    /// `(method, path with query, authorization header)`.
    requests: Vec<(String, String, String)>,
    /// Answers every request with this status when set.
    fail_with: Option<u16>,
    /// Canned answers of GET requests by path (query left out).
    canned: BTreeMap<String, Value>,
    /// Static files (a fake release), by path.
    files: BTreeMap<String, Vec<u8>>,
}

/// A fake GitHub API (and file server) on a free loopback port; its thread
/// ends with the test process.
struct FakeGitHub {
    url: String,
    api: Arc<Mutex<Api>>,
}

impl FakeGitHub {
    fn start() -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let api = Arc::new(Mutex::new(Api { next_id: 1000, ..Api::default() }));
        let shared = api.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (status, body) = handle(&shared, &mut BufReader::new(&stream));
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
            }
        });
        FakeGitHub { url, api }
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.api.lock().unwrap().comments.clone()
    }

    fn can(&self, path: &str, value: Value) {
        self.api.lock().unwrap().canned.insert(format!("/repos/{REPO}{path}"), value);
    }
}

fn handle(api: &Mutex<Api>, reader: &mut impl BufRead) -> (u16, Vec<u8>) {
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return (400, Vec::new());
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let (mut length, mut auth) = (0usize, String::new());
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => auth = value.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return (400, Vec::new());
    }
    let mut api = api.lock().unwrap();
    api.requests.push((method.clone(), target.clone(), auth));
    if let Some(status) = api.fail_with {
        return (status, br#"{"message":"Resource not accessible by integration"}"#.to_vec());
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    if let Some(file) = api.files.get(&path) {
        return (200, file.clone());
    }
    let comments_of_pr = format!("/repos/{REPO}/issues/7/comments");
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match (method.as_str(), path.as_str()) {
        ("GET", p) if p == comments_of_pr => {
            let list: Vec<Value> = api.comments.iter().map(|(id, body)| json!({"id": id, "body": body})).collect();
            (200, json!(list))
        }
        ("POST", p) if p == comments_of_pr => {
            api.next_id += 1;
            let id = api.next_id;
            api.comments.push((id, input["body"].as_str().unwrap_or("").to_string()));
            (201, json!({"id": id}))
        }
        ("PATCH", p) if p.starts_with(&format!("/repos/{REPO}/issues/comments/")) => {
            let id: u64 = p.rsplit('/').next().unwrap_or("").parse().unwrap_or(0);
            match api.comments.iter_mut().find(|(c, _)| *c == id) {
                Some(comment) => {
                    comment.1 = input["body"].as_str().unwrap_or("").to_string();
                    (200, json!({"id": id}))
                }
                None => (404, json!({"message": "Not Found"})),
            }
        }
        ("GET", p) => match api.canned.get(p) {
            Some(v) => (200, v.clone()),
            None => (404, json!({"message": "Not Found"})),
        },
        _ => (404, json!({"message": "Not Found"})),
    };
    (answer.0, answer.1.to_string().into_bytes())
}

fn pr_script() -> PathBuf {
    repo_root().join(".github/actions/setup-gantry/pr.py")
}

/// `python3 pr.py ARGS` as a step of a workflow run would call it.
fn pr(api: &FakeGitHub, dir: &Path, args: &[&str]) -> Output {
    Command::new("python3")
        .arg(pr_script())
        .args(args)
        .current_dir(dir)
        .env("GITHUB_API_URL", &api.url)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_SERVER_URL", "https://github.invalid")
        .env("GITHUB_RUN_ID", "555")
        .env("HEAD_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_WORKFLOW_REF", format!("{REPO}/.github/workflows/gantry.yml@refs/heads/main"))
        .output()
        .expect("running python3")
}

fn comment(api: &FakeGitHub, dir: &Path, key: &str, code: i32) -> Output {
    pr(
        api,
        dir,
        &[
            "comment",
            "--key",
            key,
            "--pr",
            "7",
            "--exit-code",
            &code.to_string(),
            "--plan",
            "plan.md",
            "--error",
            "plan.err",
        ],
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_plan_comment_is_created_once_then_updated_and_shows_a_failed_plan() {
    let api = FakeGitHub::start();
    let g = Gantry::new();
    let stack = g.fixture("basic");
    let secret = "github-ci-secret-canary";
    let plan = |extra: &[&str]| {
        let mut cmd = g.cmd(["plan", "--markdown", "--detailed-exitcode", "--out", "plan.json"]);
        cmd.arg("-s").arg(&stack).args(["-e", "test", "-var", &g.prefix_var()]).args(extra);
        let out = cmd.env("TF_VAR_secret", secret).output().unwrap();
        std::fs::write(g.path().join("plan.md"), &out.stdout).unwrap();
        std::fs::write(g.path().join("plan.err"), &out.stderr).unwrap();
        out.status.code().unwrap_or(-1)
    };

    // First run: a real plan (exit code 2, changes), one new comment.
    assert_eq!(plan(&[]), 2);
    let out = comment(&api, g.path(), "basic/test", 2);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = api.comments();
    assert_eq!(first.len(), 1);
    assert!(first[0].1.contains("<!-- gantry-plan: basic/test -->"), "{}", first[0].1);
    assert!(first[0].1.contains("to add"), "{}", first[0].1);
    assert!(first[0].1.contains("commit `0123456789ab`"), "{}", first[0].1);
    assert!(!first[0].1.contains(secret));

    // Second run: the same comment is edited, no second one.
    std::fs::write(g.path().join("plan.md"), "### gantry plan: `basic` / `test`\n\nNo changes.\n").unwrap();
    let out = comment(&api, g.path(), "basic/test", 0);
    assert!(text(&out.stdout).contains(&format!("Updated the plan comment {}", first[0].0)), "{}", text(&out.stdout));
    let second = api.comments();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].0, first[0].0);
    assert!(second[0].1.contains("No changes."));

    // Another stack or environment keeps a comment of its own.
    comment(&api, g.path(), "other/test", 0);
    assert_eq!(api.comments().len(), 2);

    // A failed plan (a real error of gantry's): the comment shows the error.
    std::fs::write(stack.join("broken.tf"), "resource \"aws_s3_bucket\" {\n").unwrap();
    let code = plan(&[]);
    assert_eq!(code, 1);
    let out = comment(&api, g.path(), "basic/test", code);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let failed = api.comments().into_iter().find(|(id, _)| *id == first[0].0).unwrap().1;
    assert!(failed.contains("### gantry plan failed: `basic/test`"), "{failed}");
    assert!(failed.contains("exited with code 1"), "{failed}");
    assert!(failed.contains("broken.tf"), "the error names the file: {failed}");
    assert!(!failed.contains(secret));
    assert_eq!(api.comments().len(), 2);

    // Every request carried the token; none printed it.
    let requests = api.api.lock().unwrap().requests.clone();
    assert!(requests.iter().all(|(_, _, auth)| auth == &format!("Bearer {TOKEN}")));

    // The API refusing: a clear error and a failed step, without the token.
    api.api.lock().unwrap().fail_with = Some(403);
    let out = comment(&api, g.path(), "basic/test", 0);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("GitHub API error") && stderr.contains("HTTP 403"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !text(&out.stdout).contains(TOKEN));
}

#[test]
fn a_long_plan_is_cut_to_fit_a_comment() {
    let api = FakeGitHub::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.md"), "x".repeat(200_000)).unwrap();
    let out = comment(&api, dir.path(), "big/prod", 2);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = &api.comments()[0].1;
    assert!(body.len() < 65_536, "{}", body.len());
    assert!(body.contains("too long for a comment"));
}

#[test]
fn the_reviewed_plan_of_a_merge_is_found_by_its_pull_request_run() {
    let api = FakeGitHub::start();
    let dir = tempfile::tempdir().unwrap();
    let (merge, head) = ("m".repeat(40), "h".repeat(40));
    let find = || {
        let _ = std::fs::remove_file(dir.path().join("output"));
        let out = pr(&api, dir.path(), &["find-plan", "--sha", &merge, "--artifact", "gantry-plan-app-prod"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), std::fs::read_to_string(dir.path().join("output")).unwrap_or_default())
    };

    // A direct push: no pull request, no reviewed plan.
    api.can(&format!("/commits/{merge}/pulls"), json!([]));
    let (said, output) = find();
    assert!(said.contains("no reviewed plan"), "{said}");
    assert_eq!(output, "");

    // A merged pull request whose last plan run succeeded with the artifact;
    // an older failed run and another run whose artifact expired are skipped.
    api.can(
        &format!("/commits/{merge}/pulls"),
        json!([{"number": 7, "merged_at": "2026-12-01T00:00:00Z", "merge_commit_sha": merge, "head": {"sha": head}}]),
    );
    api.can(
        "/actions/workflows/gantry.yml/runs",
        json!({"workflow_runs": [
            {"id": 41, "head_sha": head, "conclusion": "failure"},
            {"id": 42, "head_sha": head, "conclusion": "success"},
            {"id": 43, "head_sha": head, "conclusion": "success"}
        ]}),
    );
    api.can("/actions/runs/42/artifacts", json!({"artifacts": [{"name": "gantry-plan-app-prod", "expired": true}]}));
    api.can("/actions/runs/43/artifacts", json!({"artifacts": [{"name": "gantry-plan-app-prod", "expired": false}]}));
    let (said, output) = find();
    assert!(said.contains("pull request #7") && said.contains("run 43"), "{said}");
    assert_eq!(output, "run-id=43\npr=7\n");
    let asked = api.api.lock().unwrap().requests.iter().map(|r| r.1.clone()).collect::<Vec<_>>().join("\n");
    assert!(asked.contains(&format!("head_sha={head}")) && asked.contains("event=pull_request"), "{asked}");

    // The plan of the pull request's head failed: nothing to apply.
    api.can("/actions/runs/43/artifacts", json!({"artifacts": []}));
    let (said, output) = find();
    assert!(said.contains("no successful plan"), "{said}");
    assert_eq!(output, "");
}

/// A fake release of version 9.8.7: an archive holding a `gantry` that
/// prints its version, and SHA256SUMS.
fn fake_release(api: &FakeGitHub, dir: &Path, sums: Option<&str>) -> String {
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("gantry"), "#!/bin/sh\necho 'gantry 9.8.7'\n").unwrap();
    let asset = "gantry-9.8.7-x86_64-unknown-linux-gnu.tar.gz";
    let archive = dir.join(asset);
    let tar = Command::new("tar").arg("-czf").arg(&archive).arg("-C").arg(&build).arg("gantry").status().unwrap();
    assert!(tar.success());
    let bytes = std::fs::read(&archive).unwrap();
    let digest = sha256_hex(&archive);
    let sums = sums.map(str::to_string).unwrap_or_else(|| format!("{digest}  {asset}\n"));
    let mut api = api.api.lock().unwrap();
    api.files.insert(format!("/releases/download/v9.8.7/{asset}"), bytes);
    api.files.insert("/releases/download/v9.8.7/SHA256SUMS".into(), sums.into_bytes());
    digest
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

fn install(api: &FakeGitHub, dir: &Path, extra: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo_root().join(".github/actions/setup-gantry/install.sh"))
        .args(["--version", "v9.8.7", "--target", "x86_64-unknown-linux-gnu", "--release-url"])
        .arg(format!("{}/releases/download", api.url))
        .arg("--dir")
        .arg(dir.join("bin"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn install_script_installs_a_release_only_when_its_checksum_matches() {
    let api = FakeGitHub::start();
    let dir = tempfile::tempdir().unwrap();
    let digest = fake_release(&api, dir.path(), None);

    let out = install(&api, dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout)
        .contains(&format!("Checksum of gantry-9.8.7-x86_64-unknown-linux-gnu.tar.gz verified (sha256 {digest})")));
    let installed = Command::new(dir.path().join("bin/gantry")).output().unwrap();
    assert_eq!(text(&installed.stdout), "gantry 9.8.7\n");

    // A pinned checksum that matches installs too; one that does not refuses.
    std::fs::remove_dir_all(dir.path().join("bin")).unwrap();
    assert!(install(&api, dir.path(), &["--sha256", &digest.to_uppercase()]).status.success());
    std::fs::remove_dir_all(dir.path().join("bin")).unwrap();
    let out = install(&api, dir.path(), &["--sha256", &"0".repeat(64)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("checksum mismatch"), "{}", text(&out.stderr));
    assert!(!dir.path().join("bin/gantry").exists(), "nothing installed");
}

#[test]
fn install_script_refuses_a_release_whose_sums_do_not_match_or_miss_the_file() {
    let api = FakeGitHub::start();
    let dir = tempfile::tempdir().unwrap();
    let asset = "gantry-9.8.7-x86_64-unknown-linux-gnu.tar.gz";
    fake_release(&api, dir.path(), Some(&format!("{}  {asset}\n", "ab".repeat(32))));
    let out = install(&api, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("checksum mismatch") && text(&out.stderr).contains("nothing installed"));
    assert!(!dir.path().join("bin").exists(), "nothing installed");

    fake_release(
        &api,
        dir.path(),
        Some(&format!("{}  gantry-9.8.7-aarch64-unknown-linux-gnu.tar.gz\n", "ab".repeat(32))),
    );
    let out = install(&api, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("lists no gantry-9.8.7-x86_64"), "{}", text(&out.stderr));

    // A release that is not there: curl's error, nothing installed.
    let out = Command::new("bash")
        .arg(repo_root().join(".github/actions/setup-gantry/install.sh"))
        .args(["--version", "1.0.0", "--target", "x86_64-unknown-linux-gnu", "--release-url"])
        .arg(format!("{}/releases/download", api.url))
        .arg("--dir")
        .arg(dir.path().join("bin"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(!dir.path().join("bin").exists());
}
