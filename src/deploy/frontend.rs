//! Syncs a built frontend folder to an S3 bucket by content hash.
//!
//! 1. The folder is walked. Every regular file becomes the key `prefix` +
//!    its path relative to the folder, with `/` separators. Hidden files are
//!    included. A symbolic link is followed when its target lies inside the
//!    folder; one that points outside it (or nowhere) stops the sync: a
//!    build folder that links to `~/.ssh` must not end up in a bucket, and
//!    skipping the link silently would delete its object instead. Names that
//!    are not UTF-8 are refused, as S3 keys are UTF-8.
//! 2. The objects under the prefix are listed (ListObjectsV2, all pages). An
//!    object whose ETag equals the hex MD5 of the local file is unchanged.
//!    That holds for objects uploaded in one part without SSE-KMS, which is
//!    how this module uploads; any other object is simply uploaded again.
//! 3. New and changed files are uploaded with PutObject, [`UPLOAD_CONCURRENCY`]
//!    at a time, with a Content-Type from the file extension and a
//!    Content-MD5, so S3 rejects a body that changed on the way (or on disk
//!    after hashing).
//! 4. Only when every upload succeeded, objects under the prefix that are no
//!    longer in the folder are deleted with DeleteObjects, 1000 keys a call.
//!    A page that still links to an old file never loses it before its
//!    replacement is there. An empty folder never empties the bucket: that
//!    is refused, as the sign of a failed build.
//!
//! A non-empty prefix is treated as a folder: `site` means `site/`, so a sync
//! to `site` never lists, and so never deletes, `site2/...`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use crate::aws::{classify, ProviderError};

/// PutObject calls in flight at once.
pub const UPLOAD_CONCURRENCY: usize = 8;
/// Keys per DeleteObjects call (S3's limit).
pub const DELETE_BATCH: usize = 1000;
/// PutObject's limit for one part.
const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Keys uploaded (new or changed), sorted.
    pub uploaded: Vec<String>,
    /// Files whose object was already up to date.
    pub unchanged: usize,
    /// Keys deleted (no longer in the folder), sorted.
    pub deleted: Vec<String>,
    pub bytes_uploaded: u64,
    /// S3 API calls made (list pages, puts, delete batches), for `-v` and
    /// benchmarks: the caller may add them to its own count.
    pub api_calls: u64,
}

