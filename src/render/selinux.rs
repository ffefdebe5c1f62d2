//! The SELinux policy module (CIL): one file context per labelled service.

use serde::Serialize;

use super::generated::{GeneratedFile, SELINUX_MODULE_PATH};
use super::Template;
use crate::escape;
use crate::layout::Layout;

#[derive(Serialize)]
struct Module {
    header: String,
    contexts: Vec<FileContext>,
}

impl Template for Module {
    const NAME: &'static str = "jts-hot.cil";
}

#[derive(Serialize)]
struct FileContext {
    index: usize,
    service: String,
    regex: String,
    selinux_type: String,
}

pub(super) fn module(layout: &Layout, header: &str) -> GeneratedFile {
    // CIL comments start with ';': the same header, the same digest line.
    let header: Vec<String> = header.lines().map(escape::cil_comment_line).collect();
    let ctx = Module {
        header: header.join("\n"),
        contexts: contexts(layout),
    };
    GeneratedFile {
        path: SELINUX_MODULE_PATH.into(),
        contents: ctx.render(),
    }
}

/// One file context per labelled service: its directory and everything under
/// it, as the distributions' policies label /var/lib/postgresql(/.*)?.
fn contexts(layout: &Layout) -> Vec<FileContext> {
    layout
        .services
        .iter()
        .filter_map(|s| Some((s, s.selinux_type.as_ref()?)))
        .enumerate()
        .map(|(i, (s, t))| FileContext {
            index: i + 1,
            service: escape::comment(s.name.as_str()),
            regex: escape::cil_string(&format!(
                "{}(/.*)?",
                escape::file_contexts_regex(&s.path(layout))
            )),
            selinux_type: t.to_string(),
        })
        .collect()
}
