//! Pure parts of the socket benchmark: result-line parsing, medians, ratios and number formats.

/// One result line printed by `zpeer`, `libzmq-peer` or `raw-pump`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Line {
    /// `thr size=S count=N msgs_per_s=X mb_per_s=Y` (megabits per second).
    Thr {
        /// Message size in octets.
        size: u64,
        /// Messages received.
        count: u64,
        /// Messages per second, timed from the first message.
        msgs_per_s: f64,
        /// Megabits of bodies per second.
        mb_per_s: f64,
    },
    /// `lat size=S count=N avg_us=X p50_us=Y p99_us=Z` (round trips).
    Lat {
        /// Message size in octets.
        size: u64,
        /// Round trips timed.
        count: u64,
        /// Mean round trip in microseconds.
        avg_us: f64,
        /// Median round trip in microseconds.
        p50_us: f64,
        /// 99th percentile round trip in microseconds.
        p99_us: f64,
    },
    /// `rss_kb=X`: the resident set of a process holding many idle peers.
    Rss {
        /// `VmRSS` in KiB.
        kb: u64,
    },
}

impl Line {
    /// The figure the benchmark compares: messages per second, median round trip in
    /// microseconds, or resident KiB.
    pub(crate) fn figure(&self) -> f64 {
        match *self {
            Self::Thr { msgs_per_s, .. } => msgs_per_s,
            Self::Lat { p50_us, .. } => p50_us,
            Self::Rss { kb } => to_f64(kb),
        }
    }
}

/// Parses one result line; `None` for anything else (an endpoint line, a blank line).
pub(crate) fn parse_line(line: &str) -> Option<Line> {
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if let Some(kb) = first.strip_prefix("rss_kb=") {
        return Some(Line::Rss {
            kb: kb.parse().ok()?,
        });
    }
    let fields: Vec<(&str, &str)> = words.filter_map(|word| word.split_once('=')).collect();
    let get = |key: &str| {
        fields
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    };
    let int = |key: &str| get(key)?.parse::<u64>().ok();
    let float = |key: &str| {
        get(key)?
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
    };
    match first {
        "thr" => Some(Line::Thr {
            size: int("size")?,
            count: int("count")?,
            msgs_per_s: float("msgs_per_s")?,
            mb_per_s: float("mb_per_s")?,
        }),
        "lat" => Some(Line::Lat {
            size: int("size")?,
            count: int("count")?,
            avg_us: float("avg_us")?,
            p50_us: float("p50_us")?,
            p99_us: float("p99_us")?,
        }),
        _ => None,
    }
}

/// The last result line in a process's standard output.
pub(crate) fn last_result<S: AsRef<str>>(lines: &[S]) -> Option<Line> {
    lines
        .iter()
        .rev()
        .find_map(|line| parse_line(line.as_ref()))
}

/// The value in KiB of `key` (e.g. `VmHWM`) in the text of `/proc/<pid>/status`.
pub(crate) fn status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux).
pub(crate) const CLOCK_TICKS_PER_S: f64 = 100.0;

/// What `/usr/bin/time -f "%M %U %S" -o FILE` wrote: peak RSS in KiB and user+sys CPU seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TimeOutput {
    /// Peak resident set (`ru_maxrss`) in KiB.
    pub(crate) rss_kb: Option<u64>,
    /// User plus system CPU time in seconds.
    pub(crate) cpu_s: Option<f64>,
}

/// Parses the file of `/usr/bin/time -f "%M %U %S" -o FILE`: its last non-empty line (a failed
/// command adds a "Command exited with non-zero status" line before it). A line of only `%M`
/// gives the RSS without CPU; anything else gives neither.
pub(crate) fn time_output(text: &str) -> TimeOutput {
    let Some(line) = text.lines().rev().find(|line| !line.trim().is_empty()) else {
        return TimeOutput::default();
    };
    let mut fields = line.split_whitespace();
    let Some(rss_kb) = fields.next().and_then(|word| word.parse::<u64>().ok()) else {
        return TimeOutput::default();
    };
    let seconds = |word: Option<&str>| {
        word?
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite() && *value >= 0.0)
    };
    let cpu_s = match (seconds(fields.next()), seconds(fields.next())) {
        (Some(user), Some(system)) => Some(user + system),
        _ => None,
    };
    TimeOutput {
        rss_kb: Some(rss_kb),
        cpu_s,
    }
}

