//! The command line of the built binary: `--help` lists the commands, `--version` names the
//! release, and a wrong command line is refused with an error pointing at `--help` and exit code 2
//! before anything starts.

use std::process::{Command, Output};

fn gcli2api(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gcli2api"))
        .args(args)
        .env_clear()
        .output()
        .expect("run the gateway binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_every_command() {
    let out = gcli2api(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for command in ["serve", "migrate"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let serve = text(&gcli2api(&["serve", "--help"]).stdout);
    assert!(serve.contains("--port-file"), "{serve}");
    let migrate = text(&gcli2api(&["migrate", "--help"]).stdout);
    assert!(
        migrate.contains("--from") && migrate.contains("--to"),
        "{migrate}"
    );
}

#[test]
fn version_is_the_package_version() {
    let out = gcli2api(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("gcli2api {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_wrong_command_line_is_refused_with_usage() {
    for args in [
        &["bogus"][..],
        &["migrate", "--from", "a"][..],
        &["serve", "--port-file"][..],
        &["--no-such-flag"][..],
    ] {
        let out = gcli2api(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
    }
}
