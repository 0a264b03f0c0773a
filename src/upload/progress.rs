//! The progress bar on stderr: bytes sent, rate and time left, redrawn a few
//! times a second so that drawing never slows the upload.

use std::io::Write;
use std::time::{Duration, Instant};

/// How often the bar is redrawn at most.
const REDRAW: Duration = Duration::from_millis(200);
const BAR_WIDTH: usize = 24;

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// One line of the bar for `sent` of `total` bytes after `elapsed`.
pub fn render(sent: u64, total: u64, elapsed: Duration) -> String {
    let fraction = if total == 0 { 1.0 } else { (sent as f64 / total as f64).clamp(0.0, 1.0) };
    let filled = ((fraction * BAR_WIDTH as f64) as usize).min(BAR_WIDTH);
    let bar = format!("{}{}", "#".repeat(filled), "-".repeat(BAR_WIDTH.saturating_sub(filled)));
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { sent as f64 / secs } else { 0.0 };
    let left = if rate > 0.0 && total >= sent {
        clock(Duration::from_secs_f64((total.saturating_sub(sent)) as f64 / rate))
    } else {
        "--:--".to_owned()
    };
    format!(
        "[{bar}] {:>3}% {} / {}  {}/s  {left} left",
        (fraction * 100.0) as u32,
        human_bytes(sent),
        human_bytes(total),
        human_bytes(rate as u64),
    )
}

/// Draws [`render`] on stderr when enabled; does nothing otherwise.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    total: u64,
    start: Instant,
    last: Option<Instant>,
    sent: u64,
}

impl Progress {
    pub fn new(enabled: bool, total: u64) -> Self {
        Progress { enabled, total, start: Instant::now(), last: None, sent: 0 }
    }

    /// Start over (a redirect re-sends the body).
    pub fn restart(&mut self) {
        self.start = Instant::now();
        self.last = None;
        self.sent = 0;
    }

    pub fn update(&mut self, sent: u64) {
        self.sent = sent;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < REDRAW) && sent < self.total {
            return;
        }
        self.last = Some(now);
        self.draw();
    }

    fn draw(&self) {
        let line = render(self.sent, self.total, self.start.elapsed());
        // The bar is decoration: a failed write to stderr must not stop the upload.
        let _ = write!(std::io::stderr().lock(), "\r{line}\x1b[K");
    }

    /// Leave the last state on its own line.
    pub fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            self.draw();
            let _ = writeln!(std::io::stderr().lock());
        }
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn render_shows_percent_rate_and_time_left() {
        let line = render(50 << 20, 100 << 20, Duration::from_secs(5));
        assert!(line.contains(" 50% "), "{line}");
        assert!(line.contains("50.0 MiB / 100.0 MiB"), "{line}");
        assert!(line.contains("10.0 MiB/s"), "{line}");
        assert!(line.contains("0:05 left"), "{line}");
    }

    #[test]
    fn render_survives_zero_and_overshoot() {
        assert!(render(0, 0, Duration::ZERO).contains("100%"));
        assert!(render(10, 5, Duration::from_secs(1)).contains("100%"));
        assert!(render(0, 10, Duration::ZERO).contains("--:-- left"));
    }
}
