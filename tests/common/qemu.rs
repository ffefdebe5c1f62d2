//! The real-kernel harness: Debian's own kernel booted in qemu (TCG: KVM does
//! not work on the build machines), for what a container cannot show: block
//! devices, /etc/fstab and mount units, a disk missing at boot, quotas.
//!
//! - `cached_root()`: a bookworm root filesystem with linux-image-amd64 and a
//!   small initrd, made once by debootstrap under target/tmp and reused only
//!   when its stamp says it was finished.
//! - `Guest::fresh(name)`: a scenario's own copy of that tree. Change it with
//!   `write`, `run` (a command in a container on the tree: dpkg -i, chown...)
//!   and `install_deb`; the first `boot` turns it into a root disk image
//!   (`mkfs.ext4 -d`, no loop mount). Later `write`s go into that image with
//!   debugfs, so a scenario keeps its root disk from boot to boot.
//! - `Disk`: another virtio disk (vdb, vdc... in the order given to `Boot`).
//! - `Guest::boot(&Boot, &Scenario)`: boots, runs the scenario's steps once
//!   multi-user.target is reached (their markers and output go to ttyS0), and
//!   powers off. Every boot is bounded: qemu is killed at the timeout, or as
//!   soon as the serial log shows a `stop_when` text (emergency mode...).
//!   The steps' results are read back from the root image with debugfs.
//!
//! Boots run one at a time per test binary: each takes ~1 GiB and both cores.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::common::steps::Steps as Scenario;
use crate::common::steps::{sh_quote, Report};
use crate::common::{bounded, have_root, have_tools, must, run, tail, wait_until, work_dir};
use crate::nspawn::{copy_tree, run_in};

/// What every boot scenario needs on the host; reports (or, under CI, fails)
/// when something is missing.
pub fn prerequisites(test: &str) -> bool {
    have_root(test)
        && have_tools(
            test,
            &[
                "qemu-system-x86_64",
                "debootstrap",
                "systemd-nspawn",
                "mkfs.ext4",
                "debugfs",
                "e2fsck",
                "timeout",
            ],
        )
}

// --------------------------------------------------------- the cached root

/// Packages of the guest: systemd as init, Debian's kernel, the filesystem
/// and quota tools the scenarios use.
const INCLUDE: &str =
    "systemd,systemd-sysv,dbus,linux-image-amd64,initramfs-tools,e2fsprogs,xfsprogs,quota,udev";
/// Modules the small initrd carries: enough to mount an ext4 root on virtio.
const INITRD_MODULES: &str = "virtio_pci virtio_blk ext4 crc32c_generic";
/// Module trees no guest here needs (no sound, GPU, network, USB...): half
/// the root's size, so each scenario's root image is made twice as fast.
const TRIMMED_MODULES: &str = "sound drivers/gpu drivers/net drivers/media drivers/infiniband \
     drivers/staging drivers/usb drivers/bluetooth drivers/iio drivers/scsi/qla2xxx \
     drivers/scsi/lpfc drivers/scsi/mpt3sas drivers/hid drivers/isdn drivers/mtd net/wireless \
     net/mac80211 net/bluetooth";
const STAMP: &str = ".jts-hot-qemu-cache-complete";
/// Inside the root: the kernel and the small initrd, at fixed names.
const KERNEL: &str = "boot/jts-vmlinuz";
const INITRD: &str = "boot/jts-initrd.img";

