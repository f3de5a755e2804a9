//! What a run's output becomes: stderr the stored log (masked, capped, in pieces as it
//! arrives), stdout only its last non-empty line (the context for the next run).
//! Both take raw bytes: a program may print anything, valid UTF-8 or not.

/// The most log a run keeps; the rest is counted and cut with a marker.
pub const LOG_CAP: usize = 10 * 1024 * 1024;

/// A line longer than this is stored in parts, so one endless line cannot hold
/// memory.
const LINE_PART: usize = 64 * 1024;

/// The longest stdout line kept as a candidate for the context.
const CONTEXT_MAX: usize = 1024 * 1024;

/// What a secret is replaced with in the log.
pub const MASK: &str = "********";

/// Secrets shorter than this are not masked: masking every `1` or `ok` in a log would
/// destroy it while hiding nothing.
const MASK_MIN: usize = 4;

/// The log of one run, built from stderr bytes.
pub struct Log {
    secrets: Vec<String>,
    longest: usize,
    cap: usize,
    /// Bytes since the last newline.
    line: Vec<u8>,
    /// Masked text not yet taken for storage.
    ready: String,
    kept: usize,
    dropped: u64,
}

impl Log {
    pub fn new(secrets: impl IntoIterator<Item = String>, cap: usize) -> Self {
        let secrets = maskable(secrets);
        let longest = secrets.first().map_or(0, String::len);
        Self { secrets, longest, cap, line: Vec::new(), ready: String::new(), kept: 0, dropped: 0 }
    }

    /// Takes in output as it arrives.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.is_cut() {
            self.dropped += bytes.len() as u64;
            return;
        }
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&bytes[..=pos]);
            bytes = &bytes[pos + 1..];
            let line = std::mem::take(&mut self.line);
            self.emit(&line);
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > LINE_PART {
            // Mask what is whole first, then keep back enough of the end that a secret
            // still arriving is masked whole with what follows, and do not split a
            // UTF-8 sequence.
            for s in &self.secrets {
                self.line = replace_bytes(&self.line, s.as_bytes(), MASK.as_bytes());
            }
            let mut at = self.line.len() - self.longest.saturating_sub(1);
            while at > 0 && at < self.line.len() && (self.line[at] & 0b1100_0000) == 0b1000_0000 {
                at -= 1;
            }
            let rest = self.line.split_off(at);
            let part = std::mem::replace(&mut self.line, rest);
            self.emit(&part);
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        if self.is_cut() {
            self.dropped += bytes.len() as u64;
            return;
        }
        let mut text = masked(String::from_utf8_lossy(bytes).into_owned(), &self.secrets);
        let room = self.cap - self.kept;
        if text.len() > room {
            let mut at = room;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            self.dropped += (text.len() - at) as u64;
            text.truncate(at);
            self.kept = self.cap;
        } else {
            self.kept += text.len();
        }
        self.ready.push_str(&text);
    }

    /// Whether the cap was reached.
    pub fn is_cut(&self) -> bool {
        self.kept >= self.cap
    }

    /// Bytes of output not kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// How much masked text waits to be stored.
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// Masked text waiting to be stored, if any.
    pub fn take(&mut self) -> Option<String> {
        (!self.ready.is_empty()).then(|| std::mem::take(&mut self.ready))
    }

    /// Ends the log: the unfinished last line, and a marker when output was cut.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.emit(&line);
        }
        if self.dropped > 0 {
            self.ready.push_str(&format!(
                "\n[The log was cut here: it reached {} MB, and the {} bytes after that were not kept.]\n",
                self.cap / (1024 * 1024),
                self.dropped
            ));
        }
        self.take()
    }
}

/// The secrets as masked: long enough to matter, longest first (so a secret that
/// contains another is masked whole), and a secret of several lines also line by line,
/// since the log is masked a line at a time.
fn maskable(secrets: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        if s.contains('\n') {
            out.extend(s.lines().map(|l| l.trim_end_matches('\r').to_owned()));
        }
        out.push(s);
    }
    out.retain(|s| s.len() >= MASK_MIN);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// `text` with every secret replaced by [`MASK`], for showing what a program printed
/// (its stdout context) outside the log.
pub fn mask(text: &str, secrets: impl IntoIterator<Item = String>) -> String {
    masked(text.to_owned(), &maskable(secrets))
}

