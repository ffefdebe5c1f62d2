//! The SELinux policy module (CIL): one file context per labelled service;
//! and the layout's equivalences (file_contexts.subs), which CIL cannot say.

use serde::Serialize;

use super::generated::{GeneratedFile, SELINUX_EQUAL_PATH, SELINUX_MODULE_PATH};
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

#[derive(Serialize)]
struct Equivalences<'a> {
    header: &'a str,
    equivalences: Vec<SelinuxEquivalence>,
}

impl Template for Equivalences<'_> {
    const NAME: &'static str = "file_contexts.subs";
}

/// A `selinux_equal` of the layout: the service's directory, and the path
/// whose labels it copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelinuxEquivalence {
    pub dir: String,
    pub source: String,
}

/// Each service's `selinux_equal`, in the layout's order, escaped for
/// file_contexts.subs.
pub fn selinux_equivalences(layout: &Layout) -> Vec<SelinuxEquivalence> {
    layout
        .services
        .iter()
        .filter_map(|s| {
            Some(SelinuxEquivalence {
                source: escape::subs_field(s.selinux_equal.as_ref()?),
                dir: escape::subs_field(&s.path(layout)),
            })
        })
        .collect()
}

pub(super) fn equivalences(layout: &Layout, header: &str) -> GeneratedFile {
    let ctx = Equivalences {
        header,
        equivalences: selinux_equivalences(layout),
    };
    GeneratedFile {
        path: SELINUX_EQUAL_PATH.into(),
        contents: ctx.render(),
    }
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
