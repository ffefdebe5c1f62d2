//! The boot harness: a cached Debian bookworm root filesystem, a fresh copy of
//! it per scenario, the real packages installed inside by dpkg or rpm, and real
//! boots with systemd-nspawn, observed from inside by a probe unit.
//!
//! Every container is bounded by `timeout` and, whatever happens, killed by
//! `Machine`'s guard: processes are recognised by a marker in their
//! environment (set with --setenv), so a container whose nspawn died is still
//! found and stopped.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[allow(unused_imports)] // each test binary uses some of them
pub use crate::common::steps::{parse_props, sh_quote, Report, Steps as Probe};
use crate::common::{bounded, have_root, have_tools, repo_root, run, wait_until};
#[allow(unused_imports)]
pub use crate::common::{must, tail, work_dir};

/// Seconds a boot may take before `timeout` stops it (SIGTERM makes nspawn
/// halt the container; SIGKILL follows 10 s later).
const BOOT_TIMEOUT: u64 = 120;
/// Seconds a plain command in the container (dpkg, rpm, apt-get) may take.
const RUN_TIMEOUT: u64 = 300;
/// Environment marker carried by every container's PID 1.
const MARKER: &str = "JTS_HOT_BOOT_ROOT";
/// Inside the root: where the probe's steps are and where it writes results.
const PROBE_STEPS: &str = "usr/local/lib/jts-probe/steps";
const PROBE_RUNNER: &str = "usr/local/lib/jts-probe/run";
const PROBE_OUT: &str = "var/lib/jts-probe";
const PROBE_UNIT: &str = "etc/systemd/system/jts-probe.service";

/// What the boot tests need on the host; reports (or, under CI, fails) if missing.
pub fn prerequisites(test: &str) -> bool {
    have_root(test)
        && have_tools(
            test,
            &[
                "systemd-nspawn",
                "debootstrap",
                "dpkg-deb",
                "timeout",
                // packaging/build.sh's builders
                "dpkg-buildpackage",
                "dh",
                "cargo-generate-rpm",
            ],
        )
}

// ---------------------------------------------------------------- packages

/// The packages under test, built once per test binary by packaging/build.sh.
pub struct Packages {
    pub deb: PathBuf,
    pub rpm: PathBuf,
    /// jts-hot-selinux, the .rpm's SELinux subpackage.
    pub selinux_rpm: PathBuf,
}

pub fn packages() -> &'static Packages {
    static PACKAGES: OnceLock<Packages> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let script = repo_root().join("packaging/build.sh");
        let started = Instant::now();
        let (code, stdout, stderr) = run(Command::new(&script).current_dir(repo_root()));
        assert_eq!(code, 0, "{} failed:\n{stdout}\n{stderr}", script.display());
        // Its last two lines are the paths of the .deb and the .rpm, the
        // one before them jts-hot-selinux's .rpm.
        let paths: Vec<PathBuf> = stdout.lines().rev().take(3).map(PathBuf::from).collect();
        let find = |ext: &str, selinux: bool| {
            paths
                .iter()
                .find(|p| {
                    p.extension().is_some_and(|e| e == ext)
                        && p.to_string_lossy().contains("jts-hot-selinux") == selinux
                })
                .unwrap_or_else(|| panic!("no .{ext} among build.sh's last lines:\n{stdout}"))
                .clone()
        };
        let packages = Packages {
            deb: find("deb", false),
            rpm: find("rpm", false),
            selinux_rpm: find("rpm", true),
        };
        eprintln!(
            "boot: packages built in {:.0?}: {} {}",
            started.elapsed(),
            packages.deb.display(),
            packages.rpm.display()
        );
        packages
    })
}

/// A copy of the .deb with a higher version: a newer build of the same
/// package, to test an upgrade. Made with dpkg-deb, as any rebuild would be.
pub fn newer_deb(deb: &Path, dir: &Path) -> PathBuf {
    let tree = dir.join("newer-deb");
    let _ = fs::remove_dir_all(&tree);
    must(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&tree));
    let control = tree.join("DEBIAN/control");
    let text = fs::read_to_string(&control).unwrap();
    let text: String = text
        .lines()
        .map(|l| match l.strip_prefix("Version: ") {
            Some(v) => format!("Version: {v}+boottest1\n"),
            None => format!("{l}\n"),
        })
        .collect();
    fs::write(&control, text).unwrap();
    let out = dir.join("jts-hot-newer.deb");
    must(
        Command::new("dpkg-deb")
            .args(["-b", "--root-owner-group"])
            .arg(&tree)
            .arg(&out),
    );
    let _ = fs::remove_dir_all(&tree);
    out
}

