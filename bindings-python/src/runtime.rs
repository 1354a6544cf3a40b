//! How Python waits for the core: the one tokio runtime, and [`Pending`], the object every
//! native method that does I/O returns. Python either calls `pending.wait()` (blocks with the
//! GIL released, Ctrl-C checked on the main thread) or `await`s it (asyncio).
//!
//! Exit and fork safety live here too:
//! - runtime threads never touch a Python object: each event loop's calls run in one driver
//!   task ([`drive`]); a finished one is queued in the loop's [`Inbox`] and a byte written to
//!   a socket the loop watches; the loop's own thread sets the results ([`Drain`]). Only log
//!   records cross into Python from a runtime thread, through [`gate`].
//! - [`gate`] is shut by an `atexit` hook: after it no runtime thread enters Python, and a
//!   Python thread coming back from a blocking call parks instead of re-attaching to an
//!   interpreter that is being finalized.
//! - `os.register_at_fork(after_in_child=...)` calls [`after_fork_in_child`], the one place
//!   that reacts to `fork` (the core rebuilds its connection pools by itself).

use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use pyo3::exceptions::{PyNotImplementedError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::{IntoPyObjectExt, intern};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::mpsc;

use crate::errors::to_pyerr;

/// A finished call's result, made into a Python object where the GIL is held.
type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
type Outcome = deviceauth::Result<Convert>;
type Job = Pin<Box<dyn Future<Output = Outcome> + Send>>;
/// An awaited call: its asyncio future and its `Pending` (the future's cancel callback).
type Target = (Py<PyAny>, Py<Pending>);

/// How often the main thread, blocked in `wait()`, runs Python's signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(ptr::null_mut());
/// Bumped in a forked child: what belongs to the parent's runtime (a Monitor's polling task)
/// is gone there.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// `threading.get_ident()` of the main thread, the only one Python runs signal handlers in.
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// The process-wide multi-thread runtime, built on first use (again in a forked child) and
/// leaked: after a fork the parent's has no threads in the child. Callers hold the GIL, so
/// two threads never build one at once.
pub fn runtime() -> PyResult<&'static Runtime> {
    // SAFETY: published runtimes are never freed.
    if let Some(runtime) = unsafe { RUNTIME.load(Ordering::Acquire).as_ref() } {
        return Ok(runtime);
    }
    let mut builder = Builder::new_multi_thread();
    let threads = std::env::var("DEVICEAUTH_WORKER_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(threads) = threads.filter(|n| *n > 0) {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().thread_name("deviceauth").build();
    let runtime = runtime.map_err(|e| PyRuntimeError::new_err(format!("deviceauth: cannot start the runtime: {e}")))?;
    let runtime: &'static mut Runtime = Box::leak(Box::new(runtime));
    RUNTIME.store(runtime, Ordering::Release);
    Ok(runtime)
}

/// The fork generation, for objects that cannot outlive a `fork` (see [`GENERATION`]).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

#[allow(clippy::useless_conversion)] // `c_ulong` is 32 bits on Windows
fn thread_ident() -> u64 {
    // SAFETY: always safe to call.
    u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() })
}

/// Records the main thread (called when the module is imported).
pub fn init(py: Python<'_>) -> PyResult<()> {
    let main = py.import("threading")?.call_method0("main_thread")?.getattr("ident")?.extract::<u64>()?;
    MAIN_THREAD.store(main, Ordering::Release);
    Ok(())
}

