//! A fault-injecting HTTP proxy between gantry and moto, on 127.0.0.1.
//!
//! gantry points at it with `AWS_ENDPOINT_URL`. For every request the
//! proxy decides, from a seeded schedule, whether to pass it through or to:
//! answer 500 or 503, answer the service's own throttling error, add latency,
//! drop the connection before forwarding, or drop it *after* moto has acted
//! (the lost response: the object exists, the caller never heard so). It can
//! also emulate AWS's eventual consistency, which moto lacks, per operation:
//! a bucket that answers NoSuchBucket for a while after CreateBucket; a table
//! that stays CREATING after CreateTable and UPDATING after UpdateTable
//! (DescribeTable says so, UpdateTable and DeleteTable are refused with
//! ResourceInUseException); an instance profile (and the role added to it)
//! that RunInstances and AssociateIamInstanceProfile do not know yet
//! (InvalidParameterValue "Invalid IAM Instance Profile name"); an instance
//! that stays shutting-down after TerminateInstances while its security
//! groups refuse deletion with DependencyViolation. Every call is recorded
//! in a trace (operation, start, end, fault).
//!
//! HTTP/1.1 is parsed by hand (requests with Content-Length or chunked
//! bodies; keep-alive towards the client, one fresh connection per request
//! towards moto): hyper is linked without its server half, and enabling it
//! would rebuild the whole AWS SDK.
//!
//! Latency is a first-class mode ([`Schedule::latency`]): a benchmark sets a
//! fixed delay per request and no faults.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy did to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Status500,
    Status503,
    /// The service's throttling error, in its protocol's shape.
    Throttle,
    /// Extra latency, then passed through.
    Latency,
    /// Connection closed before the request reached moto.
    DropBefore,
    /// Forwarded, moto acted, then the connection was closed unanswered.
    LostResponse,
    /// An eventual-consistency answer (NoSuchBucket, CREATING/UPDATING,
    /// ResourceInUseException, unknown profile, shutting-down,
    /// DependencyViolation).
    Consistency,
}

/// Chances per request (0.0 to 1.0) of each fault, and how many lost answers
/// to creates a run gets at least.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    pub seed: u64,
    pub status500: f64,
    pub status503: f64,
    pub throttle: f64,
    /// Chance of extra latency, and the most added.
    pub slow: f64,
    pub slow_max: Duration,
    pub drop_before: f64,
    /// Chance that the answer to a create is lost (after the first
    /// `lost_creates` creates, which always lose theirs).
    pub lost_create: f64,
    pub lost_creates: usize,
    /// The same for calls that change something without creating it (a
    /// rule, a tag, a policy put, an update, a delete): the chance of a lost
    /// answer, and how many of the first such calls always lose theirs.
    pub lost_write: f64,
    pub lost_writes: usize,
    /// Loses the first answer to every distinct write (the same operation
    /// with the same body): each is carried out, its answer lost, and the
    /// SDK's resend is answered.
    pub lose_each_write_once: bool,
    /// Latency added to every request (latency mode for benchmarks).
    pub latency: Duration,
    /// Eventual consistency to emulate; zero durations disable a case.
    pub consistency: Consistency,
}

#[derive(Clone, Debug, Default)]
pub struct Consistency {
    /// A new bucket answers NoSuchBucket to every call naming it (but
    /// CreateBucket and DeleteBucket) for this long.
    pub bucket: Duration,
    /// A table is CREATING for this long after CreateTable, UPDATING for this
    /// long after UpdateTable.
    pub table: Duration,
    /// RunInstances and AssociateIamInstanceProfile reject an instance
    /// profile for this long after its creation or after a role was added
    /// to it.
    pub instance_profile: Duration,
    /// A terminated instance is shutting-down for this long, and its
    /// security groups refuse deletion meanwhile.
    pub shutting_down: Duration,
}

impl Schedule {
    /// No faults at all: a clean pass-through.
    pub fn clean() -> Schedule {
        Schedule::default()
    }

