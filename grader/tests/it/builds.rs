//! Builds shared by the graders of one checkout.

/// Graders of one checkout share builds of identical code, so a roster's cleanup must not
/// remove a build another grader is still using: `scratch::clean` leaves a subject's builds
/// alone while `scratch::in_use` is held, and removes them once it is dropped.
#[test]
fn a_build_in_use_is_not_cleaned_from_under_its_grader() {
    let workspace = crate::util::workspace();
    let catalog = grader::catalog::Catalog::load(&workspace).expect("the catalog loads");
    let exercise = catalog.find("01").expect("exercise 01");
    let key = "code-cleanup-race-test";
    let build = workspace
        .scratch_dir()
        .join(&exercise.dir_name)
        .join(format!("{key}-hidden"));
    std::fs::create_dir_all(&build).expect("a scratch crate folder");
    let in_use = grader::scratch::in_use(&workspace, exercise, key).expect("the lock");
    grader::scratch::clean(&workspace, exercise, key).expect("cleaning runs");
    assert!(build.is_dir(), "a build in use was removed");
    drop(in_use);
    grader::scratch::clean(&workspace, exercise, key).expect("cleaning runs");
    assert!(!build.exists(), "a build nobody uses was left behind");
}