impl fmt::Display for SyncReport {
    /// `3 uploaded (12.5 KiB), 17 unchanged, 1 deleted`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} uploaded ({}), {} unchanged, {} deleted",
            self.uploaded.len(),
            human_bytes(self.bytes_uploaded),
            self.unchanged,
            self.deleted.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error("the frontend folder {} does not exist or is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: the name is not valid UTF-8, and S3 keys must be; rename the file", path.display())]
    NonUtf8Name { path: PathBuf },
    #[error(
        "{} is a symbolic link to {}, outside the frontend folder; refusing to upload it (copy the file into the \
         folder, or remove the link)",
        path.display(),
        target.display()
    )]
    LinkOutside { path: PathBuf, target: PathBuf },
    #[error("{} is a symbolic link that points nowhere", path.display())]
    DanglingLink { path: PathBuf },
    #[error("{} is a symbolic link to a folder that contains it (a cycle)", path.display())]
    LinkCycle { path: PathBuf },
    #[error("{} is {size} bytes, more than one PutObject takes (5 GiB)", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    /// The folder holds no file, while the bucket holds objects under the
    /// prefix: most likely a build that failed after cleaning its output.
    #[error(
        "the frontend folder {} holds no files; refusing to delete the {objects} object(s) under s3://{bucket}/{prefix} \
         (build the frontend first, or delete them yourself if the site is meant to go)",
        path.display()
    )]
    EmptyFolder { path: PathBuf, bucket: String, prefix: String, objects: usize },
    /// An S3 call failed. `key` is empty for calls about the whole bucket.
    #[error("{call} s3://{bucket}/{key}: {}", describe(source, code.as_deref()))]
    S3 { call: &'static str, bucket: String, key: String, code: Option<String>, source: Box<ProviderError> },
    /// DeleteObjects answered, but some keys were not deleted.
    #[error("s3:DeleteObjects s3://{bucket}: {} object(s) not deleted: {}", failures.len(), list_failures(failures))]
    DeleteFailed { bucket: String, failures: Vec<DeleteFailure> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFailure {
    pub key: String,
    pub code: String,
    pub message: String,
}

/// The provider error, with the S3 error code even when the classification
/// dropped it (NoSuchBucket becomes "not found").
fn describe(source: &ProviderError, code: Option<&str>) -> String {
    match (source, code) {
        (ProviderError::NotFound { .. }, Some(code)) => format!("{code}: not found"),
        (ProviderError::Api { code: c, message, .. }, _) => format!("{c}: {message}"),
        (ProviderError::AlreadyExists { code: c, message, .. }, _) => format!("{c}: {message}"),
        _ => source.to_string(),
    }
}

fn list_failures(failures: &[DeleteFailure]) -> String {
    const SHOWN: usize = 5;
    let mut out: Vec<String> =
        failures.iter().take(SHOWN).map(|f| format!("{} ({}: {})", f.key, f.code, f.message)).collect();
    if failures.len() > SHOWN {
        out.push(format!("and {} more", failures.len() - SHOWN));
    }
    out.join(", ")
}

fn s3_error<E, R>(
    call: &'static str,
    bucket: &str,
    key: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> FrontendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    let code = err.code().map(str::to_string);
    FrontendError::S3 {
        call,
        bucket: bucket.to_string(),
        key: key.to_string(),
        code,
        source: Box::new(classify(call, err)),
    }
}

/// A file of the folder, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalFile {
    pub key: String,
    pub path: PathBuf,
    pub md5: [u8; 16],
    pub size: u64,
}

impl LocalFile {
    fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }
}

/// What a sync will do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SyncPlan<'a> {
    pub upload: Vec<&'a LocalFile>,
    pub unchanged: usize,
    pub delete: Vec<String>,
}

/// `""` stays empty; anything else loses leading slashes and gets exactly one
/// trailing slash.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// The key of a file at `relative` (a path inside the folder) under the
/// normalized `prefix`.
pub(crate) fn object_key(prefix: &str, relative: &Path) -> Result<String, FrontendError> {
    let mut key = prefix.to_string();
    for (i, part) in relative.components().enumerate() {
        let std::path::Component::Normal(part) = part else {
            // walk() only produces plain relative paths.
            return Err(FrontendError::NonUtf8Name { path: relative.to_path_buf() });
        };
        let part = part.to_str().ok_or_else(|| FrontendError::NonUtf8Name { path: relative.to_path_buf() })?;
        if i > 0 {
            key.push('/');
        }
        key.push_str(part);
    }
    Ok(key)
}

/// An ETag as S3 sends it (`"9e107d9d..."`, sometimes `W/"..."`) reduced to
/// lowercase hex.
pub(crate) fn etag_hex(etag: &str) -> String {
    etag.trim().trim_start_matches("W/").trim_matches('"').to_ascii_lowercase()
}

/// Decides, from the local files and the listing (key → ETag) under the
/// prefix, what to upload, what is unchanged and what to delete.
pub(crate) fn plan<'a>(local: &'a [LocalFile], remote: &BTreeMap<String, String>) -> SyncPlan<'a> {
    let mut upload = Vec::new();
    let mut unchanged = 0;
    for file in local {
        match remote.get(&file.key) {
            Some(etag) if etag_hex(etag) == file.md5_hex() => unchanged += 1,
            _ => upload.push(file),
        }
    }
    let keep: std::collections::BTreeSet<&str> = local.iter().map(|f| f.key.as_str()).collect();
    let delete = remote.keys().filter(|k| !keep.contains(k.as_str())).cloned().collect();
    SyncPlan { upload, unchanged, delete }
}

