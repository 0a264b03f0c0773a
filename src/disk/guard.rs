//! Calls that may never return (statfs on a dead NFS server or a stuck FUSE
//! daemon, a path lookup through one), each made under its own deadline.
//!
//! A thread stuck in the kernel cannot be killed, only abandoned. So the calls
//! are made on worker threads and the caller only waits, with `recv_timeout`:
//! for a worker to say that it has run out of items, or for the next deadline.
//! The caller never enters the kernel for an item, so it always returns.
//!
//! Workers take the items in order from one queue, and say nothing per item:
//! a healthy run is one worker and one wake-up of the caller, however many
//! items there are (a wake-up per item costs milliseconds on a busy machine).
//! When every worker is in a call older than a short *suspicion* delay, a
//! fresh worker takes the items behind them, so several hung mounts are waited
//! for side by side and each leaves exactly one thread behind. A call that
//! misses its deadline is reported as timed out. At most `max_workers` are
//! started; when all of them are stuck past their deadlines, the items left
//! are reported as not started instead of waited for. Ending the process ends
//! the stuck threads: the kernel waits for FUSE and NFS killably.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Workers started at most by `disk`: past this many hung calls the rest
/// are not attempted.
pub const MAX_WORKERS: usize = 8;

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The call returned in time with this value.
    Done(T),
    /// The call started but did not return within the deadline.
    TimedOut,
    /// The call was never made.
    NotStarted(Skipped),
}

/// Why a call was never made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Every worker allowed was stuck: this many calls had not answered.
    AfterHung(usize),
    /// No thread could be started to make it.
    NoThread,
}

/// The result of [`run`].
#[derive(Debug)]
pub struct Report<T> {
    /// One outcome per item, in the order of the items.
    pub outcomes: Vec<Outcome<T>>,
    /// Workers still stuck in a call at the end. Read by the tests that
    /// hold the guard to one thread per hang, not one per item.
    #[cfg_attr(not(test), allow(dead_code))]
    pub abandoned: usize,
    /// Workers started in all (the same tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub spawned: usize,
}

/// What the workers and the caller share.
struct Shared<I, T> {
    items: Vec<I>,
    /// The next item to take.
    next: AtomicUsize,
    /// When each call started, in nanoseconds after `base`, plus one (0: not yet).
    started: Vec<AtomicU64>,
    values: Vec<Mutex<Option<T>>>,
    base: Instant,
}

impl<I, T> Shared<I, T> {
    fn since_base(&self) -> Duration {
        self.base.elapsed()
    }

    fn started_at(&self, i: usize) -> Option<Duration> {
        let s = self.started.get(i)?.load(Ordering::Acquire);
        (s != 0).then(|| Duration::from_nanos(s.saturating_sub(1)))
    }

    fn answered(&self, i: usize) -> bool {
        self.values.get(i).is_some_and(|v| v.lock().unwrap_or_else(PoisonError::into_inner).is_some())
    }

