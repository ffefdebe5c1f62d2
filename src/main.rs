//! The jts-hot command: parses the command line, loads the layout, dispatches.

mod cli;
mod cli_help;
mod cli_man;
mod exit_codes;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use nix::sys::signal::{signal, SigHandler, Signal};

use cli::{
    Cli, Command, ConfigCommand, MonitorArgs, MonitorFormat, PlanArgs, ProbeArgs, QuotaCommand,
    SetupArgs, TextOrJson, ValidateArgs, ValidateFormat,
};
use jts_hot::layout::{Layout, LayoutErrors, DEFAULT_LAYOUT_TOML, SYSTEM_LAYOUT_PATH};
use jts_hot::status::under_journal;
use jts_hot::system::Root;
use jts_hot::{applied, apply, generate, monitor, probe, status};

fn main() -> ExitCode {
    // A shell asking for completions (the scripts `jts-hot completions SHELL` writes) is
    // answered and exits here, before anything else runs.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(cli::COMPLETE_VAR)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let verdict_command = matches!(
        cli.command,
        Command::Validate(_) | Command::Monitor(_) | Command::Probe(_) | Command::Status(_)
    );
    ExitCode::from(match run(cli) {
        Ok(code) => code,
        Err(Failure::Layout(errors)) => {
            print_err(&errors.to_string());
            exit_codes::bad_layout(verdict_command)
        }
        Err(Failure::Other(e)) => {
            print_err(&format!("jts-hot: {e:#}"));
            exit_codes::RUNTIME_ERROR
        }
    })
}

/// --help and --version print and exit 0; a usage error (a mistyped option,
/// an unknown subcommand) is UNKNOWN, 3, for every command: clap's own 2
/// would read as CRITICAL to Nagios and to a unit's ExecCondition= reader.
fn usage_error(e: &clap::Error) -> ExitCode {
    // A closed stdout or stderr leaves nothing to report to.
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(exit_codes::UNKNOWN)
    } else {
        ExitCode::from(exit_codes::SUCCESS)
    }
}

/// An error to stderr; under systemd each line at priority err.
fn print_err(text: &str) {
    let mut lines = jts_hot::status::Lines::new(under_journal());
    for line in text.lines() {
        lines.push(jts_hot::status::Status::Unknown, line);
    }
    eprint!("{}", lines.into_string());
}

/// Color in the text report only for a person at a terminal who has not
/// asked for none (https://no-color.org: NO_COLOR set and not empty); the
/// width of COLUMNS, else of the terminal, else 80.
fn text_style() -> monitor::output::picture::Style {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let stdout = std::io::stdout();
    let tty = terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0));
    let columns = std::env::var("COLUMNS").ok();
    monitor::output::picture::Style {
        color: stdout.is_terminal() && !no_color,
        width: monitor::output::picture::width(columns.as_deref(), tty),
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

/// The one root of this run, decided once: the image --root names
/// (canonical, opened once), else this system's "/". Everything below
/// reads and writes through it.
fn root_of(command: &Command) -> Result<Root, Failure> {
    let image = match command {
        Command::Validate(a) => a.root.as_deref(),
        Command::Plan(a) => a.root.as_deref(),
        Command::Apply(a) => a.root.as_deref(),
        Command::Setup(a) => a.root.as_deref(),
        _ => None,
    };
    let root = match image {
        Some(dir) => Root::image(dir).map_err(|e| format!("--root {}: {e}", dir.display())),
        None => Root::host().map_err(|e| format!("cannot open /: {e}")),
    };
    root.map_err(|e| Failure::Other(anyhow::anyhow!(e)))
}

/// The saved layout file: --config (or $JTS_HOT_CONFIG), else the system
/// file (under `root`, for commands that act on an image) if it exists, else
/// the built-in default (`None`).
fn layout_path(cli: &Cli, root: &Root) -> Option<PathBuf> {
    if cli.default_layout {
        return None;
    }
    cli.config.clone().or_else(|| {
        // Resolved inside the image: its links never lead to the host's files.
        let system = root.on_disk_followed(Path::new(SYSTEM_LAYOUT_PATH));
        system.exists().then_some(system)
    })
}

/// `path` inside the image `dir`, as the image sees it; also when `path`
/// spells the image another way than its canonical `dir` (relative, or
/// through a link to it).
fn inside_image(dir: &Path, path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok();
    let parent_real = path
        .parent()
        .and_then(|p| {
            std::fs::canonicalize(if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            })
            .ok()
        })
        .zip(path.file_name())
        .map(|(p, name)| p.join(name));
    [Some(path.to_path_buf()), absolute, parent_real]
        .into_iter()
        .flatten()
        .find_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
}