/// `os.register_at_fork(after_in_child=...)`: the child starts its own runtime, event-loop
/// inboxes and main thread.
#[pyfunction]
pub fn _after_fork_in_child() {
    RUNTIME.store(ptr::null_mut(), Ordering::Release);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    MAIN_THREAD.store(thread_ident(), Ordering::Release);
    *lock(&LOOPS) = Loops::default();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A call into the core not started yet: `wait()` for it, or `await` it.
#[pyclass(frozen, module = "deviceauth._native")]
pub struct Pending {
    state: Mutex<State>,
}

enum State {
    Ready(Job),
    Running(AbortHandle),
    Taken,
}

impl Pending {
    /// Wraps a core future. Its panics become `InternalError`.
    pub fn new<T, F>(future: F) -> Pending
    where
        F: Future<Output = deviceauth::Result<T>> + Send + 'static,
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let job = async move {
            let value = deviceauth::ffi::guard(future).await?;
            // An answer Python cannot hold (a date out of its range, say) is a protocol error.
            let protocol =
                |e: PyErr| to_pyerr(deviceauth::Error::Protocol(format!("cannot represent the answer: {e}")));
            Ok(Box::new(move |py: Python<'_>| value.into_py_any(py).map_err(protocol)) as Convert)
        };
        Pending { state: Mutex::new(State::Ready(Box::pin(job))) }
    }

    fn take(&self) -> PyResult<Job> {
        match std::mem::replace(&mut *lock(&self.state), State::Taken) {
            State::Ready(job) => Ok(job),
            _ => Err(PyRuntimeError::new_err("deviceauth: this call was already waited for or awaited")),
        }
    }
}

#[pymethods]
impl Pending {
    /// Runs the call to its end with the GIL released and returns its result. On the main
    /// thread Ctrl-C (any exception a signal handler raises) stops it within 0.1 s.
    fn wait(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let inside = gate::enter(py);
        let job = self.take()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(PyRuntimeError::new_err(
                "deviceauth: a blocking call cannot run on the library's own runtime threads; use the Async classes there",
            ));
        }
        crate::logging::refresh(py);
        let runtime = runtime()?;
        let on_main = thread_ident() == MAIN_THREAD.load(Ordering::Acquire);
        drop(inside);
        let (outcome, _inside) = gate::detach(py, || runtime.block_on(interruptible(job, on_main)));
        outcome?.map_err(to_pyerr)?(py)
    }

    fn __await__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (event_loop, inbox) = running_inbox(py)?;
        let job = slf.get().take()?;
        crate::logging::refresh(py);
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let (job, abort) = futures_util::future::abortable(job);
        // The loop's driver task runs it (see `drive`).
        let _ = inbox.jobs.send(((future.clone().unbind(), slf.clone().unbind()), job));
        *lock(&slf.get().state) = State::Running(abort);
        future.call_method1(intern!(py, "add_done_callback"), (slf,))?;
        future.call_method0(intern!(py, "__await__"))
    }

    /// The awaited future's done-callback: a cancelled await stops the call.
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(future.py(), "cancelled"))?.is_truthy()?
            && let State::Running(task) = &*lock(&self.state)
        {
            task.abort();
        }
        Ok(())
    }
}

/// The call's outcome or, on the main thread, the first exception a signal handler raises
/// (the call is then dropped, which stops it), whichever comes first. The call is polled
/// on this thread (measured faster than spawning it and waiting for the task).
async fn interruptible(job: Job, on_main: bool) -> PyResult<Outcome> {
    if !on_main {
        return Ok(job.await);
    }
    tokio::select! {
        biased;
        out = job => Ok(out),
        err = signalled() => Err(err),
    }
}

