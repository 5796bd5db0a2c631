//! `cargo xtask bench`: our PEER sockets against libzmq 4.3.5 and a raw byte pump, in one run.
//!
//! Every figure comes from separate processes: `zpeer` (ours), `libzmq-peer` (libzmq through
//! FFI) and `raw-pump` (length-prefixed bytes, no `ZeroMQ`), all with the same command line and the
//! same result lines. Runs alternate between the three (the order rotates from run to run), each
//! figure is the median of `--runs` runs, and every process's peak RSS and CPU time (user +
//! system) are recorded.
//! `cargo xtask bench codec` runs the codec's criterion benches instead.

mod child;
mod report;
mod stats;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self::child::{Finished, RssProbe, Running};
use self::stats::Line;
use crate::Flags;
use crate::cmd::{self, Result};

/// Runs the subcommand: `bench [codec] [--runs N] [--quick] [--only A,B] [--no-build]`.
///
/// # Errors
///
/// Fails on bad arguments, a failed build, or when the results cannot be written. Individual
/// benchmark runs that fail are reported in the table, not as an error.
pub(crate) fn run(root: &Path, mut flags: Flags) -> Result {
    let shown = flags.args.clone();
    let quick = flags.switch("--quick");
    let build = !flags.switch("--no-build");
    let runs = match flags.value("--runs")? {
        Some(text) => parse_runs(&text)?,
        None if quick => 1,
        None => DEFAULT_RUNS,
    };
    let only: Vec<String> = flags
        .value("--only")?
        .map(|text| text.split(',').map(str::trim).map(str::to_owned).collect())
        .unwrap_or_default();
    let codec = flags.positional();
    flags.finish()?;
    match codec.as_deref() {
        Some("codec") => cmd::run(cmd::cargo(root).args(["bench", "-p", "zmtp-codec"])),
        Some(other) => Err(format!("unknown bench target `{other}` (only `codec`)").into()),
        None => sockets(
            root,
            &Options {
                runs,
                quick,
                build,
                only,
                command: ["cargo", "xtask", "bench"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(shown)
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        ),
    }
}

/// Parses `--runs`: a positive count.
fn parse_runs(text: &str) -> Result<usize> {
    match text.parse::<usize>() {
        Ok(runs) if runs > 0 => Ok(runs),
        _ => Err(format!("--runs: `{text}` is not a positive number").into()),
    }
}

/// Runs per figure unless `--runs` says otherwise (`--quick`: 1). Odd, so the median is a run.
const DEFAULT_RUNS: usize = 7;

/// The options of one socket benchmark run.
#[derive(Debug)]
struct Options {
    runs: usize,
    quick: bool,
    build: bool,
    only: Vec<String>,
    command: String,
}

/// What a workload measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One-way throughput: a sender pushes `count` messages, the receiver times them.
    Thr,
    /// Round-trip latency against an echo.
    Lat,
    /// Resident memory of one socket with `count` connected idle peers.
    Peers,
}

impl Kind {
    /// The unit of work CPU time is divided by (`msg`, `round trip`); `None` for idle peers.
    pub(crate) fn cpu_unit(self) -> Option<&'static str> {
        match self {
            Self::Thr => Some("msg"),
            Self::Lat => Some("round trip"),
            Self::Peers => None,
        }
    }
}

/// The transport a workload runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TCP over the loopback interface.
    Tcp,
    /// Unix domain stream sockets.
    Ipc,
    /// In one process, between threads.
    Inproc,
}

impl Transport {
    /// The endpoint scheme.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Ipc => "ipc",
            Self::Inproc => "inproc",
        }
    }
}

/// One of the three programs compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Impl {
    /// `zpeer`, our sockets.
    Ours,
    /// `libzmq-peer`, libzmq 4.3.5.
    Libzmq,
    /// `raw-pump`, no `ZeroMQ`: the physical limit.
    Raw,
}

/// The three programs in table order.
pub(crate) const IMPLS: [Impl; 3] = [Impl::Ours, Impl::Libzmq, Impl::Raw];