/// A newer build of the .rpm (release 2.boottest), to test an upgrade: the
/// same command packaging/build.sh runs, on what it built and staged.
pub fn newer_rpm(dir: &Path) -> PathBuf {
    packages();
    let out = dir.join("jts-hot-newer.rpm");
    must(
        Command::new("cargo")
            .args([
                "generate-rpm",
                "--set-metadata",
                "release = \"2.boottest\"",
                "-o",
            ])
            .arg(&out)
            .current_dir(repo_root())
            .env_remove("CARGO_TARGET_DIR"),
    );
    out
}

// ------------------------------------------------------- cached root images

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// debootstrap minbase with systemd, systemd-sysv and dbus.
    Bookworm,
    /// The same with Debian's rpm installed, for the .rpm scenario.
    BookwormRpm,
    /// rpm, Debian's SELinux policy and its tools (semodule, selinuxenabled),
    /// for the packages' SELinux scriptlets.
    BookwormSelinux,
    /// The real databases' packages from Debian's repositories (postgresql-15,
    /// redis-server, logrotate) downloaded, not installed, with apt's lists:
    /// a scenario installs them with `apt-get install --no-download` before
    /// or after jts-hot, as it tests (tests/databases.rs).
    BookwormDatabases,
    /// The same as Bookworm with sudo installed, for docs/nagios.md's sudoers
    /// snippet run by an unprivileged NRPE user (tests/boot.rs).
    BookwormSudo,
}

/// The packages of `Image::BookwormDatabases`.
pub const DATABASE_PACKAGES: &str = "postgresql-15 redis-server logrotate";

impl Image {
    fn name(self) -> &'static str {
        match self {
            Image::Bookworm => "bookworm",
            Image::BookwormRpm => "bookworm-rpm",
            Image::BookwormSelinux => "bookworm-selinux",
            Image::BookwormDatabases => "bookworm-databases",
            Image::BookwormSudo => "bookworm-sudo",
        }
    }
}

const STAMP: &str = ".jts-hot-boot-cache-complete";