/// The cached guest root filesystem, made on first use (~3 min). A directory
/// is reused only when its stamp says it was finished with today's recipe; a
/// partial one is remade. Two stages, each stamped: debootstrap (the slow
/// part), then the boot setup done on a copy of it.
pub fn cached_root() -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let cache = work_dir().join("qemu-cache");
    let done = cache.join("bookworm-kernel");
    let args = [
        "--variant=minbase".to_string(),
        format!("--include={INCLUDE}"),
        "bookworm".to_string(),
    ];
    let bootstrap_recipe = format!("debootstrap {}\n", args.join(" "));
    let recipe = format!("{bootstrap_recipe}small initrd ({INITRD_MODULES}); units masked; trimmed {TRIMMED_MODULES}\n");
    if stamped(&done, &recipe) {
        return done;
    }
    fs::create_dir_all(&cache).unwrap();
    let bootstrapped = cache.join("bookworm-kernel.debootstrap");
    if !stamped(&bootstrapped, &bootstrap_recipe) {
        let partial = cache.join("bookworm-kernel.debootstrap.partial");
        for stale in [&bootstrapped, &partial] {
            if stale.exists() {
                fs::remove_dir_all(stale).unwrap();
            }
        }
        let started = Instant::now();
        eprintln!("qemu: debootstrap {} (a few minutes, once)", args.join(" "));
        must(Command::new("debootstrap").args(&args).arg(&partial));
        fs::write(partial.join(STAMP), &bootstrap_recipe).unwrap();
        fs::rename(&partial, &bootstrapped).unwrap();
        eprintln!("qemu: debootstrap done in {:.0?}", started.elapsed());
    }
    let partial = cache.join("bookworm-kernel.partial");
    for stale in [&done, &partial] {
        if stale.exists() {
            fs::remove_dir_all(stale).unwrap();
        }
    }
    let started = Instant::now();
    copy_tree(&bootstrapped, &partial);
    fs::remove_file(partial.join(STAMP)).unwrap();

    // A small initrd (6 MB instead of 36: boots faster), at a fixed name.
    let script = format!(
        "set -e\n\
         v=$(ls /lib/modules | head -n1)\n\
         rm -rf /etc/initramfs-small\n\
         cp -a /etc/initramfs-tools /etc/initramfs-small\n\
         sed -i 's/^MODULES=.*/MODULES=list/' /etc/initramfs-small/initramfs.conf\n\
         printf '%s\\n' {INITRD_MODULES} >/etc/initramfs-small/modules\n\
         mkinitramfs -d /etc/initramfs-small -o /{INITRD} \"$v\"\n\
         cp /boot/vmlinuz-\"$v\" /{KERNEL}\n\
         rm -f /boot/initrd.img-*\n\
         cd /lib/modules/\"$v\"/kernel\n\
         rm -rf {TRIMMED_MODULES}\n\
         depmod \"$v\"\n\
         rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/locale/*\n\
         apt-get clean\n"
    );
    let (code, out) = run_in(&partial, &script);
    assert_eq!(code, 0, "making the guest's initrd failed:\n{out}");

    // serial-getty@ttyS0 hangs up the serial line (and with it the
    // scenario's output); the others only slow the boot down.
    for unit in [
        "serial-getty@ttyS0.service",
        "getty@tty1.service",
        "e2scrub_reap.service",
        "systemd-logind.service",
        "systemd-pstore.service",
    ] {
        std::os::unix::fs::symlink("/dev/null", partial.join("etc/systemd/system").join(unit))
            .unwrap();
    }
    fs::write(partial.join("etc/hostname"), "jts-vm\n").unwrap();
    fs::write(
        partial.join("etc/fstab"),
        "# /dev/vda is the root, mounted by the kernel (root=/dev/vda rw)\n",
    )
    .unwrap();
    fs::write(partial.join(STAMP), &recipe).unwrap();
    fs::rename(&partial, &done).unwrap();
    eprintln!("qemu: guest root set up in {:.0?}", started.elapsed());
    done
}

/// True when `dir` was finished with exactly `recipe`.
fn stamped(dir: &Path, recipe: &str) -> bool {
    fs::read_to_string(dir.join(STAMP)).is_ok_and(|s| s == recipe)
}

// -------------------------------------------------------------------- disks

/// A raw disk image given to the guest as a virtio disk.
pub struct Disk {
    pub path: PathBuf,
}

impl Disk {
    /// A new sparse, blank (all-zero) disk of `mib` MiB.
    pub fn blank(path: &Path, mib: u64) -> Disk {
        let _ = fs::remove_file(path);
        let file = fs::File::create(path).unwrap();
        file.set_len(mib << 20).unwrap();
        Disk {
            path: path.to_path_buf(),
        }
    }

