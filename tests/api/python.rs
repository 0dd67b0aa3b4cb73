//! A Python environment with the libraries of `tests/python/requirements.txt`, made
//! once per build directory, for checks against other ecosystems' official libraries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// The environment's interpreter, after making the environment if needed. Test
/// processes may race to make it: each builds its own and the first rename wins.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("requirements");
        let digest = kim_api::crypto::short_digest(&wanted);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("python-{digest:016x}"));
        let python = dir.join("bin").join("python");
        if !python.exists() {
            let staging = dir.with_extension(std::process::id().to_string());
            let _ = std::fs::remove_dir_all(&staging);
            run(
                Command::new("python3").arg("-m").arg("venv").arg(&staging),
                "python3 -m venv",
            );
            run(
                Command::new(staging.join("bin").join("pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(&requirements)
                    .stdout(Stdio::null()),
                "pip install -r tests/python/requirements.txt",
            );
            if std::fs::rename(&staging, &dir).is_err() {
                // Another test process finished first; its environment is the same.
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        python
    })
}

/// Whether the checks against other ecosystems' libraries run: they need PyPI once
/// (for the environment); `KIM_TEST_PYTHON=0` skips them where it cannot be reached.
/// CI runs them.
pub fn enabled() -> bool {
    std::env::var("KIM_TEST_PYTHON").map_or(true, |value| value != "0")
}

/// Runs `tests/python/{script}` with `input` on stdin; answers its stdout, failing the
/// test with its stderr when it fails. `None`, saying so, when `KIM_TEST_PYTHON=0`: the
/// caller skips the rest of its checks.
pub fn run_script(script: &str, input: &serde_json::Value) -> Option<String> {
    if !enabled() {
        eprintln!(
            "skipped {script}: KIM_TEST_PYTHON=0 (these checks need a Python environment from PyPI)"
        );
        return None;
    }
    use std::io::Write;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut child = Command::new(python())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("python ran");
    assert!(
        output.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}
