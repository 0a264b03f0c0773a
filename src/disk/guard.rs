//! Calls that may never return (statvfs on a dead NFS server or a stuck FUSE
//! daemon), run under a deadline without a thread per call.
//!
//! A thread stuck in the kernel cannot be killed, only abandoned. So the items
//! are handed, in order, to one worker thread; each call gets its own deadline
//! from the moment it starts. When a call has run longer than a short
//! *suspicion* delay, a second worker is started for the items still waiting,
//! and when a call misses its deadline its worker is abandoned (the process
//! ending kills it: the kernel waits for FUSE and NFS killably). So a healthy
//! machine uses one worker, and each mount that hangs leaves exactly one
//! thread behind, up to [`MAX_WORKERS`]; items that no worker could take by
//! then are reported as not checked rather than waited for.
//!
//! Workers publish results into per-item slots and wake the caller only when
//! everything is settled, so the healthy path costs no thread switch per item.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Workers alive at most at once: the first plus one per hung call. Beyond
/// this many hung calls the rest are not attempted.
pub const MAX_WORKERS: usize = 8;

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The call returned in time with this value.
    Done(T),
    /// The call started but did not return within the deadline.
    TimedOut,
    /// The call never started: every worker was stuck in a hung call.
    NotStarted,
}

/// The result of [`run`].
#[derive(Debug)]
pub struct Report<T> {
    /// One outcome per item, in the order of the items.
    pub outcomes: Vec<Outcome<T>>,
    /// Worker threads still stuck in a call when `run` returned.
    pub abandoned: usize,
    /// Worker threads started in all.
    pub spawned: usize,
}

const PENDING: u8 = 0;
const DONE: u8 = 1;
const TIMED_OUT: u8 = 2;
const NOT_STARTED: u8 = 3;

struct Shared<I, T> {
    items: Vec<I>,
    /// The next item to take; pushed past the end to stop the workers.
    next: AtomicUsize,
    /// When each call started, in nanoseconds after `base`, plus one (0: not yet).
    started: Vec<AtomicU64>,
    /// Who settled each item first: a worker (DONE) or the caller.
    state: Vec<AtomicU8>,
    values: Vec<Mutex<Option<T>>>,
    /// Whether the worker came back from each call, in time or not.
    returned: Vec<AtomicBool>,
    /// Items settled, by either side; whoever makes it reach the total wakes the caller.
    settled: AtomicUsize,
    base: Instant,
}

impl<I, T> Shared<I, T> {
    fn settle(&self, i: usize, to: u8) -> bool {
        let Some(state) = self.state.get(i) else { return false };
        if state.compare_exchange(PENDING, to, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.settled.fetch_add(1, Ordering::AcqRel);
            true
        } else {
            false
        }
    }

    fn take(&self, i: usize) -> Option<T> {
        let slot = self.values.get(i)?;
        let mut guard = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.take()
    }

    fn all_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire) >= self.items.len()
    }
}