impl Impl {
    /// The key used in tables and JSON.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Libzmq => "libzmq",
            Self::Raw => "raw",
        }
    }

    /// The binary's name.
    fn binary(self) -> &'static str {
        match self {
            Self::Ours => "zpeer",
            Self::Libzmq => "libzmq-peer",
            Self::Raw => "raw-pump",
        }
    }

    /// Why this program cannot run `workload`, if it cannot.
    fn not_applicable(self, workload: &Workload) -> Option<&'static str> {
        match (self, workload.kind, workload.transport) {
            (Self::Raw, Kind::Peers, _) => Some("no sockets to hold peers"),
            (Self::Raw, _, Transport::Inproc) => Some("no in-process transport"),
            _ => None,
        }
    }
}

/// One benchmark configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Workload {
    /// What is measured.
    pub(crate) kind: Kind,
    /// Over which transport.
    pub(crate) transport: Transport,
    /// Message size in octets (1 for the peers workload).
    pub(crate) size: u64,
    /// Messages, round trips or peers.
    pub(crate) count: u64,
}

impl Workload {
    const fn new(kind: Kind, transport: Transport, size: u64, count: u64) -> Self {
        Self {
            kind,
            transport,
            size,
            count,
        }
    }

    /// A short name: `thr tcp 64 B`, `lat ipc 1 KiB`, `peers tcp 1000 idle`.
    pub(crate) fn name(&self) -> String {
        match self.kind {
            Kind::Thr => format!(
                "thr {} {}",
                self.transport.name(),
                stats::format_size(self.size)
            ),
            Kind::Lat => format!(
                "lat {} {}",
                self.transport.name(),
                stats::format_size(self.size)
            ),
            Kind::Peers => format!("peers {} {} idle", self.transport.name(), self.count),
        }
    }
}

/// The workloads of a full run (`quick`: the same with small counts, a smoke test).
pub(crate) fn workloads(quick: bool) -> Vec<Workload> {
    use self::Kind::{Lat, Peers, Thr};
    use self::Transport::{Inproc, Ipc, Tcp};
    let scale = |full: u64, small: u64| if quick { small } else { full };
    let small_thr = scale(2_000_000, 20_000);
    let mut list = vec![
        Workload::new(Thr, Tcp, 1, small_thr),
        Workload::new(Thr, Tcp, 64, small_thr),
        Workload::new(Thr, Tcp, 1024, scale(500_000, 5_000)),
        Workload::new(Thr, Tcp, 65_536, scale(20_000, 500)),
        Workload::new(Thr, Ipc, 64, small_thr),
        Workload::new(Thr, Inproc, 64, small_thr),
    ];
    for transport in [Tcp, Ipc, Inproc] {
        for size in [64, 1024] {
            list.push(Workload::new(Lat, transport, size, scale(20_000, 500)));
        }
    }
    list.push(Workload::new(Peers, Tcp, 1, scale(1000, 100)));
    list
}

/// One successful run of one program on one workload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// The result line.
    pub(crate) line: Line,
    /// Peak RSS in KiB of each process, by role (`recv`, `send`, `echo`, `lat`, ...).
    pub(crate) rss_kb: Vec<(String, u64)>,
    /// User plus system CPU seconds of all processes together, if every one was measured.
    pub(crate) cpu_s: Option<f64>,
}

impl Sample {
    /// The peak RSS of all processes together, if every one was measured.
    pub(crate) fn total_rss_kb(&self) -> Option<u64> {
        if self.rss_kb.is_empty() {
            None
        } else {
            Some(self.rss_kb.iter().map(|(_, kb)| kb).sum())
        }
    }

    /// The CPU time of all processes in nanoseconds per message (throughput) or per round trip
    /// (latency), by the count of the result line; `None` for idle peers or without CPU time.
    /// A total of zero is below the probes' 10 ms resolution, so it counts as not measured.
    pub(crate) fn cpu_per_unit_ns(&self) -> Option<f64> {
        let units = match self.line {
            Line::Thr { count, .. } | Line::Lat { count, .. } if count > 0 => count,
            Line::Thr { .. } | Line::Lat { .. } | Line::Rss { .. } => return None,
        };
        let cpu_s = self.cpu_s.filter(|&cpu| cpu > 0.0)?;
        Some(cpu_s * 1e9 / stats::to_f64(units))
    }
}

/// Every run of one program on one workload.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Outcome {
    /// Why the program cannot run this workload (then nothing was run).
    pub(crate) not_applicable: Option<&'static str>,
    /// Successful runs.
    pub(crate) samples: Vec<Sample>,
    /// Failed runs, one message each.
    pub(crate) failures: Vec<String>,
}

