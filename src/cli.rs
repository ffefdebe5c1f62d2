//! The command line, declared once: used by main.rs to parse, and by the
//! packaging step to write man pages and shell completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::{ArgValueCandidates, CompletionCandidate};

/// The variable that makes the binary answer a completion request instead of running
/// (a name of our own: a generic COMPLETE in a unit's environment must not turn a gate into
/// a completion that exits 0).
pub const COMPLETE_VAR: &str = "JTS_HOT_COMPLETE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// --service values: the services of the layout in force ($JTS_HOT_CONFIG, else
/// /etc/jts/hot-layout.toml, else the built-in default); none when it does not load.
fn service_names() -> Vec<CompletionCandidate> {
    let config = std::env::var_os("JTS_HOT_CONFIG").map(PathBuf::from);
    let Ok(root) = jts_hot::system::Root::host() else {
        return Vec::new();
    };
    crate::layout_in_force(config, false, &root)
        .map(|layout| {
            layout
                .services
                .iter()
                .map(|s| CompletionCandidate::new(s.name.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Parser)]
#[command(
    name = "jts-hot",
    version,
    after_long_help = crate::cli_help::TOP,
    about = "Make the JTS hot storage tier something systemd creates, repairs, checks and watches",
    long_about = "jts-hot turns one layout file (/etc/jts/hot-layout.toml) into tmpfiles.d, sysusers.d and \
unit files, so that systemd creates and repairs the hot tier's directories at every boot, a validation \
unit gates the databases on a sound tier, and a timer watches usage against the plan. The same binary \
is what those units run to validate and to monitor."
)]
pub struct Cli {
    /// Layout file [default: $JTS_HOT_CONFIG, else /etc/jts/hot-layout.toml if it exists, else the built-in default]
    #[arg(long, global = true, value_name = "FILE", env = "JTS_HOT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Use the built-in default layout, ignoring --config and /etc/jts/hot-layout.toml
    #[arg(long, global = true, conflicts_with = "config")]
    pub default_layout: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render tmpfiles.d, sysusers.d, units and drop-ins under DIR, as they would lie under /
    #[command(after_long_help = crate::cli_help::GENERATE)]
    Generate(GenerateArgs),
    /// Check the tier against the layout: directories, owners, modes, mount, capacity, staleness
    #[command(after_long_help = crate::cli_help::validate())]
    Validate(ValidateArgs),
    /// Measure usage per service against the plan, track growth, export to Prometheus
    #[command(after_long_help = crate::cli_help::monitor())]
    Monitor(MonitorArgs),
    /// Show the planned allocation against tier.capacity and the real filesystem
    ///
    /// Each service's planned size and share of tier.capacity, the total against tier.capacity,
    /// and against the filesystem under the base (its nearest existing ancestor while the base
    /// does not exist): device size, filesystem overhead, size, blocks reserved for root, what
    /// services can use, what is left after the plan, what is available now; then the verdict.
    /// Sizes in decimal units, as the layout writes them. Under systemd each line carries its
    /// syslog priority (the verdict warning when over-committed). --format json: schema
    /// jts-hot.plan/1 (/usr/share/doc/jts-hot/validate.md).
    #[command(after_long_help = crate::cli_help::PLAN)]
    Plan(PlanArgs),
    /// Install the rendered layout into /etc and run sysusers, tmpfiles and daemon-reload
    ///
    /// Renders the layout in force into /etc/tmpfiles.d/jts-hot.conf, /etc/sysusers.d/jts-hot.conf
    /// and /etc/systemd/system/ (units and UNIT.d/jts-hot.conf drop-ins), where a file of the same
    /// name overrides the packaged one in /usr/lib. Then runs systemd-sysusers and
    /// systemd-tmpfiles --create on those two files only, and systemctl daemon-reload when a unit
    /// changed and systemd is running. A second run changes nothing and says so. Our drop-ins for
    /// units the layout no longer gates are removed (a packaged one is overridden by an empty
    /// one). A bad layout, or a file in /etc of the same name that jts-hot did not write, is
    /// refused before anything is touched. Nothing under the tier is ever removed or rewritten: a
    /// directory the layout no longer names is left alone and reported. With --root DIR the layout
    /// is DIR/etc/jts/hot-layout.toml (unless --config is given) and everything happens under DIR:
    /// symlinks and ".." inside DIR are resolved inside it, as systemd's own --root does, so no
    /// file is read or written outside DIR (a link into a directory missing from the image is
    /// refused). The tools it runs on DIR never leave it either: systemd-sysusers and
    /// systemd-tmpfiles are refused when DIR's etc/passwd, group, shadow, gshadow or .pwd.lock
    /// lead outside DIR (they open them as the host sees the path), and systemd-tmpfiles when a
    /// directory its files make, or a parent of one, leads outside DIR (it makes missing parents
    /// through the host's view of DIR's links; setup --root the same); semodule and semanage run in
    /// a private mount namespace on DIR's own /etc/selinux and /var/lib/selinux (resolved inside
    /// DIR, links below them not followed), or are refused naming the directory. A run
    /// interrupted at any point leaves each file whole, old or new; the next run removes the
    /// temporaries it left and finishes the job.
    #[command(after_long_help = crate::cli_help::APPLY)]
    Apply(ApplyArgs),
    /// Create the tier's directories once its filesystem is mounted (jts-hot-setup.service)
    ///
    /// Runs systemd-tmpfiles --create on the tier's own tmpfiles file, /etc/jts-hot/tmpfiles.conf
    /// (written by `jts-hot apply`) or else /usr/lib/jts-hot/tmpfiles.conf (the package's): creates
    /// missing directories and repairs owners and modes, never removes anything. It refuses, exit
    /// status 2 and one line saying which disk to check, while a mount that /etc/fstab or a .mount
    /// unit declares at the base or at one of its parents is not in place (unless
    /// tier.require_mountpoint = false): the tree is then never created on the root filesystem
    /// beneath the mount point. "In place" means that filesystem is the one seen there (device
    /// numbers), so a mount hidden by a later mount on a parent or by a bind mount on top is not.
    /// A mount declared below the base (a service's own disk) that is not in place: everything
    /// else is created, nothing at or beneath its mount point, exit status 2.
    /// jts-hot-setup.service runs it at boot after the tier's mounts;
    /// the package scripts run it too. It uses the layout in force (the one `jts-hot apply`
    /// last applied). It says everything it did and did not do, a line each (stdout; under
    /// systemd each line carries its syslog priority, so the journal has them): each directory
    /// created; each one repaired, with what it found and what it set ("repaired DIR: found
    /// postgres:postgres 0777, set postgres:postgres 0750"); then each finding of a full
    /// validation that it leaves to the operator, because setup never removes, follows or
    /// rewrites anything (a symlink in a directory's place, an ancestor a service cannot
    /// traverse, a missing mount option); then a summary line.
    #[command(after_long_help = crate::cli_help::SETUP)]
    Setup(SetupArgs),
    /// Identify the device under the tier and measure fsync, random-read and write latency
    #[command(after_long_help = crate::cli_help::PROBE)]
    Probe(ProbeArgs),
    /// The one screen: layout in force, pending edit, tier, units, last monitor run, quotas, SELinux
    #[command(after_long_help = crate::cli_help::STATUS)]
    Status(StatusArgs),
    /// Set or show the project quotas that hold each service directory to its plan
    #[command(subcommand, after_long_help = crate::cli_help::QUOTA)]
    Quota(QuotaCommand),
    /// Print the default layout, or check a layout file
    #[command(subcommand, after_long_help = crate::cli_help::CONFIG)]
    Config(ConfigCommand),
    /// Write a shell's completion script to stdout (used by packaging)
    ///
    /// The script asks this binary (`jts-hot`, found on PATH) for each completion, with
    /// JTS_HOT_COMPLETE set: subcommands, options, their values, and the service names of the
    /// layout in force for --service.
    #[command(hide = true)]
    Completions { shell: CompletionShell },
    /// Write man pages into DIR (used by packaging)
    #[command(hide = true)]
    Manpages { dir: PathBuf },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write the tree into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MonitorFormat {
    Text,
    Json,
    Prometheus,
    /// The monitoring-plugin format (NRPE): status line, perfdata, details
    Nagios,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
    /// The monitoring-plugin format (NRPE): status line, perfdata, details
    Nagios,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// text: findings for people (and the journal); json: schema jts-hot.validate/1;
    /// nagios: `JTS-HOT STATUS - ...` and perfdata for NRPE (/usr/share/doc/jts-hot/nagios.md)
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
    /// Check only the base, its mount and this service's directories (repeatable)
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(service_names))]
    pub service: Vec<String>,
    /// As a gated unit's ExecCondition=: exit 0 on OK and WARNING, print only what blocks the start
    ///
    /// The gate drop-in (UNIT.d/jts-hot.conf) runs `jts-hot validate --gate --service=NAME` before
    /// every start of the unit. WARNING findings do not block a start and are not printed there
    /// (jts-hot-validate.service and the monitor report them); each CRITICAL or UNKNOWN finding
    /// is one line with the command that fixes it, and the exit status is 2 (CRITICAL) or
    /// 3 (UNKNOWN), which refuses the start (the unit stays inactive, its condition unmet).
    /// SIGTERM is ignored while the gate runs: a restart meanwhile gets its verdict, not a kill.
    #[arg(long)]
    pub gate: bool,
    /// Validate an offline image: layout, paths and owners are looked up under DIR
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print a summary line even when all is well
    #[arg(short, long)]
    pub verbose: bool,
    /// Exit 0 on WARNING as on OK: for jts-hot's own units, so that `systemctl status` shows a
    /// usable tier as success (status=0/SUCCESS); the output and the metrics still say WARNING
    #[arg(long)]
    pub warning_ok: bool,
    /// quota.tree reads the last walk of the service trees from here
    #[command(flatten)]
    pub state: StateDirArg,
}