/// Call `f` on every item, each call bounded by `timeout` from its start.
pub fn run<I, T, F>(items: Vec<I>, timeout: Duration, f: F) -> Report<T>
where
    I: Send + Sync + 'static,
    T: Send + Sync + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
{
    let n = items.len();
    let shared = Arc::new(Shared {
        started: (0..n).map(|_| AtomicU64::new(0)).collect(),
        state: (0..n).map(|_| AtomicU8::new(PENDING)).collect(),
        values: (0..n).map(|_| Mutex::new(None)).collect(),
        returned: (0..n).map(|_| AtomicBool::new(false)).collect(),
        items,
        next: AtomicUsize::new(0),
        settled: AtomicUsize::new(0),
        base: Instant::now(),
    });
    let f = Arc::new(f);
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let suspicion = suspicion_delay(timeout);
    let mut spawned = 0usize;
    let spawn = |spawned: &mut usize| {
        let shared = Arc::clone(&shared);
        let f = Arc::clone(&f);
        let wake = wake_tx.clone();
        let ok = std::thread::Builder::new()
            .name("disk-statvfs".into())
            .spawn(move || worker(&shared, &*f, &wake))
            .is_ok();
        if ok {
            *spawned = spawned.saturating_add(1);
        }
        ok
    };
    if n > 0 && !spawn(&mut spawned) {
        // No thread at all: nothing can be checked safely.
        let skipped = shared.next.swap(usize::MAX / 2, Ordering::AcqRel);
        for i in skipped..n {
            shared.settle(i, NOT_STARTED);
        }
    }

    // Items below `low` are all settled; only the window [low, next) can be in flight.
    let mut low = 0usize;
    let mut given_up: Vec<usize> = Vec::new();
    while !shared.all_settled() {
        let now = shared.base.elapsed();
        while shared.state.get(low).is_some_and(|s| s.load(Ordering::Acquire) != PENDING) {
            low = low.saturating_add(1);
        }
        // Workers stuck in calls already given up on.
        let mut slow_in_flight = given_up.iter().filter(|&&i| !worker_returned(&shared, i)).count();
        let taken = shared.next.load(Ordering::Acquire).min(n);
        let mut wait = timeout;
        for i in low..taken {
            let (Some(st), Some(state)) = (shared.started.get(i), shared.state.get(i)) else { break };
            match state.load(Ordering::Acquire) {
                PENDING => {}
                _ => continue,
            }
            let start = st.load(Ordering::Acquire);
            if start == 0 {
                // Taken by a worker that has not stamped it yet: look again soon.
                wait = wait.min(Duration::from_millis(1));
                continue;
            }
            let running = now.saturating_sub(Duration::from_nanos(start.saturating_sub(1)));
            if running >= timeout {
                if shared.settle(i, TIMED_OUT) {
                    given_up.push(i);
                    slow_in_flight = slow_in_flight.saturating_add(1);
                }
            } else {
                wait = wait.min(timeout.saturating_sub(running));
                if running >= suspicion {
                    slow_in_flight = slow_in_flight.saturating_add(1);
                } else {
                    wait = wait.min(suspicion.saturating_sub(running));
                }
            }
        }
        let waiting = shared.next.load(Ordering::Acquire) < n;
        if waiting {
            // A worker may take a hanging item after we fall asleep; looking
            // again this often bounds how late its replacement starts.
            wait = wait.min(suspicion / 2);
        }
        if waiting && slow_in_flight >= spawned {
            if spawned >= MAX_WORKERS || !spawn(&mut spawned) {
                // Every worker is stuck and no more may start: give up on the rest.
                let skipped = shared.next.swap(usize::MAX / 2, Ordering::AcqRel);
                for i in skipped..n {
                    shared.settle(i, NOT_STARTED);
                }
            }
            continue;
        }
        if shared.all_settled() {
            break;
        }
        // A wake-up only means "look again"; a closed channel cannot happen
        // while we hold a sender, and a timeout is the usual way round.
        let _ = wake_rx.recv_timeout(wait.max(Duration::from_micros(100)));
    }

    let mut abandoned = 0usize;
    let outcomes = (0..n)
        .map(|i| match shared.state.get(i).map(|s| s.load(Ordering::Acquire)) {
            Some(DONE) => shared.take(i).map_or(Outcome::TimedOut, Outcome::Done),
            Some(TIMED_OUT) => {
                if !worker_returned(&shared, i) {
                    abandoned = abandoned.saturating_add(1);
                }
                Outcome::TimedOut
            }
            _ => Outcome::NotStarted,
        })
        .collect();
    Report { outcomes, abandoned, spawned }
}

/// How long a call may run before the items behind it get a second worker.
/// Short enough that a hung mount delays the others little, long enough that
/// a busy machine does not start workers for healthy ones.
fn suspicion_delay(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(10), Duration::from_millis(250))
}

fn worker_returned<I, T>(shared: &Shared<I, T>, i: usize) -> bool {
    shared.returned.get(i).is_some_and(|r| r.load(Ordering::Acquire))
}