    /// Only a fixed delay per request.
    pub fn latency(delay: Duration) -> Schedule {
        Schedule { latency: delay, ..Schedule::default() }
    }

    /// A random mix of every fault kind, derived from `seed`. Each
    /// eventual-consistency case is on in about half the schedules, for
    /// 0.5 to 2 s: longer than the SDK's own first retries (25 ms doubling,
    /// as the tests configure them), so only gantry's waiting gets through.
    pub fn random(seed: u64, lost_creates: usize, lost_writes: usize) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_fa17);
        let ms = |rng: &mut StdRng, max: u64| Duration::from_millis(rng.random_range(0..=max));
        let window = |rng: &mut StdRng| {
            if rng.random_bool(0.5) {
                Duration::from_millis(rng.random_range(500..=2000))
            } else {
                Duration::ZERO
            }
        };
        Schedule {
            seed,
            status500: rng.random_range(0.0..0.08),
            status503: rng.random_range(0.0..0.08),
            throttle: rng.random_range(0.0..0.10),
            slow: rng.random_range(0.0..0.2),
            slow_max: ms(&mut rng, 60),
            drop_before: rng.random_range(0.0..0.06),
            lost_create: rng.random_range(0.1..0.5),
            lost_creates,
            lost_write: rng.random_range(0.02..0.15),
            lost_writes,
            lose_each_write_once: false,
            latency: Duration::ZERO,
            consistency: Consistency {
                bucket: window(&mut rng),
                table: window(&mut rng),
                instance_profile: window(&mut rng),
                shutting_down: window(&mut rng),
            },
        }
    }
}

/// One call that went through the proxy.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: String,
    pub operation: String,
    /// Since the proxy started.
    pub start: Duration,
    pub end: Duration,
    pub fault: Option<Fault>,
    pub kind: Kind,
}

/// What a call does, for the lost-answer faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Makes a new object ([`is_create`]).
    Create,
    /// Changes something without making a new object ([`is_write`]), or
    /// overwrites a parameter.
    Write,
    Read,
}

