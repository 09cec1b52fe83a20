//! The frontend sync (`gantry deploy --frontend-only`, and the sync module
//! itself) against the emulator: every file lands with its content type, a
//! second sync uploads nothing, a change uploads only what changed and
//! deletes what is gone, and nothing outside the prefix is touched.
//!
//! What was uploaded is read from moto's request log (one line per PutObject,
//! naming the bucket), not from gantry's own report.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::support::{aws, block_on, moto, Gantry};

/// The folder a test's frontend is built into, and what it holds: relative
/// path → (content, the Content-Type S3 must report).
fn site() -> BTreeMap<&'static str, (Vec<u8>, &'static str)> {
    BTreeMap::from([
        ("index.html", (b"<!doctype html><h1>hello</h1>".to_vec(), "text/html; charset=utf-8")),
        ("assets/app.js", (b"console.log('hi')".to_vec(), "text/javascript; charset=utf-8")),
        ("assets/app.js.map", (b"{\"version\":3}".to_vec(), "application/json; charset=utf-8")),
        ("assets/style.css", (b"h1{color:red}".to_vec(), "text/css; charset=utf-8")),
        ("img/logo.svg", (b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(), "image/svg+xml; charset=utf-8")),
        ("img/logo.png", (vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255], "image/png")),
        ("fonts/a.woff2", (vec![0, 1, 2, 3], "font/woff2")),
        ("data/config.json", (b"{\"a\":1}".to_vec(), "application/json; charset=utf-8")),
        (".well-known/security.txt", (b"Contact: x".to_vec(), "text/plain; charset=utf-8")),
        ("LICENSE", (b"MIT".to_vec(), "application/octet-stream")),
    ])
}

/// The keys of PutObject requests to `bucket` that moto has answered so far,
/// in order (percent-encoding left as sent).
fn puts_to(bucket: &str) -> Vec<String> {
    let needle = format!("\"PUT /{bucket}/");
    moto()
        .log()
        .lines()
        .filter_map(|line| {
            let start = line.find(&needle)? + needle.len();
            let rest = &line[start..];
            let end = rest.find(' ')?;
            let key = rest[..end].split('?').next().unwrap_or_default();
            // `PUT /bucket/?tagging` and the like are about the bucket.
            (!key.is_empty()).then(|| key.to_string())
        })
        .collect()
}

/// Key → (Content-Type, body) of every object in the bucket.
fn objects(bucket: &str) -> BTreeMap<String, (String, Vec<u8>)> {
    let s3 = aws().s3;
    block_on(async {
        let mut out = BTreeMap::new();
        let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        for object in list.contents() {
            let key = object.key().unwrap().to_string();
            let head = s3.head_object().bucket(bucket).key(&key).send().await.unwrap();
            let body = s3.get_object().bucket(bucket).key(&key).send().await.unwrap().body.collect().await.unwrap();
            out.insert(key, (head.content_type().unwrap_or_default().to_string(), body.into_bytes().to_vec()));
        }
        assert_eq!(list.is_truncated(), Some(false), "test buckets hold fewer than 1000 objects");
        out
    })
}

fn write_site(g: &Gantry, folder: &str) {
    for (path, (content, _)) in site() {
        g.write(format!("{folder}/{path}"), content);
    }
}

/// A stack with one bucket, named in the output `frontend_bucket`, and a
/// gantry.hcl whose deploy block has only a frontend.
fn frontend_stack(g: &Gantry, prefix_setting: &str) -> String {
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "frontend" {
  bucket        = "${var.prefix}-frontend"
  force_destroy = true
}

output "frontend_bucket" {
  value = aws_s3_bucket.frontend.bucket
}
"#,
    );
    g.write(
        "s/gantry.hcl",
        format!(
            r#"deploy {{
  service = "web"

  frontend {{
    folder        = "dist"
    bucket_output = "frontend_bucket"
{prefix_setting}  }}
}}
"#
        ),
    );
    g.cmd(["apply", "--auto-approve", "-s", "s", "-e", "test", "-var", &g.prefix_var()]).assert().success();
    format!("{}-frontend", g.prefix())
}

