//! The synthetic hot tier: a tree shaped like the default layout's services (many
//! small files, deep ClickHouse parts, Kafka segments, Docker layers sharing files
//! through hard links). Deterministic: the same scale gives the same tree, byte for
//! byte, so figures from different runs and machines compare. SCALE 1.0 is about
//! 350k files in about 48k directories (1.7 GiB allocated on ext4).
//!
//! Used by tests/monitor.rs and, through examples/mktree.rs, by bench/monitor.sh.

use std::fs;
use std::io;
use std::path::Path;

/// The source of this generator: a cached tree is rebuilt when it changes.
pub const SOURCE: &str = include_str!("mktree.rs");

/// A small deterministic generator (SplitMix64): no crate, the same numbers everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..=max.
    fn upto(&mut self, max: usize) -> usize {
        (self.next() % (max as u64 + 1)) as usize
    }

    fn pick(&mut self, choices: &[usize]) -> usize {
        choices[self.next() as usize % choices.len()]
    }
}

struct Builder {
    rng: Rng,
    scale: f64,
    files: u64,
    zeros: Vec<u8>,
}

impl Builder {
    fn n(&self, x: usize) -> usize {
        ((x as f64 * self.scale) as usize).max(1)
    }

    fn file(&mut self, path: &Path, len: usize) -> io::Result<()> {
        fs::write(path, &self.zeros[..len])?;
        self.files += 1;
        Ok(())
    }
}

/// Builds the tree under `root` (created; should not exist or be empty) and
/// returns how many files it made.
pub fn build(root: &Path, scale: f64) -> io::Result<u64> {
    let mut b = Builder {
        rng: Rng(42),
        scale,
        files: 0,
        zeros: vec![b'x'; 65536],
    };
    let mkdir = |p: &Path| fs::create_dir_all(p);

    // postgresql: base/<db>/<relfilenode> and pg_wal segments
    for db in 0..5 {
        let d = root.join(format!("postgresql/data/base/{}", 16384 + db));
        mkdir(&d)?;
        for r in 0..b.n(2000) {
            let len = b.rng.pick(&[0, 8192, 16384]);
            b.file(&d.join((20000 + r).to_string()), len)?;
        }
    }
    let wal = root.join("postgresql/data/pg_wal");
    mkdir(&wal)?;
    for w in 0..b.n(200) {
        b.file(&wal.join(format!("{w:024X}")), 16384)?;
    }
    for s in ["logs", "config"] {
        mkdir(&root.join("postgresql").join(s))?;
    }

    // clickhouse: store/<xxx>/<table>/<part>/<column files>
    const COLUMNS: [&str; 12] = [
        "checksums.txt",
        "columns.txt",
        "count.txt",
        "primary.idx",
        "ts.bin",
        "ts.mrk2",
        "px.bin",
        "px.mrk2",
        "qty.bin",
        "qty.mrk2",
        "sym.bin",
        "sym.mrk2",
    ];
    for p in 0..b.n(20000) {
        let d = root.join(format!(
            "clickhouse/data/store/{:03x}/tbl{:05}/all_{p}_{p}_0",
            p % 256,
            p % 700
        ));
        mkdir(&d)?;
        for col in COLUMNS {
            let len = b.rng.upto(4096);
            b.file(&d.join(col), len)?;
        }
    }
    for s in ["logs", "tmp"] {
        mkdir(&root.join("clickhouse").join(s))?;
    }

    // kafka: <topic>-<partition>/<segment>.{log,index,timeindex}
    for t in 0..b.n(500) {
        let d = root.join(format!("kafka/data/ticks-{t}"));
        mkdir(&d)?;
        for s in 0..30 {
            for ext in ["log", "index", "timeindex"] {
                let len = b.rng.upto(8192);
                b.file(&d.join(format!("{:020}.{ext}", s * 100_000)), len)?;
            }
        }
    }
    mkdir(&root.join("kafka/logs"))?;

    // mongodb: one file per collection
    let d = root.join("mongodb/data");
    mkdir(&d)?;
    for c in 0..b.n(5000) {
        let len = b.rng.upto(8192);
        b.file(&d.join(format!("collection-{c}.wt")), len)?;
    }
    for s in ["logs", "config"] {
        mkdir(&root.join("mongodb").join(s))?;
    }

    // redis
    let d = root.join("redis/data");
    mkdir(&d)?;
    b.file(&d.join("dump.rdb"), 65536)?;
    b.file(&d.join("appendonly.aof"), 65536)?;
    mkdir(&root.join("redis/logs"))?;

    // docker: layered trees; every later layer hard-links the first file of each
    // package to layer 0's (du counts a hard-linked file once)
    let layer0 = root.join("docker/volumes/layer0000/diff/usr/lib");
    for l in 0..b.n(500) {
        let base = root.join(format!("docker/volumes/layer{l:04}/diff/usr/lib"));
        for sub in 0..10 {
            let d = base.join(format!("pkg{sub:02}"));
            mkdir(&d)?;
            for k in 0..10 {
                let p = d.join(format!("f{k:02}"));
                if l > 0 && k == 0 {
                    fs::hard_link(layer0.join(format!("pkg{sub:02}/f00")), &p)?;
                    b.files += 1;
                } else {
                    let len = b.rng.upto(4096);
                    b.file(&p, len)?;
                }
            }
        }
    }
    for s in ["containers", "tmp"] {
        mkdir(&root.join("docker").join(s))?;
    }

    // backup: daily chunk directories
    for day in 0..b.n(30) {
        let d = root.join(format!("backup/daily/2026-10-{:02}-{day}", day % 28 + 1));
        mkdir(&d)?;
        for k in 0..30 {
            b.file(&d.join(format!("chunk{k:03}")), 32768)?;
        }
    }
    for s in ["snapshots", "staging"] {
        mkdir(&root.join("backup").join(s))?;
    }
    Ok(b.files)
}