/// The Content-Type for a key: mime_guess's answer, `; charset=utf-8` on
/// text (a build folder's text is UTF-8; without it browsers guess), and
/// `application/octet-stream` when the extension says nothing.
pub(crate) fn content_type(key: &str) -> String {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    // Source maps are JSON; mime_guess calls them text/plain.
    let mime = match ext.as_str() {
        "map" => "application/json".to_string(),
        _ => mime_guess::from_path(key).first_raw().unwrap_or("application/octet-stream").to_string(),
    };
    let textual = mime.starts_with("text/")
        || matches!(mime.as_str(), "application/javascript" | "application/json" | "image/svg+xml");
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}

/// Walks `folder` and hashes every file. Sorted by key.
pub(crate) fn walk(folder: &Path, prefix: &str) -> Result<Vec<LocalFile>, FrontendError> {
    let root = std::fs::canonicalize(folder).map_err(|_| FrontendError::NotAFolder { path: folder.to_path_buf() })?;
    if !root.is_dir() {
        return Err(FrontendError::NotAFolder { path: folder.to_path_buf() });
    }
    let mut files = Vec::new();
    let mut visiting = vec![root.clone()];
    walk_dir(&root, folder, Path::new(""), prefix, &mut visiting, &mut files)?;
    files.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(files)
}

/// `dir` is the real folder to read; `shown` + `relative` is how it is named
/// to the user and in keys. `visiting` holds the canonical folders on the
/// way down, to catch link cycles.
fn walk_dir(
    root: &Path,
    shown: &Path,
    relative: &Path,
    prefix: &str,
    visiting: &mut Vec<PathBuf>,
    files: &mut Vec<LocalFile>,
) -> Result<(), FrontendError> {
    let dir = visiting.last().expect("the folder being read").clone();
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FrontendError::Read { path, source }
    };
    let entries = std::fs::read_dir(&dir).map_err(read_err(&shown.join(relative)))?;
    for entry in entries {
        let entry = entry.map_err(read_err(&shown.join(relative)))?;
        let name = entry.file_name();
        let rel = relative.join(&name);
        let user_path = shown.join(&rel);
        if name.to_str().is_none() {
            return Err(FrontendError::NonUtf8Name { path: user_path });
        }
        let file_type = entry.file_type().map_err(read_err(&user_path))?;
        let real = if file_type.is_symlink() {
            let target = match std::fs::canonicalize(entry.path()) {
                Ok(target) => target,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(FrontendError::DanglingLink { path: user_path })
                }
                Err(source) => return Err(FrontendError::Read { path: user_path, source }),
            };
            if !target.starts_with(root) {
                return Err(FrontendError::LinkOutside { path: user_path, target });
            }
            target
        } else {
            entry.path()
        };
        let meta = std::fs::metadata(&real).map_err(read_err(&user_path))?;
        if meta.is_dir() {
            let canonical = std::fs::canonicalize(&real).map_err(read_err(&user_path))?;
            if visiting.contains(&canonical) {
                return Err(FrontendError::LinkCycle { path: user_path });
            }
            visiting.push(canonical);
            walk_dir(root, shown, &rel, prefix, visiting, files)?;
            visiting.pop();
        } else if meta.is_file() {
            if meta.len() > MAX_SINGLE_PUT {
                return Err(FrontendError::TooLarge { path: user_path, size: meta.len() });
            }
            let md5 = md5_file(&real).map_err(read_err(&user_path))?;
            files.push(LocalFile { key: object_key(prefix, &rel)?, path: real, md5, size: meta.len() });
        }
        // Sockets, fifos and devices are not frontend files: skipped.
    }
    Ok(())
}