/// The cached root filesystem of `image`, made on first use. A directory is
/// reused only when its stamp says it was finished; a partial one is remade.
pub fn cached_image(image: Image) -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let cache = work_dir().join("boot-cache");
    let done = cache.join(image.name());
    if done.join(STAMP).exists() {
        return done;
    }
    fs::create_dir_all(&cache).unwrap();
    let partial = cache.join(format!("{}.partial", image.name()));
    for stale in [&done, &partial] {
        if stale.exists() {
            stop_containers(stale);
            fs::remove_dir_all(stale).unwrap();
        }
    }
    let started = Instant::now();
    let recipe = match image {
        Image::Bookworm => {
            let args = [
                "--variant=minbase",
                "--include=systemd,systemd-sysv,dbus",
                "bookworm",
            ];
            eprintln!(
                "boot: debootstrap {} (about a minute, once)",
                args.join(" ")
            );
            must(Command::new("debootstrap").args(args).arg(&partial));
            format!("debootstrap {}", args.join(" "))
        }
        Image::BookwormRpm => {
            copy_tree(&cached_image_unlocked_base(), &partial);
            let script =
                "apt-get update -q && apt-get install -y -q --no-install-recommends rpm && apt-get clean";
            let (code, out) = run_in(&partial, script);
            assert_eq!(code, 0, "installing rpm in the image failed:\n{out}");
            "bookworm + apt-get install rpm".to_string()
        }
        Image::BookwormSelinux => {
            copy_tree(&cached_image_unlocked_base(), &partial);
            eprintln!("boot: installing Debian's SELinux policy in an image (a few minutes, once)");
            // Two steps: the policy's own install builds the store, the long part.
            for script in [
                "apt-get update -q && apt-get install -y -q --no-install-recommends \
                 rpm semodule-utils policycoreutils selinux-utils",
                "apt-get install -y -q --no-install-recommends selinux-policy-default && apt-get clean",
            ] {
                let (code, out) = run_in(&partial, script);
                assert_eq!(code, 0, "installing SELinux in the image failed:\n{out}");
            }
            "bookworm + apt-get install rpm selinux-policy-default semodule-utils policycoreutils selinux-utils".to_string()
        }
        Image::BookwormDatabases => {
            copy_tree(&cached_image_unlocked_base(), &partial);
            eprintln!("boot: downloading PostgreSQL and Redis into an image (a minute, once)");
            let script = format!(
                "apt-get update -q && apt-get install -y -q --no-install-recommends \
                 --download-only {DATABASE_PACKAGES}"
            );
            let (code, out) = run_in(&partial, &script);
            assert_eq!(
                code, 0,
                "downloading the databases into the image failed:\n{out}"
            );
            format!("bookworm + apt-get install --download-only {DATABASE_PACKAGES}")
        }
        Image::BookwormSudo => {
            copy_tree(&cached_image_unlocked_base(), &partial);
            let script = "apt-get update -q && apt-get install -y -q --no-install-recommends sudo \
                          && apt-get clean";
            let (code, out) = run_in(&partial, script);
            assert_eq!(code, 0, "installing sudo in the image failed:\n{out}");
            "bookworm + apt-get install sudo".to_string()
        }
    };
    fs::write(partial.join(STAMP), format!("{recipe}\n")).unwrap();
    fs::rename(&partial, &done).unwrap();
    eprintln!(
        "boot: image {} made in {:.0?}",
        image.name(),
        started.elapsed()
    );
    done
}

/// The base image, made if missing, for an image derived from it (the caller
/// holds the cache lock, so this one must not take it again).
fn cached_image_unlocked_base() -> PathBuf {
    let done = work_dir().join("boot-cache").join(Image::Bookworm.name());
    assert!(
        done.join(STAMP).exists(),
        "the bookworm image must be made before the images derived from it"
    );
    done
}

pub fn copy_tree(from: &Path, to: &Path) {
    must(
        Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(from)
            .arg(to),
    );
}

// ------------------------------------------------------------------ machine

/// A scenario's own root filesystem, a fresh copy of a cached image. Dropping
/// it stops anything still running in it, then deletes it unless the test is
/// failing (kept for inspection: its path is printed).
pub struct Machine {
    pub root: PathBuf,
    console: PathBuf,
    boots: usize,
}

impl Machine {
    pub fn fresh(scenario: &str, image: Image) -> Machine {
        if image != Image::Bookworm {
            cached_image(Image::Bookworm);
        }
        let image_dir = cached_image(image);
        let runs = work_dir().join("boot-runs");
        fs::create_dir_all(&runs).unwrap();
        let root = runs.join(scenario);
        if root.exists() {
            stop_containers(&root);
            fs::remove_dir_all(&root).unwrap();
        }
        copy_tree(&image_dir, &root);
        fs::remove_file(root.join(STAMP)).unwrap();
        Machine::at(root)
    }

    fn at(root: PathBuf) -> Machine {
        let console = root.with_extension("console.log");
        Machine {
            root,
            console,
            boots: 0,
        }
    }

    /// A path inside the machine, as seen from the host.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    pub fn write(&self, inside: &str, contents: &str) {
        let path = self.path(inside);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    pub fn read(&self, inside: &str) -> String {
        fs::read_to_string(self.path(inside))
            .unwrap_or_else(|e| panic!("cannot read {inside} in the machine: {e}"))
    }

    /// Copies a host file into /root of the machine; returns its path inside.
    pub fn put(&self, host: &Path, name: &str) -> String {
        fs::copy(host, self.path("/root").join(name)).unwrap();
        format!("/root/{name}")
    }

    /// Runs a shell command in the container, not booted (as a chroot would,
    /// with no systemd as PID 1). Returns (exit code, stdout + stderr).
    pub fn run(&self, script: &str) -> (i32, String) {
        run_in(&self.root, script)
    }

