//! The approval prompt, on a real terminal (a pseudo-terminal from
//! util-linux `script`, as a person at a shell has).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::Gantry;

const STACK: &str = r#"variable "prefix" {
  type = string
}

resource "aws_ssm_parameter" "p" {
  name           = "/${var.prefix}/prompt"
  type           = "String"
  insecure_value = "v"
}
"#;

/// `gantry ARGS` under `script`, with gantry's test environment.
fn on_a_terminal(g: &Gantry, args: &str) -> Command {
    let base = g.std_command();
    let mut cmd = Command::new("script");
    if let Some(dir) = base.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (key, value) in base.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let program = base.get_program().to_string_lossy().into_owned();
    cmd.args(["-qefc", &format!("{program} {args}"), "/dev/null"]);
    cmd
}

#[test]
fn ctrl_c_at_the_approval_prompt_cancels_and_releases_the_lock() {
    let g = Gantry::new();
    g.write("s/main.tf", STACK);
    let lock = g.state_dir().join("s").join("default.json.lock");
    let mut child = on_a_terminal(&g, &format!("apply -s s -var {}", g.prefix_var()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen).contains("Enter a value") {
        assert!(Instant::now() < deadline, "no prompt:\n{}", String::from_utf8_lossy(&seen));
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.extend(chunk);
        }
    }
    assert!(lock.exists(), "the lock is held while the prompt waits ({})", lock.display());

    // Ctrl-C, typed on the terminal.
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "gantry did not stop on Ctrl-C at the prompt");
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
        seen.extend(chunk);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(!status.success(), "{text}");
    assert!(text.contains("cancelled: nothing was changed"), "{text}");
    assert!(!lock.exists(), "the lock is released");
    // And nothing was created: the next apply plans the parameter again.
    g.cmd(["plan", "-s", "s", "--detailed-exitcode", "-var", &g.prefix_var()]).assert().code(2);
}

/// On a terminal an apply shows a status line (how far, what it waits on)
/// under the log, and erases it when done; the log lines stay as they are.
#[test]
fn a_terminal_shows_a_live_status_line_under_the_log() {
    use crate::support::fault_proxy::{FaultProxy, Schedule};
    let moto = crate::support::Moto::start_lean();
    let proxy = FaultProxy::start(moto.addr(), Schedule::latency(Duration::from_millis(1500)));
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", STACK);
    let out = on_a_terminal(&g, &format!("apply -auto-approve -s s -var {}", g.prefix_var()))
        .env_remove("CI")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("[0/1] 1 running; longest: aws_ssm_parameter.p (creating, "), "{text:?}");
    assert!(text.contains("\r\x1b[2K"), "the status line is erased before each log line: {text:?}");
    assert!(text.contains("aws_ssm_parameter.p: Creation complete"), "{text}");
    // Nothing of the status line is left at the end.
    let tail = text.trim_end_matches(['\r', '\n']);
    assert!(!tail.rsplit('\n').next().unwrap_or_default().contains(" running"), "{text:?}");
}
