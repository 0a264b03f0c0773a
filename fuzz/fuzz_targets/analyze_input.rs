//! Fuzz `analyze`'s input reader: CSV (through the `csv` crate, with the
//! line and quote bookkeeping around it) and JSON lines, every format
//! choice, stopping or skipping bad rows; it must never panic, and what it
//! reads must go through every detector without a panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kexec_chooser::perf::{self, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, input)) = data.split_first() else { return };
    let format = match choice % 3 {
        0 => Format::Auto,
        1 => Format::Csv,
        _ => Format::Json,
    };
    let skip_bad = choice & 4 != 0;
    let Ok(parsed) = perf::parse(input, format, skip_bad) else { return };
    for s in &parsed.dataset.series {
        let _ = perf::window::analyze(&s.points, &perf::window::Params::default());
        let _ = perf::ttest::analyze(&s.points, &perf::ttest::Params::default());
        let _ = perf::analyze_scaled(&s.points, |p| perf::segment::analyze(p, &perf::segment::Params::default()));
    }
});
