//! The maintainers' gate, as part of `cargo test`: every solution passes, every stub fails for
//! the reason its exercise teaches, and every mutant is rejected with the verdict it declares.

use crate::util::xtask;

#[test]
fn verify_holds_for_every_exercise() {
    let output = xtask().arg("verify").output().expect("xtask runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo xtask verify failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("claims hold"),
        "verify reports its count:\n{stdout}"
    );
}
