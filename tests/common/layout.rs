//! One builder for the small layouts the tests write: a tier at a given base,
//! root-owned 0755, and services owned by root, each with one `data`
//! directory. Each knob a test turns is a method; `text()` is the file.

use std::path::Path;

pub struct TestLayout {
    base: String,
    capacity: &'static str,
    mount_options: Option<&'static str>,
    /// fs_free_warn_percent, fs_free_crit_percent.
    fs_free: (u8, u8),
    /// `[monitor]` every, with textfile_dir = "/nonexistent"; None: no table.
    every: Option<String>,
    mode: &'static str,
    /// `gate = []` on every service.
    ungated: bool,
    /// Explicit project IDs counted from this one.
    project_ids_from: Option<usize>,
    services: Vec<(String, String)>,
}

impl TestLayout {
    /// Capacity 4TB, free-space shares 2% / 1%, a monitor every 15min,
    /// services 0755, `gate = []`.
    pub fn new(base: &Path) -> TestLayout {
        TestLayout {
            base: base.display().to_string(),
            capacity: "4TB",
            mount_options: None,
            fs_free: (2, 1),
            every: Some("15min".into()),
            mode: "0755",
            ungated: true,
            project_ids_from: None,
            services: Vec::new(),
        }
    }

    pub fn capacity(mut self, capacity: &'static str) -> Self {
        self.capacity = capacity;
        self
    }

    /// `mount_options = [...]`, the list's TOML.
    pub fn mount_options(mut self, list: &'static str) -> Self {
        self.mount_options = Some(list);
        self
    }

    pub fn fs_free(mut self, warn: u8, crit: u8) -> Self {
        self.fs_free = (warn, crit);
        self
    }

    pub fn every(mut self, every: &str) -> Self {
        self.every = Some(every.into());
        self
    }

    /// No `[monitor]` table, and services without `gate`.
    pub fn bare(mut self) -> Self {
        self.every = None;
        self.ungated = false;
        self
    }

    /// The mode of every service directory.
    pub fn mode(mut self, mode: &'static str) -> Self {
        self.mode = mode;
        self
    }

    /// Explicit project IDs (thousands of services overflow the derived range).
    pub fn project_ids_from(mut self, first: usize) -> Self {
        self.project_ids_from = Some(first);
        self
    }

    pub fn service(mut self, name: &str, planned: &str) -> Self {
        self.services.push((name.into(), planned.into()));
        self
    }

    pub fn services<'a>(self, services: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        services
            .into_iter()
            .fold(self, |l, (name, planned)| l.service(name, planned))
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "[tier]\nbase = \"{}\"\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\ncapacity = \"{}\"\n",
            self.base, self.capacity
        );
        if let Some(list) = self.mount_options {
            s += &format!("mount_options = {list}\n");
        }
        s += &format!(
            "[thresholds]\nwarn_percent = 80\ncrit_percent = 95\nfs_free_warn_percent = {}\nfs_free_crit_percent = {}\n\
             plan_reached_warn_days = 14\n",
            self.fs_free.0, self.fs_free.1
        );
        if let Some(every) = &self.every {
            s += &format!("[monitor]\nevery = \"{every}\"\ntextfile_dir = \"/nonexistent\"\n");
        }
        for (i, (name, planned)) in self.services.iter().enumerate() {
            s += &format!(
                "[services.{name}]\nowner = \"root\"\ngroup = \"root\"\nmode = \"{}\"\nplanned = \"{planned}\"\n",
                self.mode
            );
            if self.ungated {
                s += "gate = []\n";
            }
            s += "dirs = [\"data\"]\n";
            if let Some(first) = self.project_ids_from {
                s += &format!("project_id = {}\n", first + i);
            }
        }
        s
    }
}
