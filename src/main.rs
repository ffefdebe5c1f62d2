//! The jts-hot command: parses the command line, loads the layout, dispatches.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use jts_hot::cli::{
    Cli, Command, ConfigCommand, MonitorArgs, MonitorFormat, ProbeArgs, QuotaCommand, TextOrJson,
};
use jts_hot::layout::{
    Layout, LayoutErrors, BUILTIN_SOURCE, DEFAULT_LAYOUT_TOML, SYSTEM_LAYOUT_PATH,
};
use jts_hot::{apply, files, monitor, probe, render, status};

/// Exit code for a bad layout from commands that do not report a status.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a bad layout from validate and monitor (UNKNOWN).
const EXIT_UNKNOWN: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status_command = matches!(
        cli.command,
        Command::Validate(_) | Command::Monitor(_) | Command::Probe(_)
    );
    let bad_input = if status_command {
        EXIT_UNKNOWN
    } else {
        EXIT_BAD_INPUT
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Layout(errors)) => {
            eprintln!("{errors}");
            ExitCode::from(bad_input)
        }
        Err(Failure::Other(e)) => {
            eprintln!("jts-hot: {e:#}");
            ExitCode::from(bad_input)
        }
    }
}

/// Color in the text report only for a person at a terminal who has not
/// asked for none (https://no-color.org: NO_COLOR set and not empty).
fn text_style() -> monitor::output::picture::Style {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    monitor::output::picture::Style {
        color: std::io::stdout().is_terminal() && !no_color,
    }
}

/// Prints a command's output. A reader that went away (`jts-hot monitor |
/// head -1`) is no error: the rest is not wanted.
fn emit(text: &str) -> Result<(), Failure> {
    emit_to(std::io::stdout(), text)
}

fn emit_to(mut stream: impl std::io::Write, text: &str) -> Result<(), Failure> {
    match stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::from(e)
            .context("cannot write the output")
            .into()),
        _ => Ok(()),
    }
}

