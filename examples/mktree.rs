//! `cargo run --release --example mktree -- ROOT [SCALE]`: builds the synthetic hot
//! tier (tests/common/mktree.rs) under ROOT. SCALE 1.0 (the default) is about 350k
//! files; the same SCALE always gives the same tree.

#[path = "../tests/common/mktree.rs"]
#[allow(dead_code)] // SOURCE is for the tests' cache stamp
mod mktree;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: mktree ROOT [SCALE]");
        return ExitCode::from(2);
    };
    let scale = match args.next().map(|s| s.to_string_lossy().parse::<f64>()) {
        None => 1.0,
        Some(Ok(s)) if s > 0.0 && s.is_finite() => s,
        Some(_) => {
            eprintln!("mktree: SCALE must be a positive number");
            return ExitCode::from(2);
        }
    };
    match mktree::build(std::path::Path::new(&root), scale) {
        Ok(files) => {
            println!("{files} files");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mktree: {}: {e}", root.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}