struct Shared {
    schedule: Schedule,
    rng: StdRng,
    creates_seen: usize,
    writes_seen: usize,
    /// Writes whose answer was lost once (operation and body).
    writes_lost: std::collections::HashSet<(String, Vec<u8>)>,
    trace: Vec<Call>,
    /// When each new bucket and instance profile becomes visible.
    bucket_ready: HashMap<String, Instant>,
    profile_ready: HashMap<String, Instant>,
    /// Tables not ACTIVE yet: until when, and their status meanwhile.
    table_busy: HashMap<String, (Instant, &'static str)>,
    /// Instances terminated, until when they are shutting-down.
    shutting_down: HashMap<String, Instant>,
    /// The security groups of every instance launched through the proxy.
    instance_groups: HashMap<String, Vec<String>>,
}

/// The proxy, running on a thread of its own until dropped.
pub struct FaultProxy {
    port: u16,
    epoch: Instant,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`host:port` on loopback).
    pub fn start(upstream: SocketAddr, schedule: Schedule) -> FaultProxy {
        let std_listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the fault proxy's port");
        std_listener.set_nonblocking(true).expect("non-blocking listener");
        let port = std_listener.local_addr().expect("local address").port();
        let epoch = Instant::now();
        let shared = Arc::new(Mutex::new(Shared::new(schedule)));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    while !st.load(Ordering::Relaxed) {
                        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
                        let Ok(Ok((stream, _))) = accepted else { continue };
                        let ctx = Ctx { upstream, epoch, shared: s.clone() };
                        tokio::spawn(async move {
                            let _ = serve(stream, ctx).await;
                        });
                    }
                });
            })
            .expect("spawning the fault proxy");
        FaultProxy { port, epoch, shared, stop, thread: Some(thread) }
    }

    /// The URL to give gantry as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Switches to another schedule and forgets the trace and what the
    /// consistency emulation remembered.
    pub fn set_schedule(&self, schedule: Schedule) {
        *self.shared.lock().unwrap() = Shared::new(schedule);
    }

    /// Every call so far.
    pub fn trace(&self) -> Vec<Call> {
        self.shared.lock().unwrap().trace.clone()
    }

    /// How many calls got each fault.
    pub fn fault_counts(&self) -> HashMap<Fault, usize> {
        let mut counts = HashMap::new();
        for call in &self.shared.lock().unwrap().trace {
            if let Some(f) = call.fault {
                *counts.entry(f).or_default() += 1;
            }
        }
        counts
    }

    /// Lost answers to create calls.
    pub fn lost_creates(&self) -> usize {
        self.shared
            .lock()
            .unwrap()
            .trace
            .iter()
            .filter(|c| c.fault == Some(Fault::LostResponse) && c.kind == Kind::Create)
            .count()
    }

    /// Lost answers to calls that change something without creating it.
    pub fn lost_writes(&self) -> usize {
        self.shared
            .lock()
            .unwrap()
            .trace
            .iter()
            .filter(|c| c.fault == Some(Fault::LostResponse) && c.kind == Kind::Write)
            .count()
    }

    /// Lost answers, by operation.
    pub fn lost_by_operation(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for call in &self.shared.lock().unwrap().trace {
            if call.fault == Some(Fault::LostResponse) {
                *counts.entry(call.operation.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// Eventual-consistency answers, by operation.
    pub fn consistency_answers(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for call in &self.shared.lock().unwrap().trace {
            if call.fault == Some(Fault::Consistency) {
                *counts.entry(call.operation.clone()).or_default() += 1;
            }
        }
        counts
    }

    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn new(schedule: Schedule) -> Shared {
        Shared {
            rng: StdRng::seed_from_u64(schedule.seed),
            schedule,
            creates_seen: 0,
            writes_seen: 0,
            writes_lost: Default::default(),
            trace: Vec::new(),
            bucket_ready: HashMap::new(),
            profile_ready: HashMap::new(),
            table_busy: HashMap::new(),
            shutting_down: HashMap::new(),
            instance_groups: HashMap::new(),
        }
    }

    /// The fault for the next call (no consistency cases: those depend on
    /// what the call names).
    fn pick(&mut self, kind: Kind) -> Option<Fault> {
        let s = &self.schedule;
        if kind == Kind::Create {
            self.creates_seen += 1;
            let forced = self.creates_seen <= s.lost_creates;
            let p = s.lost_create;
            if forced || self.rng.random_bool(p.clamp(0.0, 1.0)) {
                return Some(Fault::LostResponse);
            }
        } else if kind == Kind::Write {
            self.writes_seen += 1;
            let forced = self.writes_seen <= s.lost_writes;
            let p = s.lost_write;
            if forced || self.rng.random_bool(p.clamp(0.0, 1.0)) {
                return Some(Fault::LostResponse);
            }
        }
        let s = self.schedule.clone();
        let roll: f64 = self.rng.random();
        let mut edge = 0.0;
        for (p, fault) in [
            (s.status500, Fault::Status500),
            (s.status503, Fault::Status503),
            (s.throttle, Fault::Throttle),
            (s.drop_before, Fault::DropBefore),
            (s.slow, Fault::Latency),
        ] {
            edge += p;
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// Calls that make something, whose lost answer leaves an object the caller
/// does not know about.
pub fn is_create(operation: &str) -> bool {
    matches!(
        operation,
        "PutParameter"
            | "CreateTable"
            | "CreateBucket"
            | "CreateRole"
            | "CreateSecurityGroup"
            | "RunInstances"
            | "CreateInstanceProfile"
            | "CreateRepository"
            | "CreateOpenIDConnectProvider"
    )
}

fn kind_of(p: &Parsed) -> Kind {
    let overwrite = p.json.as_ref().is_some_and(|j| j["Overwrite"] == serde_json::Value::Bool(true));
    if is_create(&p.operation) && !(p.operation == "PutParameter" && overwrite) {
        Kind::Create
    } else if is_write(&p.operation) || is_create(&p.operation) {
        Kind::Write
    } else {
        Kind::Read
    }
}

/// Calls that change something without creating a new object: rules, tags,
/// policy puts, attachments, updates, deletes. Their answer lost, the SDK
/// sends them again to a world where they already took effect.
pub fn is_write(operation: &str) -> bool {
    const VERBS: &[&str] = &[
        "Put",
        "Update",
        "Delete",
        "Tag",
        "Untag",
        "Authorize",
        "Revoke",
        "Attach",
        "Detach",
        "Add",
        "Remove",
        "Modify",
        "Associate",
        "Disassociate",
        "Terminate",
        "Set",
        "Replace",
        "Create",
    ];
    !is_create(operation)
        && !operation.ends_with("Object")
        && VERBS
            .iter()
            .any(|v| operation.strip_prefix(v).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())))
}

#[derive(Clone)]
struct Ctx {
    upstream: SocketAddr,
    epoch: Instant,
    shared: Arc<Mutex<Shared>>,
}

/// One HTTP message: start line, headers in order, body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Serialized with a Content-Length and without hop-by-hop headers.
    fn to_bytes(&self, close: bool, head_only: bool) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            let hop = ["connection", "transfer-encoding", "content-length", "keep-alive", "expect"]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h));
            if !hop {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        if !head_only || self.header("content-length").is_none() {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        } else if let Some(len) = self.header("content-length") {
            out.push_str(&format!("Content-Length: {len}\r\n"));
        }
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

async fn read_head<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
) -> std::io::Result<Option<(String, Vec<(String, String)>)>> {
    let mut start = String::new();
    if r.read_line(&mut start).await? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some((start.trim_end_matches(['\r', '\n']).to_string(), headers)))
}

/// Reads a body framed by Content-Length or chunked encoding; `to_eof` reads
/// an unframed response body until the connection closes.
async fn read_body<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    headers: &[(String, String)],
    to_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).await?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
        body.resize(len, 0);
        r.read_exact(&mut body).await?;
    } else if to_eof {
        r.read_to_end(&mut body).await?;
    }
    Ok(body)
}