    fn take(&self, i: usize) -> Option<T> {
        self.values.get(i)?.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// One worker, as the caller sees it.
#[derive(Default)]
struct Worker {
    /// The item it took last, plus one (0: none yet).
    item: AtomicUsize,
    /// Set when it found the queue empty and ended.
    ended: AtomicBool,
}

/// Call `f` on every item, each call bounded by `timeout` from its start,
/// with at most `max_workers` threads; return when every item has an outcome.
pub fn run<I, T, F>(items: Vec<I>, timeout: Duration, max_workers: usize, f: F) -> Report<T>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
{
    let n = items.len();
    if n == 0 {
        return Report { outcomes: Vec::new(), abandoned: 0, spawned: 0 };
    }
    let max_workers = max_workers.max(1);
    let shared = Arc::new(Shared {
        started: (0..n).map(|_| AtomicU64::new(0)).collect(),
        values: (0..n).map(|_| Mutex::new(None)).collect(),
        items,
        next: AtomicUsize::new(0),
        base: Instant::now(),
    });
    let f = Arc::new(f);
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    let suspicion = suspicion_delay(timeout);
    let mut workers: Vec<Arc<Worker>> = Vec::new();
    let mut timed_out = vec![false; n];
    // From which item on, and why, nothing was started.
    let mut skipped: Option<(usize, Skipped)> = None;

    loop {
        let now = shared.since_base();
        let mut wake = now.saturating_add(timeout);
        // A worker that is about to take the next item, or soon will.
        let mut fresh = false;
        // Workers not stuck past a deadline: their items may still answer.
        let mut live = 0usize;
        for w in &workers {
            if w.ended.load(Ordering::Acquire) {
                continue;
            }
            let current = w.item.load(Ordering::Acquire).checked_sub(1);
            let start = current.filter(|&i| !shared.answered(i)).map(|i| (i, shared.started_at(i)));
            match start {
                // Stuck past its deadline: given up on already.
                Some((i, _)) if timed_out.get(i).copied().unwrap_or(false) => continue,
                Some((i, Some(start))) => {
                    let running = now.saturating_sub(start);
                    if running >= timeout {
                        if let Some(t) = timed_out.get_mut(i) {
                            *t = true;
                        }
                        continue;
                    }
                    wake = wake.min(start.saturating_add(timeout));
                    if running < suspicion {
                        fresh = true;
                        wake = wake.min(start.saturating_add(suspicion));
                    }
                }
                // Between two calls, or about to stamp one.
                _ => {
                    fresh = true;
                    wake = wake.min(now.saturating_add(suspicion));
                }
            }
            live = live.saturating_add(1);
        }

        if shared.next.load(Ordering::Acquire) < n && !fresh {
            if workers.len() < max_workers {
                match spawn(&shared, &f, &ended_tx) {
                    Some(w) => {
                        workers.push(w);
                        continue;
                    }
                    None if live == 0 => skipped = give_up(&shared, Skipped::NoThread).or(skipped),
                    None => {}
                }
            } else if live == 0 {
                let hung = timed_out.iter().filter(|&&t| t).count();
                skipped = give_up(&shared, Skipped::AfterHung(hung)).or(skipped);
            }
        }
        if live == 0 && shared.next.load(Ordering::Acquire) >= n {
            break;
        }
        // A message only means "look again"; the channel cannot close while
        // this function holds a sender, and a timeout is the usual way round.
        let left = wake.saturating_sub(shared.since_base());
        let _ = ended_rx.recv_timeout(left.max(Duration::from_micros(100)));
    }

    let mut abandoned = 0usize;
    let outcomes = (0..n)
        .map(|i| {
            if timed_out.get(i).copied().unwrap_or(false) {
                if !shared.answered(i) {
                    abandoned = abandoned.saturating_add(1);
                }
                return Outcome::TimedOut;
            }
            match shared.take(i) {
                Some(v) => Outcome::Done(v),
                None => Outcome::NotStarted(skipped.map_or(Skipped::NoThread, |(_, why)| why)),
            }
        })
        .collect();
    Report { outcomes, abandoned, spawned: workers.len() }
}

/// Stop the queue: the items no worker has taken are not started.
fn give_up<I, T>(shared: &Shared<I, T>, why: Skipped) -> Option<(usize, Skipped)> {
    let first = shared.next.swap(shared.items.len(), Ordering::AcqRel);
    (first < shared.items.len()).then_some((first, why))
}

fn spawn<I, T, F>(shared: &Arc<Shared<I, T>>, f: &Arc<F>, ended: &mpsc::Sender<()>) -> Option<Arc<Worker>>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(&I) -> T + Send + Sync + 'static,
{
    let me = Arc::new(Worker::default());
    let (shared, f, ended, w) = (Arc::clone(shared), Arc::clone(f), ended.clone(), Arc::clone(&me));
    std::thread::Builder::new()
        .name("disk-worker".into())
        .spawn(move || work(&shared, &w, &*f, &ended))
        .ok()
        .map(|_| me)
}

/// A worker: take the next item, stamp its start, call, keep the value; end
/// and say so when the queue is empty.
fn work<I, T, F: Fn(&I) -> T>(shared: &Shared<I, T>, me: &Worker, f: &F, ended: &mpsc::Sender<()>) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::AcqRel);
        let (Some(item), Some(started), Some(value)) =
            (shared.items.get(i), shared.started.get(i), shared.values.get(i))
        else {
            break;
        };
        me.item.store(i.saturating_add(1), Ordering::Release);
        let stamp = u64::try_from(shared.since_base().as_nanos()).unwrap_or(u64::MAX - 1);
        started.store(stamp.saturating_add(1), Ordering::Release);
        let v = f(item);
        *value.lock().unwrap_or_else(PoisonError::into_inner) = Some(v);
    }
    me.ended.store(true, Ordering::Release);
    // The caller may have returned already; then nobody needs telling.
    let _ = ended.send(());
}

