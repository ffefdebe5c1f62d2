//! Any bytes as an image's /etc/passwd and /etc/group (split at the first
//! NUL byte): no panic; every name the files define resolves to an id, and
//! back to a name; a user's groups start with its primary group.
#![no_main]

use jts_hot::system::accounts::{names, Accounts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (passwd, group) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let passwd = String::from_utf8_lossy(passwd).into_owned();
    let group = String::from_utf8_lossy(group).into_owned();
    let db = Accounts::from_texts(Ok(passwd.clone()), Ok(group.clone()));
    for name in names(&passwd).iter().take(64) {
        let uid = db.uid(name).expect("a parsed database").expect("a name it defines");
        assert!(db.user_name(uid).is_some(), "{name} {uid}");
        if let Ok(Some(who)) = db.who(name) {
            assert_eq!(who.uid, uid, "{name}");
            assert!(!who.gids.is_empty(), "{name}");
        }
    }
    for name in names(&group).iter().take(64) {
        let gid = db.gid(name).expect("a parsed database").expect("a name it defines");
        assert!(db.group_name(gid).is_some(), "{name} {gid}");
    }
    let _ = (db.who("root"), db.who(""), db.uid("nobody"));
});