/// Serves one client connection (keep-alive: many requests).
async fn serve(stream: TcpStream, ctx: Ctx) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let Some((start, headers)) = read_head(&mut reader).await? else { return Ok(()) };
        let expects_continue =
            headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"));
        if expects_continue {
            write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = read_body(&mut reader, &headers, false).await?;
        let request = Message { start, headers, body };
        match handle(&ctx, request).await {
            Some(bytes) => write.write_all(&bytes).await?,
            // Dropping the connection is the fault.
            None => return Ok(()),
        }
    }
}

/// What a request is about: the service, the operation and, where the
/// consistency emulation needs it, the name it concerns.
struct Parsed {
    service: String,
    operation: String,
    method: String,
    /// S3: the bucket in the path and whether a sub-resource is named.
    bucket: Option<String>,
    form: HashMap<String, String>,
    json: Option<serde_json::Value>,
}

fn parse(request: &Message) -> Parsed {
    let mut parts = request.start.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    // The service is in the credential scope of the signature:
    // `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
    let service = request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("")
        .to_string();
    let form = if request.header("content-type").is_some_and(|c| c.contains("x-www-form-urlencoded")) {
        parse_form(&String::from_utf8_lossy(&request.body))
    } else {
        HashMap::new()
    };
    let json = if request.header("x-amz-target").is_some() { serde_json::from_slice(&request.body).ok() } else { None };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut bucket = None;
    let operation = if let Some(t) = request.header("x-amz-target") {
        t.rsplit('.').next().unwrap_or(t).to_string()
    } else if let Some(action) = form.get("Action") {
        action.clone()
    } else if service == "s3" {
        let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        bucket = segments.first().map(|s| s.to_string());
        let sub = query.split('&').next().unwrap_or("").split('=').next().unwrap_or("");
        s3_operation(&method, segments.len(), sub)
    } else {
        format!("{method} {path}")
    };
    Parsed { service, operation, method, bucket, form, json }
}

