//! A class's grades: the CSV gradebook (one row per student) and its Markdown summary.

use std::fmt::Write;

use crate::roster::Row;

/// The gradebook: a row per student with the points of every exercise and the total. The
/// columns are the exercises of the first report (every report of one run has the same).
/// A student who could not be graded at all gets empty cells and the reason in `problem`.
pub fn to_csv(rows: &[Row]) -> String {
    let columns: Vec<String> = rows
        .iter()
        .find_map(|row| row.grade.as_ref().ok())
        .map(|report| {
            report
                .exercises
                .iter()
                .map(|e| e.dir_name.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student".to_owned()];
    header.extend(columns.iter().cloned());
    header.extend(["total", "max_total", "problem"].map(str::to_owned));
    writer
        .write_record(&header)
        .expect("writing to memory cannot fail");
    for student in rows {
        let mut row = vec![student.name.clone()];
        match &student.grade {
            Ok(report) => {
                for column in &columns {
                    let points = report
                        .exercises
                        .iter()
                        .find(|e| &e.dir_name == column)
                        .map_or(String::new(), |e| e.points.to_string());
                    row.push(points);
                }
                row.push(report.points.to_string());
                row.push(report.max_points.to_string());
                row.push(String::new());
            }
            Err(not_graded) => {
                row.extend(columns.iter().map(|_| String::new()));
                row.extend([String::new(), String::new(), not_graded.reason.clone()]);
            }
        }
        writer
            .write_record(&row)
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("an in-memory writer flushes"))
        .expect("every cell is UTF-8")
}

/// The gradebook as a Markdown table, for a CI job summary.
pub fn to_markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("## threadlings gradebook\n\n| student | points |\n| --- | ---: |\n");
    for student in rows {
        let points = match &student.grade {
            Ok(grade) => format!("{}/{}", grade.points, grade.max_points),
            Err(_) => "not graded".to_owned(),
        };
        let _ = writeln!(out, "| {} | {points} |", student.name);
    }
    out
}
