//! Diagnostics: a list of problems, each pointing at file:line with a caret,
//! instead of one error string. Callees report byte spans; the edge renders
//! them against the source text.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use owo_colors::OwoColorize;

/// A stack file's text, kept to render diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path, text, line_starts }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).saturating_sub(1);
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(0) + 1;
        (line + 1, col)
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("").trim_end_matches(['\n', '\r'])
    }
}

/// All files of one stack, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

pub type FileId = usize;

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        self.files.len() - 1
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// `path:line:col` of a location, for one-line messages.
    pub fn describe(&self, loc: &Loc) -> String {
        let file = self.get(loc.file);
        let (line, col) = file.line_col(loc.span.start);
        format!("{}:{line}:{col}", file.path.display())
    }
}

/// A place in a stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    pub span: Range<usize>,
}

impl Loc {
    pub fn new(file: FileId, span: Option<Range<usize>>) -> Loc {
        Loc { file, span: span.unwrap_or(0..0) }
    }

    /// A narrower span inside the same file, when one is known.
    pub fn narrow(&self, span: Option<Range<usize>>) -> Loc {
        match span {
            Some(span) => Loc { file: self.file, span },
            None => self.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a stack or its inputs.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: Option<String>,
    pub loc: Option<Loc>,
    /// A plain file path, for problems in files outside the source map
    /// (tfvars given on the command line, state files).
    pub file: Option<Box<(PathBuf, usize, usize)>>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, summary: summary.into(), detail: None, loc: None, file: None }
    }

    pub fn warning(summary: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(summary) }
    }

    pub fn at(mut self, loc: Loc) -> Diagnostic {
        self.loc = Some(loc);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn in_file(mut self, path: &Path, line: usize, col: usize) -> Diagnostic {
        self.file = Some(Box::new((path.to_path_buf(), line, col)));
        self
    }

    /// Renders the diagnostic with the offending source line and a caret.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        if color {
            let styled = match self.severity {
                Severity::Error => format!("{}", label.red().bold()),
                Severity::Warning => format!("{}", label.yellow().bold()),
            };
            let _ = writeln!(out, "{styled}: {}", self.summary.bold());
        } else {
            let _ = writeln!(out, "{label}: {}", self.summary);
        }
        if let Some(loc) = &self.loc {
            let file = sources.get(loc.file);
            let (line, col) = file.line_col(loc.span.start);
            let text = file.line_text(line);
            let width = line.to_string().len();
            let _ = writeln!(out, "{:width$}--> {}:{line}:{col}", "", file.path.display());
            let _ = writeln!(out, "{:width$} |", "");
            let _ = writeln!(out, "{line} | {text}");
            let caret_len = {
                let (end_line, end_col) = file.line_col(loc.span.end);
                if end_line == line && end_col > col {
                    end_col - col
                } else {
                    1
                }
            };
            let carets = "^".repeat(caret_len);
            let carets = if color { format!("{}", carets.red()) } else { carets };
            let _ = writeln!(out, "{:width$} | {:pad$}{carets}", "", "", pad = col - 1);
        } else if let Some((path, line, col)) = self.file.as_deref() {
            let _ = writeln!(out, "  --> {}:{line}:{col}", path.display());
        }
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

/// A list of diagnostics; an error when any of them is an error.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok with the value when no error was reported.
    pub fn into_result<T>(self, value: T) -> Result<(T, Diagnostics), Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok((value, self))
        }
    }

    /// The diagnostics as text. One mistake in a module called with count
    /// or for_each is found once per instance: it is shown once.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut shown: Vec<String> = Vec::new();
        for d in &self.0 {
            let text = d.render(sources, color);
            if !shown.contains(&text) {
                shown.push(text);
            }
        }
        shown.join("\n")
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

/// The candidate nearest to a mistyped name, when it is near enough to be
/// what was meant (as Terraform's "Did you mean" suggestions).
pub fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_and_caret() {
        let mut map = SourceMap::default();
        let id = map.add("main.tf".into(), "a = 1\nbad = oops\n".into());
        let d = Diagnostic::error("Unknown thing").at(Loc { file: id, span: 12..16 });
        let text = d.render(&map, false);
        assert!(text.contains("--> main.tf:2:7"), "{text}");
        assert!(text.contains("2 | bad = oops"), "{text}");
        assert!(text.contains("|       ^^^^"), "{text}");
    }

    #[test]
    fn line_col_of_offset_past_end_is_clamped() {
        let f = SourceFile::new("x".into(), "ab\ncd".into());
        assert_eq!(f.line_col(100), (2, 3));
        assert_eq!(f.line_col(0), (1, 1));
    }
}
