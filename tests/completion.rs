//! Shell completion in the real shells, from the scripts the packages install
//! (`jts-hot completions SHELL`, the files packaging/build.sh stages): bash's own
//! completion function called as bash calls it, fish's `complete -C`, and zsh's
//! completion system at a real prompt in a tmux pane (autoloaded from fpath, as
//! the package installs it). Each completes subcommands, options, --format's
//! values and --service's names from the layout in force ($JTS_HOT_CONFIG).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin_path, jts_hot, must, run, wait_until};

/// A directory holding the three scripts, `jts-hot` on a PATH of its own, and a
/// layout with services only this test names (so --service must come from it).
struct Setup {
    dir: tempfile::TempDir,
}

const SERVICES: [&str; 2] = ["ledgerdb", "tickcache"];

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for (shell, file) in [
            ("bash", "jts-hot.bash"),
            ("zsh", "_jts-hot"),
            ("fish", "jts-hot.fish"),
        ] {
            let (script, _) = must(jts_hot().args(["completions", shell]));
            std::fs::write(dir.path().join(file), script).unwrap();
        }
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(bin_path(), bin.join("jts-hot")).unwrap();
        let layout: String = common::jts_hot_default()
            .replace("[services.postgresql]", "[services.ledgerdb]")
            .replace("[services.redis]", "[services.tickcache]");
        std::fs::write(dir.path().join("layout.toml"), layout).unwrap();
        let s = Setup { dir };
        // The layout is one jts-hot accepts: its services are what --service offers.
        must(jts_hot().arg("config").arg("check").arg(s.layout()));
        s
    }
    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }
    fn layout(&self) -> PathBuf {
        self.path("layout.toml")
    }
    /// PATH with our `jts-hot` first (the scripts call it by name).
    fn env_path(&self) -> String {
        format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
    fn shell(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", self.env_path())
            .env("JTS_HOT_CONFIG", self.layout())
            .env_remove("JOURNAL_STREAM")
            .current_dir(self.dir.path());
        cmd
    }
}