/// A name for an S3 REST call, good enough for traces and for the
/// consistency emulation.
fn s3_operation(method: &str, depth: usize, sub: &str) -> String {
    match (method, depth, sub) {
        ("PUT", 1, "") => "CreateBucket".into(),
        ("DELETE", 1, "") => "DeleteBucket".into(),
        ("HEAD", 1, _) => "HeadBucket".into(),
        ("GET", 0, _) => "ListBuckets".into(),
        ("GET", 1, "") | ("GET", 1, "list-type") => "ListObjects".into(),
        (m, 1, sub) => format!("{}Bucket{}", s3_verb(m), capitalize(sub)),
        (m, _, _) => format!("{}Object", s3_verb(m)),
    }
}

fn s3_verb(method: &str) -> &'static str {
    match method {
        "PUT" => "Put",
        "DELETE" => "Delete",
        "HEAD" => "Head",
        "POST" => "Post",
        _ => "Get",
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn parse_form(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Decides, forwards, and returns the bytes to answer with; `None` closes
/// the client's connection unanswered.
async fn handle(ctx: &Ctx, request: Message) -> Option<Vec<u8>> {
    let start = ctx.epoch.elapsed();
    let p = parse(&request);
    let internal = request.start.split(' ').nth(1).is_some_and(|t| t.starts_with("/moto-api"));
    let head_only = p.method == "HEAD";
    let (mut fault, latency) = if internal {
        (None, Duration::ZERO)
    } else {
        let mut shared = ctx.shared.lock().unwrap();
        let kind = kind_of(&p);
        let fault = pick_consistency(&mut shared, &p).or_else(|| {
            let once = shared.schedule.lose_each_write_once
                && kind == Kind::Write
                && shared.writes_lost.insert((p.operation.clone(), request.body.clone()));
            if once {
                Some(Fault::LostResponse)
            } else {
                shared.pick(kind)
            }
        });
        let extra = if fault == Some(Fault::Latency) {
            let max = shared.schedule.slow_max.as_millis() as u64;
            Duration::from_millis(shared.rng.random_range(0..=max))
        } else {
            Duration::ZERO
        };
        (fault, shared.schedule.latency + extra)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = match fault {
        Some(Fault::DropBefore) => None,
        Some(Fault::Status500) => Some(error_response(&p, 500)),
        Some(Fault::Status503) => Some(error_response(&p, 503)),
        Some(Fault::Throttle) => Some(throttling_response(&p)),
        Some(Fault::Consistency) => consistency_response(ctx, &p, request).await,
        Some(Fault::LostResponse) => {
            let response = forward(ctx.upstream, &request).await;
            if let Some(r) = &response {
                remember(ctx, &p, r);
            }
            None
        }
        Some(Fault::Latency) | None => {
            let mut response = forward(ctx.upstream, &request).await;
            if let Some(r) = &mut response {
                remember(ctx, &p, r);
                if show_shutting_down(&ctx.shared.lock().unwrap(), &p, r) {
                    fault = Some(Fault::Consistency);
                }
            }
            response
        }
    };
    let end = ctx.epoch.elapsed();
    if !internal {
        ctx.shared.lock().unwrap().trace.push(Call {
            service: p.service.clone(),
            operation: p.operation.clone(),
            start,
            end,
            fault,
            kind: kind_of(&p),
        });
    }
    answer.map(|m| m.to_bytes(false, head_only))
}

/// Forwards a request to moto on a fresh connection and reads the answer.
async fn forward(upstream: SocketAddr, request: &Message) -> Option<Message> {
    let mut stream = TcpStream::connect(upstream).await.ok()?;
    stream.write_all(&request.to_bytes(true, false)).await.ok()?;
    let mut reader = BufReader::new(stream);
    let (start, headers) = read_head(&mut reader).await.ok()??;
    let status: u16 = start.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let no_body = request.start.starts_with("HEAD ") || status == 204 || status == 304;
    let body = if no_body { Vec::new() } else { read_body(&mut reader, &headers, true).await.ok()? };
    Some(Message { start, headers, body })
}

fn status_of(m: &Message) -> u16 {
    m.start.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Notes what the consistency emulation cares about: what was created or
/// changed, and when it becomes ready.
fn remember(ctx: &Ctx, p: &Parsed, response: &Message) {
    if status_of(response) != 200 {
        return;
    }
    let mut shared = ctx.shared.lock().unwrap();
    let c = shared.schedule.consistency.clone();
    let now = Instant::now();
    let table = || p.json.as_ref().and_then(|j| j["TableName"].as_str()).map(String::from);
    match p.operation.as_str() {
        "CreateBucket" if !c.bucket.is_zero() => {
            if let Some(b) = &p.bucket {
                shared.bucket_ready.insert(b.clone(), now + c.bucket);
            }
        }
        "CreateTable" if !c.table.is_zero() => {
            if let Some(name) = table() {
                shared.table_busy.insert(name, (now + c.table, "CREATING"));
            }
        }
        "UpdateTable" if !c.table.is_zero() => {
            if let Some(name) = table() {
                shared.table_busy.insert(name, (now + c.table, "UPDATING"));
            }
        }
        "CreateInstanceProfile" | "AddRoleToInstanceProfile" if !c.instance_profile.is_zero() => {
            if let Some(name) = p.form.get("InstanceProfileName") {
                shared.profile_ready.insert(name.clone(), now + c.instance_profile);
            }
        }
        "RunInstances" => {
            // One instance per call (MinCount = MaxCount = 1): its id and
            // every group id in the answer.
            let body = String::from_utf8_lossy(&response.body);
            if let Some(id) = xml_values(&body, "instanceId").into_iter().next() {
                let mut groups = xml_values(&body, "groupId");
                groups.sort();
                groups.dedup();
                shared.instance_groups.insert(id, groups);
            }
        }
        "TerminateInstances" if !c.shutting_down.is_zero() => {
            for (k, id) in &p.form {
                if k.starts_with("InstanceId.") {
                    shared.shutting_down.insert(id.clone(), now + c.shutting_down);
                }
            }
        }
        _ => {}
    }
}

/// The text of every `<tag>` element in `xml` (no nesting of the same tag).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open).skip(1).filter_map(|rest| rest.split_once(&close).map(|(v, _)| v.to_string())).collect()
}

/// Whether this call meets something not ready yet.
fn pick_consistency(shared: &mut Shared, p: &Parsed) -> Option<Fault> {
    let now = Instant::now();
    let young = |map: &HashMap<String, Instant>, name: &str| map.get(name).is_some_and(|t| now < *t);
    let table = p.json.as_ref().and_then(|j| j["TableName"].as_str());
    let busy = |t: Option<&str>| t.is_some_and(|t| shared.table_busy.get(t).is_some_and(|(until, _)| now < *until));
    let profile = || {
        p.form
            .get("IamInstanceProfile.Name")
            .cloned()
            .or_else(|| p.form.get("IamInstanceProfile.Arn").and_then(|a| a.rsplit('/').next()).map(String::from))
    };
    let hit = match p.operation.as_str() {
        // Deletes are left alone: a delete that believed the bucket gone
        // would make an orphan of the emulation's own making.
        "CreateBucket" | "DeleteBucket" | "ListBuckets" => false,
        _ if p.service == "s3" => p.bucket.as_deref().is_some_and(|b| young(&shared.bucket_ready, b)),
        "DescribeTable" | "UpdateTable" | "DeleteTable" => busy(table),
        "RunInstances" | "AssociateIamInstanceProfile" | "ReplaceIamInstanceProfileAssociation" => {
            profile().is_some_and(|name| young(&shared.profile_ready, &name))
        }
        "DeleteSecurityGroup" => p.form.get("GroupId").is_some_and(|group| {
            shared.shutting_down.iter().any(|(instance, until)| {
                now < *until && shared.instance_groups.get(instance).is_some_and(|g| g.contains(group))
            })
        }),
        _ => false,
    };
    hit.then_some(Fault::Consistency)
}

async fn consistency_response(ctx: &Ctx, p: &Parsed, request: Message) -> Option<Message> {
    match p.operation.as_str() {
        "DescribeTable" => {
            // The table exists; it is just not ready.
            let name = p.json.as_ref().and_then(|j| j["TableName"].as_str()).unwrap_or_default().to_string();
            let status = ctx.shared.lock().unwrap().table_busy.get(&name).map(|(_, s)| *s).unwrap_or("CREATING");
            let mut response = forward(ctx.upstream, &request).await?;
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&response.body) {
                if let Some(table) = json.get_mut("Table") {
                    table["TableStatus"] = status.into();
                }
                response.body = serde_json::to_vec(&json).unwrap_or_default();
            }
            Some(response)
        }
        "UpdateTable" | "DeleteTable" => {
            let name = p.json.as_ref().and_then(|j| j["TableName"].as_str()).unwrap_or_default().to_string();
            let status = ctx.shared.lock().unwrap().table_busy.get(&name).map(|(_, s)| *s).unwrap_or("CREATING");
            let message = format!(
                "Attempt to change a resource which is still in use: Table is being {}: {name}",
                if status == "CREATING" { "created" } else { "updated" }
            );
            Some(json_error(400, "ResourceInUseException", &message))
        }
        "RunInstances" | "AssociateIamInstanceProfile" | "ReplaceIamInstanceProfileAssociation" => {
            let name = p.form.get("IamInstanceProfile.Name").cloned().unwrap_or_default();
            Some(xml_error(
                400,
                "Response",
                "InvalidParameterValue",
                &format!("Value ({name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"),
            ))
        }
        "DeleteSecurityGroup" => {
            let group = p.form.get("GroupId").cloned().unwrap_or_default();
            Some(xml_error(400, "Response", "DependencyViolation", &format!("resource {group} has a dependent object")))
        }
        _ => {
            let bucket = p.bucket.clone().unwrap_or_default();
            let mut m = xml_error(404, "Error", "NoSuchBucket", "The specified bucket does not exist");
            m.body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>{bucket}</BucketName><RequestId>fault-proxy</RequestId></Error>"
            )
            .into_bytes();
            Some(m)
        }
    }
}

/// A DescribeInstances answer shows instances terminated less than the
/// shutting-down time ago as `shutting-down` (moto ends them at once).
/// Returns whether it changed anything.
fn show_shutting_down(shared: &Shared, p: &Parsed, response: &mut Message) -> bool {
    if p.operation != "DescribeInstances" || status_of(response) != 200 {
        return false;
    }
    let now = Instant::now();
    let mut body = String::from_utf8_lossy(&response.body).into_owned();
    let mut changed = false;
    for (id, until) in &shared.shutting_down {
        if now >= *until {
            continue;
        }
        let marker = format!("<instanceId>{id}</instanceId>");
        let Some(at) = body.find(&marker) else { continue };
        let Some(state_at) = body[at..].find("<instanceState>").map(|i| at + i) else { continue };
        let Some(state_end) =
            body[state_at..].find("</instanceState>").map(|i| state_at + i + "</instanceState>".len())
        else {
            continue;
        };
        if body[state_at..state_end].contains("terminated") {
            body.replace_range(
                state_at..state_end,
                "<instanceState><code>32</code><name>shutting-down</name></instanceState>",
            );
            changed = true;
        }
    }
    if changed {
        response.body = body.into_bytes();
    }
    changed
}

fn is_json_protocol(p: &Parsed) -> bool {
    p.json.is_some() || matches!(p.service.as_str(), "ssm" | "dynamodb" | "tagging" | "ecr")
}

/// A plain server error, in the service's protocol shape.
fn error_response(p: &Parsed, status: u16) -> Message {
    let (code, message) = if status == 503 {
        ("ServiceUnavailable", "Service is unavailable")
    } else {
        ("InternalFailure", "We encountered an internal error")
    };
    if is_json_protocol(p) {
        json_error(status, code, message)
    } else if p.service == "ec2" {
        xml_error(status, "Response", if status == 503 { "Unavailable" } else { "InternalError" }, message)
    } else if p.service == "s3" {
        xml_error(status, "Error", if status == 503 { "ServiceUnavailable" } else { "InternalError" }, message)
    } else {
        xml_error(status, "ErrorResponse", code, message)
    }
}

/// Each protocol's throttling error: JSON `__type` ThrottlingException;
/// query `<Code>Throttling</Code>`; EC2 RequestLimitExceeded; S3 SlowDown.
fn throttling_response(p: &Parsed) -> Message {
    if is_json_protocol(p) {
        json_error(400, "ThrottlingException", "Rate exceeded")
    } else if p.service == "ec2" {
        xml_error(503, "Response", "RequestLimitExceeded", "Request limit exceeded.")
    } else if p.service == "s3" {
        xml_error(503, "Error", "SlowDown", "Please reduce your request rate.")
    } else {
        xml_error(400, "ErrorResponse", "Throttling", "Rate exceeded")
    }
}

fn json_error(status: u16, code: &str, message: &str) -> Message {
    Message {
        start: format!("HTTP/1.1 {status} {}", reason(status)),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ("x-amzn-RequestId".into(), "fault-proxy".into()),
            ("x-amzn-ErrorType".into(), code.into()),
        ],
        body: serde_json::json!({"__type": code, "message": message}).to_string().into_bytes(),
    }
}

