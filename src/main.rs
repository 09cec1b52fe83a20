//! The gantry binary: parse arguments, set up logging, run one command.

use std::process::ExitCode;

fn main() -> ExitCode {
    // `gantry output | head` closes the pipe early: end quietly like other
    // command-line tools instead of panicking in println!.
    // SAFETY: restoring the default disposition of a signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match gantry::cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on a usage error, which CI would read as "changes
            // present" under --detailed-exitcode: a usage error is an error.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            };
        }
    };
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(gantry::commands::run(cli)).into()
}

/// Logs go to stderr; `-v`/`-vv` or RUST_LOG choose the level. Nothing logged
/// carries a secret: values are never logged, only addresses and API calls.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "gantry=info",
        _ => "gantry=debug",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The SDK and its HTTP stack log request and response bodies (secret
    // parameter values among them) at debug and trace: those targets are off
    // at every level, whatever RUST_LOG asks. Directives added last win over
    // RUST_LOG's for the same target.
    for target in gantry::logging::SILENCED_TARGETS {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // And by prefix, so that an SDK crate added later is silenced too.
    use tracing_subscriber::prelude::*;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .with_filter(filter)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| !gantry::logging::is_silenced(meta.target())));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