/// `gantry deploy --frontend-only`; its standard error (the progress lines).
fn deploy_frontend(g: &Gantry) -> String {
    let out = g.cmd(["deploy", "--frontend-only", "-s", "s", "-e", "test"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "gantry deploy --frontend-only failed:\n{stderr}");
    stderr
}

#[test]
fn frontend_only_uploads_changes_and_deletes_what_is_gone() {
    let g = Gantry::new();
    let bucket = frontend_stack(&g, "");
    write_site(&g, "s/dist");
    let n = site().len();

    // First deploy: everything, each with its content type.
    let stderr = deploy_frontend(&g);
    assert!(stderr.contains(&format!("{n} uploaded")), "{stderr}");
    assert!(stderr.contains("0 unchanged, 0 deleted"), "{stderr}");
    let mut uploaded = puts_to(&bucket);
    uploaded.sort();
    let mut expected: Vec<String> = site().keys().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(uploaded, expected, "one PutObject per file");
    let stored = objects(&bucket);
    assert_eq!(stored.len(), n);
    for (path, (content, content_type)) in site() {
        let (got_type, got_body) = &stored[path];
        assert_eq!(got_type, content_type, "Content-Type of {path}");
        assert_eq!(got_body, &content, "body of {path}");
    }

    // Second deploy: nothing to do.
    let stderr = deploy_frontend(&g);
    assert!(stderr.contains(&format!("0 uploaded (0 B), {n} unchanged, 0 deleted")), "{stderr}");
    assert_eq!(puts_to(&bucket).len(), n, "no PutObject on a second run");

    // One file changed, one removed: one upload, one delete.
    g.write("s/dist/index.html", "<!doctype html><h1>hello again</h1>");
    std::fs::remove_file(g.path().join("s/dist/assets/style.css")).unwrap();
    let stderr = deploy_frontend(&g);
    assert!(stderr.contains(&format!("1 uploaded (35 B), {} unchanged, 1 deleted", n - 2)), "{stderr}");
    let puts = puts_to(&bucket);
    assert_eq!(&puts[n..], ["index.html"], "only the changed file was uploaded");
    let stored = objects(&bucket);
    assert_eq!(stored.len(), n - 1);
    assert!(!stored.contains_key("assets/style.css"), "the removed file's object is gone");
    assert_eq!(stored["index.html"].1, b"<!doctype html><h1>hello again</h1>");
    assert_eq!(stored["index.html"].0, "text/html; charset=utf-8");
}

#[test]
fn a_prefix_is_a_folder_and_nothing_outside_it_is_touched() {
    let g = Gantry::new();
    let bucket = frontend_stack(&g, "    prefix        = \"site\"\n");
    let s3 = aws().s3;
    for key in ["keep.txt", "site2/keep.txt", "site/old.txt"] {
        block_on(s3.put_object().bucket(&bucket).key(key).body(b"x".to_vec().into()).send()).unwrap();
    }
    g.write("s/dist/index.html", "<h1>x</h1>");

    let stderr = deploy_frontend(&g);
    assert!(stderr.contains("1 uploaded (10 B), 0 unchanged, 1 deleted"), "{stderr}");
    let keys: Vec<String> = objects(&bucket).into_keys().collect();
    assert_eq!(keys, ["keep.txt", "site/index.html", "site2/keep.txt"]);
}

#[test]
fn a_missing_bucket_is_named_with_its_error_code() {
    let g = Gantry::new();
    let bucket = frontend_stack(&g, "");
    write_site(&g, "s/dist");
    block_on(aws().s3.delete_bucket().bucket(&bucket).send()).unwrap();
    let out = g.cmd(["deploy", "--frontend-only", "-s", "s", "-e", "test"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("s3://{bucket}/")) && stderr.contains("NoSuchBucket"), "{stderr}");
}

// ---------------------------------------------------------------------------
// The sync module itself, through the SDK (what the command calls).

fn sync(bucket: &str, prefix: &str, folder: &Path) -> gantry::deploy::frontend::SyncReport {
    let s3 = aws().s3;
    block_on(gantry::deploy::frontend::sync(&s3, bucket, prefix, folder, &|_| {})).unwrap()
}

fn bucket(name: &str) {
    block_on(aws().s3.create_bucket().bucket(name).send()).unwrap();
}

/// Over 1000 files: the listing takes two pages and the delete two batches.
/// Keys with spaces and non-ASCII letters survive the round trip (a second
/// sync sees them as unchanged).
#[test]
fn many_files_page_and_batch_and_odd_names_round_trip() {
    let g = Gantry::new();
    let name = format!("{}-many", g.prefix());
    bucket(&name);
    let n = 1005;
    for i in 0..n {
        g.write(format!("dist/d{}/f {i} ü.txt", i % 7), format!("file {i}"));
    }
    let dir = g.path().join("dist");

    let started = Instant::now();
    let first = sync(&name, "", &dir);
    eprintln!("sync of {n} new files: {:?}, {} S3 calls", started.elapsed(), first.api_calls);
    assert_eq!((first.uploaded.len(), first.unchanged, first.deleted.len()), (n, 0, 0));
    assert_eq!(first.api_calls, 1 + n as u64, "one listing page, one PutObject per file");
    assert!(first.uploaded.contains(&"d3/f 3 ü.txt".to_string()), "{:?}", &first.uploaded[..3]);

    let started = Instant::now();
    let second = sync(&name, "", &dir);
    eprintln!("sync of {n} unchanged files: {:?}, {} S3 calls", started.elapsed(), second.api_calls);
    assert_eq!((second.uploaded.len(), second.unchanged, second.deleted.len()), (0, n, 0));
    assert_eq!(second.api_calls, 2, "two listing pages of at most 1000 keys");

    // An empty folder (a failed build) never empties the bucket.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let s3 = aws().s3;
    let err = block_on(gantry::deploy::frontend::sync(&s3, &name, "", &dir, &|_| {})).unwrap_err().to_string();
    assert!(err.contains("holds no files; refusing to delete the 1005 object(s)"), "{err}");

    g.write("dist/keep.txt", "keep");
    let started = Instant::now();
    let emptied = sync(&name, "", &dir);
    eprintln!("sync deleting {n} files: {:?}, {} S3 calls", started.elapsed(), emptied.api_calls);
    assert_eq!(emptied.deleted.len(), n);
    assert_eq!(emptied.uploaded, ["keep.txt"]);
    assert_eq!(emptied.api_calls, 2 + 1 + 2, "two listing pages, one PutObject, two DeleteObjects batches");
    let left = block_on(aws().s3.list_objects_v2().bucket(&name).send()).unwrap();
    assert_eq!(left.key_count(), Some(1));
}

/// The 200-file case the deploy docs measure: printed, not asserted on time.
#[test]
fn two_hundred_files_calls() {
    let g = Gantry::new();
    let name = format!("{}-twohundred", g.prefix());
    bucket(&name);
    for i in 0..200 {
        g.write(format!("dist/assets/chunk-{i}.js"), format!("export const x = {i};\n").repeat(50));
    }
    let dir = g.path().join("dist");
    // Warm the S3 service up (moto loads it lazily).
    block_on(aws().s3.list_objects_v2().bucket(&name).send()).unwrap();

    let started = Instant::now();
    let first = sync(&name, "assets", &dir);
    let t1 = started.elapsed();
    g.write("dist/assets/chunk-7.js", "changed");
    std::fs::remove_file(dir.join("assets/chunk-8.js")).unwrap();
    let started = Instant::now();
    let again = sync(&name, "assets", &dir);
    let t2 = started.elapsed();
    eprintln!(
        "200 files: first sync {t1:?} ({} calls, {} bytes); after 1 change + 1 removal {t2:?} ({} calls)",
        first.api_calls, first.bytes_uploaded, again.api_calls
    );
    assert_eq!(first.uploaded.len(), 200);
    assert_eq!(first.api_calls, 201);
    assert_eq!(again.uploaded, ["assets/assets/chunk-7.js"]);
    assert_eq!(again.deleted, ["assets/assets/chunk-8.js"]);
    assert_eq!(again.unchanged, 198);
    assert_eq!(again.api_calls, 3, "list, put, delete");
}
