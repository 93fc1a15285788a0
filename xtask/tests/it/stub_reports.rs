//! What `cargo xtask check NN` prints for every exercise's untouched stub, pinned by snapshots.
//!
//! Each check runs only the test the stub is declared to fail (`[stub] rejected_by` in the
//! exercise's metadata), because `verify` proves that test decides the same way on every run;
//! the other tests of a stub include real-thread races and timings whose numbers vary. What
//! still varies between runs (times, process ids, addresses, the binary's hash) is masked, so
//! a change in the words or the layout of any report shows up as a snapshot difference.

use grader::catalog::Catalog;

use crate::util::{progress_file, workspace, xtask};

#[test]
fn every_stub_fails_its_declared_test_with_the_same_report() {
    // Each check records the stub's failure in this checkout's progress file.
    let _progress = progress_file();
    let workspace = workspace();
    let catalog = Catalog::load(&workspace).expect("the catalog loads");
    let filters = crate::util::report_filters();
    for exercise in &catalog.exercises {
        let output = xtask()
            .args(["check", &exercise.dir_name, "--test"])
            .arg(&exercise.meta.stub.rejected_by)
            .output()
            .expect("xtask runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(1),
            "the stub of {} must fail:\n{stdout}",
            exercise.dir_name
        );
        insta::with_settings!({filters => filters.clone()}, {
            insta::assert_snapshot!(format!("stub_{}", exercise.dir_name), stdout);
        });
    }
}