impl Outcome {
    /// The median figure over successful runs.
    pub(crate) fn figure(&self) -> Option<f64> {
        let figures: Vec<f64> = self.samples.iter().map(|s| s.line.figure()).collect();
        stats::median(&figures)
    }

    /// The median over successful runs of the megabits per second (throughput workloads).
    pub(crate) fn mb_per_s(&self) -> Option<f64> {
        let values: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|sample| match sample.line {
                Line::Thr { mb_per_s, .. } => Some(mb_per_s),
                _ => None,
            })
            .collect();
        stats::median(&values)
    }

    /// The median over successful runs of the summed peak RSS of the processes, in KiB.
    pub(crate) fn rss_kb(&self) -> Option<f64> {
        let values: Vec<f64> = self
            .samples
            .iter()
            .filter_map(Sample::total_rss_kb)
            .map(stats::to_f64)
            .collect();
        stats::median(&values)
    }

    /// The median over successful runs of the CPU time per message (throughput) or per round
    /// trip (latency) in nanoseconds; `None` for idle peers or when no run measured CPU time.
    pub(crate) fn cpu_per_unit_ns(&self) -> Option<f64> {
        let values: Vec<f64> = self
            .samples
            .iter()
            .filter_map(Sample::cpu_per_unit_ns)
            .collect();
        stats::median(&values)
    }

    /// The median peak RSS in KiB of each process role over successful runs, in launch order.
    pub(crate) fn rss_by_role(&self) -> Vec<(String, f64)> {
        let mut roles: Vec<&str> = Vec::new();
        for (role, _) in self.samples.iter().flat_map(|sample| &sample.rss_kb) {
            if !roles.contains(&role.as_str()) {
                roles.push(role);
            }
        }
        roles
            .into_iter()
            .filter_map(|role| {
                let values: Vec<f64> = self
                    .samples
                    .iter()
                    .flat_map(|sample| &sample.rss_kb)
                    .filter(|(name, _)| name == role)
                    .map(|(_, kb)| stats::to_f64(*kb))
                    .collect();
                Some((role.to_owned(), stats::median(&values)?))
            })
            .collect()
    }
}

/// A workload with the outcome of each program, in [`IMPLS`] order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The workload.
    pub(crate) workload: Workload,
    /// Ours, libzmq, raw.
    pub(crate) outcomes: [Outcome; 3],
}

impl Row {
    /// The outcome of `program`.
    pub(crate) fn outcome(&self, program: Impl) -> &Outcome {
        match program {
            Impl::Ours => &self.outcomes[0],
            Impl::Libzmq => &self.outcomes[1],
            Impl::Raw => &self.outcomes[2],
        }
    }
}

/// Where the three binaries are and how to run them.
#[derive(Debug)]
struct Bench {
    release_dir: PathBuf,
    scratch: PathBuf,
    probe: RssProbe,
    /// Bound on each run, processes included.
    run_timeout: Duration,
    /// The soft limit on open files, when it must be raised for the peers workload.
    nofile: Option<u64>,
}

