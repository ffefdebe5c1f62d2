//! `jts-hot generate`: the layout's files rendered and written into a
//! directory (an image, a package's staging tree), nothing else touched.

use std::path::PathBuf;

use crate::layout::Layout;

/// What `jts-hot generate` is asked to do (main builds it from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory the files are written under (as under "/").
    pub out: PathBuf,
}

/// The files written, as paths under `out`, in the order rendered.
#[derive(Debug)]
pub struct Report {
    pub written: Vec<PathBuf>,
}

/// The command: renders every file and writes the tree.
pub fn run(layout: &Layout, opts: &Options) -> anyhow::Result<Report> {
    let files = crate::render::render(layout);
    crate::files::write_tree(&opts.out, &files)?;
    Ok(Report {
        written: files.iter().map(|f| opts.out.join(&f.path)).collect(),
    })
}

/// Each file written, a line each.
pub fn text(report: &Report) -> String {
    report
        .written
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect()
}
