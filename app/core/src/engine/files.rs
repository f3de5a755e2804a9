//! Reading files that integration code wrote or chose: a checkout's PANDIUM.yaml, a
//! run's metadata file. Never through a symbolic link, only regular files, and never
//! more than a cap, so a link to the hub's key or to `/dev/zero` reads nothing.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::fcntl::{open, openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, Mode, SFlag};

/// Why a file was not read, in words for the person who wrote it.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    Missing,
    Link,
    NotRegular,
    TooLarge(u64),
    NotText,
    Outside,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("is missing"),
            Self::Link => f.write_str("is a symbolic link (or lies behind one); the hub reads only regular files"),
            Self::NotRegular => f.write_str("is not a regular file"),
            Self::TooLarge(cap) => write!(f, "is larger than {} KB", cap / 1024),
            Self::NotText => f.write_str("is not UTF-8 text"),
            Self::Outside => f.write_str("is outside the repository"),
        }
    }
}

fn flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK
}

fn classify(e: nix::Error) -> ReadError {
    match e {
        nix::Error::ENOENT | nix::Error::ENOTDIR => ReadError::Missing,
        // O_NOFOLLOW on a link: ELOOP; O_DIRECTORY on one: ENOTDIR was taken above.
        nix::Error::ELOOP => ReadError::Link,
        _ => ReadError::NotRegular,
    }
}

/// Reads `relative` under `root`, following no symbolic link on the way, up to `cap`
/// bytes.
pub fn read_beneath(root: &Path, relative: &str, cap: u64) -> Result<String, ReadError> {
    let parts: Vec<_> = Path::new(relative).components().collect();
    if parts.iter().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(ReadError::Outside);
    }
    let Some((last, dirs)) = parts.split_last() else { return Err(ReadError::Missing) };
    let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir: OwnedFd = open(root, dir_flags, Mode::empty()).map_err(classify)?;
    for d in dirs {
        dir = match openat(&dir, d.as_os_str(), dir_flags, Mode::empty()) {
            Ok(next) => next,
            // A link where a directory should be answers ENOTDIR, like a file does.
            Err(nix::Error::ENOTDIR) if is_link(&dir, d.as_os_str()) => return Err(ReadError::Link),
            Err(e) => return Err(classify(e)),
        };
    }
    let file = openat(&dir, last.as_os_str(), flags(), Mode::empty()).map_err(classify)?;
    read_open(file, cap)
}

/// Reads the file at `path` (its last component not a link), up to `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    let file = open(path, flags(), Mode::empty()).map_err(classify)?;
    read_open(file, cap)
}

fn is_link(dir: &OwnedFd, name: &std::ffi::OsStr) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

fn read_open(fd: OwnedFd, cap: u64) -> Result<String, ReadError> {
    let stat = fstat(&fd).map_err(|_| ReadError::NotRegular)?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(ReadError::NotRegular);
    }
    if u64::try_from(stat.st_size).unwrap_or(u64::MAX) > cap {
        return Err(ReadError::TooLarge(cap));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd).take(cap + 1).read_to_end(&mut bytes).map_err(|_| ReadError::NotRegular)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// A parser's message without the values it quotes from the file (`"…"`): a file
/// that is really a key or a password must not come back in an error.
pub fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        match rest[start + 1..].find('"') {
            Some(end) => {
                out.push_str("(a value)");
                rest = &rest[start + 1 + end + 1..];
            }
            None => {
                out.push_str("(a value)");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_left_out() {
        let m = r#"line 1, column 1: invalid type: string "c2VjcmV0", expected struct RawManifest"#;
        assert_eq!(
            without_quoted_values(m),
            "line 1, column 1: invalid type: string (a value), expected struct RawManifest"
        );
        assert_eq!(without_quoted_values(r#"a "b"#), "a (a value)");
    }

    #[test]
    fn links_devices_large_files_and_escapes_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("ok.yaml"), "x: 1").expect("write");
        std::fs::write(root.join("big"), vec![b'a'; 2048]).expect("write");
        std::fs::create_dir(root.join("sub")).expect("dir");
        std::os::unix::fs::symlink(root.join("ok.yaml"), root.join("link")).expect("link");
        std::os::unix::fs::symlink(root, root.join("sub/up")).expect("link");
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).expect("link");
        assert_eq!(read_beneath(root, "ok.yaml", 1024).as_deref(), Ok("x: 1"));
        assert_eq!(read_beneath(root, "link", 1024), Err(ReadError::Link));
        assert_eq!(read_beneath(root, "sub/up/ok.yaml", 1024), Err(ReadError::Link));
        assert_eq!(read_beneath(root, "zero", 1024), Err(ReadError::Link));
        assert_eq!(read_beneath(root, "../ok.yaml", 1024), Err(ReadError::Outside));
        assert_eq!(read_beneath(root, "big", 1024), Err(ReadError::TooLarge(1024)));
        assert_eq!(read_beneath(root, "missing", 1024), Err(ReadError::Missing));
        assert_eq!(read_beneath(root, "sub", 1024), Err(ReadError::NotRegular));
        assert_eq!(read_capped(Path::new("/dev/zero"), 1024), Err(ReadError::NotRegular));
        assert_eq!(read_capped(&root.join("link"), 1024), Err(ReadError::Link));
    }
}
