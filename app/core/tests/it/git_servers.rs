//! Real git servers on loopback for the builder's tests of private repositories:
//! Debian's `sshd` with one authorized key, and git's own smart-HTTP CGI
//! (`git http-backend`) behind a small HTTP server that asks for a token.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A free loopback port (the listener is closed before the server binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `sshd` on a loopback port, serving this machine's paths to the one key in its
/// `authorized_keys` (as root: the tests run as root, like the hub's sandbox).
pub struct Sshd {
    pub port: u16,
    dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

fn new_host_key(dir: &Path) {
    let host_key = dir.join("host_ed25519");
    for f in ["host_ed25519", "host_ed25519.pub"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

impl Sshd {
    pub async fn start(authorized_key: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        new_host_key(dir.path());
        Self::start_with(dir, free_port(), authorized_key).await
    }

    async fn start_with(dir: tempfile::TempDir, port: u16, authorized_key: &str) -> Self {
        std::fs::write(dir.path().join("authorized_keys"), format!("{authorized_key}\n")).expect("keys");
        std::fs::create_dir_all("/run/sshd").expect("privilege separation directory");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowUsers root\n",
            dir.path().join("host_ed25519").display(),
            dir.path().join("authorized_keys").display(),
        );
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).expect("config");
        let mut child = tokio::process::Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sshd (Debian's openssh-server) starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        loop {
            let line = lines.next_line().await.expect("read").expect("sshd said it listens before it ended");
            if line.contains("Server listening on") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { port, dir, _child: child }
    }

    /// Makes `key` the one key the server lets in (it reads the file at each login).
    pub fn authorize(&self, key: &str) {
        std::fs::write(self.dir.path().join("authorized_keys"), format!("{key}\n")).expect("keys");
    }

    /// The host's public key as a `known_hosts` line for this port.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.dir.path().join("host_ed25519.pub")).expect("host key");
        let mut fields = public.split_whitespace();
        let (kind, key) = (fields.next().expect("type"), fields.next().expect("key"));
        format!("[127.0.0.1]:{} {kind} {key}", self.port)
    }

    /// The same server on the same port with a new host key (as after a host's
    /// reinstall, or a machine in the middle).
    pub async fn with_new_host_key(self, authorized_key: &str) -> Self {
        let Self { port, dir, _child: mut child } = self;
        child.kill().await.expect("stop sshd");
        let _ = child.wait().await;
        new_host_key(dir.path());
        Self::start_with(dir, port, authorized_key).await
    }
}

/// git's smart-HTTP server (`git http-backend`, a CGI program) for the repositories
/// under `root`, answering 401 unless the request carries `user:token` in Basic auth.
pub struct GitHttp {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GitHttp {
    pub async fn start(root: &Path, user: &str, token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        use base64::Engine as _;
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")));
        let root = root.to_path_buf();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (root, expected) = (root.clone(), expected.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &root, &expected).await;
                });
            }
        });
        Self { port, task }
    }
}

/// One request (the connection is closed after it).
async fn serve(stream: TcpStream, root: &Path, expected: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).await?;
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let mut stream = reader.into_inner();
    if header("authorization").as_deref() != Some(expected) {
        let answer = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return stream.write_all(answer.as_bytes()).await;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = tokio::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &method)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", "test")
        .env("GIT_PROTOCOL", header("git-protocol").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = cgi.stdin.take().expect("stdin");
    let write = async move {
        let _ = stdin.write_all(&body).await;
    };
    let (_, out) = tokio::join!(write, cgi.wait_with_output());
    let out = out?.stdout;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, rest) = match split {
        Some((i, n)) => (String::from_utf8_lossy(&out[..i]).into_owned(), &out[i + n..]),
        None => (String::new(), &out[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut answer = String::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_owned(),
            Some(_) => answer.push_str(&format!("{line}\r\n")),
            None => {}
        }
    }
    let head = format!("HTTP/1.1 {status}\r\n{answer}Content-Length: {}\r\nConnection: close\r\n\r\n", rest.len());
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(rest).await
}