/// `root` is the protocol's envelope: `ErrorResponse` (query), `Response`
/// (EC2) or `Error` (S3).
fn xml_error(status: u16, root: &str, code: &str, message: &str) -> Message {
    let body = match root {
        "Response" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
        ),
        "Error" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
        ),
        _ => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        ),
    };
    Message {
        start: format!("HTTP/1.1 {status} {}", reason(status)),
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: body.into_bytes(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_operations_are_named() {
        assert_eq!(s3_operation("PUT", 1, ""), "CreateBucket");
        assert_eq!(s3_operation("PUT", 1, "tagging"), "PutBucketTagging");
        assert_eq!(s3_operation("GET", 1, "versioning"), "GetBucketVersioning");
        assert_eq!(s3_operation("PUT", 2, ""), "PutObject");
    }

    #[test]
    fn forms_are_decoded() {
        let f = parse_form("Action=RunInstances&IamInstanceProfile.Name=app%2Fx&Foo=a+b");
        assert_eq!(f["Action"], "RunInstances");
        assert_eq!(f["IamInstanceProfile.Name"], "app/x");
        assert_eq!(f["Foo"], "a b");
    }

    #[test]
    fn the_first_creates_always_lose_their_answer() {
        let mut shared = Shared::new(Schedule { lost_creates: 2, ..Schedule::default() });
        assert_eq!(shared.pick(Kind::Create), Some(Fault::LostResponse));
        assert_eq!(shared.pick(Kind::Read), None);
        assert_eq!(shared.pick(Kind::Create), Some(Fault::LostResponse));
        assert_eq!(shared.pick(Kind::Create), None);
    }

    #[test]
    fn writes_are_told_from_creates_and_reads() {
        for op in [
            "AuthorizeSecurityGroupIngress",
            "PutRolePolicy",
            "TagResource",
            "UpdateTable",
            "DeleteParameter",
            "CreateTags",
        ] {
            assert!(is_write(op), "{op}");
        }
        for op in ["PutParameter", "DescribeTable", "GetBucketTagging", "ListRoles", "PutObject", "Deleted"] {
            assert!(!is_write(op), "{op}");
        }
    }
}
