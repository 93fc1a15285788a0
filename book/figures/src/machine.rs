//! Which machine a figure came from, and on which day.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The facts every figure states about the run behind it.
#[derive(Debug, Clone)]
pub struct Machine {
    /// What `std::thread::available_parallelism` reports: the cores this process may use.
    pub cores: usize,
    /// The processor's model name from `/proc/cpuinfo`, where there is one.
    pub cpu_model: Option<String>,
    /// The one-minute load average when the run began, from `/proc/loadavg`. Above the core
    /// count, other programs were competing for the cores and the numbers are pessimistic.
    pub load: Option<f64>,
    /// How many cores a probe got right before the figure was measured: one busy thread per
    /// core for a fifth of a second, CPU time divided by wall-clock time. Set by
    /// [`Machine::probed`]; well below [`Machine::cores`], other programs had the rest.
    pub cores_free: Option<f64>,
    /// The day of the run, `YYYY-MM-DD` in UTC.
    pub date: String,
}

impl Machine {
    /// Describes the machine this process runs on, today.
    pub fn current() -> Machine {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or(0);
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            cpu_model: cpu_model(),
            load: load_average(),
            cores_free: None,
            date: utc_date(seconds),
        }
    }
}

impl Machine {
    /// A two-core machine on a fixed day, with nothing probed: what the tests draw figures for,
    /// so that they can look for its description in the output.
    #[cfg(test)]
    pub(crate) fn two_cores_on_a_fixed_day() -> Machine {
        Machine {
            cores: 2,
            cpu_model: None,
            load: None,
            cores_free: None,
            date: "2026-05-01".to_string(),
        }
    }

    /// This description, with how many cores a busy thread per core gets right now.
    pub fn probed(&self) -> Machine {
        let probe_time = std::time::Duration::from_millis(200);
        let (cpu_before, wall_before) = (cpu_time(), std::time::Instant::now());
        std::thread::scope(|scope| {
            for _ in 0..self.cores {
                scope.spawn(|| {
                    while wall_before.elapsed() < probe_time {
                        std::hint::black_box(crate::workload::cpu_task(100_000));
                    }
                });
            }
        });
        let wall = wall_before.elapsed().as_secs_f64();
        Machine {
            cores_free: Some((cpu_time() - cpu_before) / wall),
            ..self.clone()
        }
    }
}

/// CPU seconds used so far by this process.
fn cpu_time() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

impl fmt::Display for Machine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.cores == 1 { "" } else { "s" };
        write!(formatter, "measured on {} core{plural}", self.cores)?;
        if let Some(model) = &self.cpu_model {
            write!(formatter, " ({model})")?;
        }
        if let Some(load) = self.load {
            write!(formatter, ", load {load:.1}")?;
        }
        if let Some(cores_free) = self.cores_free {
            write!(formatter, ", {cores_free:.1} of them free")?;
        }
        write!(formatter, ", {}", self.date)
    }
}

fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn load_average() -> Option<f64> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    loadavg.split_whitespace().next()?.parse().ok()
}

/// Turns seconds since 1970 into a `YYYY-MM-DD` date in UTC.
///
/// This is the days-to-civil conversion from Howard Hinnant's date algorithms; a calendar crate
/// would be a dependency for one line of output.
pub fn utc_date(seconds_since_epoch: u64) -> String {
    let days = (seconds_since_epoch / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_matches_known_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(
            utc_date(951_782_400),
            "2000-02-29",
            "a leap day in a year divisible by 400"
        );
        assert_eq!(
            utc_date(1_709_251_199),
            "2024-02-29",
            "the last second of a leap day"
        );
        assert_eq!(utc_date(1_709_251_200), "2024-03-01");
    }

    #[test]
    fn the_description_names_cores_and_date() {
        let machine = Machine {
            cores: 2,
            cpu_model: Some("Example CPU".to_string()),
            load: Some(0.25),
            cores_free: Some(1.84),
            date: "2026-05-01".to_string(),
        };
        assert_eq!(
            machine.to_string(),
            "measured on 2 cores (Example CPU), load 0.2, 1.8 of them free, 2026-05-01"
        );
    }
}