    /// `run`, asserting success; returns the output.
    pub fn run_ok(&self, script: &str) -> String {
        let (code, out) = self.run(script);
        assert_eq!(code, 0, "in the container, `{script}` failed:\n{out}");
        out
    }

    /// Boots the machine, runs `probe` once multi-user.target is reached, and
    /// returns what it recorded. The probe powers the machine off.
    pub fn boot(&mut self, probe: &Probe) -> Report {
        self.boots += 1;
        install_probe(probe, self);
        let started = Instant::now();
        let status = self
            .start_boot()
            .wait()
            .expect("cannot wait for systemd-nspawn");
        let wall = started.elapsed();
        stop_containers(&self.root);
        let console = fs::read_to_string(&self.console).unwrap_or_default();
        let out = self.path(PROBE_OUT);
        assert!(
            out.join("done").exists(),
            "boot {} of {} did not run the probe to its end (nspawn: {status}); console:\n{}",
            self.boots,
            self.root.display(),
            tail(&console, 60)
        );
        eprintln!(
            "boot: {} boot {} took {wall:.1?}",
            self.root.file_name().unwrap().to_string_lossy(),
            self.boots
        );
        Report::read(&out, wall)
    }
}

impl Machine {
    /// Starts booting the machine in the background, bounded by `timeout`.
    /// Its console goes to a log file beside the root.
    pub fn start_boot(&self) -> Child {
        let console = fs::File::create(&self.console).unwrap();
        bounded(BOOT_TIMEOUT, 10, "systemd-nspawn")
            .arg("-D")
            .arg(&self.root)
            .args([
                "--register=no",
                "--keep-unit",
                "--boot",
                "--console=read-only",
                "--private-network",
                "-q",
            ])
            .arg(format!("--setenv={MARKER}={}", self.root.display()))
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .process_group(0)
            .spawn()
            .expect("cannot run timeout systemd-nspawn")
    }

    /// How many containers (their PID 1s) run on this machine's root.
    pub fn running(&self) -> usize {
        container_inits(&self.root).len()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        stop_containers(&self.root);
        if std::thread::panicking() {
            eprintln!(
                "boot: kept {} (and {}) for inspection",
                self.root.display(),
                self.console.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.root);
            let _ = fs::remove_file(&self.console);
        }
    }
}

/// Runs a shell command in a container on `root`, not booted (as in a chroot:
/// systemd is not PID 1). Returns (exit code, stdout + stderr).
pub fn run_in(root: &Path, script: &str) -> (i32, String) {
    let mut cmd = bounded(RUN_TIMEOUT, 10, "systemd-nspawn");
    cmd.arg("-D")
        .arg(root)
        .args(["--register=no", "--keep-unit", "-q"])
        .arg(format!("--setenv={MARKER}={}", root.display()))
        .args(["--setenv=DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-c"])
        .arg(script)
        .stdin(Stdio::null())
        .process_group(0);
    let (code, stdout, stderr) = run(&mut cmd);
    stop_containers(root);
    (code, format!("{stdout}{stderr}"))
}

/// Stops every container started on `root`: a poweroff request (SIGRTMIN+4;
/// SIGTERM would only make systemd re-execute) to each container's PID 1,
/// then SIGKILL to whatever is left after 10 s.
pub fn stop_containers(root: &Path) {
    let inits = container_inits(root);
    if container_pids(root).is_empty() {
        return;
    }
    eprintln!(
        "boot: stopping container(s) left on {}: {inits:?}",
        root.display()
    );
    for pid in &inits {
        // nix has no real-time signals; kill(1) knows them by name.
        let _ = Command::new("/bin/kill")
            .args(["-s", "RTMIN+4", &pid.to_string()])
            .status();
    }
    wait_until(
        Instant::now() + Duration::from_secs(10),
        Duration::from_millis(100),
        || container_pids(root).is_empty(),
    );
    for pid in container_pids(root) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// PIDs of processes whose environment carries the marker for `root`: the
/// container's PID 1 and, since systemd hands the environment it was given by
/// nspawn on to its services, the container's services too.
fn container_pids(root: &Path) -> Vec<i32> {
    let marker = format!("{MARKER}={}", root.display());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Of those, the ones that are PID 1 in their own PID namespace.
fn container_inits(root: &Path) -> Vec<i32> {
    container_pids(root)
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("NSpid:"))?.to_string();
                    Some(line.split_whitespace().last() == Some("1"))
                })
                .unwrap_or(false)
        })
        .collect()
}