/// How long a call may run before the items behind it get a fresh worker.
/// Short enough that a hung mount delays the others little, long enough that
/// a busy machine does not start workers for healthy ones.
fn suspicion_delay(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(10), Duration::from_millis(250))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hang() {
        // Stands for a statfs that never returns.
        std::thread::sleep(Duration::from_secs(60));
    }

    fn count<T: PartialEq>(r: &Report<T>, o: &Outcome<T>) -> usize {
        r.outcomes.iter().filter(|x| *x == o).count()
    }

    #[test]
    fn every_item_gets_its_value_in_order_from_one_worker() {
        let caller = std::thread::current().id();
        let r = run((0..500u32).collect(), Duration::from_secs(5), MAX_WORKERS, move |x| {
            assert_ne!(std::thread::current().id(), caller, "the caller never makes a call");
            x * 2
        });
        assert_eq!(r.outcomes.len(), 500);
        for (i, o) in r.outcomes.iter().enumerate() {
            assert_eq!(*o, Outcome::Done(u32::try_from(i).unwrap() * 2));
        }
        assert_eq!(r.abandoned, 0);
        assert_eq!(r.spawned, 1, "a healthy run starts one worker");
    }

    #[test]
    fn no_items_start_no_thread() {
        let r = run(Vec::<u8>::new(), Duration::from_secs(1), MAX_WORKERS, |_| ());
        assert!(r.outcomes.is_empty());
        assert_eq!(r.spawned, 0);
    }

    #[test]
    fn a_hung_call_times_out_the_others_answer_and_the_caller_returns() {
        let timeout = Duration::from_millis(300);
        let t0 = Instant::now();
        let r = run(vec![1u64, 2, 0, 4, 5], timeout, MAX_WORKERS, |&x| {
            if x == 0 {
                hang();
            }
            x
        });
        let took = t0.elapsed();
        assert_eq!(
            r.outcomes,
            vec![Outcome::Done(1), Outcome::Done(2), Outcome::TimedOut, Outcome::Done(4), Outcome::Done(5)]
        );
        assert_eq!(r.abandoned, 1, "exactly the hung call's thread is left behind");
        assert_eq!(r.spawned, 2, "one worker and its replacement, not one per item");
        assert!(took < timeout + Duration::from_millis(200), "took {took:?}");
        assert!(took >= timeout, "gave up before the deadline: {took:?}");
    }

    #[test]
    fn several_hung_calls_are_waited_for_side_by_side() {
        // Long enough that a loaded machine's scheduling noise stays well
        // below the one timeout that tells side by side from in a row.
        let timeout = Duration::from_millis(1000);
        let t0 = Instant::now();
        let r = run(vec![0u8, 0, 0, 1], timeout, MAX_WORKERS, |&x| {
            if x == 0 {
                hang();
            }
            x
        });
        let took = t0.elapsed();
        assert_eq!(r.outcomes[..3], [Outcome::TimedOut, Outcome::TimedOut, Outcome::TimedOut]);
        assert_eq!(r.outcomes[3], Outcome::Done(1));
        assert_eq!(r.abandoned, 3);
        // One timeout and two suspicion delays, not three timeouts in a row.
        assert!(took < 2 * timeout, "took {took:?}");
    }

    #[test]
    fn beyond_the_worker_cap_the_rest_is_not_started_and_the_hung_are_counted() {
        for (cap, hung) in [(1usize, 1usize), (2, 2), (MAX_WORKERS, MAX_WORKERS + 1)] {
            // `hung` hung calls, then two healthy ones.
            let items: Vec<bool> = (0..hung + 2).map(|k| k < hung).collect();
            let r = run(items, Duration::from_millis(80), cap, |&h| {
                if h {
                    hang();
                }
            });
            assert_eq!(count(&r, &Outcome::TimedOut), cap, "cap {cap}, {hung} hung");
            let skipped = Outcome::NotStarted(Skipped::AfterHung(cap));
            assert_eq!(count(&r, &skipped), hung + 2 - cap, "cap {cap}, {hung} hung: {:?}", r.outcomes);
            assert_eq!(r.spawned, cap);
            assert_eq!(r.abandoned, cap);
        }
    }

    #[test]
    fn a_slow_call_that_answers_in_time_counts() {
        let r = run(vec![50u64, 1], Duration::from_millis(2000), MAX_WORKERS, |&ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        });
        assert_eq!(r.outcomes, vec![Outcome::Done(50), Outcome::Done(1)]);
        assert_eq!(r.abandoned, 0);
    }

    #[test]
    fn slow_calls_at_the_cap_are_waited_for_not_given_up() {
        // Both workers are slow past the suspicion delay but answer in time:
        // the items behind them are still checked.
        let r = run(vec![150u64, 150, 1, 2], Duration::from_millis(1000), 2, |&ms| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        });
        assert_eq!(r.outcomes, vec![Outcome::Done(150), Outcome::Done(150), Outcome::Done(1), Outcome::Done(2)]);
    }
}