/// Builds, runs every workload and writes the reports.
fn sockets(root: &Path, options: &Options) -> Result {
    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    if options.build {
        cmd::run(cmd::cargo(root).args([
            "build",
            "--release",
            "-p",
            "zmq-peer",
            "--bin",
            "zpeer",
        ]))?;
        cmd::run(cmd::cargo(root).args(["build", "--release", "-p", "interop", "--bins"]))?;
    }
    let release_dir = target_dir.join("release");
    for program in IMPLS {
        let path = release_dir.join(program.binary());
        if !path.is_file() {
            return Err(
                format!("{} is missing: build it or drop --no-build", path.display()).into(),
            );
        }
    }
    let selected: Vec<Workload> = workloads(options.quick)
        .into_iter()
        .filter(|workload| {
            options.only.is_empty()
                || options
                    .only
                    .iter()
                    .any(|pattern| workload.name().contains(pattern.as_str()))
        })
        .collect();
    if selected.is_empty() {
        return Err("--only matched no workload".into());
    }
    let mut info = report::RunInfo::collect(root, &options.command, options.runs);
    let scratch = env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    fs::create_dir_all(&scratch)
        .map_err(|err| format!("cannot create {}: {err}", scratch.display()))?;
    let bench = Bench {
        release_dir,
        scratch,
        probe: RssProbe::detect(),
        run_timeout: Duration::from_secs(60),
        nofile: fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|text| report::soft_nofile(&text)),
    };
    info.rss_probe = bench.probe.describe().to_owned();
    println!(
        "bench: {} workloads x {} runs, load average {}",
        selected.len(),
        options.runs,
        info.load_start
    );
    let started = Instant::now();
    let rows: Vec<Row> = selected
        .iter()
        .map(|workload| bench.workload(workload, options.runs))
        .collect();
    // Best effort: leftover sockets in the temp dir are harmless.
    let _ = fs::remove_dir_all(&bench.scratch);
    info.finish(started.elapsed());

    let table = report::table(&rows);
    println!("\n{table}");
    if options.quick {
        println!(
            "bench: --quick: CPU times have a 10 ms resolution per process, too coarse for these \
             short runs"
        );
    }
    let out_dir = root.join("target").join("bench");
    fs::create_dir_all(&out_dir)
        .map_err(|err| format!("cannot create {}: {err}", out_dir.display()))?;
    let json_path = out_dir.join("results.json");
    write(&json_path, &report::json(&info, &rows))?;
    let svg_path = out_dir.join("throughput.svg");
    write(&svg_path, &report::throughput_svg(&rows))?;
    println!(
        "bench: wrote {} and {}",
        json_path.display(),
        svg_path.display()
    );
    if options.quick || !options.only.is_empty() {
        println!("bench: --quick / --only run: BENCHMARKS.md left unchanged");
    } else {
        let path = root.join("BENCHMARKS.md");
        let old = fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        write(&path, &report::splice(&old, &report::section(&info, &rows)))?;
        println!("bench: updated {}", path.display());
    }
    Ok(())
}

/// Writes `text` to `path`.
fn write(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()).into())
}

impl Bench {
    /// Runs `workload` `runs` times for each program, alternating programs within each run.
    fn workload(&self, workload: &Workload, runs: usize) -> Row {
        let mut outcomes: [Outcome; 3] = Default::default();
        for (outcome, program) in outcomes.iter_mut().zip(IMPLS) {
            outcome.not_applicable = program.not_applicable(workload);
        }
        for run in 0..runs {
            for offset in 0..IMPLS.len() {
                let index = (run + offset) % IMPLS.len();
                let (Some(program), Some(outcome)) = (IMPLS.get(index), outcomes.get_mut(index))
                else {
                    continue;
                };
                if outcome.not_applicable.is_some() {
                    continue;
                }
                let label = format!(
                    "{} {} run {}/{runs}",
                    workload.name(),
                    program.key(),
                    run + 1
                );
                match self.sample(*program, workload) {
                    Ok(sample) => {
                        println!("  {label}: {}", describe(&sample));
                        outcome.samples.push(sample);
                    }
                    Err(err) => {
                        println!("  {label}: FAILED: {err}");
                        outcome.failures.push(err.to_string());
                    }
                }
            }
        }
        Row {
            workload: *workload,
            outcomes,
        }
    }

