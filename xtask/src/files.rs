//! Writing the files an instructor keeps: whole, or not at all.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `text` to `path` whole or not at all (through a hidden file renamed over it), so a
/// run stopped midway never leaves half a report for `--resume` or a merge to read.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    // A device or a pipe (`--out /dev/stdout`) is written in place, never replaced.
    if path.metadata().is_ok_and(|meta| !meta.is_file()) {
        return std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = parent
        .unwrap_or(Path::new("."))
        .join(format!(".{file_name}.partial"));
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
