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

/// The peak RSS in KiB that `/usr/bin/time -f %M -o FILE` wrote: the last line holding a number
/// (a failed command adds a "Command exited with non-zero status" line before it).
pub(crate) fn time_output_kb(text: &str) -> Option<u64> {
    text.lines()
        .rev()
        .find_map(|line| line.trim().parse::<u64>().ok())
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
        assert_eq!(time_output_kb("5120\n"), Some(5120));
        assert_eq!(
            time_output_kb("Command exited with non-zero status 1\n6144\n"),
            Some(6144)
        );
        assert_eq!(time_output_kb("Command terminated by signal 9\n"), None);
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
        assert_eq!(format_ratio(Some(0.876)), "0.88");
        assert_eq!(format_ratio(None), "n/a");
        assert_eq!(format_size(1), "1 B");
        assert_eq!(format_size(64), "64 B");
        assert_eq!(format_size(1024), "1 KiB");
        assert_eq!(format_size(65_536), "64 KiB");
        assert_eq!(format_size(1000), "1000 B");
    }
}
