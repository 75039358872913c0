//! A fault-injecting HTTP proxy in front of the emulator, on its own loopback port: it counts requests
//! per service and operation, and at a set rate answers with a 5xx, answers with the service's own
//! throttling error, adds latency, drops the connection before forwarding, or forwards the request and
//! then cuts the reply (the change is made, the client never hears of it).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rates are per request, between 0 and 1; at most one fault hits a request.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub server_error: f64,
    pub throttle: f64,
    /// Close the connection without forwarding.
    pub drop: f64,
    /// Forward, then close without replying.
    pub lose_response: f64,
    /// Added before forwarding every request.
    pub latency: Duration,
}

impl Faults {
    /// `rate` spread evenly over the four kinds of fault.
    pub fn mixed(rate: f64) -> Faults {
        let each = rate / 4.0;
        Faults {
            server_error: each,
            throttle: each,
            drop: each,
            lose_response: each,
            latency: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Shared {
    faults: Mutex<Faults>,
    /// (service, operation) → requests that reached the proxy.
    counts: Mutex<BTreeMap<(String, String), u64>>,
    /// Fault kind → how many were injected.
    injected: Mutex<BTreeMap<&'static str, u64>>,
    /// How long each forwarded request took the emulator (connect, request, whole reply).
    upstream: Mutex<Vec<Duration>>,
    /// Forward one request at a time, so each round trip is the emulator's unloaded latency (benches/).
    serial: std::sync::atomic::AtomicBool,
    gate: Mutex<()>,
    rng: AtomicU64,
}

pub struct Proxy {
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Start on a free loopback port, forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, faults: Faults, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let shared = Arc::new(Shared {
            faults: Mutex::new(faults),
            rng: AtomicU64::new(seed.max(1)),
            ..Shared::default()
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, up) = (s.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &up, &s);
                });
            }
        });
        Proxy { endpoint, shared }
    }

    pub fn set_faults(&self, f: Faults) {
        *self.shared.faults.lock().unwrap() = f;
    }

    /// Requests per (service, operation) since the start or the last reset.
    pub fn counts(&self) -> BTreeMap<(String, String), u64> {
        self.shared.counts.lock().unwrap().clone()
    }

    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.shared.injected.lock().unwrap().clone()
    }

    /// The emulator's own time per forwarded request since the start or the last reset (benches/).
    #[allow(dead_code)]
    pub fn upstream_latencies(&self) -> Vec<Duration> {
        self.shared.upstream.lock().unwrap().clone()
    }

    /// One request at a time to the emulator (the others wait in the proxy, untimed), or not.
    #[allow(dead_code)]
    pub fn set_serial(&self, on: bool) {
        self.shared.serial.store(on, Ordering::SeqCst);
    }

    pub fn reset_counts(&self) {
        self.shared.counts.lock().unwrap().clear();
        self.shared.injected.lock().unwrap().clear();
        self.shared.upstream.lock().unwrap().clear();
    }
}

impl Shared {
    /// xorshift64*: reproducible from the seed, no dependency.
    fn roll(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y >> 12;
            y ^= y << 25;
            y ^= y >> 27;
            match self
                .rng
                .compare_exchange(x, y, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    return (y.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64;
                }
                Err(now) => x = now,
            }
        }
    }

    fn inject(&self, kind: &'static str) {
        *self.injected.lock().unwrap().entry(kind).or_default() += 1;
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn service(&self) -> String {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or("unknown")
            .to_owned()
    }

    fn operation(&self) -> String {
        if let Some(t) = self.header("x-amz-target") {
            return t.rsplit('.').next().unwrap_or(t).to_owned();
        }
        let body = String::from_utf8_lossy(&self.body);
        if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            return action.to_owned();
        }
        // REST APIs: the method, the path's first segment kind, and the query's keys.
        let target = self.head.split(' ').nth(1).unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let depth = path.split('/').filter(|s| !s.is_empty()).count();
        let mut keys: Vec<&str> = query
            .split('&')
            .filter(|q| !q.is_empty())
            .map(|q| q.split('=').next().unwrap_or(q))
            .collect();
        keys.sort_unstable();
        let method = self.head.split(' ').next().unwrap_or("?");
        format!(
            "{method} /{depth}{}",
            if keys.is_empty() {
                String::new()
            } else {
                format!("?{}", keys.join("&"))
            }
        )
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            break;
        }
    }
    let req = Request {
        head,
        body: Vec::new(),
    };
    let mut body = Vec::new();
    if req
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = req.header("content-length").and_then(|n| n.parse().ok()) {
        body = vec![0; n];
        r.read_exact(&mut body)?;
    }
    Ok(Some(Request { body, ..req }))
}