    /// A new disk made by a mkfs command, e.g. `["mkfs.ext4", "-q", "-U", UUID]`
    /// or `["mkfs.xfs", "-q", "-m", "uuid=UUID"]`; the image path is appended.
    pub fn mkfs(path: &Path, mib: u64, mkfs: &[&str]) -> Disk {
        let disk = Disk::blank(path, mib);
        must(Command::new(mkfs[0]).args(&mkfs[1..]).arg(path));
        disk
    }

    /// `ls` of a directory of an ext4 image (debugfs: names only, no `.`/`..`);
    /// None when it does not exist.
    pub fn ext4_ls(&self, inside: &str) -> Option<Vec<String>> {
        ext4_ls(&self.path, inside)
    }
}

/// The names in a directory of an ext4 image, without `.` and `..`; None
/// when the directory does not exist. Read with debugfs: no mount needed.
pub fn ext4_ls(image: &Path, inside: &str) -> Option<Vec<String>> {
    let (code, out, err) = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("ls -p {}", debugfs_quote(inside)))
        .arg(image));
    assert_eq!(code, 0, "debugfs ls {inside} on {}: {err}", image.display());
    if err.contains("not found") || err.contains("File not found") {
        return None;
    }
    // `ls -p` lines: /inode/mode/uid/gid/name/size/
    Some(
        out.lines()
            .filter_map(|l| l.split('/').nth(5).map(str::to_string))
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .collect(),
    )
}

/// A file of an ext4 image; None when it does not exist.
pub fn ext4_cat(image: &Path, inside: &str) -> Option<String> {
    let (code, out, err) = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {}", debugfs_quote(inside)))
        .arg(image));
    assert_eq!(
        code,
        0,
        "debugfs cat {inside} on {}: {err}",
        image.display()
    );
    if err.contains("not found") {
        return None;
    }
    Some(out)
}

/// debugfs's own quoting: a double-quoted argument.
fn debugfs_quote(path: &str) -> String {
    assert!(
        !path.contains(['"', '\n']),
        "path not supported by debugfs: {path:?}"
    );
    format!("\"{path}\"")
}

// ------------------------------------------------------------------- guest

/// Where the scenario's runner and unit live in the guest, and its results.
const RUNNER: &str = "usr/local/lib/jts-vm/run";
const UNIT: &str = "etc/systemd/system/jts-vm-scenario.service";
const RESULTS: &str = "var/lib/jts-vm";
/// Serial markers (also what `Run` looks for).
const BEGIN: &str = "JTS-VM-BEGIN";
const END: &str = "JTS-VM-END";
/// What systemd prints on the console as it starts (its status output is on).
const SYSTEMD_BANNER: &str = "Welcome to ";
/// Kernel and initrd take ~3 s in TCG on an idle host; this bound is only
/// reached by a stall before systemd.
const USERSPACE_WITHIN: Duration = Duration::from_secs(150);

/// One scenario's machine: its root tree until the first boot, then its root
/// disk image. Dropping it deletes its directory unless the test is failing.
pub struct Guest {
    pub dir: PathBuf,
    tree: PathBuf,
    image: PathBuf,
    imaged: bool,
    boots: usize,
}

impl Guest {
    pub fn fresh(name: &str) -> Guest {
        let cache = cached_root();
        let dir = work_dir().join("qemu-runs").join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        let tree = dir.join("root");
        copy_tree(&cache, &tree);
        fs::remove_file(tree.join(STAMP)).unwrap();
        let guest = Guest {
            image: dir.join("root.img"),
            dir,
            tree,
            imaged: false,
            boots: 0,
        };
        guest.install_unit();
        guest
    }

    /// The root disk image (exists after the first boot).
    pub fn image(&self) -> &Path {
        &self.image
    }

    /// A path in this scenario's own directory on the host (for disks).
    pub fn host_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A path in the root tree (before the first boot).
    pub fn tree_path(&self, inside: &str) -> PathBuf {
        self.tree.join(inside.trim_start_matches('/'))
    }