fn worker<I, T, F: Fn(&I) -> T>(shared: &Shared<I, T>, f: &F, wake: &mpsc::Sender<()>) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::AcqRel);
        let Some(item) = shared.items.get(i) else { return };
        let stamp = u64::try_from(shared.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        if let Some(st) = shared.started.get(i) {
            st.store(stamp.saturating_add(1), Ordering::Release);
        }
        let value = f(item);
        if let Some(slot) = shared.values.get(i) {
            let mut guard = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *guard = Some(value);
        }
        if let Some(r) = shared.returned.get(i) {
            r.store(true, Ordering::Release);
        }
        if shared.settle(i, DONE) && shared.all_settled() {
            // The caller may be gone already; then nobody needs waking.
            let _ = wake.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_gets_its_value_in_order() {
        let r = run((0..500u32).collect(), Duration::from_secs(5), |x| x * 2);
        assert_eq!(r.outcomes.len(), 500);
        for (i, o) in r.outcomes.iter().enumerate() {
            assert_eq!(*o, Outcome::Done(u32::try_from(i).unwrap() * 2));
        }
        assert_eq!(r.abandoned, 0);
        assert_eq!(r.spawned, 1, "a healthy run needs one worker");
    }

    #[test]
    fn no_items_start_no_thread() {
        let r = run(Vec::<u8>::new(), Duration::from_secs(1), |_| ());
        assert!(r.outcomes.is_empty());
        assert_eq!(r.spawned, 0);
    }

    #[test]
    fn a_hung_call_times_out_and_the_others_still_answer() {
        let timeout = Duration::from_millis(300);
        let t0 = Instant::now();
        let r = run(vec![1u64, 2, 0, 4, 5], timeout, |&x| {
            if x == 0 {
                // Stands for a statfs that never returns.
                std::thread::sleep(Duration::from_secs(30));
            }
            x
        });
        let took = t0.elapsed();
        assert_eq!(
            r.outcomes,
            vec![Outcome::Done(1), Outcome::Done(2), Outcome::TimedOut, Outcome::Done(4), Outcome::Done(5)]
        );
        assert_eq!(r.abandoned, 1, "exactly the hung call's thread is left behind");
        assert_eq!(r.spawned, 2, "one replacement worker, not one per item");
        assert!(took < timeout + Duration::from_millis(500), "took {took:?}");
    }

    #[test]
    fn several_hung_calls_are_waited_for_side_by_side() {
        let timeout = Duration::from_millis(400);
        let t0 = Instant::now();
        let r = run(vec![0u8, 0, 0, 1], timeout, |&x| {
            if x == 0 {
                std::thread::sleep(Duration::from_secs(30));
            }
            x
        });
        let took = t0.elapsed();
        assert_eq!(r.outcomes[..3], [Outcome::TimedOut, Outcome::TimedOut, Outcome::TimedOut]);
        assert_eq!(r.outcomes[3], Outcome::Done(1));
        assert_eq!(r.abandoned, 3);
        // Three hangs cost one timeout plus a suspicion delay each, not three timeouts.
        assert!(took < timeout + Duration::from_millis(3 * 50 + 300), "took {took:?}");
    }

    #[test]
    fn beyond_the_worker_cap_the_rest_is_not_started() {
        let items: Vec<u8> = std::iter::repeat(0).take(MAX_WORKERS + 3).collect();
        let r = run(items, Duration::from_millis(80), |_| std::thread::sleep(Duration::from_secs(30)));
        let timed_out = r.outcomes.iter().filter(|o| **o == Outcome::TimedOut).count();
        let not_started = r.outcomes.iter().filter(|o| **o == Outcome::NotStarted).count();
        assert_eq!(timed_out, MAX_WORKERS);
        assert_eq!(not_started, 3);
        assert_eq!(r.spawned, MAX_WORKERS);
    }

    #[test]
    fn a_slow_call_that_answers_in_time_counts() {
        let r = run(vec![50u64, 1], Duration::from_millis(2000), |&ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        });
        assert_eq!(r.outcomes, vec![Outcome::Done(50), Outcome::Done(1)]);
        assert_eq!(r.abandoned, 0);
    }
}
