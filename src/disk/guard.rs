//! Calls that may never return (statvfs on a dead NFS server or a stuck FUSE
//! daemon), run under a deadline without a thread per call.
//!
//! A thread stuck in the kernel cannot be killed, only abandoned. The calling
//! thread makes the calls itself, in order, each with its own deadline from
//! the moment it starts, while a *watchdog* thread sleeps until that deadline.
//! Handing each call to another thread would be cleaner but costs a wake-up
//! per call, which on a busy machine is milliseconds: slower than df.
//!
//! When a call misses its deadline the watchdog takes over: it marks the call
//! timed out, checks the items left on a small pool of worker threads, and
//! hands the result to a *rescue* continuation, on its own thread, since the
//! caller may never come back (the rescue ends the process, which kills the
//! stuck thread: the kernel waits for FUSE and NFS killably). In the pool, a
//! call running longer than a short *suspicion* delay gets a second worker
//! started for the items behind it, so each hung mount leaves exactly one
//! thread behind, up to [`MAX_WORKERS`]; items no worker could take by then
//! are reported as not started rather than waited for.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Pool workers started at most: the first plus one per hung call. Beyond
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
    /// Threads (the caller included) still stuck in a call at the end.
    pub abandoned: usize,
    /// Threads started in all: the watchdog and any pool workers.
    pub spawned: usize,
}

/// Stack of the watchdog thread, which runs the pool loop and the rescue
/// (formatting and printing the report) when the caller hangs.
const WATCHDOG_STACK: usize = 256 * 1024;

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
    /// The item the caller is on (inline mode).
    current: AtomicUsize,
    /// Set when the caller got through every item: the watchdog may go.
    inline_done: AtomicBool,
    base: Instant,
}

impl<I, T> Shared<I, T> {
    fn settle(&self, i: usize, to: u8) -> bool {
        let Some(state) = self.state.get(i) else {
            return false;
        };
        if state
            .compare_exchange(PENDING, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.settled.fetch_add(1, Ordering::AcqRel);
            true
        } else {
            false
        }
    }

    fn take(&self, i: usize) -> Option<T> {
        let slot = self.values.get(i)?;
        let mut guard = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.take()
    }

    fn all_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire) >= self.items.len()
    }
}

impl<I, T> Shared<I, T> {
    fn new(items: Vec<I>) -> Self {
        let n = items.len();
        Shared {
            started: (0..n).map(|_| AtomicU64::new(0)).collect(),
            state: (0..n).map(|_| AtomicU8::new(PENDING)).collect(),
            values: (0..n).map(|_| Mutex::new(None)).collect(),
            returned: (0..n).map(|_| AtomicBool::new(false)).collect(),
            items,
            next: AtomicUsize::new(0),
            settled: AtomicUsize::new(0),
            current: AtomicUsize::new(0),
            inline_done: AtomicBool::new(false),
            base: Instant::now(),
        }
    }

    /// Stamp the start of item `i`, make the call, and keep its value.
    /// Returns whether the value counts (false: it came back too late).
    fn call(&self, i: usize, f: &impl Fn(&I) -> T) -> bool {
        let Some(item) = self.items.get(i) else {
            return false;
        };
        let stamp = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        if let Some(st) = self.started.get(i) {
            st.store(stamp.saturating_add(1), Ordering::Release);
        }
        let value = f(item);
        if let Some(slot) = self.values.get(i) {
            let mut guard = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *guard = Some(value);
        }
        if let Some(r) = self.returned.get(i) {
            r.store(true, Ordering::Release);
        }
        self.settle(i, DONE)
    }

    fn started_at(&self, i: usize) -> Option<Duration> {
        let s = self.started.get(i)?.load(Ordering::Acquire);
        (s != 0).then(|| Duration::from_nanos(s.saturating_sub(1)))
    }

    fn report(&self, spawned: usize) -> Report<T> {
        let mut abandoned = 0usize;
        let outcomes = (0..self.items.len())
            .map(
                |i| match self.state.get(i).map(|s| s.load(Ordering::Acquire)) {
                    Some(DONE) => self.take(i).map_or(Outcome::TimedOut, Outcome::Done),
                    Some(TIMED_OUT) => {
                        if !self
                            .returned
                            .get(i)
                            .is_some_and(|r| r.load(Ordering::Acquire))
                        {
                            abandoned = abandoned.saturating_add(1);
                        }
                        Outcome::TimedOut
                    }
                    _ => Outcome::NotStarted,
                },
            )
            .collect();
        Report {
            outcomes,
            abandoned,
            spawned,
        }
    }
}