enum Failure {
    Layout(LayoutErrors),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// The layout file in force: --config (or $JTS_HOT_CONFIG), else the system
/// file (under `root`, for commands that act on an image) if it exists, else
/// the built-in default (`None`).
fn layout_path(cli: &Cli, root: Option<&Path>) -> Option<PathBuf> {
    if cli.default_layout {
        return None;
    }
    cli.config.clone().or_else(|| {
        // Resolved inside the image: its links never lead to the host's files.
        let system = jts_hot::system::on_disk_followed(root, Path::new(SYSTEM_LAYOUT_PATH));
        system.exists().then_some(system)
    })
}

fn load_layout(cli: &Cli) -> Result<Layout, Failure> {
    load_layout_under(cli, None)
}

fn load_layout_under(cli: &Cli, root: Option<&Path>) -> Result<Layout, Failure> {
    match layout_path(cli, root) {
        Some(path) => Layout::load(&path).map_err(Failure::Layout),
        None => Layout::parse(DEFAULT_LAYOUT_TOML, BUILTIN_SOURCE).map_err(Failure::Layout),
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Generate(args) => {
            let layout = load_layout(&cli)?;
            let files = render::render(&layout);
            files::write_tree(&args.out, &files)?;
            for f in &files {
                println!("{}", args.out.join(&f.path).display());
            }
            Ok(0)
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{DEFAULT_LAYOUT_TOML}");
            Ok(0)
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let layout = Layout::load(file).map_err(Failure::Layout)?;
            println!(
                "{}: valid: {} services, {} directories, {} gated units, layout digest {}",
                file.display(),
                layout.services.len(),
                layout.planned_dirs().len(),
                layout.services.iter().map(|s| s.gate.len()).sum::<usize>(),
                layout.digest()
            );
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "jts-hot",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Manpages { dir } => {
            std::fs::create_dir_all(dir).map_err(anyhow::Error::from)?;
            clap_mangen::generate_to(Cli::command(), dir).map_err(anyhow::Error::from)?;
            Ok(0)
        }
        Command::Validate(args) => {
            let layout = load_layout_under(&cli, args.root.as_deref())?;
            Ok(jts_hot::validate::run(&layout, args)?)
        }
        Command::Plan(args) => {
            let layout = load_layout_under(&cli, args.root.as_deref())?;
            Ok(jts_hot::plan::run(&layout, args))
        }
        Command::Probe(args) => run_probe(&cli, args),
        Command::Apply(args) => {
            // Refused here, before anything is touched, if the layout is bad.
            let layout = load_layout_under(&cli, args.root.as_deref())?;
            let opts = apply::Options {
                root: args.root.clone(),
                dry_run: args.dry_run,
                selinux_priority: args.selinux_priority,
            };
            Ok(apply::run(&layout, &opts, &mut std::io::stdout())?)
        }
        Command::Setup(args) => {
            let layout = load_layout_under(&cli, args.root.as_deref())?;
            let opts = jts_hot::setup::Options {
                root: args.root.clone(),
            };
            let report = jts_hot::setup::run(&layout, &opts)?;
            print!("{}", report.text());
            Ok(report.exit_code())
        }
        Command::Quota(QuotaCommand::Set { format }) => {
            let layout = load_layout(&cli)?;
            let report = jts_hot::quota::set(&layout);
            print!(
                "{}",
                match format {
                    TextOrJson::Text => jts_hot::quota::output::set_text(&report),
                    TextOrJson::Json => jts_hot::quota::output::json(&report),
                }
            );
            Ok(if report.ok() { 0 } else { 1 })
        }
        Command::Quota(QuotaCommand::Status { format }) => {
            let layout = load_layout(&cli)?;
            let inspection = jts_hot::quota::inspect(&layout);
            print!(
                "{}",
                match format {
                    TextOrJson::Text => jts_hot::quota::output::status_text(&inspection),
                    TextOrJson::Json => jts_hot::quota::output::json(&inspection),
                }
            );
            Ok(0)
        }
        Command::Monitor(args) => run_monitor(&cli, args),
    }
}

/// `jts-hot monitor`: main builds the options, runs it, writes the textfile
/// if asked (an explicit step), prints.
fn run_monitor(cli: &Cli, args: &MonitorArgs) -> Result<u8, Failure> {
    let layout = load_layout(cli)?;
    let opts = monitor::Options {
        state_dir: args.state.state_dir.clone(),
        walk: args.walk,
        threads: args.threads,
    };
    let mut report = monitor::run(&layout, &opts);
    if let Some(dir) = &args.textfile_dir {
        // An explicit step: the file node_exporter reads.
        monitor::output::prometheus::write_textfile(&mut report, dir);
    }
    let journal = status::under_journal();
    emit(&match args.format {
        MonitorFormat::Text => monitor::output::text(&report, text_style(), journal),
        MonitorFormat::Json => monitor::output::json(&report),
        MonitorFormat::Prometheus => monitor::output::prometheus::render(&report),
    })?;
    if journal {
        // The run's one line at its worst status, whatever the format.
        emit_to(
            std::io::stderr(),
            &monitor::output::journal_summary(&report),
        )?;
    }
    Ok(report.status.exit_code())
}

/// `jts-hot probe`: main builds the options, runs it, prints.
fn run_probe(cli: &Cli, args: &ProbeArgs) -> Result<u8, Failure> {
    let layout = load_layout(cli)?;
    let opts = probe::Options {
        dir: args.dir.clone().unwrap_or_else(|| layout.tier.base.clone()),
        size: args.size,
        duration: args.duration,
        regression_factor: args.regression_factor,
        save: args.save,
        state_dir: args.state.state_dir.clone(),
    };
    let report = probe::run(&opts);
    emit(&match args.format {
        TextOrJson::Text => probe::output::text(&report, status::under_journal()),
        TextOrJson::Json => probe::output::json(&report),
    })?;
    Ok(report.status.exit_code())
}
