#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the assignment's image; written by
# `cargo xtask publish gradescope`. It installs what is missing (a C linker, the pinned Rust
# toolchain), fetches and compiles every dependency, builds the grader, and grades the
# course's own stubs once so that the first submission compiles only its own code.
# AUTOGRADER_ROOT (default /autograder) lets the project's tests run it anywhere.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
course="$root/source/course"
toolchain="@TOOLCHAIN@"

if ! command -v cc >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential ca-certificates curl
fi

[ -f "${HOME:-/root}/.cargo/env" ] && . "${HOME:-/root}/.cargo/env"
if ! rustc --version 2>/dev/null | grep -q "^rustc $toolchain "; then
    if command -v rustup >/dev/null 2>&1; then
        rustup toolchain install "$toolchain" --profile minimal
        rustup default "$toolchain"
    else
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --profile minimal --default-toolchain "$toolchain"
        . "$HOME/.cargo/env"
    fi
fi

cd "$course"
cargo fetch --locked
cargo build --locked --package xtask
xtask="${CARGO_TARGET_DIR:-$course/target}/debug/xtask"
# Grading the stubs compiles every dependency of the hidden tests into target/threadlings/;
# they fail, so exit code 1 is expected, and 2 means the grader itself could not run.
status=0
CARGO_WORKSPACE_DIR="$course" NO_COLOR=1 "$xtask" grade @EXERCISE_ARGS@ \
    --format json --out "$root/warm-up.json" || status=$?
if [ "$status" -gt 1 ]; then
    echo "setup.sh: grading the course's stubs failed (exit $status); the autograder cannot grade" >&2
    exit 1
fi
echo "setup.sh: ready ($(rustc --version))"
