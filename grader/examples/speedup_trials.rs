//! Counts how often the speedup timer decides right: a maintainer's tool, not part of grading.
//!
//! ```console
//! cargo run --release -p grader --example speedup_trials -- trials 05 pool_speeds_up_cpu_bound_work solution 100
//! cargo run --release -p grader --example speedup_trials -- trials 05 pool_speeds_up_cpu_bound_work mutant:one_worker_gets_every_task 100
//! cargo run --release -p grader --example speedup_trials -- verify 06
//! ```
//!
//! `trials` builds the hidden tests once in release mode and asks the timer for N decisions in
//! a row, printing each decision's numbers and then the count of each verdict. Run it once on
//! a quiet machine and once with a CPU hog (`yes > /dev/null &`) on another core: a correct
//! solution must never get `fail` and a serial one never `pass`. `verify` is
//! `cargo xtask verify N` without the CLI, for when the CLI itself is being rebuilt, and
//! `mutant N FILE` checks one mutant or attempt file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use grader::catalog::Catalog;
use grader::execute::Execution;
use grader::mutant::Mutant;
use grader::scratch::{self, Profile};
use grader::subject::Subject;
use grader::workspace::Workspace;

fn main() {
    if let Err(problem) = run() {
        eprintln!("speedup_trials: {problem}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = Workspace::open(root)?;
    let catalog = Catalog::load(&workspace)?;
    grader::reaper::become_subreaper();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["verify", exercise] => {
            let exercise = catalog.find(exercise)?;
            let claims = grader::verify::verify_exercise(&workspace, exercise)?;
            let mut failed = 0;
            for claim in &claims {
                let mark = if claim.holds() { "✓" } else { "✗" };
                println!("{mark} {} {}", claim.subject, claim.claim);
                if let Some(problem) = &claim.problem {
                    failed += 1;
                    println!("    {}", problem.replace('\n', "\n    "));
                }
            }
            println!("{failed} of {} claims do not hold", claims.len());
            Ok(())
        }
        ["mutant", exercise, path] => {
            let exercise = catalog.find(exercise)?;
            let claim = grader::verify::mutant_rejected(
                &workspace,
                exercise,
                &Mutant::load(path.as_ref())?,
            )?;
            println!("{} {}: {:?}", claim.subject, claim.claim, claim.problem);
            Ok(())
        }
        ["trials", exercise, test_name, who, count] => {
            let exercise = catalog.find(exercise)?;
            let speedup = exercise
                .meta
                .tests
                .iter()
                .find(|test| test.name == *test_name)
                .and_then(|test| test.speedup.clone())
                .ok_or_else(|| {
                    format!(
                        "`{test_name}` is not a timing test of {}",
                        exercise.dir_name
                    )
                })?;
            let subject = match who.strip_prefix("mutant:") {
                Some(name) => {
                    let mutant =
                        Mutant::load(&exercise.mutants_dir().join(format!("{name}.toml")))?;
                    Subject::mutant(&workspace, exercise, &mutant)?
                }
                None if *who == "solution" => Subject::solution(&workspace, exercise)?,
                None => Subject::exercise(&workspace, exercise)?,
            };
            let suite = exercise.hidden_suite();
            let binary = scratch::build(
                &workspace,
                exercise,
                &suite,
                &subject,
                Profile::Release,
                false,
            )?
            .map_err(|failure| failure.errors.join("\n"))?;
            let test = suite
                .test(test_name)
                .ok_or_else(|| format!("exercise {} has no test `{test_name}`", exercise.dir_name))?
                .clone();
            let execution = Execution {
                workspace: &workspace,
                suite: &suite,
                subject: &subject,
                memory_mib: suite.limits.memory_mib,
            };
            let count: usize = count.parse()?;
            let mut tally: BTreeMap<String, usize> = BTreeMap::new();
            for decision in 1..=count {
                let result = execution.run_timed_test(&binary, &test, &speedup)?;
                let label = result.verdict.label().to_string();
                println!("{decision:>4} {label:<13} {:>6} ms", result.elapsed_ms);
                for note in &result.notes {
                    println!("       {note}");
                }
                *tally.entry(label).or_default() += 1;
            }
            println!("{} decisions for {who}: {tally:?}", count);
            Ok(())
        }
        _ => Err(
            "usage: verify N | mutant N FILE | trials N TEST solution|stub|mutant:NAME COUNT"
                .into(),
        ),
    }
}
