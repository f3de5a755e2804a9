#![allow(dead_code, reason = "each program uses a part of it")]

//! What the test programs beside share: starting the real binary on a loopback port and
//! a small HTTP/1.1 client (one connection a request, as a browser's first visit).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `--name value` pairs from the command line.
pub fn flags() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        out.push((flag, it.next().unwrap_or_default()));
    }
    out
}

/// The hub binary named by `path`, resolved before the hub runs in another directory.
pub fn binary(path: &str) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e} (build it first)"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts the hub with its data in `dir/data` and `vars`, its output appended to
/// `dir/hub.log`, and waits until it answers `/healthz`.
pub async fn start(binary: &Path, dir: &Path, port: u16, vars: &[(&str, &str)]) -> Child {
    let connectors = dir.join("connectors");
    std::fs::create_dir_all(&connectors).expect("connectors");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("hub.log")).expect("log");
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HUB_DATA_DIR", dir.join("data"))
        .env("HUB_CONNECTORS_DIR", &connectors)
        .env("HUB_ADDR", format!("127.0.0.1:{port}"))
        .env("HUB_SANDBOX", std::env::var("HUB_SANDBOX").unwrap_or_else(|_| "on".to_owned()));
    // The caller's log filter, to see (say) each statement's time with `sqlx=debug`.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
    for _ in 0..1500 {
        if matches!(http(port, "GET", "/healthz", &[], "").await, Some(a) if a.status == 200) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(20).collect();
    panic!(
        "the hub did not answer /healthz within 30 s; it said:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// One HTTP/1.1 request on its own connection; `None` when the hub could not be
/// reached, or did not answer in full within 30 s.
pub async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Option<Answer> {
    let connect = TcpStream::connect(("127.0.0.1", port));
    let mut s = tokio::time::timeout(Duration::from_secs(2), connect).await.ok()?.ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut answer)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Answer { status, head: head.to_owned(), body: body.to_owned() })
}

/// A file fetched `n` times, one request after another over one kept-alive
/// connection: milliseconds of each. `None` when an answer is not a whole 200.
pub async fn kept_alive(port: u16, path: &str, n: usize) -> Option<Vec<f64>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut times = Vec::with_capacity(n);
    let mut buf = Vec::new();
    for _ in 0..n {
        let started = std::time::Instant::now();
        s.write_all(request.as_bytes()).await.ok()?;
        // The head, then as many bytes as it announces.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 16 * 1024];
            let got = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await.ok()?.ok()?;
            if got == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..got]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        if !head.starts_with("http/1.1 200") {
            return None;
        }
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:"))?.trim().parse().ok()?;
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 16 * 1024];
            let got = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await.ok()?.ok()?;
            if got == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..got]);
        }
        buf.drain(..head_end + length);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Some(times)
}
