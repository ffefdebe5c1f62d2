//! The scenario builder of both boot harnesses (nspawn's `Probe`, qemu's
//! `Scenario`): named shell steps run in order inside the booted system, and
//! the `Report` of what each recorded (exit code, stdout, stderr).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Shell steps, in order, each under a unique name made of letters, digits,
/// `-` and `_` (it names the step's result files).
#[derive(Default, Clone)]
pub struct Steps {
    steps: Vec<(String, String)>,
}

impl Steps {
    pub fn new() -> Steps {
        Steps::default()
    }

    pub fn step(mut self, name: &str, script: &str) -> Steps {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "step name {name:?}: letters, digits, - and _ only"
        );
        assert!(
            !self.steps.iter().any(|(n, _)| n == name),
            "step {name} twice"
        );
        self.steps.push((name.to_string(), script.to_string()));
        self
    }

    /// `other`'s steps after these.
    pub fn steps(mut self, other: Steps) -> Steps {
        for (name, script) in other.steps {
            self = self.step(&name, &script);
        }
        self
    }

    /// (name, script) in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.steps.iter().map(|(n, s)| (n.as_str(), s.as_str()))
    }
}

/// What the steps recorded in one boot: each step's exit code, stdout, stderr,
/// read from a directory of NAME.rc, NAME.out and NAME.err files.
pub struct Report {
    steps: BTreeMap<String, (i32, String, String)>,
    /// Host wall time of the boot.
    pub wall: Duration,
}

impl Report {
    pub fn read(dir: &Path, wall: Duration) -> Report {
        let mut steps = BTreeMap::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rc") {
                let name = path.file_stem().unwrap().to_str().unwrap().to_string();
                let rc = fs::read_to_string(&path).unwrap().trim().parse().unwrap();
                let read = |ext| fs::read_to_string(path.with_extension(ext)).unwrap_or_default();
                steps.insert(name, (rc, read("out"), read("err")));
            }
        }
        Report { steps, wall }
    }

    fn get(&self, name: &str) -> &(i32, String, String) {
        self.steps
            .get(name)
            .unwrap_or_else(|| panic!("the probe recorded no step {name}"))
    }

    pub fn rc(&self, name: &str) -> i32 {
        self.get(name).0
    }

    /// A step's standard output.
    pub fn out(&self, name: &str) -> &str {
        &self.get(name).1
    }

    /// A step's standard output and error, for messages.
    pub fn all(&self, name: &str) -> String {
        let (_, out, err) = self.get(name);
        format!("{out}{err}")
    }

    /// The standard output of a step that must have succeeded.
    pub fn ok(&self, name: &str) -> &str {
        let (rc, out, err) = self.get(name);
        assert_eq!(*rc, 0, "probe step {name} exited {rc}:\n{out}{err}");
        out
    }

    /// KEY=VALUE lines of a step (e.g. `systemctl show`), as a map.
    pub fn props(&self, name: &str) -> BTreeMap<String, String> {
        parse_props(self.ok(name))
    }
}

pub fn parse_props(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Quotes a string for /bin/sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