/// The state directory shared by monitor (growth history, quota tree walk),
/// probe (baseline), validate and quota set --repair (the tree walk);
/// systemd's StateDirectory= passes it as $STATE_DIRECTORY.
#[derive(Debug, Args)]
pub struct StateDirArg {
    /// Where jts-hot keeps its growth history, probe baseline and quota tree walk
    #[arg(
        long = "state-dir",
        value_name = "DIR",
        env = "STATE_DIRECTORY",
        default_value = jts_hot::state::DEFAULT_DIR
    )]
    pub state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// text: a picture for people; json, prometheus and nagios: for programs [default: text; under
    /// systemd ($JOURNAL_STREAM set) a few whole lines: one per thing not OK, and the summary]
    ///
    /// text draws, per service, a bar of used against planned ('█' used, '·' free, '|' the
    /// warning share, '!' the critical share, '▶' past the plan), the share of plan, used and
    /// planned bytes and the status; under it a sparkline of the last 7 days of history, the
    /// growth per day and the days until the plan; then the filesystem the same way. Every line
    /// fits the terminal: COLUMNS, else the terminal's width, else 80 (0% is an empty bar). Color (green, yellow, red by the threshold reached) only when stdout is
    /// a terminal and NO_COLOR is unset or empty. json, prometheus and nagios never depend on the
    /// terminal. nagios: the monitoring-plugin format for NRPE, `JTS-HOT STATUS - summary |
    /// perfdata` then details (/usr/share/doc/jts-hot/nagios.md).
    #[arg(long, value_enum)]
    pub format: Option<MonitorFormat>,
    /// Also write DIR/jts_hot.prom atomically for node_exporter's textfile collector
    #[arg(long, value_name = "DIR")]
    pub textfile_dir: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateDirArg,
    /// Walk every service directory, even one whose project quota gives its usage in O(1)
    /// (for file and directory counts and apparent sizes)
    #[arg(long)]
    pub walk: bool,
    /// Walker threads (default: 8 per CPU, 8 to 32; at most 256, and fewer if the system refuses more)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Exit 0 on WARNING as on OK: for jts-hot's own units, so that `systemctl status` shows a
    /// usable tier as success (status=0/SUCCESS); the output and the metrics still say WARNING
    #[arg(long)]
    pub warning_ok: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    #[command(flatten)]
    pub state: StateDirArg,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    /// Measure the filesystem under DIR's copy of the base (an image, or a root being prepared)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Say what would change in the tier and its units, a line each, and change nothing
    ///
    /// One line per directory created or changed (owner, group, mode: old → new), user or group
    /// added, gate added or removed, plan, quota or SELinux label changed (against the layout in
    /// force), unit changed; then a one-line summary ("3 changes: ..."). --diff adds the files'
    /// unified diffs.
    #[arg(long)]
    pub dry_run: bool,
    /// Also print the unified diff of every generated file that changes
    #[arg(long)]
    pub diff: bool,
    /// Render the layout in force again (the one apply last applied), not the saved file
    ///
    /// What the package scripts run after an upgrade, so that the units and drop-ins in /etc are
    /// the new version's rendering of the applied layout, never a stale copy shadowing the
    /// packaged ones. A saved edit stays pending. When apply never ran, the packaged files are in
    /// force and nothing is done; a host that an older jts-hot applied (its files in /etc, no
    /// applied copy yet) is applied with its saved layout, the one that version ran by.
    #[arg(long, conflicts_with_all = ["config", "default_layout"])]
    pub reapply: bool,
    /// Apply to an image or mounted root: files and layout under DIR, sysusers and tmpfiles with --root, no systemctl
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Where SELinux is enabled, the priority the tier's SELinux module is installed at (semodule -X):
    /// above the package's 200, below an operator's own modules (400, semodule's default)
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u16).range(1..=999))]
    pub selinux_priority: u16,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Exit 0 when only warnings are left to the operator: for jts-hot-setup.service, so that
    /// `systemctl status` shows a usable tier as success (the lines still say WARNING)
    #[arg(long)]
    pub warning_ok: bool,
    /// Set up an image or a root being prepared: files, layout and tier under DIR
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// First give each service that validate reports as dir.owner.remap its owner's IDs: every
    /// inode of that service's tree carrying the old uid (gid) gets the new one, nothing else
    /// (no link followed, no other filesystem entered); a journal line per service with the count
    #[arg(long)]
    pub remap_owners: bool,
    #[command(flatten)]
    pub state: StateDirArg,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Directory to probe in (one temporary file) [default: the layout's tier base]; its figures judge only the services on it (none outside the tier)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Largest size of the temporary file (at least 1MiB)
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_probe_size)]
    pub size: u64,
    /// Time budget of the measurements (at most 1day)
    #[arg(long, visible_alias = "time", value_name = "DURATION", default_value = "10s",
          value_parser = parse_duration)]
    pub duration: std::time::Duration,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    /// Save this run as the baseline that later runs are compared with
    #[arg(long)]
    pub save: bool,
    #[command(flatten)]
    pub state: StateDirArg,
    /// Warn when a latency exceeds the baseline's times FACTOR, or throughput falls below its share 1/FACTOR
    #[arg(long, value_name = "FACTOR", default_value = "2.0", value_parser = parse_factor)]
    pub regression_factor: f64,
}