/// `utime + stime` in clock ticks (fields 14 and 15) from the text of `/proc/<pid>/stat`.
pub(crate) fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself:
    // the fields after the last `)` start with field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user = fields.next()?.parse::<u64>().ok()?;
    let system = fields.next()?.parse::<u64>().ok()?;
    user.checked_add(system)
}

/// The median of `values` (the mean of the two middle ones for an even count); `None` if empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0),
    }
}

/// `numerator / denominator` when both are known and the denominator is positive.
pub(crate) fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(numerator), Some(denominator)) if denominator > 0.0 => Some(numerator / denominator),
        _ => None,
    }
}

/// A rate with an SI prefix: `2.31 M/s`, `456 k/s`, `812 /s`.
pub(crate) fn format_rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} /s")
    }
}

/// A bit rate given in megabits per second: `1.18 Gb/s` or `820 Mb/s`.
pub(crate) fn format_bits(mb_per_s: f64) -> String {
    if mb_per_s >= 1000.0 {
        format!("{:.2} Gb/s", mb_per_s / 1000.0)
    } else if mb_per_s >= 10.0 {
        format!("{mb_per_s:.0} Mb/s")
    } else {
        format!("{mb_per_s:.1} Mb/s")
    }
}

/// A size in KiB as MiB with one decimal: `3.2 MiB`.
pub(crate) fn format_mib(kb: f64) -> String {
    format!("{:.1} MiB", kb / 1024.0)
}

/// A short duration given in nanoseconds: `310 ns`, `4.2 µs`, `52 µs`, `1.3 ms`.
pub(crate) fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.0} µs", ns / 1e3)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// A ratio with two decimals, or `n/a`.
pub(crate) fn format_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.2}"))
}

