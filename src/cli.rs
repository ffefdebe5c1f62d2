//! The command line, declared once: used by main.rs to parse, and by the
//! packaging step to write man pages and shell completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "jts-hot",
    version,
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
    Generate(GenerateArgs),
    /// Check the tier against the layout: directories, owners, modes, mount, capacity, staleness
    Validate(ValidateArgs),
    /// Measure usage per service against the plan, track growth, export to Prometheus
    Monitor(MonitorArgs),
    /// Show the planned allocation against tier.capacity and the real filesystem
    Plan(PlanArgs),
    /// Install the rendered layout into /etc and run sysusers, tmpfiles and daemon-reload
    Apply(ApplyArgs),
    /// Print the default layout, or check a layout file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write shell completions to stdout (used by packaging)
    #[command(hide = true)]
    Completions { shell: clap_complete::Shell },
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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    /// Validate an offline image: paths and owners are looked up under DIR
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print a summary line even when all is well
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: MonitorFormat,
    /// Also write DIR/jts_hot.prom atomically for node_exporter's textfile collector
    #[arg(long, value_name = "DIR")]
    pub textfile_dir: Option<PathBuf>,
    /// Where the growth history is kept
    #[arg(
        long,
        value_name = "DIR",
        env = "STATE_DIRECTORY",
        default_value = "/var/lib/jts-hot"
    )]
    pub state_dir: PathBuf,
    /// Walker threads (default: 8 per CPU, 8 to 32)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Print a unified diff of what would change and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Apply to an image or mounted root (no systemctl; sysusers and tmpfiles with --root)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the built-in default layout, with comments, as a file to start from
    Default,
    /// Check a layout file and explain what is wrong
    Check { file: PathBuf },
}
