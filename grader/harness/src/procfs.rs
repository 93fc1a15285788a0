//! Processes and threads as `/proc` shows them: one parser for the harness (children a test
//! left behind, blocked threads) and the grader (process groups, strays, timeout diagnosis).

/// The fields of `/proc/PID/stat` (or `/proc/PID/task/TID/stat`) that threadlings uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The command name (`comm`), at most 15 bytes; for a thread, its name.
    pub name: String,
    /// `R` running, `S` sleeping, `D` uninterruptible, `Z` zombie, ...
    pub state: char,
    pub parent: i32,
    pub group: i32,
    /// User plus system CPU time, in clock ticks (normally 10 ms).
    pub cpu_ticks: u64,
}

/// Parses a stat line. The name is in parentheses and may itself contain spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // Counted from 0 after the name: 0 state, 1 parent, 2 group, 11 utime, 12 stime.
    let number = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<i64>().ok())
            .unwrap_or(0)
    };
    Some(Stat {
        name,
        state: fields.first()?.chars().next()?,
        parent: number(1) as i32,
        group: number(2) as i32,
        cpu_ticks: (number(11) + number(12)) as u64,
    })
}

/// Reads and parses one stat file; `None` if the process or thread is gone.
pub fn read_stat(path: impl AsRef<std::path::Path>) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// Every process on the machine with its stat, by pid.
pub fn all_processes() -> Vec<(i32, Stat)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
        .filter_map(|pid| Some((pid, read_stat(format!("/proc/{pid}/stat"))?)))
        .collect()
}

/// Live or zombie members of process group `pgid`.
pub fn processes_in_group(pgid: i32) -> Vec<i32> {
    all_processes()
        .into_iter()
        .filter(|(_, stat)| stat.group == pgid)
        .map(|(pid, _)| pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "4121 (my (odd) name) S 4000 4121 4000 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0";
        let stat = parse_stat(line).expect("the line parses");
        assert_eq!(stat.name, "my (odd) name");
        assert_eq!(
            (stat.state, stat.parent, stat.group, stat.cpu_ticks),
            ('S', 4000, 4121, 10)
        );
    }

    #[test]
    fn a_truncated_line_is_none() {
        assert_eq!(parse_stat("4121 (name"), None);
        assert_eq!(parse_stat("4121 (name)"), None);
    }
}