    /// Writes a file (root-owned, `mode`) into the guest's root: into the
    /// tree before the first boot, into the root image with debugfs after
    /// (its parent directory must exist there).
    pub fn write_mode(&self, inside: &str, contents: &str, mode: u32) {
        if !self.imaged {
            let path = self.tree_path(inside);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, contents).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            return;
        }
        let inside = Path::new(inside);
        let (dir, name) = (
            inside.parent().unwrap().to_str().unwrap(),
            inside.file_name().unwrap().to_str().unwrap(),
        );
        let host = self.dir.join(".debugfs-write");
        fs::write(&host, contents).unwrap();
        fs::set_permissions(&host, fs::Permissions::from_mode(mode)).unwrap();
        let cmds = self.dir.join(".debugfs-cmds");
        fs::write(
            &cmds,
            format!(
                "cd {}\nrm {}\nwrite {} {}\n",
                debugfs_quote(dir),
                debugfs_quote(name),
                host.display(),
                debugfs_quote(name)
            ),
        )
        .unwrap();
        let (code, out, err) = run(Command::new("debugfs")
            .arg("-w")
            .arg("-f")
            .arg(&cmds)
            .arg(&self.image));
        assert!(
            code == 0 && !err.contains("cd:") && !err.contains("write:"),
            "debugfs could not write {} into {}:\n{out}{err}",
            inside.display(),
            self.image.display()
        );
    }

    pub fn write(&self, inside: &str, contents: &str) {
        self.write_mode(inside, contents, 0o644)
    }

    /// Runs a shell command in a container on the root tree (before the
    /// first boot only): dpkg, systemctl enable, chown... Returns (code, output).
    pub fn run(&self, script: &str) -> (i32, String) {
        assert!(
            !self.imaged,
            "Guest::run works on the tree, before the first boot"
        );
        run_in(&self.tree, script)
    }

    pub fn run_ok(&self, script: &str) -> String {
        let (code, out) = self.run(script);
        assert_eq!(code, 0, "in the guest's root, `{script}` failed:\n{out}");
        out
    }

    /// Installs a .deb with the real dpkg (maintainer scripts included).
    /// Returns dpkg's output.
    pub fn install_deb(&self, deb: &Path) -> String {
        let name = deb.file_name().unwrap().to_str().unwrap();
        fs::copy(deb, self.tree_path("root").join(name)).unwrap();
        self.run_ok(&format!("dpkg -i /root/{}", sh_quote(name)))
    }

    /// A file of the root image after a boot; None when it does not exist.
    pub fn read(&self, inside: &str) -> Option<String> {
        assert!(self.imaged, "Guest::read reads the root image: boot first");
        ext4_cat(&self.image, inside)
    }

    /// The names in a directory of the root image; None when it does not exist.
    pub fn ls(&self, inside: &str) -> Option<Vec<String>> {
        assert!(self.imaged, "Guest::ls reads the root image: boot first");
        ext4_ls(&self.image, inside)
    }

    fn install_unit(&self) {
        self.write(
            UNIT,
            &format!(
                "[Unit]\n\
                 Description=jts-hot qemu test scenario\n\
                 After=multi-user.target\n\
                 [Service]\n\
                 Type=simple\n\
                 ExecStart=/{RUNNER}\n\
                 StandardOutput=tty\n\
                 StandardError=tty\n\
                 TTYPath=/dev/ttyS0\n\
                 [Install]\n\
                 WantedBy=multi-user.target\n"
            ),
        );
        let wants = self.tree_path("etc/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink(format!("/{UNIT}"), wants.join("jts-vm-scenario.service"))
            .unwrap();
    }

    /// The root image from the tree, once; the tree is then deleted.
    fn make_image(&mut self) {
        if self.imaged {
            return;
        }
        let started = Instant::now();
        must(
            Command::new("mkfs.ext4")
                .args(["-q", "-F", "-L", "jts-root", "-d"])
                .arg(&self.tree)
                .arg(&self.image)
                .arg("3G"),
        );
        fs::remove_dir_all(&self.tree).unwrap();
        self.imaged = true;
        eprintln!("qemu: root image made in {:.1?}", started.elapsed());
    }

    /// Boots the guest with `boot`'s disks and options and runs `scenario`.
    ///
    /// A boot whose guest never reaches systemd (no banner within
    /// `Boot::userspace_within`) stalled before any of jts-hot's code could run: in
    /// the kernel or in qemu's TCG on a loaded host. It is said loudly and
    /// booted once more; a second stall is the run's outcome. A hang after
    /// systemd started is never retried: that is what the tests are for.
    pub fn boot(&mut self, boot: &Boot, scenario: &Scenario) -> Run {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        self.boots += 1;
        let number = self.boots;
        self.write_mode(RUNNER, &runner(scenario, number), 0o755);
        // Results of an earlier boot must not pass for this one's.
        self.make_image();
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let serial_path = self.dir.join(format!("serial-{number}.log"));
        let mut attempt = self.attempt(boot, &serial_path);
        let mut stalled = None;
        if attempt.outcome == Outcome::Stalled {
            let kept = self.dir.join(format!("serial-{number}-stalled.log"));
            fs::rename(&serial_path, &kept).unwrap();
            eprintln!(
                "qemu: {} boot {number}: STALLED: no systemd banner within {:?} ({:.1?}); \
                 nothing of jts-hot's ran yet, so booting once more. Serial log kept in {}:\n{}",
                self.dir.file_name().unwrap().to_string_lossy(),
                boot.userspace_within,
                attempt.wall,
                kept.display(),
                tail(&attempt.serial, 40)
            );
            stalled = Some(kept);
            attempt = self.attempt(boot, &serial_path);
        }
        let Attempt {
            serial,
            wall,
            outcome,
            begun,
            ended,
        } = attempt;
        let report = self.results(number, wall);
        eprintln!(
            "qemu: {} boot {number}: {outcome:?} after {wall:.1?}; scenario began at {}",
            self.dir.file_name().unwrap().to_string_lossy(),
            begun.map_or("(never)".to_string(), |d| format!("{d:.1?}"))
        );
        Run {
            serial,
            wall,
            outcome,
            begun,
            ended,
            report,
            serial_path,
            stalled,
        }
    }

    /// One run of qemu, bounded by `boot`'s timeout and by the userspace watchdog.
    fn attempt(&self, boot: &Boot, serial_path: &Path) -> Attempt {
        let started = Instant::now();
        let mut qemu = QemuProcess(self.spawn(boot, serial_path));
        let mut begun = None;
        let mut ended = None;
        let mut userspace = false;
        let mut outcome = Outcome::TimedOut;
        wait_until(started + boot.timeout, Duration::from_millis(200), || {
            let serial = fs::read(serial_path).unwrap_or_default();
            let serial = String::from_utf8_lossy(&serial);
            userspace = userspace || serial.contains(SYSTEMD_BANNER);
            if begun.is_none() && serial.contains(BEGIN) {
                begun = Some(started.elapsed());
            }
            if ended.is_none() && serial.contains(END) {
                ended = Some(started.elapsed());
            }
            if let Some(status) = qemu.0.try_wait().unwrap() {
                outcome = Outcome::Exited(status.code().unwrap_or(-1));
                return true;
            }
            if let Some(text) = boot.stop_when.iter().find(|t| serial.contains(t.as_str())) {
                outcome = Outcome::Stopped(text.clone());
                return true;
            }
            if !userspace && started.elapsed() > boot.userspace_within {
                outcome = Outcome::Stalled;
                return true;
            }
            false
        });
        if !matches!(outcome, Outcome::Exited(_)) {
            qemu.kill();
        }
        let wall = started.elapsed();
        drop(qemu);
        let serial = clean_serial(&fs::read(serial_path).unwrap_or_default());
        if !matches!(outcome, Outcome::Exited(_)) {
            // Killed: replay the journal so debugfs sees what the guest wrote
            // (the kernel would do the same at the next boot).
            let (code, out, err) = run(Command::new("e2fsck").arg("-fy").arg(&self.image));
            assert!(code <= 1, "e2fsck after a killed boot: {code}\n{out}{err}");
        }
        Attempt {
            serial,
            wall,
            outcome,
            begun,
            ended,
        }
    }

    fn spawn(&self, boot: &Boot, serial: &Path) -> Child {
        let mut append = vec![
            "console=ttyS0",
            "root=/dev/vda",
            "rw",
            // Not `quiet`: systemd's status lines (and "A start job is running
            // for...") and the kernel's warnings reach the serial log, so a
            // boot that hangs says where. Kernel messages below warning stay out.
            "loglevel=4",
            "systemd.show_status=yes",
            // A kernel panic ends the run at once (-no-reboot) instead of hanging.
            "panic=-1",
            // On a loaded host TCG's timer is too slow for the kernel's IO-APIC
            // timer check, which then panics ("IO-APIC + timer doesn't work!").
            "no_timer_check",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        append.extend(boot.kernel_args.iter().cloned());
        // A second bound, should this process die without killing qemu.
        let mut cmd = bounded(boot.timeout.as_secs() + 30, 5, "qemu-system-x86_64");
        cmd.args(["-cpu", "max", "-smp", "2", "-m", "1024"])
            // No default devices: no CD-ROM for udev to probe, no network.
            .args(["-nodefaults", "-display", "none", "-monitor", "none"])
            .arg("-no-reboot")
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .arg("-kernel")
            .arg(self.tree_or_cache(KERNEL))
            .arg("-initrd")
            .arg(self.tree_or_cache(INITRD))
            .arg("-append")
            .arg(append.join(" "))
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=virtio",
                self.image.display()
            ));
        for disk in &boot.disks {
            cmd.arg("-drive")
                .arg(format!("file={},format=raw,if=virtio", disk.display()));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start timeout qemu-system-x86_64")
    }

    /// The kernel and initrd are the cached root's (the guest's own are the
    /// same files, inside its image).
    fn tree_or_cache(&self, inside: &str) -> PathBuf {
        cached_root().join(inside)
    }

    /// The scenario's results from the root image, when this boot ran it to
    /// its end.
    fn results(&self, number: usize, wall: Duration) -> Option<Report> {
        let out = self.dir.join(format!("results-{number}"));
        let _ = fs::remove_dir_all(&out);
        fs::create_dir_all(&out).unwrap();
        let (code, stdout, stderr) = run(Command::new("debugfs")
            .arg("-R")
            .arg(format!("rdump /{RESULTS} {}", out.display()))
            .arg(&self.image));
        assert_eq!(code, 0, "debugfs rdump: {stdout}{stderr}");
        let dir = out.join("jts-vm");
        let finished =
            fs::read_to_string(dir.join("done")).is_ok_and(|b| b.trim() == number.to_string());
        finished.then(|| Report::read(&dir, wall))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("qemu: kept {} for inspection", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The running `timeout qemu` (its own process group): killed with its group
/// when dropped, whatever happened.
struct QemuProcess(Child);

impl QemuProcess {
    fn kill(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Serial output as text lines: no carriage returns, no ANSI escapes.
fn clean_serial(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\u{1b}' => {
                // CSI: ESC [ params final-byte
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

// ----------------------------------------------------------- boot and run

/// How to boot: extra disks, kernel arguments, bounds.
pub struct Boot {
    disks: Vec<PathBuf>,
    kernel_args: Vec<String>,
    timeout: Duration,
    userspace_within: Duration,
    stop_when: Vec<String>,
}

impl Default for Boot {
    fn default() -> Boot {
        Boot {
            disks: Vec::new(),
            kernel_args: Vec::new(),
            // ~30 s on an idle machine; 70-180 s were seen with ~8 builds and
            // other VMs on 2 cores, and one 240 s limit was hit (the guest had
            // finished its steps, still powering off). Only a hung boot waits this long.
            timeout: Duration::from_secs(480),
            userspace_within: USERSPACE_WITHIN,
            stop_when: Vec::new(),
        }
    }
}

impl Boot {
    pub fn new() -> Boot {
        Boot::default()
    }

    /// A second (third...) virtio disk: /dev/vdb, /dev/vdc... in this order.
    pub fn disk(mut self, disk: &Disk) -> Boot {
        self.disks.push(disk.path.clone());
        self
    }

    pub fn kernel_arg(mut self, arg: &str) -> Boot {
        self.kernel_args.push(arg.to_string());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Boot {
        self.timeout = timeout;
        self
    }

    /// The bound on reaching systemd before a boot counts as stalled.
    pub fn userspace_within(mut self, bound: Duration) -> Boot {
        self.userspace_within = bound;
        self
    }

    /// Kills the guest as soon as the serial log shows `text`.
    pub fn stop_when(mut self, text: &str) -> Boot {
        self.stop_when.push(text.to_string());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// qemu exited by itself (the guest powered off), with this code.
    Exited(i32),
    /// Killed when the serial log showed this text.
    Stopped(String),
    TimedOut,
    /// Killed twice in a row before systemd started (see `Guest::boot`).
    Stalled,
}

/// One run of qemu for a boot.
struct Attempt {
    serial: String,
    wall: Duration,
    outcome: Outcome,
    begun: Option<Duration>,
    ended: Option<Duration>,
}

/// What one boot gave back.
pub struct Run {
    /// The serial log, cleaned (`\r` and ANSI escapes removed).
    pub serial: String,
    pub serial_path: PathBuf,
    /// Host wall time from starting qemu to its end.
    pub wall: Duration,
    pub outcome: Outcome,
    /// Host time from starting qemu until the scenario began (multi-user
    /// reached) and until it ended; None when not seen.
    pub begun: Option<Duration>,
    pub ended: Option<Duration>,
    /// The steps' results; None when the scenario did not run to its end.
    pub report: Option<Report>,
    /// The serial log of a first attempt that stalled before systemd (the
    /// boot was then made once more).
    pub stalled: Option<PathBuf>,
}

impl Run {
    /// The report of a scenario that must have run to its end.
    pub fn report(&self) -> &Report {
        self.report.as_ref().unwrap_or_else(|| {
            panic!(
                "the scenario did not run to its end ({:?} after {:.1?}); serial log {}:\n{}",
                self.outcome,
                self.wall,
                self.serial_path.display(),
                tail(&self.serial, 80)
            )
        })
    }

    /// The guest's uptime (seconds, from /proc/uptime) when the scenario began.
    pub fn guest_uptime_at_begin(&self) -> Option<f64> {
        let line = self.serial.lines().find(|l| l.contains(BEGIN))?;
        line.split("uptime=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

// ---------------------------------------------------------------- scenario

/// The runner of `scenario`'s steps, run in the booted guest once
/// multi-user.target is reached; each step's exit code, stdout and stderr are
/// recorded (read them with `Run::report`), and echoed to the serial log. One
/// file, rewritten before each boot, with this boot's number in its `done`
/// file so an earlier boot's results never count.
fn runner(scenario: &Scenario, boot: usize) -> String {
    let mut s = format!(
        "#!/bin/sh\n\
         # jts-hot qemu test scenario, boot {boot}: runs each step, records\n\
         # it, echoes it to the serial console, powers off.\n\
         out=/{RESULTS}\n\
         rm -rf $out\n\
         mkdir -p $out\n\
         echo \"{BEGIN} boot={boot} uptime=$(cut -d' ' -f1 /proc/uptime)\"\n\
         step() {{\n\
         \x20 timeout 120 /bin/sh -ec \"$2\" >\"$out/$1.out\" 2>\"$out/$1.err\" </dev/null\n\
         \x20 rc=$?\n\
         \x20 echo $rc >\"$out/$1.rc\"\n\
         \x20 echo \"JTS-VM-STEP $1 rc=$rc\"\n\
         \x20 sed 's/^/  | /' \"$out/$1.out\" \"$out/$1.err\"\n\
         }}\n"
    );
    for (name, script) in scenario.iter() {
        s.push_str(&format!("step {name} {}\n", sh_quote(script)));
    }
    s.push_str(&format!(
        "echo {boot} >$out/done\n\
         sync\n\
         echo \"{END} boot={boot} uptime=$(cut -d' ' -f1 /proc/uptime)\"\n\
         # what `systemctl poweroff` does without logind (masked here)\n\
         systemctl start --no-block --job-mode=replace-irreversibly poweroff.target\n"
    ));
    s
}