    /// Runs `program` once on `workload`.
    fn sample(&self, program: Impl, workload: &Workload) -> Result<Sample> {
        let binary = self.release_dir.join(program.binary());
        let count = workload.count.to_string();
        let size = workload.size.to_string();
        let deadline = Instant::now() + self.run_timeout;
        let name = |role: &str| format!("{} {role}", program.binary());
        let finished = if workload.transport == Transport::Inproc {
            let (command, role) = match workload.kind {
                Kind::Thr => ("thr-inproc", "thr-inproc"),
                Kind::Lat | Kind::Peers => ("lat-inproc", "lat-inproc"),
            };
            let args = strings(&[command, "--count", &count, "--size", &size]);
            let process = self.spawn(&name(role), &binary, &args, false)?;
            child::wait_all(vec![process], deadline)?
        } else {
            let endpoint = match workload.transport {
                Transport::Ipc => format!(
                    "ipc://{}/{}-{}.sock",
                    self.scratch.display(),
                    program.key(),
                    unique()
                ),
                Transport::Tcp | Transport::Inproc => "tcp://127.0.0.1:*".to_owned(),
            };
            let many = workload.kind == Kind::Peers;
            let bind_args = match workload.kind {
                Kind::Thr => strings(&[
                    "thr-recv",
                    &endpoint,
                    "--count",
                    &count,
                    "--size",
                    &size,
                    "--timeout",
                    "60",
                ]),
                Kind::Lat => strings(&["echo", &endpoint, "--count", &count]),
                Kind::Peers => strings(&["peers-bind", &endpoint, "--count", &count]),
            };
            let mut binder = self.spawn(&name(&bind_args[0]), &binary, &bind_args, many)?;
            let resolved = match binder.first_line(Duration::from_secs(20)) {
                Ok(line) => line,
                Err(err) => return Err(startup_failure(binder, &err.to_string()).into()),
            };
            let connect_args = match workload.kind {
                Kind::Thr => strings(&["thr-send", &resolved, "--count", &count, "--size", &size]),
                Kind::Lat => strings(&[
                    "lat",
                    &resolved,
                    "--count",
                    &count,
                    "--size",
                    &size,
                    "--timeout",
                    "30",
                ]),
                Kind::Peers => strings(&["peers-connect", &resolved, "--count", &count]),
            };
            let connecter = self.spawn(&name(&connect_args[0]), &binary, &connect_args, many)?;
            child::wait_all(vec![binder, connecter], deadline)?
        };
        into_sample(workload, finished)
    }

    /// Starts one process, raising its open-file limit for the peers workload when needed.
    fn spawn(&self, name: &str, binary: &Path, args: &[String], many: bool) -> Result<Running> {
        match self.nofile {
            Some(limit) if many && limit < 4096 => {
                let mut wrapped = vec!["--nofile=65536".to_owned(), binary.display().to_string()];
                wrapped.extend_from_slice(args);
                Running::spawn(
                    name,
                    Path::new("prlimit"),
                    &wrapped,
                    &self.probe,
                    &self.scratch,
                )
            }
            _ => Running::spawn(name, binary, args, &self.probe, &self.scratch),
        }
    }
}

/// Checks the processes of one run and extracts its sample.
fn into_sample(
    workload: &Workload,
    (finished, timed_out): (Vec<Finished>, bool),
) -> Result<Sample> {
    if let Some(process) = finished.iter().find(|process| !process.status.success()) {
        return Err(failure_text(process, timed_out).into());
    }
    let line = finished
        .iter()
        .find_map(|process| stats::last_result(&process.stdout))
        .ok_or("no result line in the output")?;
    let expected = match (workload.kind, line) {
        (Kind::Thr, Line::Thr { size, count, .. }) | (Kind::Lat, Line::Lat { size, count, .. }) => {
            size == workload.size && count == workload.count
        }
        (Kind::Peers, Line::Rss { .. }) => true,
        _ => false,
    };
    if !expected {
        return Err(format!("unexpected result line {line:?}").into());
    }
    let rss_kb = finished
        .iter()
        .filter_map(|process| {
            let role = process.name.rsplit(' ').next().unwrap_or_default();
            process.peak_rss_kb.map(|kb| (role.to_owned(), kb))
        })
        .collect::<Vec<_>>();
    // A sum over some of the processes would compare unlike with like: all or nothing.
    let rss_kb = if rss_kb.len() == finished.len() {
        rss_kb
    } else {
        Vec::new()
    };
    // The same for CPU time: `None` unless every process reported one.
    let cpu_s = finished
        .iter()
        .map(|process| process.cpu_s)
        .sum::<Option<f64>>();
    Ok(Sample {
        line,
        rss_kb,
        cpu_s,
    })
}

/// Why `process` failed: its name, exit status and first line of stderr.
fn failure_text(process: &Finished, timed_out: bool) -> String {
    let why = process
        .stderr
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    let status = if timed_out {
        "killed at the deadline".to_owned()
    } else {
        process.status.to_string()
    };
    format!("{}: {status}: {why}", process.name)
}

/// Why a binder printed no endpoint: its own words if it exits within a moment, else `err`.
fn startup_failure(binder: Running, err: &str) -> String {
    match child::wait_all(vec![binder], Instant::now() + Duration::from_secs(2)) {
        Ok((finished, false)) => finished
            .iter()
            .find(|process| !process.status.success())
            .map_or_else(|| err.to_owned(), |process| failure_text(process, false)),
        _ => err.to_owned(),
    }
}