async fn signalled() -> PyErr {
    loop {
        tokio::time::sleep(SIGNAL_CHECK).await;
        if let Some(Err(err)) = Python::try_attach(|py| py.check_signals()) {
            return err;
        }
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let get = GET_RUNNING_LOOP
        .get_or_try_init(py, || py.import("asyncio")?.getattr("get_running_loop").map(Bound::unbind))?;
    get.bind(py).call0()
}

/// Finished calls of one event loop, waiting for its thread to set their results.
struct Inbox {
    /// Calls to start, for the driver task.
    jobs: mpsc::UnboundedSender<(Target, Abortable<Job>)>,
    /// Finished calls: (future, its pending call, outcome).
    done: Mutex<Vec<(Target, Outcome)>>,
    /// A wake-up is on its way (so a burst of results costs one).
    armed: AtomicBool,
    wake: Wake,
}

enum Wake {
    /// A socket pair whose reading end the loop watches (`loop.add_reader`).
    #[cfg(unix)]
    Socket { writer: std::os::unix::net::UnixStream, reader: std::os::unix::net::UnixStream },
    /// Loops without `add_reader` (Windows' proactor): `call_soon_threadsafe` from the
    /// runtime thread, through the gate.
    Call(Py<PyAny>),
}

impl Inbox {
    /// Runs on a runtime thread; touches no Python object (but in `Wake::Call`).
    fn deliver(self: &Arc<Self>, target: Target, outcome: Outcome) {
        lock(&self.done).push((target, outcome));
        if self.armed.swap(true, Ordering::SeqCst) {
            return;
        }
        match &self.wake {
            #[cfg(unix)]
            Wake::Socket { writer, .. } => {
                let _ = std::io::Write::write(&mut &*writer, &[1]);
            }
            Wake::Call(event_loop) => {
                gate::with_python(|py| {
                    // A closed loop refuses: nobody waits for these results any more.
                    let drain = Drain { inbox: self.clone() };
                    let _ = event_loop.call_method1(py, intern!(py, "call_soon_threadsafe"), (drain,));
                });
            }
        }
    }
}

/// One task per event loop runs all its calls: starting a call is a channel send (one
/// wake-up for a burst of them), not a task of its own. It ends when the loop's inbox is gone.
async fn drive(mut jobs: mpsc::UnboundedReceiver<(Target, Abortable<Job>)>, inbox: std::sync::Weak<Inbox>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    while open || !running.is_empty() {
        tokio::select! {
            job = jobs.recv(), if open => match job {
                Some((target, job)) => running.push(async move { (target, job.await) }),
                None => open = false,
            },
            Some((target, outcome)) = running.next() => {
                // An aborted call (its await was cancelled) delivers nothing.
                if let (Ok(outcome), Some(inbox)) = (outcome, inbox.upgrade()) {
                    inbox.deliver(target, outcome);
                }
            }
        }
    }
}

/// The reader callback of one event loop: sets the results of its finished calls.
#[pyclass(frozen, module = "deviceauth._native")]
pub struct Drain {
    inbox: Arc<Inbox>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let _inside = gate::enter(py);
        #[cfg(unix)]
        if let Wake::Socket { reader, .. } = &self.inbox.wake {
            let mut buffer = [0u8; 256];
            while matches!(std::io::Read::read(&mut &*reader, &mut buffer), Ok(n) if n > 0) {}
        }
        // After reading the wake-up bytes, before taking the results: a result pushed from
        // now on either is taken below or writes a new byte (none is left without a wake-up).
        self.inbox.armed.store(false, Ordering::SeqCst);
        let done = std::mem::take(&mut *lock(&self.inbox.done));
        for ((future, pending), outcome) in done {
            let future = future.bind(py);
            if future.call_method0(intern!(py, "done"))?.is_truthy()? {
                continue; // cancelled
            }
            // Not cancelled: spare the loop a call of the cancel callback.
            future.call_method1(intern!(py, "remove_done_callback"), (pending,))?;
            let _ = match outcome.map_err(to_pyerr).and_then(|convert| convert(py)) {
                Ok(value) => future.call_method1(intern!(py, "set_result"), (value,)),
                Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),)),
            };
        }
        Ok(())
    }
}

/// The inbox of the last loop used, and a `WeakKeyDictionary` loop -> `Drain` for the others.
#[derive(Default)]
struct Loops {
    last: Option<(Py<PyAny>, Arc<Inbox>)>,
    all: Option<Py<PyAny>>,
}

static LOOPS: Mutex<Loops> = Mutex::new(Loops { last: None, all: None });

/// The running loop of this thread and its inbox. `asyncio.get_running_loop()` makes a
/// `getpid` system call each time on Python 3.11 (to notice a fork, which the fork hook
/// here does): so the last loop is reused while its `_thread_id` says it runs on this
/// thread (asyncio's loops; other loops take the slow path every time).
fn running_inbox(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Arc<Inbox>)> {
    let last = lock(&LOOPS).last.as_ref().map(|(l, inbox)| (l.clone_ref(py).into_bound(py), inbox.clone()));
    if let Some((event_loop, inbox)) = last
        && let Ok(thread) = event_loop.getattr(intern!(py, "_thread_id"))
        && thread.extract::<u64>().is_ok_and(|t| t == thread_ident())
    {
        return Ok((event_loop, inbox));
    }
    let event_loop = running_loop(py)?;
    let inbox = inbox_for(py, &event_loop)?;
    Ok((event_loop, inbox))
}

