use std::process::Command;

/// Runs the server binary with `vars` and returns its exit code and stderr.
fn start_with(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.current_dir(dir.path()).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("HUB_DATA_DIR", dir.path().join("data"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_one_clear_line(stderr: &str, needle: &str) {
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_address_stops_the_start_with_one_line() {
    let (code, stderr) = start_with(&[("HUB_ADDR", "not-an-address")]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "HUB_ADDR");
}

#[test]
fn an_unusable_data_directory_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where the directory should be: not even root can write into it.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("write");
    let bad = file.join("data");
    let (code, stderr) = start_with(&[("HUB_DATA_DIR", bad.to_str().expect("utf-8"))]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "data directory");
}

#[test]
fn a_malformed_secret_key_stops_the_start_with_one_line() {
    let (code, stderr) = start_with(&[("HUB_SECRET_KEY", "too-short")]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "HUB_SECRET_KEY");
}

#[test]
fn a_broken_connector_file_stops_the_start_with_its_path_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yaml"), "name: good\ndisplay_name: Good\nauth: none\n").expect("write");
    std::fs::write(dir.path().join("broken.yaml"), "name: broken\ndisplay_name: Broken\nauth: magic\n").expect("write");
    let (code, stderr) = start_with(&[("HUB_CONNECTORS_DIR", dir.path().to_str().expect("utf-8"))]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "broken.yaml:3:7: auth: unknown variant `magic`");
}