/// A human size: `1 B`, `64 B`, `1 KiB`, `64 KiB`.
pub(crate) fn format_size(size: u64) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// `value` as `f64` (exact below 2^53, far above any count or size here).
#[allow(
    clippy::cast_precision_loss,
    reason = "counts, sizes and KiB are far below 2^53"
)]
pub(crate) fn to_f64(value: u64) -> f64 {
    value as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thr_lat_and_rss_lines() {
        assert_eq!(
            parse_line("thr size=64 count=2000000 msgs_per_s=2310000 mb_per_s=1182.720"),
            Some(Line::Thr {
                size: 64,
                count: 2_000_000,
                msgs_per_s: 2_310_000.0,
                mb_per_s: 1182.72,
            })
        );
        assert_eq!(
            parse_line("lat size=1024 count=20000 avg_us=31.5 p50_us=29.0 p99_us=80.2"),
            Some(Line::Lat {
                size: 1024,
                count: 20_000,
                avg_us: 31.5,
                p50_us: 29.0,
                p99_us: 80.2,
            })
        );
        assert_eq!(parse_line("rss_kb=12345"), Some(Line::Rss { kb: 12_345 }));
    }

    #[test]
    fn rejects_other_and_incomplete_lines() {
        assert_eq!(parse_line("tcp://127.0.0.1:40000"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("thr size=64 count=10 msgs_per_s=5"), None);
        assert_eq!(
            parse_line("lat size=x count=1 avg_us=1 p50_us=1 p99_us=1"),
            None
        );
        assert_eq!(
            parse_line("thr size=1 count=1 msgs_per_s=NaN mb_per_s=1"),
            None
        );
        assert_eq!(parse_line("rss_kb=-1"), None);
    }

    #[test]
    fn last_result_skips_the_endpoint_line() {
        let lines = ["tcp://127.0.0.1:5555", "rss_kb=9", "done"];
        assert_eq!(last_result(&lines), Some(Line::Rss { kb: 9 }));
        assert_eq!(last_result(&["ipc:///tmp/x"]), None);
    }

    #[test]
    fn figures_are_rate_median_round_trip_and_kib() {
        assert!((parse_line("rss_kb=7").unwrap().figure() - 7.0).abs() < f64::EPSILON);
        let lat = parse_line("lat size=1 count=1 avg_us=9 p50_us=4.5 p99_us=9").unwrap();
        assert!((lat.figure() - 4.5).abs() < f64::EPSILON);
    }

    #[test]
    fn reads_proc_status_and_time_output() {
        let status =
            "Name:\tzpeer\nVmPeak:\t  20000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t    4000 kB\n";
        assert_eq!(status_kb(status, "VmHWM"), Some(4321));
        assert_eq!(status_kb(status, "VmRSS"), Some(4000));
        assert_eq!(status_kb(status, "VmSwap"), None);
        assert_eq!(time_output("5120\n").rss_kb, Some(5120));
        assert_eq!(time_output("5120\n").cpu_s, None);
        assert_eq!(
            time_output("Command exited with non-zero status 1\n6144\n").rss_kb,
            Some(6144)
        );
        assert_eq!(
            time_output("Command terminated by signal 9\n"),
            TimeOutput::default()
        );
        assert_eq!(time_output(""), TimeOutput::default());
    }

    #[test]
    fn reads_rss_and_cpu_from_time_output() {
        let failed = time_output("Command exited with non-zero status 1\n4096 0.12 0.03\n\n");
        assert_eq!(failed.rss_kb, Some(4096));
        assert!(failed.cpu_s.is_some_and(|cpu| (cpu - 0.15).abs() < 1e-9));
        let plain = time_output("8192 1.50 0.25\n");
        assert_eq!(plain.rss_kb, Some(8192));
        assert!(plain.cpu_s.is_some_and(|cpu| (cpu - 1.75).abs() < 1e-9));
        // A broken CPU field keeps the RSS and drops the CPU.
        assert_eq!(
            time_output("8192 x 0.25\n"),
            TimeOutput {
                rss_kb: Some(8192),
                cpu_s: None
            }
        );
    }

    #[test]
    fn reads_cpu_ticks_from_proc_stat() {
        let stat = "4242 (z peer) S 1 4242 4242 0 -1 4194560 300 0 0 0 \
                    37 5 0 0 20 0 3 0 123456 10000000 800 18446744073709551615\n";
        assert_eq!(stat_cpu_ticks(stat), Some(42));
        assert_eq!(stat_cpu_ticks("4242 (x) S 1 2 3"), None);
        assert_eq!(stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratio_needs_both_and_a_positive_denominator() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(3.0), None), None);
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(format_rate(2_310_000.0), "2.31 M/s");
        assert_eq!(format_rate(45_600.0), "45.6 k/s");
        assert_eq!(format_rate(812.4), "812 /s");
        assert_eq!(format_bits(8_123.0), "8.12 Gb/s");
        assert_eq!(format_bits(820.4), "820 Mb/s");
        assert_eq!(format_bits(2.04), "2.0 Mb/s");
        assert_eq!(format_mib(3276.8), "3.2 MiB");
        assert_eq!(format_ns(310.4), "310 ns");
        assert_eq!(format_ns(4_240.0), "4.2 µs");
        assert_eq!(format_ns(52_000.0), "52 µs");
        assert_eq!(format_ns(1_260_000.0), "1.3 ms");
        assert_eq!(format_ratio(Some(0.876)), "0.88");
        assert_eq!(format_ratio(None), "n/a");
        assert_eq!(format_size(1), "1 B");
        assert_eq!(format_size(64), "64 B");
        assert_eq!(format_size(1024), "1 KiB");
        assert_eq!(format_size(65_536), "64 KiB");
        assert_eq!(format_size(1000), "1000 B");
    }
}