/// Call `f` on every item, each call bounded by `timeout` from its start.
///
/// Normally the calls are made on this thread and the report is returned.
/// If a call misses its deadline, this thread is given up on: it never
/// returns (it parks if the call ever comes back), and `rescue` gets the
/// report on the watchdog's thread instead. `rescue` should end the process.
pub fn run<I, T, F, R>(items: Vec<I>, timeout: Duration, f: F, rescue: R) -> Report<T>
where
    I: Send + Sync + 'static,
    T: Send + Sync + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
    R: FnOnce(Report<T>) + Send + 'static,
{
    let n = items.len();
    let shared = Arc::new(Shared::new(items));
    let f = Arc::new(f);
    if n == 0 {
        return shared.report(0);
    }
    let watchdog = {
        let shared = Arc::clone(&shared);
        let f = Arc::clone(&f);
        std::thread::Builder::new()
            .name("disk-watchdog".into())
            // It only sleeps and, rarely, starts the pool: a small stack will do.
            .stack_size(WATCHDOG_STACK)
            .spawn(move || watch(&shared, &f, timeout, rescue))
    };
    let Ok(watchdog) = watchdog else {
        // No watchdog, no safety net: let pool workers make every call instead.
        return pool(&shared, &f, timeout, 0);
    };
    for i in 0..n {
        shared.current.store(i, Ordering::Release);
        if !shared.call(i, &*f) {
            // The watchdog gave up on this call and owns the rest of the run.
            loop {
                std::thread::park();
            }
        }
    }
    // The watchdog is not woken to end: at its next deadline it sees this
    // flag, and when `run` is the last thing a process does, exiting ends it
    // sooner and cheaper than a wake-up, a thread exit and an unmap would.
    shared.inline_done.store(true, Ordering::Release);
    drop(watchdog);
    shared.report(1)
}

/// The watchdog: sleep until the deadline of the caller's current call; if
/// it is missed, check the rest on a pool and hand the report to `rescue`.
fn watch<I, T, F, R>(shared: &Arc<Shared<I, T>>, f: &Arc<F>, timeout: Duration, rescue: R)
where
    I: Send + Sync + 'static,
    T: Send + Sync + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
    R: FnOnce(Report<T>),
{
    let n = shared.items.len();
    loop {
        if shared.inline_done.load(Ordering::Acquire) {
            return;
        }
        let i = shared.current.load(Ordering::Acquire);
        let pending = shared
            .state
            .get(i)
            .is_some_and(|s| s.load(Ordering::Acquire) == PENDING);
        let Some(start) = shared.started_at(i).filter(|_| pending) else {
            // Between two calls: the next one starts at once.
            std::thread::park_timeout(Duration::from_millis(1));
            continue;
        };
        let running = shared.base.elapsed().saturating_sub(start);
        if running < timeout {
            std::thread::park_timeout(timeout.saturating_sub(running));
            continue;
        }
        if shared.current.load(Ordering::Acquire) != i || !shared.settle(i, TIMED_OUT) {
            continue;
        }
        // The caller is stuck in item i: the pool takes the items after it.
        shared
            .next
            .store(i.saturating_add(1).min(n), Ordering::Release);
        rescue(pool(shared, f, timeout, 1));
        return;
    }
}