/// The saved layout (what `apply`, `plan` and `generate` act on) and its
/// text as read, once: apply keeps that text as the applied copy.
fn load_saved(cli: &Cli, root: &Root) -> Result<(Layout, String), Failure> {
    match layout_path(cli, root) {
        Some(path) => {
            let text = Layout::read(&path).map_err(Failure::Layout)?;
            let mut layout =
                Layout::parse(&text, &path.display().to_string()).map_err(Failure::Layout)?;
            // Generated files name the layout as the image sees it: one
            // layout gives the same bytes in every image, whatever --root.
            if let Some(inside) = root.image_dir().and_then(|r| inside_image(r, &path)) {
                let inside = if cli.config.is_none() {
                    PathBuf::from(SYSTEM_LAYOUT_PATH)
                } else {
                    Path::new("/").join(inside)
                };
                layout.source = jts_hot::layout::Source::File(inside);
            }
            Ok((layout, text))
        }
        None => Ok((Layout::builtin(), DEFAULT_LAYOUT_TOML.to_string())),
    }
}

/// The layout in force for these arguments (what completion offers service
/// names from): --config, --default-layout, else the applied one.
pub(crate) fn layout_in_force(
    config: Option<PathBuf>,
    default_layout: bool,
    root: &Root,
) -> Option<Layout> {
    match (config, default_layout) {
        (_, true) => Some(Layout::builtin()),
        (Some(file), false) => Layout::load(&file).ok(),
        (None, false) => applied::load(root, false).ok().map(|f| f.layout),
    }
}

/// `apply --reapply`: the applied copy; on a host an older jts-hot applied
/// (its validation unit in /etc, no copy yet) the saved layout it ran by;
/// `None` where apply never ran.
fn reapplied(root: &Root) -> Result<Option<(Layout, String)>, Failure> {
    if let Some(found) = applied::load_copy(root).map_err(Failure::Layout)? {
        return Ok(Some(found));
    }
    let etc_unit = Path::new("/etc/systemd/system").join(jts_hot::render::generated::VALIDATE_UNIT);
    let applied_before = root.on_disk(&etc_unit).exists();
    match applied_before {
        true => load_saved_file(root).map(Some),
        false => Ok(None),
    }
}

/// The saved layout file under `root`, or the built-in default when there is none.
fn load_saved_file(root: &Root) -> Result<(Layout, String), Failure> {
    let system = root.on_disk_followed(Path::new(SYSTEM_LAYOUT_PATH));
    if !system.exists() {
        return Ok((Layout::builtin(), DEFAULT_LAYOUT_TOML.to_string()));
    }
    let text = Layout::read(&system).map_err(Failure::Layout)?;
    let layout = Layout::parse(&text, &system.display().to_string()).map_err(Failure::Layout)?;
    Ok((layout, text))
}

