//! Avro Java's answers, from `tools/avro-oracle`, built with Maven under the target dir
//! on first use (and again when its sources change).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

use super::Res;

const NEEDS: &str = "The differential test needs Java 17+ (`java`) and Maven 3.8+ (`mvn`) on PATH, \
                     and Maven Central (or a local repository with org.apache.avro:avro:1.12.2); \
                     on Debian: apt-get install openjdk-17-jdk-headless maven";

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/avro-oracle")
}

fn run(command: &mut Command) -> Res<Vec<u8>> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}\n{NEEDS}"))?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed ({}):\n{}{}\n{NEEDS}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

/// The `java` command line that runs `main` (a class of `tools/avro-oracle`), building
/// the oracle first if needed.
fn oracle_command(main: &str) -> Res<Command> {
    let project = project();
    let build = Path::new(env!("CARGO_TARGET_TMPDIR")).join("avro-oracle");
    let pom = project.join("pom.xml");
    let mut sources: Vec<PathBuf> =
        std::fs::read_dir(project.join("src/main/java/orderflow/oracle"))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
    sources.sort();
    let mut fingerprint = std::fs::read_to_string(&pom)?;
    for source in &sources {
        fingerprint.push('\n');
        fingerprint.push_str(&std::fs::read_to_string(source)?);
    }
    // One build at a time: the tests of this binary run in parallel.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let stamp = build.join("built-from");
    let classpath_file = build.join("classpath.txt");
    // Built from these sources, and the jars it runs with still in Maven's repository.
    let built = std::fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str())
        && std::fs::read_to_string(&classpath_file)
            .is_ok_and(|cp| cp.trim().split(':').all(|jar| Path::new(jar).exists()));
    if !built {
        let _ = std::fs::remove_file(&stamp);
        eprintln!(
            "building the Avro Java oracle into {} (Maven)",
            build.display()
        );
        run(Command::new("mvn")
            .args(["-q", "-B", "-f"])
            .arg(&pom)
            .arg(format!("-DbuildDirectory={}", build.display()))
            .arg("package"))?;
        std::fs::write(&stamp, fingerprint)?;
    }
    let classpath = std::fs::read_to_string(classpath_file)?;
    let mut java = Command::new("java");
    java.arg("-cp")
        .arg(format!(
            "{}:{}",
            build.join("avro-oracle.jar").display(),
            classpath.trim()
        ))
        .arg(main);
    Ok(java)
}

/// Avro Java's answer for each `{"reader","writer"}` pair, in order, from one JVM.
pub fn ask(pairs: &[Value]) -> Res<Vec<Value>> {
    let mut child = oracle_command("orderflow.oracle.AvroOracle")?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start java: {e}\n{NEEDS}"))?;
    let mut input = String::new();
    for pair in pairs {
        input.push_str(&pair.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    feeder.join().map_err(|_| "the feeding thread panicked")??;
    if !out.status.success() {
        return Err(format!(
            "the oracle failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let answers = String::from_utf8(out.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<Vec<Value>, _>>()?;
    if answers.len() != pairs.len() {
        return Err(format!(
            "the oracle answered {} of {} pairs",
            answers.len(),
            pairs.len()
        )
        .into());
    }
    Ok(answers)
}

/// Fails unless the verdicts recorded in `compat` (the data files' `avro_java`,
/// `writer_reads_reader` and `transitive.json`) are exactly what Avro Java says now.
pub fn check_recorded_verdicts(compat: &Path) -> Res {
    run(oracle_command("orderflow.oracle.RecordVerdicts")?
        .arg("--check")
        .arg(compat))?;
    Ok(())
}
