//! User and group names to ids, and back: through NSS (nix's User and
//! Group) on the running system, or from an offline image's etc/passwd and
//! etc/group (`--root`) with the one parser of those files.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use nix::unistd::{Gid, Group, Uid, User};

use super::access::Who;
use super::on_disk_followed;

/// What systemd-sysusers writes and systemd-tmpfiles reads under a root,
/// opened by both as the host sees the path.
pub const ACCOUNT_FILES: &[&str] = &[
    "etc/passwd",
    "etc/group",
    "etc/shadow",
    "etc/gshadow",
    "etc/.pwd.lock",
];

/// Where names are looked up.
pub enum Accounts {
    Nss,
    /// name → id, parsed from the image; an error when the file is unreadable.
    Files {
        users: Result<HashMap<String, u32>, String>,
        groups: Result<HashMap<String, u32>, String>,
        /// The image's passwd and group text, for a user's groups.
        passwd: Result<String, String>,
        group: Result<String, String>,
    },
}

/// A lookup that could not be made (an unreadable database); not "no such name".
pub type Lookup = Result<Option<u32>, String>;

impl Accounts {
    /// The image's files. A missing file is an empty database, as systemd
    /// treats it; root is always 0, as systemd synthesizes it.
    pub fn from_root(root: &super::Root) -> Accounts {
        let passwd = read_text(&on_disk_followed(root, Path::new("/etc/passwd")));
        let group = read_text(&on_disk_followed(root, Path::new("/etc/group")));
        Accounts::from_texts(passwd, group)
    }

    /// The databases of an image from the text of its passwd and group
    /// (or why each could not be read).
    pub fn from_texts(passwd: Result<String, String>, group: Result<String, String>) -> Accounts {
        Accounts::Files {
            users: passwd.clone().map(|t| parse_db(&t)),
            groups: group.clone().map(|t| parse_db(&t)),
            passwd,
            group,
        }
    }

    /// The user as the kernel sees it after login (initgroups): uid, primary
    /// gid, then every group that lists it as a member.
    pub fn who(&self, name: &str) -> Result<Option<Who>, String> {
        match self {
            Accounts::Nss => {
                let Some(user) = User::from_name(name)
                    .map_err(|e| format!("user database lookup failed: {e}"))?
                else {
                    return Ok(None);
                };
                let c_name = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
                let groups = nix::unistd::getgrouplist(&c_name, user.gid)
                    .map_err(|e| format!("getgrouplist({name}) failed: {e}"))?;
                let mut gids = vec![user.gid.as_raw()];
                gids.extend(
                    groups
                        .iter()
                        .map(|g| g.as_raw())
                        .filter(|g| *g != user.gid.as_raw()),
                );
                Ok(Some(Who {
                    uid: user.uid.as_raw(),
                    gids,
                }))
            }
            Accounts::Files { passwd, group, .. } => {
                let passwd = passwd.as_ref().map_err(Clone::clone)?;
                let group = group.as_ref().map_err(Clone::clone)?;
                Ok(who_in_files(passwd, group, name))
            }
        }
    }

    pub fn uid(&self, name: &str) -> Lookup {
        match self {
            Accounts::Nss => User::from_name(name)
                .map(|u| u.map(|u| u.uid.as_raw()))
                .map_err(|e| format!("user database lookup failed: {e}")),
            Accounts::Files { users, .. } => lookup(users, name),
        }
    }

    pub fn gid(&self, name: &str) -> Lookup {
        match self {
            Accounts::Nss => Group::from_name(name)
                .map(|g| g.map(|g| g.gid.as_raw()))
                .map_err(|e| format!("group database lookup failed: {e}")),
            Accounts::Files { groups, .. } => lookup(groups, name),
        }
    }

    /// The name of a uid, for messages.
    pub fn user_name(&self, uid: u32) -> Option<String> {
        match self {
            Accounts::Nss => User::from_uid(Uid::from_raw(uid)).ok()?.map(|u| u.name),
            Accounts::Files { users, .. } => reverse(users, uid),
        }
    }

    /// The name of a gid, for messages.
    pub fn group_name(&self, gid: u32) -> Option<String> {
        match self {
            Accounts::Nss => Group::from_gid(Gid::from_raw(gid)).ok()?.map(|g| g.name),
            Accounts::Files { groups, .. } => reverse(groups, gid),
        }
    }
}

fn lookup(db: &Result<HashMap<String, u32>, String>, name: &str) -> Lookup {
    let db = db.as_ref().map_err(Clone::clone)?;
    Ok(db.get(name).copied().or((name == "root").then_some(0)))
}

fn reverse(db: &Result<HashMap<String, u32>, String>, id: u32) -> Option<String> {
    let db = db.as_ref().ok()?;
    let found = db.iter().find(|(_, i)| **i == id).map(|(n, _)| n.clone());
    found.or((id == 0).then(|| "root".to_string()))
}

