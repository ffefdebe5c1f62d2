//! The tier on its own disk, on a real kernel: Debian's kernel booted in qemu
//! (the harness is in common/qemu.rs), the tier a second virtio disk in
//! /etc/fstab, the real package installed by dpkg, the real systemd acting on
//! fstab, mount units, tmpfiles and our units.
//!
//! Run just these: `cargo test --test disk -- --nocapture` (each boot takes
//! ~30 s on an idle machine; the first run also makes the guest root, ~3 min).

mod common;
#[path = "common/nspawn.rs"]
mod nspawn;
#[path = "common/qemu.rs"]
mod qemu;

use qemu::{prerequisites, Boot, Disk, Guest, Outcome, Scenario};

/// The harness itself: Debian's kernel boots, the scenario runs after
/// multi-user.target, a second disk is /dev/vdb, a file written by the host
/// into the root image is seen by the guest, and what the guest writes is
/// read back from the root image after power-off.
#[test]
fn harness_boots_debian_kernel_with_a_second_disk() {
    const T: &str = "harness_boots_debian_kernel_with_a_second_disk";
    if !prerequisites(T) {
        return;
    }
    let mut guest = Guest::fresh("harness");
    guest.write("/etc/jts-vm-hello", "from the host\n");
    let disk = Disk::mkfs(
        &guest.host_path("second.img"),
        64,
        &["mkfs.ext4", "-q", "-L", "second"],
    );
    let scenario = Scenario::new()
        .step("kernel", "uname -r")
        .step("hello", "cat /etc/jts-vm-hello")
        .step("vdb", "blkid -o value -s LABEL /dev/vdb")
        .step("write", "echo from the guest >/root/written")
        .step("fails", "exit 3");
    let run = guest.boot(&Boot::new().disk(&disk), &scenario);
    assert_eq!(run.outcome, Outcome::Exited(0), "{}", run.serial);
    let report = run.report();
    assert!(
        report.ok("kernel").contains("amd64"),
        "{}",
        report.ok("kernel")
    );
    assert_eq!(report.ok("hello"), "from the host\n");
    assert_eq!(report.ok("vdb"), "second\n");
    assert_eq!(report.rc("fails"), 3);
    assert!(
        run.serial.contains("JTS-VM-STEP kernel rc=0"),
        "{}",
        run.serial
    );
    assert_eq!(
        guest.read("/root/written").as_deref(),
        Some("from the guest\n")
    );
    assert_eq!(guest.read("/root/absent"), None);

    // A second boot of the same root disk, with a file changed in between.
    guest.write("/etc/jts-vm-hello", "changed by the host\n");
    let run2 = guest.boot(
        &Boot::new(),
        &Scenario::new().step("hello", "cat /etc/jts-vm-hello; cat /root/written"),
    );
    assert_eq!(
        run2.report().ok("hello"),
        "changed by the host\nfrom the guest\n"
    );
    eprintln!(
        "qemu timing: boot 1 scenario began at {:?} (guest uptime {:?} s), powered off at {:.1?}; boot 2 began at {:?}, off at {:.1?}",
        run.begun,
        run.guest_uptime_at_begin(),
        run.wall,
        run2.begun,
        run2.wall
    );
}
