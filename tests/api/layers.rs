//! Infrastructure sits below the resources: no infrastructure module names a resource
//! module, so a resource can be read, changed or removed without touching what every
//! other resource stands on. Comments do not count; code does.

use std::path::{Path, PathBuf};

/// Modules every resource stands on (files, or directories taken whole).
const INFRASTRUCTURE: &[&str] = &[
    "error.rs",
    "config.rs",
    "crypto.rs",
    "clock.rs",
    "db",
    "extract.rs",
    "extract",
    "idempotency.rs",
    "unit_of_work.rs",
    "events.rs",
    "audit",
    "auth",
    "telemetry.rs",
    "metrics.rs",
    "pagination.rs",
    "sync.rs",
    "page_cache.rs",
    "body_deadline.rs",
    "concurrency.rs",
    "rate_limit.rs",
    "shutdown.rs",
    "backup.rs",
    "i18n.rs",
    "domain",
    "openapi.rs",
    "export.rs",
    "attachments/storage.rs",
    "attachments/content.rs",
    "attachments/sniff.rs",
    "attachments/variants.rs",
    "attachments/resumable.rs",
    "attachments/inventory.rs",
    "outbound",
];

/// Resources, and what assembles them (routes, the document, start-up).
const RESOURCES: &[&str] = &[
    "activities",
    "alert_sources",
    "api_document",
    "audience",
    "audit_log",
    "bulletins",
    "consultations",
    "demo",
    "engagement",
    "health",
    "holidays",
    "integration_clients",
    "kims",
    "members",
    "mentoring",
    "notifications",
    "open311",
    "regions",
    "report_categories",
    "reports",
    "routes",
    "sessions",
    "startup",
    "stats",
    "users",
    "webhooks",
];

/// The attachment modules that serve HTTP, which the storage side must not name.
const ATTACHMENT_ROUTES: &[&str] = &["endpoints", "upload", "owner", "tus"];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).expect("a source directory") {
        files.extend(rust_files(&entry.expect("an entry").path()));
    }
    files
        .into_iter()
        .filter(|file| file.extension().is_some_and(|ext| ext == "rs"))
        .collect()
}

/// The code of a file without its comments.
fn code_of(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate modules `code` names: `crate::x` paths and the names of `use crate::{…}`.
fn named_modules(code: &str) -> Vec<String> {
    let mut named = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            named.extend(inner.split(',').filter_map(|item| {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            }));
        } else {
            named.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    named
}

#[test]
fn no_infrastructure_module_names_a_resource() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for module in INFRASTRUCTURE {
        let path = src.join(module);
        assert!(path.exists(), "{module} is listed but does not exist");
        for file in rust_files(&path) {
            let code = code_of(&std::fs::read_to_string(&file).expect("a source file"));
            for name in named_modules(&code) {
                if RESOURCES.contains(&name.as_str()) {
                    found.push(format!("{} names crate::{name}", file.display()));
                }
            }
            if file.starts_with(src.join("attachments")) {
                for route in ATTACHMENT_ROUTES {
                    let needle = format!("super::{route}");
                    let names_it = code.match_indices(&needle).any(|(at, _)| {
                        code[at + needle.len()..]
                            .chars()
                            .next()
                            .is_none_or(|next| !(next.is_alphanumeric() || next == '_'))
                    });
                    if names_it {
                        found.push(format!("{} names {needle}", file.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every module in `src/` is placed on one side, so a new one cannot slip past the
/// check.
#[test]
fn every_module_is_infrastructure_or_a_resource() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut unplaced = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_owned();
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let placed = INFRASTRUCTURE.contains(&file_name)
            || RESOURCES.contains(&name.as_str())
            || ["lib", "main", "attachments"].contains(&name.as_str());
        if !placed {
            unplaced.push(file_name.to_owned());
        }
    }
    assert!(unplaced.is_empty(), "not placed: {unplaced:?}");
}

/// The top-level modules of `src/` name each other without a cycle: each can be
/// understood from the ones below it (a cycle once tied 19 modules, 59 files).
#[test]
fn the_modules_depend_on_each_other_without_a_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|part| part.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        let code = code_of(&std::fs::read_to_string(&file).expect("a source file"));
        let entry = names.entry(top.clone()).or_default();
        for name in named_modules(&code) {
            let is_module = src.join(format!("{name}.rs")).exists() || src.join(&name).is_dir();
            if is_module && name != top {
                entry.insert(name);
            }
        }
    }
    // Removes modules that name nothing left, until none can go: what stays is in a
    // cycle.
    let mut left = names.clone();
    loop {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, named)| named.iter().all(|name| !left.contains_key(name)))
            .map(|(module, _)| module.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            left.remove(&leaf);
        }
    }
    assert!(
        left.is_empty(),
        "modules in a cycle: {:?}",
        left.keys().collect::<Vec<_>>()
    );
}