// -------------------------------------------------------------------- probe

/// Writes the probe (its steps, a runner, a unit wanted by
/// multi-user.target) into the machine; each step's output and exit code are
/// recorded under its name, read back as a `Report`.
fn install_probe(probe: &Probe, m: &Machine) {
    let steps = m.path(PROBE_STEPS);
    let _ = fs::remove_dir_all(&steps);
    let _ = fs::remove_dir_all(m.path(PROBE_OUT));
    fs::create_dir_all(&steps).unwrap();
    for (i, (name, script)) in probe.iter().enumerate() {
        fs::write(steps.join(format!("{i:03}-{name}")), script).unwrap();
    }
    m.write(
        PROBE_RUNNER,
        &format!(
            "#!/bin/sh\n\
             # jts-hot boot test probe: runs each step, records it, powers off.\n\
             out=/{PROBE_OUT}\n\
             mkdir -p $out\n\
             for f in /{PROBE_STEPS}/*; do\n\
             \x20 n=${{f##*/}}; n=${{n#*-}}\n\
             \x20 timeout 60 /bin/sh -e \"$f\" >\"$out/$n.out\" 2>\"$out/$n.err\"\n\
             \x20 echo $? >\"$out/$n.rc\"\n\
             done\n\
             touch $out/done\n\
             systemctl poweroff --no-block\n"
        ),
    );
    fs::set_permissions(m.path(PROBE_RUNNER), fs::Permissions::from_mode(0o755)).unwrap();
    m.write(
        PROBE_UNIT,
        &format!(
            "[Unit]\n\
             Description=jts-hot boot test probe\n\
             After=multi-user.target\n\
             [Service]\n\
             Type=simple\n\
             ExecStart=/{PROBE_RUNNER}\n\
             # On this cgroup-v1 hybrid host systemd in a container now and\n\
             # then cannot place a process in its cgroup (219/CGROUP, before\n\
             # exec): start the probe again rather than time the boot out.\n\
             RestartForceExitStatus=219\n\
             RestartSec=1\n\
             [Install]\n\
             WantedBy=multi-user.target\n"
        ),
    );
    let wants = m.path("etc/systemd/system/multi-user.target.wants");
    fs::create_dir_all(&wants).unwrap();
    let link = wants.join("jts-probe.service");
    if fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(format!("/{PROBE_UNIT}"), link).unwrap();
    }
}

/// A step that (re)starts `unit`, with one retry when it did not come up for
/// another reason than a gate: on this cgroup-v1 hybrid host, systemd in a
/// container sometimes cannot place a restarted unit's process in its cgroup
/// (219/CGROUP, "Failed to attach to cgroup ...: No such file or directory",
/// seen for gated and ungated units alike, ours and the stand-in's). For a
/// gate's ExecCondition= that reads as a skipped start (inactive, restart
/// returns 0), so the retry is on "not active" rather than on restart's exit
/// status; said on stderr. Not for steps that expect a refused start.
pub fn restart(unit: &str) -> String {
    format!(
        "systemctl reset-failed {unit}; {{ systemctl restart {unit} && systemctl is-active -q {unit}; }} || {{ \
         echo \"retry: $(systemctl show {unit} -p ExecMainStatus -p Result)\" >&2; \
         sleep 1; systemctl reset-failed {unit}; systemctl restart {unit}; }}"
    )
}

/// Scenarios share the machine (at most as many at once as cargo's test
/// threads); the timing scenario takes it alone so its figures are not skewed.
static SLOT: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub fn shared_slot() -> std::sync::RwLockReadGuard<'static, ()> {
    SLOT.read().unwrap_or_else(|e| e.into_inner())
}

pub fn exclusive_slot() -> std::sync::RwLockWriteGuard<'static, ()> {
    SLOT.write().unwrap_or_else(|e| e.into_inner())
}
