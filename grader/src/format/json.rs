//! The grade as JSON: the [`GradeReport`] model itself, whose fields are documented in
//! [`crate::grade`] and in the book's instructor chapter; `schema` names the version.

use crate::grade::{GradeReport, SCHEMA};

/// The report as pretty JSON in the documented schema.
pub fn to_json(report: &GradeReport) -> String {
    serde_json::to_string_pretty(report).expect("a grade report always serialises")
}

/// Why a JSON text is not a grade report this grader can read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a threadlings grade report: {0}")]
    NotAReport(#[from] serde_json::Error),
    #[error("the report has schema `{found}`, this grader reads `{SCHEMA}`; grade again with this version")]
    OtherSchema { found: String },
}

/// A report read back from [`to_json`], checking the schema version.
pub fn from_json(text: &str) -> Result<GradeReport, ReadError> {
    let report: GradeReport = serde_json::from_str(text)?;
    if report.schema != SCHEMA {
        return Err(ReadError::OtherSchema {
            found: report.schema,
        });
    }
    Ok(report)
}