fn md5_file(path: &Path) -> std::io::Result<[u8; 16]> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// Key → ETag of every object under `prefix` (already normalized).
async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    calls: &mut u64,
) -> Result<BTreeMap<String, String>, FrontendError> {
    const CALL: &str = "s3:ListObjectsV2";
    let mut objects = BTreeMap::new();
    let mut token = None;
    loop {
        *calls += 1;
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| s3_error(CALL, bucket, prefix, e))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                objects.insert(key.to_string(), object.e_tag().unwrap_or_default().to_string());
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if page.is_truncated() != Some(true) || token.is_none() {
            return Ok(objects);
        }
    }
}

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, file: &LocalFile) -> Result<(), FrontendError> {
    const CALL: &str = "s3:PutObject";
    let body = ByteStream::from_path(&file.path)
        .await
        .map_err(|e| FrontendError::Read { path: file.path.clone(), source: std::io::Error::other(e) })?;
    s3.put_object()
        .bucket(bucket)
        .key(&file.key)
        .content_type(content_type(&file.key))
        .content_md5(base64::engine::general_purpose::STANDARD.encode(file.md5))
        .content_length(file.size as i64)
        .body(body)
        .send()
        .await
        .map_err(|e| s3_error(CALL, bucket, &file.key, e))?;
    Ok(())
}

async fn delete(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[String], calls: &mut u64) -> Result<(), FrontendError> {
    const CALL: &str = "s3:DeleteObjects";
    let invalid = |e: aws_sdk_s3::error::BuildError| FrontendError::S3 {
        call: CALL,
        bucket: bucket.to_string(),
        key: String::new(),
        code: None,
        source: Box::new(ProviderError::Invalid(e.to_string())),
    };
    let mut failures = Vec::new();
    for batch in keys.chunks(DELETE_BATCH) {
        let objects = batch
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let request = Delete::builder().set_objects(Some(objects)).quiet(true).build().map_err(invalid)?;
        *calls += 1;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(request)
            .send()
            .await
            .map_err(|e| s3_error(CALL, bucket, "", e))?;
        failures.extend(out.errors().iter().map(|e| DeleteFailure {
            key: e.key().unwrap_or_default().to_string(),
            code: e.code().unwrap_or("Unknown").to_string(),
            message: e.message().unwrap_or_default().to_string(),
        }));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(FrontendError::DeleteFailed { bucket: bucket.to_string(), failures })
    }
}

