//! Errors about the stack file, pointing at the exact text: file:line:column, the line, a caret.

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Cs, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config, termcolor};

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Range<usize>>,
    pub label: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        message: impl Into<String>,
        span: Option<Range<usize>>,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span,
            label: label.into(),
            help: None,
        }
    }
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        let h = help.into();
        if !h.is_empty() {
            self.help = Some(h);
        }
        self
    }
}

/// Render diagnostics the way rustc and cargo do.
pub fn render(path: &str, source: &str, diags: &[Diagnostic], color: bool) -> String {
    let file = SimpleFile::new(path, source);
    let config = Config {
        chars: term::Chars::ascii(),
        ..Config::default()
    };
    let mut buf = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    for d in diags {
        let mut cs = Cs::error().with_message(&d.message);
        if let Some(span) = &d.span {
            cs = cs.with_labels(vec![
                Label::primary((), span.clone()).with_message(&d.label),
            ]);
        }
        if let Some(h) = &d.help {
            cs = cs.with_notes(vec![format!("help: {h}")]);
        }
        let _ = term::emit(&mut buf, &config, &file, &cs);
    }
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
