//! The grader's own failures: problems that stop it from grading at all (exit code 2), as
//! opposed to a submission failing its tests, which is an ordinary result.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A problem that prevents grading, with a message that names the problem and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What sort of problem stopped the grader, for callers that react differently to each: see
/// [`ErrorKind::is_grader_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user named an exercise, mutant or folder that does not exist.
    NotFound,
    /// The code to grade cannot be read as an exercise crate (too many files, too large).
    Subject,
    /// Metadata, a mutant or the checkout itself is malformed.
    BrokenCheckout,
    /// A tool the grader needs (cargo) could not be run.
    Tool,
    /// Reading or writing a file failed.
    Io,
}

impl ErrorKind {
    /// Whether the problem lies with the grader's own checkout or tools rather than with the
    /// code being graded. Grading a class reacts to the two differently: a student whose code
    /// cannot be read loses that exercise's points, but a broken checkout or a missing cargo
    /// must stop the grading, or every student would silently get zero for the instructor's
    /// problem.
    pub fn is_grader_fault(self) -> bool {
        matches!(self, ErrorKind::BrokenCheckout | ErrorKind::Tool)
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub(crate) fn io(action: &str, path: &std::path::Path, source: std::io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("{action} {}: {source}", path.display()),
        )
    }

    pub(crate) fn broken(path: &std::path::Path, problem: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::BrokenCheckout,
            format!("{}: {problem}", path.display()),
        )
    }
}

/// Reads a file, naming it in the error.
pub(crate) fn read_to_string(path: impl Into<PathBuf>) -> Result<String> {
    let path = path.into();
    std::fs::read_to_string(&path).map_err(|source| Error::io("cannot read", &path, source))
}

/// Writes a file, creating its folder first, naming it in the error.
pub(crate) fn write(path: impl Into<PathBuf>, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = path.into();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| Error::io("cannot create folder", parent, source))?;
    }
    std::fs::write(&path, contents).map_err(|source| Error::io("cannot write", &path, source))
}