/// Syncs `folder` to `s3://bucket/prefix`; see the module documentation.
/// `on_progress` gets one line per upload and delete (key names and sizes
/// only).
pub async fn sync(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    folder: &Path,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncReport, FrontendError> {
    let prefix = normalize_prefix(prefix);
    let local = {
        let (dir, key_prefix) = (folder.to_path_buf(), prefix.clone());
        // Hashing reads every file: off the async threads.
        tokio::task::spawn_blocking(move || walk(&dir, &key_prefix))
            .await
            .map_err(|e| FrontendError::Read { path: folder.to_path_buf(), source: std::io::Error::other(e) })??
    };
    let mut calls = 0;
    let remote = list(s3, bucket, &prefix, &mut calls).await?;
    if local.is_empty() && !remote.is_empty() {
        return Err(FrontendError::EmptyFolder {
            path: folder.to_path_buf(),
            bucket: bucket.to_string(),
            prefix,
            objects: remote.len(),
        });
    }
    let plan = plan(&local, &remote);

    let uploads = futures::stream::iter(plan.upload.iter().map(|file| async move {
        upload(s3, bucket, file).await?;
        on_progress(&format!("uploaded {} ({})", file.key, human_bytes(file.size)));
        Ok::<_, FrontendError>(*file)
    }))
    .buffer_unordered(UPLOAD_CONCURRENCY);
    let done: Vec<&LocalFile> = uploads.try_collect().await?;
    calls += done.len() as u64;

    if !plan.delete.is_empty() {
        delete(s3, bucket, &plan.delete, &mut calls).await?;
        for key in &plan.delete {
            on_progress(&format!("deleted {key}"));
        }
    }

    let mut uploaded: Vec<String> = done.iter().map(|f| f.key.clone()).collect();
    uploaded.sort();
    Ok(SyncReport {
        uploaded,
        unchanged: plan.unchanged,
        deleted: plan.delete,
        bytes_uploaded: done.iter().map(|f| f.size).sum(),
        api_calls: calls,
    })
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str, content: &[u8]) -> LocalFile {
        LocalFile {
            key: key.to_string(),
            path: PathBuf::from(key),
            md5: Md5::digest(content).into(),
            size: content.len() as u64,
        }
    }

    fn etag(content: &[u8]) -> String {
        format!("\"{}\"", hex::encode(Md5::digest(content)))
    }

    #[test]
    fn prefixes_are_folders() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix("site"), "site/");
        assert_eq!(normalize_prefix("/site/"), "site/");
        assert_eq!(normalize_prefix("a/b//"), "a/b/");
    }

    #[test]
    fn keys_use_slashes_under_the_prefix() {
        assert_eq!(object_key("", Path::new("index.html")).unwrap(), "index.html");
        assert_eq!(object_key("site/", Path::new("assets/app.js")).unwrap(), "site/assets/app.js");
        assert_eq!(object_key("", Path::new("a/b/c d.txt")).unwrap(), "a/b/c d.txt");
        assert!(matches!(object_key("", Path::new("../x")), Err(FrontendError::NonUtf8Name { .. })));
    }

    #[test]
    fn etags_lose_quotes_and_case() {
        assert_eq!(etag_hex("\"9E107D9D372BB6826BD81D3542A419D6\""), "9e107d9d372bb6826bd81d3542a419d6");
        assert_eq!(etag_hex("W/\"abc\""), "abc");
        assert_eq!(etag_hex("abc"), "abc");
    }

    #[test]
    fn plan_uploads_new_and_changed_skips_equal_deletes_gone() {
        let local = vec![file("index.html", b"<h1>new</h1>"), file("app.js", b"same"), file("new.css", b"a{}")];
        let remote = BTreeMap::from([
            ("index.html".to_string(), etag(b"<h1>old</h1>")),
            ("app.js".to_string(), etag(b"same")),
            ("gone.js".to_string(), etag(b"x")),
            ("old/deep.png".to_string(), etag(b"y")),
        ]);
        let p = plan(&local, &remote);
        let keys: Vec<&str> = p.upload.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["index.html", "new.css"]);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.delete, ["gone.js", "old/deep.png"]);
    }

    #[test]
    fn plan_of_an_empty_bucket_uploads_everything_and_of_a_synced_one_nothing() {
        let local = vec![file("a", b"1"), file("b", b"2")];
        let p = plan(&local, &BTreeMap::new());
        assert_eq!(p.upload.len(), 2);
        assert_eq!((p.unchanged, p.delete.len()), (0, 0));

        let remote: BTreeMap<_, _> = [("a".to_string(), etag(b"1")), ("b".to_string(), etag(b"2"))].into();
        let p = plan(&local, &remote);
        assert!(p.upload.is_empty());
        assert_eq!((p.unchanged, p.delete.len()), (2, 0));
    }

    #[test]
    fn multipart_etags_never_match() {
        let local = vec![file("big.bin", b"data")];
        let remote = BTreeMap::from([("big.bin".to_string(), format!("\"{}-2\"", hex::encode(local[0].md5)))]);
        assert_eq!(plan(&local, &remote).upload.len(), 1);
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a/app.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("data.json"), "application/json; charset=utf-8");
        assert_eq!(content_type("app.js.map"), "application/json; charset=utf-8");
        assert_eq!(content_type("logo.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("app.wasm"), "application/wasm");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
        assert_eq!(content_type("x.unknownext"), "application/octet-stream");
    }

    #[test]
    fn walk_finds_nested_and_hidden_files_with_their_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets/img")).unwrap();
        std::fs::write(dir.path().join("index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(dir.path().join("assets/img/a.png"), [0u8, 1, 2]).unwrap();
        std::fs::write(dir.path().join(".well-known"), "x").unwrap();
        let files = walk(dir.path(), "site/").unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["site/.well-known", "site/assets/img/a.png", "site/index.html"]);
        let index = &files[2];
        assert_eq!(index.md5_hex(), hex::encode(Md5::digest(b"<h1>hi</h1>")));
        assert_eq!(index.size, 11);
    }

    #[test]
    fn links_inside_are_followed_and_links_outside_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("id_rsa"), "PRIVATE").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("alias")).unwrap();
        std::os::unix::fs::symlink("real/a.txt", dir.path().join("b.txt")).unwrap();
        let keys: Vec<String> = walk(dir.path(), "").unwrap().into_iter().map(|f| f.key).collect();
        assert_eq!(keys, ["alias/a.txt", "b.txt", "real/a.txt"]);

        std::os::unix::fs::symlink(outside.path().join("id_rsa"), dir.path().join("key")).unwrap();
        let err = walk(dir.path(), "").unwrap_err();
        assert!(matches!(err, FrontendError::LinkOutside { .. }), "{err}");
        assert!(err.to_string().contains("outside the frontend folder"), "{err}");
        std::fs::remove_file(dir.path().join("key")).unwrap();

        std::os::unix::fs::symlink(dir.path().join("nothing"), dir.path().join("dangling")).unwrap();
        assert!(matches!(walk(dir.path(), ""), Err(FrontendError::DanglingLink { .. })));
        std::fs::remove_file(dir.path().join("dangling")).unwrap();

        std::os::unix::fs::symlink(dir.path(), dir.path().join("real/loop")).unwrap();
        assert!(matches!(walk(dir.path(), ""), Err(FrontendError::LinkCycle { .. })));
    }

    #[test]
    fn non_utf8_names_are_refused_by_name() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.html");
        std::fs::write(dir.path().join(name), "x").unwrap();
        let err = walk(dir.path(), "").unwrap_err();
        assert!(matches!(err, FrontendError::NonUtf8Name { .. }));
        assert!(err.to_string().contains("caf\u{fffd}.html"), "{err}");
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn a_missing_folder_is_named() {
        let err = walk(Path::new("/nonexistent/dist"), "").unwrap_err();
        assert_eq!(err.to_string(), "the frontend folder /nonexistent/dist does not exist or is not a folder");
    }

    #[test]
    fn errors_name_bucket_key_and_code() {
        let err = FrontendError::S3 {
            call: "s3:PutObject",
            bucket: "b".into(),
            key: "index.html".into(),
            code: Some("AccessDenied".into()),
            source: Box::new(ProviderError::Api {
                call: "s3:PutObject",
                code: "AccessDenied".into(),
                message: "Access Denied".into(),
                request_id: None,
                retryable: false,
            }),
        };
        assert_eq!(err.to_string(), "s3:PutObject s3://b/index.html: AccessDenied: Access Denied");
        let err = FrontendError::S3 {
            call: "s3:ListObjectsV2",
            bucket: "b".into(),
            key: String::new(),
            code: Some("NoSuchBucket".into()),
            source: Box::new(ProviderError::NotFound { call: "s3:ListObjectsV2" }),
        };
        assert_eq!(err.to_string(), "s3:ListObjectsV2 s3://b/: NoSuchBucket: not found");
        let failures = (0..7)
            .map(|i| DeleteFailure { key: format!("k{i}"), code: "AccessDenied".into(), message: "no".into() })
            .collect();
        let err = FrontendError::DeleteFailed { bucket: "b".into(), failures };
        assert_eq!(
            err.to_string(),
            "s3:DeleteObjects s3://b: 7 object(s) not deleted: k0 (AccessDenied: no), k1 (AccessDenied: no), k2 \
             (AccessDenied: no), k3 (AccessDenied: no), k4 (AccessDenied: no), and 2 more"
        );
    }

    #[test]
    fn reports_read_like_a_summary() {
        let report = SyncReport {
            uploaded: vec!["a".into(), "b".into()],
            unchanged: 17,
            deleted: vec!["c".into()],
            bytes_uploaded: 12_800,
            api_calls: 4,
        };
        assert_eq!(report.to_string(), "2 uploaded (12.5 KiB), 17 unchanged, 1 deleted");
        assert_eq!(human_bytes(5), "5 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