/// A missing file is an empty database, as systemd treats it. An image's
/// file can be anything: a regular file of bounded size only.
fn read_text(path: &Path) -> Result<String, String> {
    const MAX_DB_BYTES: u64 = 64 << 20;
    let read = crate::system::file::read_regular_text(
        path,
        MAX_DB_BYTES,
        crate::system::file::Links::Follow,
    );
    match read {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => {
            let path = crate::escape::untrusted_path(path);
            Err(format!("cannot read {path}: {e}"))
        }
    }
}

/// initgroups over an image's files: passwd's uid and gid, and each group(5)
/// line whose member list names the user. Root is 0:0 when not listed.
fn who_in_files(passwd: &str, group: &str, name: &str) -> Option<Who> {
    // The entry `parse_db` reads for the name (its first line with a numeric
    // uid), so that uid lookups and logins agree; without a numeric gid
    // there it is no usable user (found by the `accounts` fuzz target: a
    // later, complete line gave another uid).
    let entry = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let uid: u32 = (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok())??;
        Some(
            f.get(3)
                .and_then(|g| g.parse::<u32>().ok())
                .map(|gid| (uid, gid)),
        )
    });
    let (uid, gid): (u32, u32) = match entry {
        Some(found) => found?,
        None => (name == "root").then_some((0, 0))?,
    };
    let mut gids = vec![gid];
    for l in group.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || !f[3].split(',').any(|m| m == name) {
            continue;
        }
        if let Ok(g) = f[2].parse::<u32>() {
            if !gids.contains(&g) {
                gids.push(g);
            }
        }
    }
    Some(Who { uid, gids })
}

/// The names a passwd(5) or group(5) file defines (lines with a numeric id),
/// sorted: what systemd-sysusers adds to.
pub fn names(text: &str) -> BTreeSet<String> {
    parse_db(text).into_keys().collect()
}

/// name → id of a passwd(5) or group(5) file (the id is the third field in both).
fn parse_db(text: &str) -> HashMap<String, u32> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            // The first entry of a name wins, as in glibc's files module.
            Some((name.to_string(), id))
        })
        .fold(HashMap::new(), |mut db, (name, id)| {
            db.entry(name).or_insert(id);
            db
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_and_group_lines() {
        let db = parse_db(
            "root:x:0:0:root:/root:/bin/bash\n\
             postgres:x:105:109:JTS:/data/jts/hot/postgresql:/usr/sbin/nologin\n\
             broken line\n+nis\npostgres:x:7:7::/:/bin/sh\ndocker:x:998:\n",
        );
        assert_eq!(db.get("postgres"), Some(&105));
        assert_eq!(db.get("docker"), Some(&998));
        assert_eq!(db.len(), 3);
    }

    #[test]
    fn a_users_groups_from_image_files() {
        let passwd = "postgres:x:105:109::/:/bin/false\nroot:x:0:0::/root:/bin/sh\n";
        let group = "postgres:x:109:\nssl-cert:x:110:postgres\nadm:x:4:syslog,postgres\nother:x:5:postgresql\n";
        let w = who_in_files(passwd, group, "postgres").unwrap();
        assert_eq!((w.uid, w.gids), (105, vec![109, 110, 4]));
        assert_eq!(who_in_files("", "", "root").unwrap().uid, 0);
        assert!(who_in_files(passwd, group, "kafka").is_none());
    }

    /// The uid lookup and the login agree on a name's entry: the first line
    /// with a numeric uid (the `accounts` fuzz target found a truncated line
    /// read for the uid and a later complete one for the login).
    #[test]
    fn uid_and_login_read_the_same_entry() {
        let passwd =
            "postgres:x:101\npostgres:x:104:110::/:/bin/sh\nkafka:x:bad:1\nkafka:x:7:8:::\n";
        let db = Accounts::from_texts(Ok(passwd.into()), Ok(String::new()));
        assert_eq!(db.uid("postgres"), Ok(Some(101)));
        assert_eq!(db.who("postgres"), Ok(None), "no gid on the entry read");
        assert_eq!(db.uid("kafka"), Ok(Some(7)));
        assert_eq!(db.who("kafka").unwrap().unwrap().uid, 7);
    }

    #[test]
    fn root_always_resolves_in_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::from_root(&crate::system::Root::open(dir.path()).unwrap());
        assert_eq!(accounts.uid("root"), Ok(Some(0)));
        assert_eq!(accounts.gid("postgres"), Ok(None));
        assert_eq!(accounts.user_name(0).as_deref(), Some("root"));
    }

    #[test]
    fn nss_knows_root() {
        assert_eq!(Accounts::Nss.uid("root"), Ok(Some(0)));
        assert_eq!(Accounts::Nss.group_name(0).as_deref(), Some("root"));
    }
}