/// `text` with each of `secrets` (as [`maskable`] orders them) replaced by [`MASK`].
fn masked(mut text: String, secrets: &[String]) -> String {
    for s in secrets {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), MASK);
        }
    }
    text
}

/// The last non-empty line of stdout.
#[derive(Default)]
pub struct Tail {
    line: Vec<u8>,
    overlong: bool,
    last: Option<Vec<u8>>,
}

impl Tail {
    pub fn push(&mut self, mut bytes: &[u8]) {
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.add(&bytes[..pos]);
            self.end_line();
            bytes = &bytes[pos + 1..];
        }
        self.add(bytes);
    }

    fn add(&mut self, bytes: &[u8]) {
        if self.overlong || self.line.len() + bytes.len() > CONTEXT_MAX {
            self.overlong = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if self.overlong {
            // Too long to be a context: it still counts as the last line.
            self.last = Some(Vec::new());
        } else if line.iter().any(|b| !b.is_ascii_whitespace()) {
            self.last = Some(line);
        }
        self.overlong = false;
    }

    /// The last non-empty line, lossily decoded.
    pub fn finish(mut self) -> Option<String> {
        if self.overlong || !self.line.is_empty() {
            self.end_line();
        }
        self.last.map(|l| String::from_utf8_lossy(&l).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_even_split_across_pushes() {
        let mut log = Log::new(["s3cr3t-token".to_owned(), "ab".to_owned()], LOG_CAP);
        log.push(b"token is s3cr3");
        log.push(b"t-token, ab\n");
        assert_eq!(log.finish().as_deref(), Some("token is ********, ab\n"));
    }

    #[test]
    fn masks_a_secret_across_the_boundary_of_a_long_line() {
        let secret = "s3cr3t-across-the-boundary";
        for split in 0..=secret.len() {
            for pad in [LINE_PART - 30, LINE_PART - 5, LINE_PART, LINE_PART + 1, LINE_PART + 7] {
                let mut log = Log::new([secret.to_owned()], LOG_CAP);
                let mut first = vec![b'x'; pad];
                first.extend_from_slice(&secret.as_bytes()[..split]);
                log.push(&first);
                log.push(format!("{} and more\n", &secret[split..]).as_bytes());
                let text = log.finish().unwrap_or_default();
                assert!(!text.contains("s3cr3t") && !text.contains("boundary"), "split {split}, pad {pad}");
                assert!(text.contains(MASK), "split {split}, pad {pad}");
            }
        }
    }

    #[test]
    fn masks_a_secret_of_several_lines() {
        let key = "-----BEGIN KEY-----\nMIIEsecretpart1\nsecretpart2==\n-----END KEY-----".to_owned();
        let mut log = Log::new([key.clone()], LOG_CAP);
        log.push(format!("key: {key}\n").as_bytes());
        let text = log.finish().unwrap_or_default();
        assert!(!text.contains("secretpart"), "{text}");
        assert!(!mask(&format!("{{\"k\": \"{key}\"}}"), [key]).contains("secretpart"));
    }

    #[test]
    fn cuts_at_the_cap_with_a_marker() {
        let mut log = Log::new([], 10);
        log.push(b"0123456789abcdef\nmore\n");
        let text = log.finish().unwrap_or_default();
        assert!(text.starts_with("0123456789\n[The log was cut here"), "{text}");
        assert!(text.contains("the 12 bytes after that"), "{text}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let mut log = Log::new([], LOG_CAP);
        log.push(b"caf\xe9\n");
        assert_eq!(log.finish().as_deref(), Some("caf\u{fffd}\n"));
    }

    #[test]
    fn a_long_line_is_stored_in_parts() {
        let mut log = Log::new([], LOG_CAP);
        log.push(&vec![b'x'; LINE_PART + 10]);
        assert_eq!(log.take().map(|t| t.len()), Some(LINE_PART + 10));
    }

    #[test]
    fn the_tail_is_the_last_non_empty_line() {
        let mut tail = Tail::default();
        tail.push(b"one\n{\"a\":");
        tail.push(b"1}\n\n  \n");
        assert_eq!(tail.finish().as_deref(), Some("{\"a\":1}"));
        let mut tail = Tail::default();
        tail.push(b"first\nno newline");
        assert_eq!(tail.finish().as_deref(), Some("no newline"));
    }
}