/// Check the items from `shared.next` on worker threads, starting one more
/// whenever every worker is slow; return when every item is settled.
fn pool<I, T, F>(
    shared: &Arc<Shared<I, T>>,
    f: &Arc<F>,
    timeout: Duration,
    already_spawned: usize,
) -> Report<T>
where
    I: Send + Sync + 'static,
    T: Send + Sync + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
{
    let n = shared.items.len();
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let suspicion = suspicion_delay(timeout);
    let mut spawned = 0usize;
    let spawn = |spawned: &mut usize| {
        let shared = Arc::clone(shared);
        let f = Arc::clone(f);
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

    // Items below `low` are all settled; only the window [low, next) can be in flight.
    let mut low = 0usize;
    let mut given_up: Vec<usize> = Vec::new();
    while !shared.all_settled() {
        let now = shared.base.elapsed();
        while shared
            .state
            .get(low)
            .is_some_and(|s| s.load(Ordering::Acquire) != PENDING)
        {
            low = low.saturating_add(1);
        }
        // Workers stuck in calls already given up on.
        let mut slow_in_flight = given_up
            .iter()
            .filter(|&&i| !worker_returned(shared, i))
            .count();
        let taken = shared.next.load(Ordering::Acquire).min(n);
        let mut wait = timeout;
        for i in low..taken {
            let (Some(st), Some(state)) = (shared.started.get(i), shared.state.get(i)) else {
                break;
            };
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

    shared.report(spawned.saturating_add(already_spawned))
}

/// How long a call may run before the items behind it get a second worker.
/// Short enough that a hung mount delays the others little, long enough that
/// a busy machine does not start workers for healthy ones.
fn suspicion_delay(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(10), Duration::from_millis(250))
}

fn worker_returned<I, T>(shared: &Shared<I, T>, i: usize) -> bool {
    shared
        .returned
        .get(i)
        .is_some_and(|r| r.load(Ordering::Acquire))
}

fn worker<I, T, F: Fn(&I) -> T>(shared: &Shared<I, T>, f: &F, wake: &mpsc::Sender<()>) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::AcqRel);
        if i >= shared.items.len() {
            return;
        }
        if shared.call(i, f) && shared.all_settled() {
            // The pool may be gone already; then nobody needs waking.
            let _ = wake.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run on a thread of its own, which may get stuck like a real caller;
    /// the report arrives either way, returned or rescued.
    fn run_anywhere<I, T, F>(items: Vec<I>, timeout: Duration, f: F) -> (Report<T>, bool)
    where
        I: Send + Sync + 'static,
        T: Send + Sync + 'static,
        F: Fn(&I) -> T + Send + Sync + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let rescued = tx.clone();
        std::thread::spawn(move || {
            let r = run(items, timeout, f, move |r| {
                let _ = rescued.send((r, true));
            });
            let _ = tx.send((r, false));
        });
        rx.recv().unwrap()
    }

    fn hang() {
        // Stands for a statfs that never returns.
        std::thread::sleep(Duration::from_secs(30));
    }

    #[test]
    fn every_item_gets_its_value_in_order_on_the_callers_thread() {
        let caller = std::thread::current().id();
        let r = run(
            (0..500u32).collect(),
            Duration::from_secs(5),
            move |x| {
                assert_eq!(
                    std::thread::current().id(),
                    caller,
                    "no hand-over to another thread"
                );
                x * 2
            },
            |_| unreachable!("nothing hangs"),
        );
        assert_eq!(r.outcomes.len(), 500);
        for (i, o) in r.outcomes.iter().enumerate() {
            assert_eq!(*o, Outcome::Done(u32::try_from(i).unwrap() * 2));
        }
        assert_eq!(r.abandoned, 0);
        assert_eq!(r.spawned, 1, "a healthy run starts only the watchdog");
    }

    #[test]
    fn no_items_start_no_thread() {
        let r = run(Vec::<u8>::new(), Duration::from_secs(1), |_| (), |_| ());
        assert!(r.outcomes.is_empty());
        assert_eq!(r.spawned, 0);
    }

    #[test]
    fn a_hung_call_times_out_and_the_others_still_answer() {
        let timeout = Duration::from_millis(300);
        let t0 = Instant::now();
        let (r, rescued) = run_anywhere(vec![1u64, 2, 0, 4, 5], timeout, |&x| {
            if x == 0 {
                hang();
            }
            x
        });
        let took = t0.elapsed();
        assert!(rescued, "the stuck caller cannot return the report");
        assert_eq!(
            r.outcomes,
            vec![
                Outcome::Done(1),
                Outcome::Done(2),
                Outcome::TimedOut,
                Outcome::Done(4),
                Outcome::Done(5)
            ]
        );
        assert_eq!(
            r.abandoned, 1,
            "exactly the hung call's thread is left behind"
        );
        assert_eq!(
            r.spawned, 2,
            "the watchdog and one worker, not one per item"
        );
        assert!(took < timeout + Duration::from_millis(500), "took {took:?}");
    }

    #[test]
    fn several_hung_calls_are_waited_for_side_by_side() {
        // Long enough that a loaded machine's scheduling noise stays well
        // below the one timeout that tells side by side from in a row.
        let timeout = Duration::from_millis(1000);
        let t0 = Instant::now();
        let (r, _) = run_anywhere(vec![0u8, 0, 0, 1], timeout, |&x| {
            if x == 0 {
                hang();
            }
            x
        });
        let took = t0.elapsed();
        assert_eq!(
            r.outcomes[..3],
            [Outcome::TimedOut, Outcome::TimedOut, Outcome::TimedOut]
        );
        assert_eq!(r.outcomes[3], Outcome::Done(1));
        assert_eq!(r.abandoned, 3);
        // The caller's timeout, then the pool's two hangs side by side: two
        // timeouts and a suspicion delay, not three timeouts in a row.
        assert!(took < 3 * timeout - Duration::from_millis(200), "took {took:?}");
    }

    #[test]
    fn beyond_the_worker_cap_the_rest_is_not_started() {
        let items: Vec<u8> = std::iter::repeat(0).take(MAX_WORKERS + 4).collect();
        let (r, _) = run_anywhere(items, Duration::from_millis(80), |_| hang());
        let timed_out = r
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::TimedOut)
            .count();
        let not_started = r
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::NotStarted)
            .count();
        // The caller's call plus one per pool worker.
        assert_eq!(timed_out, 1 + MAX_WORKERS);
        assert_eq!(not_started, 3);
        assert_eq!(r.spawned, 1 + MAX_WORKERS);
    }

    #[test]
    fn a_slow_call_that_answers_in_time_counts() {
        let (r, rescued) = run_anywhere(vec![50u64, 1], Duration::from_millis(2000), |&ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        });
        assert!(!rescued);
        assert_eq!(r.outcomes, vec![Outcome::Done(50), Outcome::Done(1)]);
        assert_eq!(r.abandoned, 0);
    }
}
