//! The size budget of the browser's code. Every page is a lazily loaded route; a first
//! visit to it loads the main module, the JS glue, the split loader, and the route's own
//! module with the chunks it shares with other routes. This program adds those files up
//! (each compressed on its own with gzip -9, file by file as they are fetched; browsers
//! that accept brotli get the smaller `.br` twins) for every route of a split release
//! build, prints the table, and exits 1 when a route is over budget.
//!
//! ```text
//! cargo leptos build --release --split --precompress
//! cargo run -p server --example wasm_budget -- --site target/site --budget-kb 750
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

mod common;

/// The budget CI holds every route to, in KB of gzip (1 KB = 1,000 bytes): just above
/// the largest route today, so that no route grows unnoticed. The aim is 350 KB.
const DEFAULT_BUDGET_KB: u64 = 750;

fn main() {
    let (mut site, mut budget_kb) = (PathBuf::from("target/site"), DEFAULT_BUDGET_KB);
    for (flag, value) in common::flags() {
        match flag.as_str() {
            "--site" => site = PathBuf::from(value),
            "--budget-kb" => budget_kb = value.parse().expect("--budget-kb N"),
            other => panic!("unknown flag {other}"),
        }
    }
    let pkg = Pkg::read(&site.join("pkg"));
    let manifest_name = pkg.find("__wasm_split_manifest", "json").unwrap_or_else(|| {
        eprintln!("no split manifest in {}: build with `cargo leptos build --release --split`", pkg.dir.display());
        std::process::exit(1)
    });
    let manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(pkg.dir.join(&manifest_name)).expect("manifest"))
            .expect("the split manifest is a map of route to files");

    let main_files: Vec<String> = [("hub", "wasm"), ("hub", "js"), ("__wasm_split", "js")]
        .into_iter()
        .map(|(stem, ext)| pkg.find(stem, ext).unwrap_or_else(|| panic!("no {stem}.{ext} in {}", pkg.dir.display())))
        .collect();
    let main = pkg.measure(&main_files);

    let mut rows: Vec<(String, Size)> = manifest
        .iter()
        .map(|(key, parts)| {
            let files: Vec<String> = parts
                .iter()
                .map(|part| pkg.find(part, "wasm").unwrap_or_else(|| panic!("{part}.wasm is missing")))
                .collect();
            (route_name(key), main.plus(pkg.measure(&files)))
        })
        .collect();
    rows.sort_by(|a, b| b.1.gzip.cmp(&a.1.gzip).then_with(|| a.0.cmp(&b.0)));

    let budget = budget_kb * 1000;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "| route | files | raw KB | gzip KB | within {budget_kb} KB |");
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    let _ = writeln!(
        out,
        "| (main module, JS glue, split loader) | {} | {} | {} | |",
        main.files,
        kb(main.raw),
        kb(main.gzip)
    );
    let mut over = 0;
    for (route, size) in &rows {
        let ok = size.gzip <= budget;
        over += usize::from(!ok);
        let _ = writeln!(
            out,
            "| {route} | {} | {} | {} | {} |",
            size.files,
            kb(size.raw),
            kb(size.gzip),
            if ok { "yes" } else { "NO" }
        );
    }
    let _ = out.flush();
    if rows.is_empty() {
        eprintln!("the split manifest names no routes");
        std::process::exit(1);
    }
    if over > 0 {
        eprintln!("{over} route(s) load more than {budget_kb} KB of gzip");
        std::process::exit(1);
    }
}

/// `__tenant_setup_view_123…` (the lazy route `TenantSetup`) → `tenant_setup`.
fn route_name(key: &str) -> String {
    let name = key.trim_start_matches('_');
    name.rsplit_once("_view_").map_or(name, |(route, _)| route).to_owned()
}

fn kb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1000.0)
}

#[derive(Clone, Copy, Default)]
struct Size {
    files: usize,
    raw: u64,
    gzip: u64,
}

impl Size {
    fn plus(self, other: Size) -> Size {
        Size { files: self.files + other.files, raw: self.raw + other.raw, gzip: self.gzip + other.gzip }
    }
}

/// The site's `pkg` folder, whose files may carry a content hash: `chunk_3.wasm` or
/// `chunk_3.<hash>.wasm`.
struct Pkg {
    dir: PathBuf,
    names: Vec<String>,
}

impl Pkg {
    fn read(dir: &Path) -> Pkg {
        let names = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e} (build the site first)", dir.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        Pkg { dir: dir.to_owned(), names }
    }

    /// The file of `stem` and `ext`, with or without a hash between them.
    fn find(&self, stem: &str, ext: &str) -> Option<String> {
        self.names
            .iter()
            .find(|name| {
                name.strip_prefix(stem)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| rest.strip_suffix(ext))
                    .is_some_and(|middle| {
                        middle.is_empty() || middle.strip_suffix('.').is_some_and(|h| !h.contains('.'))
                    })
            })
            .cloned()
    }

    fn measure(&self, files: &[String]) -> Size {
        files.iter().fold(Size::default(), |size, name| {
            let bytes = std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&bytes).expect("gzip");
            let gzip = gz.finish().expect("gzip").len() as u64;
            size.plus(Size { files: 1, raw: bytes.len() as u64, gzip })
        })
    }
}