/// What each shell must offer after each command line (the words, the last
/// being completed): (line, candidates that must be offered, one that must not).
fn cases() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        (
            "jts-hot ",
            vec!["validate", "monitor", "quota", "config"],
            "layout.toml",
        ),
        ("jts-hot val", vec!["validate"], "monitor"),
        (
            "jts-hot validate --",
            vec!["--format", "--service", "--gate", "--root"],
            "--textfile-dir",
        ),
        (
            "jts-hot monitor --format ",
            vec!["text", "json", "prometheus"],
            "layout.toml",
        ),
        (
            "jts-hot validate --format ",
            vec!["text", "json"],
            "prometheus",
        ),
        (
            "jts-hot validate --service ",
            SERVICES.to_vec(),
            "postgresql",
        ),
        ("jts-hot quota ", vec!["set", "status"], "layout.toml"),
        (
            "jts-hot monitor --",
            vec!["--textfile-dir", "--state-dir", "--walk"],
            "--gate",
        ),
    ]
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    needs!("bash");
    let s = Setup::new();
    for (line, want, not) in cases() {
        // As bash calls a `complete -F` function: COMP_WORDS/COMP_CWORD set,
        // arguments (command, word being completed, previous word).
        let script = format!(
            r#"source ./jts-hot.bash
complete -p jts-hot >/dev/null || {{ echo "no completion registered" >&2; exit 1; }}
read -ra COMP_WORDS <<<"{line}"
[[ "{line}" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; COMP_TYPE=9
fn=$(complete -p jts-hot | sed -n 's/.*-F \([^ ]*\).*/\1/p')
"$fn" jts-hot "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let (code, out, err) = run(s.shell("bash").args(["--norc", "-c", &script]));
        assert_eq!(code, 0, "bash, {line:?}: {err}");
        check("bash", line, &out, &want, not);
    }
}

#[test]
fn fish_completes_subcommands_options_and_values() {
    needs!("fish");
    let s = Setup::new();
    for (line, want, not) in cases() {
        let script = format!("source ./jts-hot.fish; complete -C '{line}'");
        let (code, out, err) = run(s.shell("fish").args(["--no-config", "-c", &script]));
        assert_eq!(code, 0, "fish, {line:?}: {err}");
        // `complete -C` prints "candidate<TAB>description".
        let words: String = out
            .lines()
            .map(|l| format!("{}\n", l.split('\t').next().unwrap()))
            .collect();
        check("fish", line, &words, &want, not);
    }
}

/// zsh's completion system only runs inside its line editor: a real interactive
/// zsh in a tmux pane, compinit with the script autoloaded from fpath as
/// `_jts-hot` (where the package puts it), the line typed and TAB pressed.
#[test]
fn zsh_completes_subcommands_options_and_values() {
    needs!("zsh", "tmux");
    let s = Setup::new();
    let fpath = s.path("fpath");
    std::fs::create_dir(&fpath).unwrap();
    std::fs::copy(s.path("_jts-hot"), fpath.join("_jts-hot")).unwrap();
    std::fs::write(
        s.path(".zshrc"),
        format!(
            "fpath=({} $fpath)\nautoload -U compinit && compinit -u -D\n\
             zstyle ':completion:*' list-prompt ''\nLISTMAX=0\nPS1='READY%% '\n",
            fpath.display()
        ),
    )
    .unwrap();
    let socket = format!("jts-hot-completion-{}", std::process::id());
    let tmux = Tmux { socket };
    for (i, (line, want, not)) in cases().into_iter().enumerate() {
        let session = format!("z{i}");
        let mut zsh = s.shell("tmux");
        zsh.args(["-L", &tmux.socket, "new-session", "-d", "-s", &session])
            .args(["-x", "150", "-y", "40"])
            .arg(format!(
                "env ZDOTDIR={} PATH={} JTS_HOT_CONFIG={} zsh -i",
                s.dir.path().display(),
                s.env_path(),
                s.layout().display()
            ));
        must(&mut zsh);
        let ready = wait_until(
            Instant::now() + Duration::from_secs(20),
            Duration::from_millis(100),
            || tmux.pane(&session).contains("READY%"),
        );
        assert!(ready, "zsh did not start:\n{}", tmux.pane(&session));
        must(tmux.cmd().args(["send-keys", "-t", &session, "-l", line]));
        must(tmux.cmd().args(["send-keys", "-t", &session, "Tab"]));
        // A single candidate is inserted into the line, several are listed under it.
        let deadline = Instant::now() + Duration::from_secs(20);
        let done = wait_until(deadline, Duration::from_millis(100), || {
            let pane = tmux.pane(&session);
            want.iter().all(|w| pane.contains(w))
        });
        let pane = tmux.pane(&session);
        assert!(done, "zsh, {line:?}: not all of {want:?} offered:\n{pane}");
        // What follows the prompt line: the line as completed and the list.
        let after: String = pane
            .lines()
            .skip_while(|l| !l.contains("READY%"))
            .map(|l| format!("{}\n", l.replace("READY% ", "")))
            .collect();
        let words: String = after.split_whitespace().map(|w| format!("{w}\n")).collect();
        check("zsh", line, &words, &want, not);
        // Sessions stay until the server is killed (drop): killing the last one
        // ends the server while the next new-session may be connecting.
    }
}

/// A tmux server of this test's own, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }
    fn pane(&self, session: &str) -> String {
        run(self.cmd().args(["capture-pane", "-p", "-t", session])).1
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// Each wanted candidate offered, as a whole word; `not` never offered.
fn check(shell: &str, line: &str, out: &str, want: &[&str], not: &str) {
    let offered: Vec<&str> = out.lines().map(str::trim).collect();
    for w in want {
        assert!(
            offered.contains(w),
            "{shell}, {line:?}: {w} not offered; offered:\n{out}"
        );
    }
    assert!(
        !offered.contains(&not),
        "{shell}, {line:?}: {not} offered (file names, or another command's options?):\n{out}"
    );
}
