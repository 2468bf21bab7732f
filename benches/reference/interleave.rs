//! The timing loop of `benches/token.sh`: runs the given commands in turn, round after round
//! (round r starts with command r mod n, so none always runs first), each spawned directly
//! (posix_spawn, stdin/stdout/stderr to /dev/null) and timed from spawn to exit. Interleaving
//! matters on a shared machine: two back-to-back runs of one command drift by ±20 % from one
//! minute to the next, and alternating puts both commands under the same drift.
//!
//!   interleave ROUNDS WARMUP NAME=PROGRAM[,ARG...] NAME=PROGRAM[,ARG...] ...
//!
//! Prints, per command, the median and the 10th/90th percentiles, then for each command after
//! the first its ratio to the first: the ratio of medians and the median of per-round ratios.

use std::process::{Command, Stdio};
use std::time::Instant;

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
            (name.to_string(), argv.split(',').map(str::to_string).collect())
        })
        .collect();
    assert!(commands.len() >= 2, "{usage}");

    let run = |argv: &[String]| -> f64 {
        let start = Instant::now();
        let status = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn");
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        assert!(status.success(), "{argv:?} failed: {status}");
        elapsed
    };

    let n = commands.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..warmup + rounds {
        let mut times = vec![0.0; n];
        for k in 0..n {
            let i = (round + k) % n;
            times[i] = run(&commands[i].1);
        }
        if round >= warmup {
            for i in 0..n {
                samples[i].push(times[i]);
            }
        }
    }

    let medians: Vec<f64> = samples
        .iter()
        .zip(&commands)
        .map(|(s, (name, _))| {
            let mut s = s.clone();
            s.sort_by(f64::total_cmp);
            let (p10, p50, p90) = (
                percentile(&s, 0.1),
                percentile(&s, 0.5),
                percentile(&s, 0.9),
            );
            println!(
                "{name}: median {p50:.3} ms (p10 {p10:.3}, p90 {p90:.3}; {} runs)",
                s.len()
            );
            p50
        })
        .collect();
    for i in 1..n {
        let mut paired: Vec<f64> = (0..rounds)
            .map(|r| samples[i][r] / samples[0][r])
            .collect();
        paired.sort_by(f64::total_cmp);
        println!(
            "{} / {}: ratio of medians {:.2}x, median per-round ratio {:.2}x (p10 {:.2}, p90 {:.2})",
            commands[i].0,
            commands[0].0,
            medians[i] / medians[0],
            percentile(&paired, 0.5),
            percentile(&paired, 0.1),
            percentile(&paired, 0.9)
        );
    }
}