fn serve(client: TcpStream, upstream: &str, s: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    let Some(req) = read_request(&mut reader)? else {
        return Ok(());
    };
    *s.counts
        .lock()
        .unwrap()
        .entry((req.service(), req.operation()))
        .or_default() += 1;
    let f = s.faults.lock().unwrap().clone();
    if !f.latency.is_zero() {
        std::thread::sleep(f.latency);
    }
    let roll = s.roll();
    let mut edge = f.server_error;
    if roll < edge {
        s.inject("server_error");
        return respond(
            &mut client,
            500,
            "text/plain",
            &[],
            b"injected internal error",
        );
    }
    edge += f.throttle;
    if roll < edge {
        s.inject("throttle");
        return throttle(&mut client, &req);
    }
    edge += f.drop;
    if roll < edge {
        s.inject("drop");
        return client.shutdown(Shutdown::Both);
    }
    let turn = s
        .serial
        .load(Ordering::SeqCst)
        .then(|| s.gate.lock().unwrap());
    let started = std::time::Instant::now();
    let reply = forward(&req, upstream)?;
    s.upstream.lock().unwrap().push(started.elapsed());
    drop(turn);
    edge += f.lose_response;
    if roll < edge {
        s.inject("lose_response");
        return client.shutdown(Shutdown::Both);
    }
    client.write_all(&reply)?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}

/// One request to the emulator on a fresh connection; the whole reply, with `Connection: close`.
fn forward(req: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = String::new();
    for (i, line) in req.head.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if line.is_empty()
            || (i > 0
                && (lower.starts_with("connection:") || lower.starts_with("transfer-encoding:")))
        {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    if req.header("content-length").is_none() {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut reply = Vec::new();
    up.read_to_end(&mut reply)?;
    // Tell the client this connection ends here.
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let head = String::from_utf8_lossy(&reply[..split]);
    let mut out = String::new();
    for line in head.lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reply[split.min(reply.len())..]);
    Ok(bytes)
}

fn respond(
    c: &mut TcpStream,
    status: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: injected\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes())?;
    c.write_all(body)?;
    c.flush()?;
    c.shutdown(Shutdown::Both)
}

/// The throttling error each protocol's SDK recognizes as such.
fn throttle(c: &mut TcpStream, req: &Request) -> std::io::Result<()> {
    let service = req.service();
    if req.header("x-amz-target").is_some() {
        let ct = req
            .header("content-type")
            .unwrap_or("application/x-amz-json-1.1")
            .to_owned();
        return respond(
            c,
            400,
            &ct,
            &[],
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        );
    }
    match service.as_str() {
        "s3" => respond(
            c,
            503,
            "application/xml",
            &[],
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ),
        "ec2" => respond(
            c,
            503,
            "text/xml",
            &[],
            b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>injected</RequestID></Response>",
        ),
        _ if req
            .header("content-type")
            .is_some_and(|t| t.contains("x-www-form-urlencoded"))
            || matches!(service.as_str(), "route53" | "cloudfront") =>
        {
            respond(
                c,
                400,
                "text/xml",
                &[],
                b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>injected</RequestId></ErrorResponse>",
            )
        }
        _ => respond(
            c,
            429,
            "application/json",
            &[("x-amzn-ErrorType", "TooManyRequestsException")],
            br#"{"message":"Too Many Requests"}"#,
        ),
    }
}