/// One sample for the progress output.
fn describe(sample: &Sample) -> String {
    let figure = match sample.line {
        Line::Thr {
            msgs_per_s,
            mb_per_s,
            ..
        } => format!(
            "{} ({})",
            stats::format_rate(msgs_per_s),
            stats::format_bits(mb_per_s)
        ),
        Line::Lat {
            avg_us,
            p50_us,
            p99_us,
            ..
        } => format!("p50 {p50_us:.1} us, avg {avg_us:.1} us, p99 {p99_us:.1} us"),
        Line::Rss { kb } => format!("rss {}", stats::format_mib(stats::to_f64(kb))),
    };
    let rss: Vec<String> = sample
        .rss_kb
        .iter()
        .map(|(role, kb)| format!("{role} {}", stats::format_mib(stats::to_f64(*kb))))
        .collect();
    let cpu = sample
        .cpu_s
        .map_or_else(|| "n/a".to_owned(), |cpu| format!("{cpu:.2} s"));
    format!("{figure}; peak rss {}; cpu {cpu}", rss.join(", "))
}

/// Owned copies of `args`.
fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&arg| arg.to_owned()).collect()
}

/// A number unique within this process (ipc socket names).
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_run_has_the_issue_workloads() {
        let names: Vec<String> = workloads(false).iter().map(Workload::name).collect();
        assert_eq!(
            names,
            [
                "thr tcp 1 B",
                "thr tcp 64 B",
                "thr tcp 1 KiB",
                "thr tcp 64 KiB",
                "thr ipc 64 B",
                "thr inproc 64 B",
                "lat tcp 64 B",
                "lat tcp 1 KiB",
                "lat ipc 64 B",
                "lat ipc 1 KiB",
                "lat inproc 64 B",
                "lat inproc 1 KiB",
                "peers tcp 1000 idle",
            ]
        );
        let quick = workloads(true);
        assert!(
            quick
                .iter()
                .zip(workloads(false))
                .all(|(small, full)| small.count < full.count && small.size == full.size)
        );
    }

    #[test]
    fn raw_pump_skips_inproc_and_peers() {
        for workload in workloads(false) {
            let raw = Impl::Raw.not_applicable(&workload).is_some();
            assert_eq!(
                raw,
                workload.transport == Transport::Inproc || workload.kind == Kind::Peers,
                "{}",
                workload.name()
            );
            assert!(Impl::Ours.not_applicable(&workload).is_none());
            assert!(Impl::Libzmq.not_applicable(&workload).is_none());
        }
    }

    #[test]
    fn runs_must_be_positive() {
        assert_eq!(parse_runs("7").unwrap(), 7);
        assert!(parse_runs("0").is_err());
        assert!(parse_runs("x").is_err());
    }

    #[test]
    fn outcome_medians() {
        let sample = |rate: f64, rss: &[u64]| Sample {
            line: Line::Thr {
                size: 64,
                count: 10,
                msgs_per_s: rate,
                mb_per_s: rate * 64.0 * 8.0 / 1e6,
            },
            rss_kb: rss.iter().map(|&kb| ("p".to_owned(), kb)).collect(),
            cpu_s: None,
        };
        let outcome = Outcome {
            not_applicable: None,
            samples: vec![
                sample(3.0e6, &[100, 200]),
                sample(1.0e6, &[100, 100]),
                sample(2.0e6, &[]),
            ],
            failures: vec!["x".to_owned()],
        };
        assert_eq!(outcome.figure(), Some(2.0e6));
        assert_eq!(outcome.rss_kb(), Some(250.0));
        assert!((outcome.mb_per_s().unwrap() - 1024.0).abs() < 1e-9);
        assert_eq!(Outcome::default().figure(), None);
        let roles = Outcome {
            not_applicable: None,
            samples: vec![
                Sample {
                    line: Line::Rss { kb: 1 },
                    rss_kb: vec![("bind".into(), 10), ("connect".into(), 4)],
                    cpu_s: Some(1.0),
                },
                Sample {
                    line: Line::Rss { kb: 1 },
                    rss_kb: vec![("bind".into(), 30), ("connect".into(), 6)],
                    cpu_s: Some(1.0),
                },
            ],
            failures: Vec::new(),
        };
        assert_eq!(
            roles.rss_by_role(),
            [("bind".to_owned(), 20.0), ("connect".to_owned(), 5.0)]
        );
        // No CPU time anywhere here: idle peers have no unit of work, the others no figure.
        assert_eq!(roles.cpu_per_unit_ns(), None);
        assert_eq!(outcome.cpu_per_unit_ns(), None);
    }

    #[test]
    fn cpu_per_message_and_per_round_trip() {
        let thr = |count: u64, cpu_s: Option<f64>| Sample {
            line: Line::Thr {
                size: 64,
                count,
                msgs_per_s: 1.0e6,
                mb_per_s: 512.0,
            },
            rss_kb: Vec::new(),
            cpu_s,
        };
        // 0.62 s for 2 M messages: 310 ns each.
        let per_msg = thr(2_000_000, Some(0.62)).cpu_per_unit_ns().unwrap();
        assert!((per_msg - 310.0).abs() < 1e-6, "{per_msg}");
        assert_eq!(thr(0, Some(1.0)).cpu_per_unit_ns(), None);
        assert_eq!(thr(10, None).cpu_per_unit_ns(), None);
        // Below the 10 ms resolution of GNU time and /proc ticks: not a measurement of 0 ns.
        assert_eq!(thr(10, Some(0.0)).cpu_per_unit_ns(), None);
        let outcome = Outcome {
            not_applicable: None,
            samples: vec![
                thr(1_000, Some(0.003)),
                thr(1_000, None),
                thr(1_000, Some(0.001)),
                thr(1_000, Some(0.002)),
            ],
            failures: Vec::new(),
        };
        // The median of 3, 1 and 2 µs; the run without CPU time does not count.
        let median = outcome.cpu_per_unit_ns().unwrap();
        assert!((median - 2000.0).abs() < 1e-6, "{median}");
        let lat = Sample {
            line: Line::Lat {
                size: 64,
                count: 20_000,
                avg_us: 30.0,
                p50_us: 29.0,
                p99_us: 80.0,
            },
            rss_kb: Vec::new(),
            cpu_s: Some(1.04),
        };
        let per_round_trip = lat.cpu_per_unit_ns().unwrap();
        assert!((per_round_trip - 52_000.0).abs() < 1e-6, "{per_round_trip}");
        let peers = Sample {
            line: Line::Rss { kb: 100 },
            rss_kb: Vec::new(),
            cpu_s: Some(1.0),
        };
        assert_eq!(peers.cpu_per_unit_ns(), None);
        assert_eq!(Kind::Thr.cpu_unit(), Some("msg"));
        assert_eq!(Kind::Lat.cpu_unit(), Some("round trip"));
        assert_eq!(Kind::Peers.cpu_unit(), None);
    }

    #[test]
    fn a_sample_sums_cpu_only_when_every_process_has_it() {
        use std::os::unix::process::ExitStatusExt as _;
        let workload = Workload::new(Kind::Thr, Transport::Tcp, 64, 10);
        let process = |role: &str, cpu_s: Option<f64>, out: &[&str]| Finished {
            name: format!("zpeer {role}"),
            stdout: out.iter().map(|&line| line.to_owned()).collect(),
            stderr: String::new(),
            status: std::process::ExitStatus::from_raw(0),
            peak_rss_kb: Some(1024),
            cpu_s,
        };
        let line = [
            "tcp://127.0.0.1:1",
            "thr size=64 count=10 msgs_per_s=5 mb_per_s=1",
        ];
        let both = into_sample(
            &workload,
            (
                vec![
                    process("thr-recv", Some(0.25), &line),
                    process("thr-send", Some(0.5), &[]),
                ],
                false,
            ),
        )
        .unwrap();
        assert_eq!(both.cpu_s, Some(0.75));
        assert_eq!(both.total_rss_kb(), Some(2048));
        let one = into_sample(
            &workload,
            (
                vec![
                    process("thr-recv", Some(0.25), &line),
                    process("thr-send", None, &[]),
                ],
                false,
            ),
        )
        .unwrap();
        assert_eq!(one.cpu_s, None);
        assert_eq!(one.total_rss_kb(), Some(2048));
    }
}