fn parse_probe_size(s: &str) -> Result<u64, String> {
    let n = parse_size::parse_size(s).map_err(|e| e.to_string())?;
    if n < jts_hot::probe::measure::MIN_SIZE {
        return Err("must be at least 1MiB".into());
    }
    Ok(n)
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    if d > jts_hot::probe::measure::MAX_DURATION {
        return Err("must be at most 1day".into());
    }
    Ok(d)
}

fn parse_factor(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f >= 1.0 && f.is_finite() => Ok(f),
        _ => Err("must be a number of at least 1".into()),
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the built-in default layout, with comments, as a file to start from
    #[command(after_long_help = crate::cli_help::CONFIG_DEFAULT)]
    Default,
    /// Check a layout file and explain what is wrong
    ///
    /// Every error in one run, in the order of the file, one line each as
    /// FILE:LINE:COLUMN: FIELD: MESSAGE: TOML syntax, unknown keys ("did you mean ..."), values
    /// of the wrong type (an unquoted mode), sizes spelled ambiguously ("800G", "800gb",
    /// "10 TB": the message gives the spelling to use) and every rule of
    /// jts-hot-layout.toml(5). A valid layout prints its counts, digest and plan against
    /// tier.capacity.
    #[command(after_long_help = crate::cli_help::CONFIG_CHECK)]
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Tag each service directory with its project ID and set its limits, as tier.quota says
    ///
    /// What jts-hot-quota.service runs at every boot, after the tier is mounted and before
    /// validation; `jts-hot apply` does the same. Each service directory and its planned
    /// subdirectories get the service's project ID and the inherit flag (FS_IOC_FSSETXATTR), so
    /// everything created below them is accounted to the service; with tier.quota = "enforce"
    /// the project's soft and hard block limits are set (quotactl). Nothing already inside is
    /// walked or changed: files that existed before a directory was tagged keep their project
    /// until the one-time `chattr -R -p ID +P DIR` that /usr/share/doc/jts-hot/quotas.md
    /// describes. A directory whose owner set another project ID or cleared the inherit flag
    /// (`chattr -p`, `chattr -P`: the kernel lets a file's owner do both) is re-tagged, with a
    /// line at warning priority naming the directory and the ID it carried. Idempotent: what
    /// already matches is not touched.
    ///
    /// --repair also walks every service tree (never following a symlink, never leaving the
    /// tier's filesystem, never entering a subtree named in the service's quota_foreign) and
    /// re-tags each file and directory outside the service's project, and each directory
    /// without the inherit flag; nothing is moved, rewritten or deleted. Its result is saved in
    /// the state directory (quota-tree.json), where validate's quota.tree check and the
    /// monitor's jts_hot_quota_misattributed_* series read it. Symlinks, FIFOs, sockets and
    /// device nodes cannot be checked (their project is not readable through a descriptor on
    /// this kernel): they are counted. Under systemd each line carries its syslog priority
    /// (what is not in place, or was changed by someone else, a warning; the unit fails when
    /// something is not in place, so `systemctl --failed` shows it). --format json: schema
    /// jts-hot.quota-set/1 (/usr/share/doc/jts-hot/quotas.md).
    #[command(after_long_help = crate::cli_help::QUOTA_SET)]
    Set {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
        /// Also walk every service tree and re-tag what is outside its project
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Show the filesystem's project quota state, each directory's project, usage and limits
    ///
    /// Reads only. Sizes in decimal units, as the layout writes them. --format json: schema
    /// jts-hot.quota-status/1 (/usr/share/doc/jts-hot/quotas.md), bytes as integers.
    #[command(after_long_help = crate::cli_help::QUOTA_STATUS)]
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Save the projects' usage and limits for the sandboxed validate and monitor units
    ///
    /// What jts-hot-quota-read.service runs before each validate and monitor run: reading a
    /// project's usage takes CAP_SYS_ADMIN, which only that unit holds. Saves the filesystem's
    /// quota state and each service's project figures in the state directory
    /// (quota-usage.json, schema jts-hot.quota-usage/1); validate and the monitor read it when
    /// they are denied quotactl, and only when it is at most 5 minutes old and for the same
    /// base. With tier.quota off it saves nothing.
    #[command(after_long_help = crate::cli_help::QUOTA_RECORD)]
    Record {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
        #[command(flatten)]
        state: StateDirArg,
    },
}
