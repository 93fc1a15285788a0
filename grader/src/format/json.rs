//! The grade as JSON: the [`GradeReport`] model itself, whose fields are documented in
//! [`crate::grade`] and in the book's instructor chapter; `schema` names the version. It reads
//! back with [`GradeReport::from_json`], beside the model and its schema version.

use crate::grade::GradeReport;

/// The report as pretty JSON in the documented schema.
pub fn to_json(report: &GradeReport) -> String {
    serde_json::to_string_pretty(report).expect("a grade report always serialises")
}
