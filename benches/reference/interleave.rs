//! The timing loop of `benches/token.sh`: runs the given commands in turn, round after round
//! (round r starts with command r mod n, so none always runs first), each spawned directly
//! (posix_spawn, stdin/stdout/stderr to /dev/null) and timed from spawn to exit. Interleaving
//! matters on a shared machine: two back-to-back runs of one command drift by ±20 % from one
//! minute to the next, and alternating puts both commands under the same drift.
//!
//!   interleave ROUNDS WARMUP NAME=PROGRAM[,ARG...] NAME=PROGRAM[,ARG...] ...
//!
//! Prints, per command, the median and the 10th/90th percentiles of the wall time (what SPEC §10
//! measures) and of the CPU time the child used (user + system, from getrusage: on a loaded
//! machine it moves far less than wall time, which includes waiting for a core), then for each
//! command after the first its ratio to the first: the ratio of medians and the median of
//! per-round ratios. Linux only.

use std::process::{Command, Stdio};
use std::time::Instant;

/// `struct timeval` and `struct rusage` of 64-bit Linux.
#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}
extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}
const RUSAGE_CHILDREN: i32 = -1;

/// User + system CPU time of all waited-for children so far, in ms.
fn children_cpu_ms() -> f64 {
    let mut r = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
    // SAFETY: a valid pointer to a struct of the kernel's layout on 64-bit Linux.
    assert_eq!(unsafe { getrusage(RUSAGE_CHILDREN, &mut r) }, 0);
    let us = |t: &Timeval| t.sec as f64 * 1e6 + t.usec as f64;
    (us(&r.utime) + us(&r.stime)) / 1e3
}

fn summary(name: &str, what: &str, s: &[f64]) -> f64 {
    let mut s = s.to_vec();
    s.sort_by(f64::total_cmp);
    let (p10, p50, p90) = (
        percentile(&s, 0.1),
        percentile(&s, 0.5),
        percentile(&s, 0.9),
    );
    println!(
        "{name:>16} {what}: median {p50:.3} ms (p10 {p10:.3}, p90 {p90:.3}; {} runs)",
        s.len()
    );
    p50
}

fn ratios(what: &str, name: &str, reference: &str, s: &[f64], r: &[f64], medians: (f64, f64)) {
    let mut paired: Vec<f64> = s.iter().zip(r).map(|(a, b)| a / b).collect();
    paired.sort_by(f64::total_cmp);
    println!(
        "{name} / {reference} ({what}): ratio of medians {:.2}x, median per-round ratio {:.2}x (p10 {:.2}, p90 {:.2})",
        medians.0 / medians.1,
        percentile(&paired, 0.5),
        percentile(&paired, 0.1),
        percentile(&paired, 0.9)
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: interleave ROUNDS WARMUP NAME=PROGRAM[,ARG...] ...";
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).expect(usage);
    let warmup: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let commands: Vec<(String, Vec<String>)> = args[2..]
        .iter()
        .map(|spec| {
            let (name, argv) = spec.split_once('=').expect(usage);
            (
                name.to_string(),
                argv.split(',').map(str::to_string).collect(),
            )
        })
        .collect();
    assert!(commands.len() >= 2, "{usage}");

    // (wall ms, CPU ms) of one run.
    let run = |argv: &[String]| -> (f64, f64) {
        let cpu_before = children_cpu_ms();
        let start = Instant::now();
        let status = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn");
        let wall = start.elapsed().as_secs_f64() * 1e3;
        assert!(status.success(), "{argv:?} failed: {status}");
        (wall, children_cpu_ms() - cpu_before)
    };

    let n = commands.len();
    let mut wall = vec![Vec::with_capacity(rounds); n];
    let mut cpu = vec![Vec::with_capacity(rounds); n];
    for round in 0..warmup + rounds {
        let mut times = vec![(0.0, 0.0); n];
        for k in 0..n {
            let i = (round + k) % n;
            times[i] = run(&commands[i].1);
        }
        if round >= warmup {
            for i in 0..n {
                wall[i].push(times[i].0);
                cpu[i].push(times[i].1);
            }
        }
    }

    let wall_medians: Vec<f64> = (0..n)
        .map(|i| summary(&commands[i].0, "wall", &wall[i]))
        .collect();
    let cpu_medians: Vec<f64> = (0..n)
        .map(|i| summary(&commands[i].0, "cpu ", &cpu[i]))
        .collect();
    let reference = &commands[0].0;
    for i in 1..n {
        let name = &commands[i].0;
        ratios(
            "wall",
            name,
            reference,
            &wall[i],
            &wall[0],
            (wall_medians[i], wall_medians[0]),
        );
        ratios(
            "cpu",
            name,
            reference,
            &cpu[i],
            &cpu[0],
            (cpu_medians[i], cpu_medians[0]),
        );
    }
}