/// The layout in force, for the commands that act on the running system
/// (validate, monitor, setup, quota, probe, status): --config FILE or
/// --default-layout when given, else the one `apply` last applied (or the
/// packaged default); a saved edit not applied is only reported (`pending`,
/// compared when `check_pending`).
fn load_in_force(cli: &Cli, root: &Root, check_pending: bool) -> Result<applied::InForce, Failure> {
    if cli.default_layout {
        return Ok(applied::InForce::explicit(
            Layout::builtin(),
            applied::Origin::BuiltinAsked,
        ));
    }
    if let Some(file) = &cli.config {
        let layout = Layout::load(file).map_err(Failure::Layout)?;
        let origin = applied::Origin::Explicit { file: file.clone() };
        return Ok(applied::InForce::explicit(layout, origin));
    }
    applied::load(root, check_pending).map_err(Failure::Layout)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let root = root_of(&cli.command)?;
    match &cli.command {
        Command::Generate(args) => {
            let (layout, _) = load_saved(&cli, &root)?;
            let opts = generate::Options {
                out: args.out.clone(),
            };
            emit(&generate::text(&generate::run(&layout, &opts)?))?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Config(command) => run_config(command),
        Command::Completions { shell } => {
            use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
            let completer: &dyn EnvCompleter = match shell {
                cli::CompletionShell::Bash => &Bash,
                cli::CompletionShell::Zsh => &Zsh,
                cli::CompletionShell::Fish => &Fish,
            };
            let mut script = Vec::new();
            completer
                .write_registration(
                    cli::COMPLETE_VAR,
                    "jts-hot",
                    "jts-hot",
                    "jts-hot",
                    &mut script,
                )
                .map_err(anyhow::Error::from)?;
            let mut script = String::from_utf8_lossy(&script).into_owned();
            if *shell == cli::CompletionShell::Zsh {
                // Autoloaded from fpath as _jts-hot, the file's body runs on the first TAB:
                // complete then too, not only from the second TAB on.
                script.push_str(
                    "if [ \"${funcstack[1]}\" = \"_jts-hot\" ]; then\n    \
                     _clap_dynamic_completer_jts_hot \"$@\"\nfi\n",
                );
            }
            emit(&script)?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Manpages { dir } => {
            std::fs::create_dir_all(dir).map_err(anyhow::Error::from)?;
            cli_man::write_all(Cli::command(), dir).map_err(anyhow::Error::from)?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Validate(args) => run_validate(&cli, args, root),
        Command::Plan(args) => run_plan(&cli, args, root),
        Command::Probe(args) => run_probe(&cli, args, &root),
        Command::Apply(args) => {
            // Refused here, before anything is touched, if the layout is bad.
            let (layout, text) = match args.reapply {
                false => load_saved(&cli, &root)?,
                true => match reapplied(&root)? {
                    Some(found) => found,
                    None => {
                        emit("jts-hot apply --reapply: apply never ran here: the packaged files are in force\n")?;
                        return Ok(exit_codes::SUCCESS);
                    }
                },
            };
            let opts = apply::Options {
                root,
                dry_run: args.dry_run,
                diff: args.diff,
                selinux_priority: args.selinux_priority,
                layout_text: Some(text),
            };
            match apply::run(&layout, &opts) {
                Ok(report) => {
                    emit(&apply::output::text(&report, under_journal()))?;
                    Ok(exit_codes::apply(&report))
                }
                // What was done until the error, then the error, with its own exit code.
                Err(failed) => {
                    emit(&apply::output::text(&failed.report, under_journal()))?;
                    print_err(&format!("jts-hot: {}", failed.error));
                    Ok(exit_codes::apply_error(&failed.error))
                }
            }
        }
        Command::Setup(args) => run_setup(&cli, args, root),
        Command::Status(args) => {
            let in_force = load_in_force(&cli, &root, true)?;
            let opts = jts_hot::overview::Options {
                state_dir: args.state.state_dir.clone(),
                root,
            };
            let report = jts_hot::overview::run(&in_force, &opts);
            use jts_hot::overview::output;
            emit(&match args.format {
                TextOrJson::Text => {
                    output::text(&report, std::time::SystemTime::now(), under_journal())
                }
                TextOrJson::Json => output::json(&report),
            })?;
            Ok(exit_codes::status(&report))
        }
        Command::Quota(command) => run_quota(&cli, command, &root),
        Command::Monitor(args) => run_monitor(&cli, args, root),
    }
}

/// `jts-hot monitor`: main builds the options, runs it (the textfile, if
/// asked, is the run's last step), prints.
fn run_monitor(cli: &Cli, args: &MonitorArgs, root: Root) -> Result<u8, Failure> {
    let in_force = load_in_force(cli, &root, true)?;
    let layout = in_force.layout;
    let opts = monitor::Options {
        state_dir: args.state.state_dir.clone(),
        walk: args.walk,
        threads: args.threads,
        pending: in_force.pending,
        origin: in_force.origin,
        root,
        textfile_dir: args.textfile_dir.clone(),
    };
    let report = monitor::run(&layout, &opts);
    let journal = status::under_journal();
    emit(&match args.format {
        // Under systemd, unless the picture is asked for: a line per thing
        // not OK, each whole (the summary follows on stderr).
        None if journal => monitor::output::journal_lines(&report),
        None | Some(MonitorFormat::Text) => monitor::output::text(&report, text_style(), journal),
        Some(MonitorFormat::Json) => monitor::output::json(&report),
        Some(MonitorFormat::Prometheus) => monitor::output::prometheus::render(&report),
        Some(MonitorFormat::Nagios) => monitor::output::nagios::render(&report),
    })?;
    if journal {
        // The run's one line at its worst status, whatever the format.
        emit_to(
            std::io::stderr(),
            &monitor::output::journal_summary(&report),
        )?;
    }
    Ok(exit_codes::monitor(&report, args.warning_ok))
}

/// `jts-hot probe`: main builds the options, runs it, prints.
fn run_probe(cli: &Cli, args: &ProbeArgs, root: &Root) -> Result<u8, Failure> {
    let layout = load_in_force(cli, root, false)?.layout;
    let opts = probe::Options {
        dir: args.dir.clone().unwrap_or_else(|| layout.tier.base.clone()),
        size: args.size,
        duration: args.duration,
        regression_factor: args.regression_factor,
        save: args.save,
        state_dir: args.state.state_dir.clone(),
        needs: probe::fitness::needs(&layout),
        tier: probe::scope::Tier::of(&layout),
    };
    let report = probe::run(&opts);
    emit(&match args.format {
        TextOrJson::Text => probe::output::text(&report, status::under_journal()),
        TextOrJson::Json => probe::output::json(&report),
    })?;
    Ok(exit_codes::probe(&report))
}

/// `jts-hot validate`: main builds the options, prints, maps the verdict to the exit code.
fn run_validate(cli: &Cli, args: &ValidateArgs, root: Root) -> Result<u8, Failure> {
    use jts_hot::validate::{self, output};
    if args.gate {
        // A stop or restart of the unit while its gate runs or lingers
        // (SIGTERM) must not turn the verdict into a kill (status=15/TERM,
        // a failed start instead of a refused one): the gate finishes, in
        // milliseconds plus the linger below, and exits with its code.
        // SAFETY: SIG_IGN installs no handler.
        let _ = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) };
    }
    // A gate never reads the saved edit: only the layout in force decides a start.
    let in_force = load_in_force(cli, &root, !args.gate)?;
    let layout = in_force.layout;
    let opts = validate::Options {
        services: args.service.clone(),
        root,
        pending: in_force.pending,
        state_dir: Some(args.state.state_dir.clone()),
    };
    let report = validate::run(&layout, &opts).map_err(anyhow::Error::from)?;
    let journal = under_journal();
    let written = emit(&match args.format {
        ValidateFormat::Json => output::json(&report),
        ValidateFormat::Nagios => output::nagios(&report),
        ValidateFormat::Text if args.gate => output::gate_text(&report, args.verbose, journal),
        ValidateFormat::Text => output::text(&report, args.verbose, journal),
    });
    // A gate's verdict is its exit code: an output it could not write must
    // not refuse (or allow) a database's start.
    if !args.gate {
        written?;
    }
    let code = exit_codes::validate(&report, args.gate || args.warning_ok);
    if args.gate && code != 0 && journal {
        // journald attaches the unit's invocation id (which `systemctl status`
        // filters on) by reading the sender's /proc entry when it processes
        // the line; a process already gone loses it, and the refusal would be
        // missing from `systemctl status` (seen in the boot tests). Only a
        // refused start waits; an allowed one costs nothing.
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Ok(code)
}

/// `jts-hot config default|check`.
fn run_config(command: &ConfigCommand) -> Result<u8, Failure> {
    match command {
        ConfigCommand::Default => emit(DEFAULT_LAYOUT_TOML)?,
        ConfigCommand::Check { file } => {
            use jts_hot::config_check;
            // Read once: parsed, and searched for tier.capacity's position.
            let text = Layout::read(file).map_err(Failure::Layout)?;
            let layout =
                Layout::parse(&text, &file.display().to_string()).map_err(Failure::Layout)?;
            let opts = config_check::Options {
                file: file.clone(),
                text,
            };
            let report = config_check::run(&layout, &opts);
            emit(&config_check::text(&report))?;
            return Ok(exit_codes::config_check(&report));
        }
    }
    Ok(exit_codes::SUCCESS)
}

/// `jts-hot plan`: 0 the plan fits, 1 it over-commits.
fn run_plan(cli: &Cli, args: &PlanArgs, root: Root) -> Result<u8, Failure> {
    use jts_hot::plan::{self, output};
    let (layout, _) = load_saved(cli, &root)?;
    let opts = plan::Options { root };
    let plan = plan::run(&layout, &opts);
    emit(&match args.format {
        TextOrJson::Text => output::text(&plan, under_journal()),
        TextOrJson::Json => output::json(&plan),
    })?;
    Ok(exit_codes::plan(&plan))
}

/// `jts-hot setup`: 0 set up, 2 refused; a runtime error is 3 (see `main`).
fn run_setup(cli: &Cli, args: &SetupArgs, root: Root) -> Result<u8, Failure> {
    use jts_hot::setup;
    let layout = load_in_force(cli, &root, false)?.layout;
    let opts = setup::Options {
        // An image's setup records nothing for the running system.
        state_dir: root
            .image_dir()
            .is_none()
            .then(|| args.state.state_dir.clone()),
        root,
        remap_owners: args.remap_owners,
    };
    let report = setup::run(&layout, &opts).map_err(anyhow::Error::from)?;
    emit(&setup::text(&report, under_journal()))?;
    Ok(exit_codes::setup(&report, args.warning_ok))
}

/// `jts-hot quota set|status`.
fn run_quota(cli: &Cli, command: &QuotaCommand, root: &Root) -> Result<u8, Failure> {
    use jts_hot::quota::{self, output, Task};
    let layout = load_in_force(cli, root, false)?.layout;
    let (task, format, state_dir) = match command {
        QuotaCommand::Set {
            format,
            repair,
            state,
        } => (
            match repair {
                true => Task::Repair,
                false => Task::Set,
            },
            format,
            state.state_dir.clone(),
        ),
        // status reads no state: the default directory, unused.
        QuotaCommand::Status { format } => (Task::Status, format, PathBuf::new()),
        QuotaCommand::Record { format, state } => (Task::Record, format, state.state_dir.clone()),
    };
    let opts = quota::Options { task, state_dir };
    let report = quota::run(&layout, &opts);
    emit(&match format {
        TextOrJson::Text => output::text(&report, under_journal()),
        TextOrJson::Json => output::json(&report),
    })?;
    Ok(exit_codes::quota(&report))
}