/// The inbox of `event_loop`, made (and its reader registered) on first use. No Python code
/// runs while `LOOPS` is locked.
fn inbox_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Inbox>> {
    let all = {
        let loops = lock(&LOOPS);
        if let Some((last, inbox)) = &loops.last
            && last.is(event_loop)
        {
            return Ok(inbox.clone());
        }
        loops.all.as_ref().map(|all| all.clone_ref(py))
    };
    let all = match all {
        Some(all) => all.into_bound(py),
        None => {
            let made = py.import("weakref")?.getattr("WeakKeyDictionary")?.call0()?;
            lock(&LOOPS).all = Some(made.clone().unbind());
            made
        }
    };
    let inbox = match all.call_method1(intern!(py, "get"), (event_loop,)) {
        Ok(found) if !found.is_none() => found.cast::<Drain>()?.get().inbox.clone(),
        _ => {
            let (inbox, drain) = new_inbox(py, event_loop)?;
            // A loop that cannot be weakly referenced is only remembered as the last one.
            if let Err(err) = all.set_item(event_loop, drain)
                && !err.is_instance_of::<PyTypeError>(py)
            {
                return Err(err);
            }
            inbox
        }
    };
    lock(&LOOPS).last = Some((event_loop.clone().unbind(), inbox.clone()));
    Ok(inbox)
}

fn new_inbox<'py>(py: Python<'py>, event_loop: &Bound<'py, PyAny>) -> PyResult<(Arc<Inbox>, Bound<'py, Drain>)> {
    #[cfg(unix)]
    {
        let (reader, writer) = std::os::unix::net::UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&reader);
        let (inbox, drain) = start_inbox(py, Wake::Socket { writer, reader })?;
        match event_loop.call_method1(intern!(py, "add_reader"), (fd, &drain)) {
            Ok(_) => return Ok((inbox, drain)),
            Err(err) if !err.is_instance_of::<PyNotImplementedError>(py) => return Err(err),
            Err(_) => {} // no `add_reader` (Windows' proactor): `call_soon_threadsafe` then
        }
    }
    start_inbox(py, Wake::Call(event_loop.clone().unbind()))
}

/// An inbox and its driver task (which ends when the inbox is dropped).
fn start_inbox(py: Python<'_>, wake: Wake) -> PyResult<(Arc<Inbox>, Bound<'_, Drain>)> {
    let (jobs, receiver) = mpsc::unbounded_channel();
    let inbox = Arc::new(Inbox { jobs, done: Mutex::default(), armed: AtomicBool::new(false), wake });
    runtime()?.spawn(drive(receiver, Arc::downgrade(&inbox)));
    Ok((inbox.clone(), Bound::new(py, Drain { inbox })?))
}

/// The exit gate: which threads may enter Python once the interpreter starts shutting down.
pub mod gate {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    use pyo3::prelude::*;

    static EXITING: AtomicBool = AtomicBool::new(false);
    static EXIT_THREAD: AtomicU64 = AtomicU64::new(0);
    /// Threads inside Python through the gate (attached, or about to attach).
    static INSIDE: AtomicUsize = AtomicUsize::new(0);

    /// Held while a thread is inside Python through the gate.
    pub struct Inside(());

    impl Drop for Inside {
        fn drop(&mut self) {
            INSIDE.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn try_enter() -> Option<Inside> {
        INSIDE.fetch_add(1, Ordering::AcqRel);
        let inside = Inside(());
        let exiting = EXITING.load(Ordering::Acquire);
        (!exiting || super::thread_ident() == EXIT_THREAD.load(Ordering::Acquire)).then_some(inside)
    }

    /// For a Python thread holding the GIL: once the interpreter is exiting, a thread other
    /// than the one running the exit parks for good (GIL released), as Python 3.14 does with
    /// daemon threads.
    pub fn enter(py: Python<'_>) -> Inside {
        try_enter().unwrap_or_else(|| py.detach(park))
    }

    fn park() -> ! {
        loop {
            std::thread::park();
        }
    }

    /// For a runtime thread: runs `f` attached to Python unless the interpreter is exiting.
    pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
        let _inside = try_enter()?;
        Python::try_attach(f)
    }

    /// `py.detach(f)` whose return to Python goes through the gate; the caller stays inside
    /// until its native method returns (it may run Python code in between).
    pub fn detach<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> (T, Inside) {
        py.detach(|| {
            let out = f();
            (out, try_enter().unwrap_or_else(|| park()))
        })
    }

    /// Registered with `atexit`: shuts the gate, then waits (GIL released) for the threads
    /// inside to leave. Log records are dropped from then on.
    #[pyfunction]
    pub fn _at_exit(py: Python<'_>) {
        EXIT_THREAD.store(super::thread_ident(), Ordering::Release);
        EXITING.store(true, Ordering::Release);
        log::set_max_level(log::LevelFilter::Off);
        py.detach(|| {
            while INSIDE.load(Ordering::Acquire) > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
    }
}
