//! Any bytes as /var/lib/jts-hot/selinux-equal, the record of the SELinux
//! equivalences jts-hot added: no panic, every entry is two absolute paths
//! without whitespace, and the record as jts-hot rewrites it reads back the same.
#![no_main]

use jts_hot::apply::selinux::parse_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let record = parse_record(&text);
    let mut again = String::from("# comment\n");
    for (dir, source) in &record {
        assert!(dir.starts_with('/') && source.starts_with('/'), "{dir} {source}");
        assert!(!dir.contains(char::is_whitespace) && !source.contains(char::is_whitespace));
        again.push_str(&format!("{dir} {source}\n"));
    }
    assert_eq!(parse_record(&again), record);
});
